"""System checks for core's settings: an unreachable broker or LLM endpoint warns at startup."""
