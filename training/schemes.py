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


# Schwartz's (1992) motivational goal of each value, read by the value-conditioned evaluator:
# it scores a value from its definition, so a value it was never trained on needs only this.
SCHWARTZ10_DEFINITIONS = {
    "self_direction": "Self-direction: independent thought and action; choosing, creating, "
    "exploring; freedom and deciding for oneself.",
    "stimulation": "Stimulation: excitement, novelty and challenge in life.",
    "hedonism": "Hedonism: pleasure and sensuous gratification for oneself; enjoying life.",
    "achievement": "Achievement: personal success through demonstrating competence according "
    "to social standards; being capable, ambitious, successful.",
    "power": "Power: social status and prestige, control or dominance over people and "
    "resources; wealth and authority.",
    "security": "Security: safety, harmony and stability of society, of relationships and of "
    "self; avoiding danger, harm and risk.",
    "conformity": "Conformity: restraint of actions, inclinations and impulses likely to upset "
    "or harm others and to violate social expectations, norms, rules or laws.",
    "tradition": "Tradition: respect, commitment and acceptance of the customs and ideas that "
    "one's culture or religion provides; humility and modesty.",
    "benevolence": "Benevolence: preserving and enhancing the welfare of the people one is in "
    "frequent personal contact with; being helpful, honest, caring and forgiving.",
    "universalism": "Universalism: understanding, appreciation, tolerance and protection for "
    "the welfare of all people and for nature; equality, fairness and justice.",
}


def scheme_definitions(key: str) -> dict[str, str]:
    """Return {dimension key: definition} of the value scheme ``key``."""
    if key == "schwartz10":
        return dict(SCHWARTZ10_DEFINITIONS)
    raise ValueError(f"unknown value scheme {key!r}")
