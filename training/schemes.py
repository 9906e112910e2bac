"""The dimensions a model is trained on, in scheme order."""

# The contracts' default scheme, in the order of the Schwartz circle.
SCHWARTZ10 = [
    "self_direction",
    "stimulation",
    "hedonism",
    "achievement",
    "power",
    "security",
    "conformity",
    "tradition",
    "benevolence",
    "universalism",
]


def scheme_dimensions(key: str) -> list[str]:
    """Return the ordered dimension keys of the value scheme ``key``."""
    if key == "schwartz10":
        return list(SCHWARTZ10)
    raise ValueError(f"unknown value scheme {key!r}")
