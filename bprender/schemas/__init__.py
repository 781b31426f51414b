"""JSON Schemas of the files bprender writes and reads back: the trace, the scene and the
composite scene. They are made from the TypedDicts that type the same data in Python
(trace_format.py, scene/types.py), so the two cannot drift apart; the files shipped beside
this module are that output, and `python -m bprender.schemas` writes them again (a test
checks they are current). documents.py validates every file it reads against them.
"""
from __future__ import annotations

import json
import types
import typing
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE_ID = "https://bprender.invalid/schemas/"  # an identifier only: nothing is ever fetched


def _sources() -> dict:
    from ..scene.types import Composite, Scene
    from ..trace_format import Trace
    return {"trace": (Trace, "bprender.trace/1"), "scene": (Scene, "bprender.scene/2"),
            "composite": (Composite, "bprender.composite/1")}


def build(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of a kind: "trace", "scene" or "composite"."""
    root, schema_name = _sources()[kind]
    defs: dict = {}
    top = _object(root, defs)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_ID + f"{kind}.schema.json",
            "title": schema_name, "description": (root.__doc__ or "").strip() or schema_name,
            **top, "$defs": dict(sorted(defs.items()))}


def write_all(folder: Path = HERE) -> list[Path]:
    out = []
    for kind in _sources():
        path = folder / f"{kind}.schema.json"
        path.write_text(json.dumps(build(kind), indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        out.append(path)
    return out


def _is_typeddict(tp) -> bool:
    return isinstance(tp, type) and hasattr(tp, "__required_keys__") and hasattr(tp, "__annotations__")


def _object(td, defs: dict) -> dict:
    hints = typing.get_type_hints(td, include_extras=True)
    return {"type": "object", "properties": {k: _schema(v, defs) for k, v in hints.items()},
            "required": sorted(td.__required_keys__), "additionalProperties": False}


def _aliases() -> list:
    """Type aliases written once under $defs by their name, not spelled out at every use."""
    from ..scene import types as scene_types
    from ..trace_format import Real
    return [(scene_types.Role, "Role"), (scene_types.Track, "Track"), (Real, "Real")]


def _schema(tp, defs: dict, alias: bool = True) -> dict:
    from ..trace_format import NON_FINITE
    for known, name in _aliases() if alias else ():
        if tp == known:
            if name not in defs:
                defs[name] = _schema(tp, defs, alias=False)
            return {"$ref": f"#/$defs/{name}"}
    if _is_typeddict(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # claimed first: a type that refers to itself stops here
            defs[name] = _object(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        if NON_FINITE in args[1:]:
            return {"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]}
        return _schema(args[0], defs)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema(a, defs) for a in args]}
    if origin in (typing.NotRequired, typing.Required):
        return _schema(args[0], defs)
    if origin is list:
        return {"type": "array", "items": _schema(args[0], defs)} if args else {"type": "array"}
    if origin is tuple:
        return {"type": "array", "prefixItems": [_schema(a, defs) for a in args], "items": False,
                "minItems": len(args)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(args[1], defs)} if args else {"type": "object"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null", dict: "object"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON Schema for the type {tp!r}")
