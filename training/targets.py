"""Target value vectors for BaseAlign: presets, validation of uploaded profiles (no database).

A target is {dimension key: number in [-1, 1]} over every dimension of the scheme: +1 the
policy's answers should uphold the value, -1 violate it, 0 leave it aside.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class TargetError(ValueError):
    """The target is not usable; the message names the dimension (or the file's problem)."""


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    description: str
    upheld: tuple[str, ...]
    violated: tuple[str, ...] = ()

    def vector(self, dimensions: Sequence[str]) -> dict[str, float]:
        return {
            key: 1.0 if key in self.upheld else -1.0 if key in self.violated else 0.0
            for key in dimensions
        }


PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (
        Preset(
            "fulcra",
            "FULCRA paper",
            "The Value FULCRA paper's target: security, conformity, benevolence, universalism "
            "and achievement at +1, the rest 0.",
            ("security", "conformity", "benevolence", "universalism", "achievement"),
        ),
        Preset(
            "self_transcendence",
            "Self-transcendence",
            "Care for others and the world: benevolence and universalism at +1.",
            ("benevolence", "universalism"),
        ),
        Preset(
            "conservation",
            "Conservation",
            "Order and continuity: security, conformity and tradition at +1.",
            ("security", "conformity", "tradition"),
        ),
        Preset(
            "openness",
            "Openness to change",
            "Independence and novelty: self-direction and stimulation at +1.",
            ("self_direction", "stimulation"),
        ),
        Preset(
            "harmless",
            "Caring, not domineering",
            "Benevolence and universalism at +1, power at -1.",
            ("benevolence", "universalism"),
            ("power",),
        ),
        Preset("neutral", "Neutral", "Every value at 0.", ()),
    )
}


def normalise_key(key: str) -> str:
    return str(key).strip().lower().replace("-", "_").replace(" ", "_")


def validate_vector(data: object, dimensions: Sequence[str]) -> dict[str, float]:
    """Return ``data`` as a target over ``dimensions`` (in scheme order).

    Accepts {key: number} or {"target": {key: number}, …}; keys match case-insensitively with
    "-" and "_" alike. Raise TargetError naming a missing or unknown dimension or a bad value.
    """
    if isinstance(data, Mapping) and isinstance(data.get("target"), Mapping):
        data = data["target"]
    if not isinstance(data, Mapping) or not data:
        raise TargetError("the target must be a JSON object of value: number from -1 to 1")
    values: dict[str, object] = {}
    for raw_key, value in data.items():
        key = normalise_key(raw_key)
        if key not in dimensions:
            raise TargetError(f"{raw_key}: not a dimension of the scheme ({', '.join(dimensions)})")
        values[key] = value
    missing = [key for key in dimensions if key not in values]
    if missing:
        raise TargetError(f"{', '.join(missing)}: missing (every dimension needs a value)")
    vector = {}
    for key in dimensions:
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise TargetError(f"{key}: {value!r} is not a number")
        if not -1 <= value <= 1:
            raise TargetError(f"{key}: {value} is outside [-1, 1]")
        vector[key] = float(value)
    return vector


def parse_upload(text: str | bytes, dimensions: Sequence[str]) -> tuple[str, dict[str, float]]:
    """Return (name, vector) from an uploaded group or country profile (JSON).

    The file is {"name"?: str, "target": {key: number}} or just {key: number}.
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise TargetError(f"not valid JSON: {error}") from None
    except RecursionError:  # json.loads recurses once per nesting level
        raise TargetError("not valid JSON here: nested too deeply") from None
    name = data.get("name", "") if isinstance(data, Mapping) else ""
    if not isinstance(name, str):
        raise TargetError("name: must be text")
    return name.strip(), validate_vector(data, dimensions)
