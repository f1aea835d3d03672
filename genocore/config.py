"""Strict configuration: frozen dataclasses built from dicts, where an unknown key is an error."""
from __future__ import annotations

import dataclasses
import difflib


def from_dict(cls, values: dict, *, where: str = ""):
    """Build frozen dataclass ``cls`` from ``values``, refusing unknown keys.

    Lists become tuples (frozen dataclasses hold tuples). ``where`` names the file or section for
    the error message.

    Raises
    ------
    KeyError
        For a key that is not a field of ``cls``, with the closest valid key suggested.
    """
    check_keys(cls, values, where=where)
    return cls(**{k: _freeze(v) for k, v in values.items()})


def check_keys(cls, values: dict, *, where: str = "") -> None:
    """KeyError for the first key of ``values`` that is not a field of ``cls`` (closest one suggested)."""
    names = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid keys: {sorted(names)}"
            place = f" in {where}" if where else ""
            raise KeyError(f"unknown {cls.__name__} key {key!r}{place}{hint}")


def _freeze(value):
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def to_dict(obj) -> dict:
    """Plain-JSON dict of a dataclass (tuples become lists)."""
    return json_ready(dataclasses.asdict(obj))


def json_ready(value):
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value
