"""Task types a study can include. Apps register theirs; core knows none of them by name."""
