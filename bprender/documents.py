"""Saved traces and scenes, told apart by their `schema` field (never by the file's suffix),
checked against the JSON Schemas shipped in bprender/schemas/ before anything reads them.

A schema names a family and a major version, "bprender.scene/2". A reader takes the majors it
knows; anything else gets one line saying what the file is and what to do.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from .errors import BprenderError
from .jsonio import decode_numbers

SCHEMAS = Path(__file__).resolve().parent / "schemas"
# family -> (kind, the major versions this bprender reads, the command that writes one)
FAMILIES = {
    "bprender.trace": ("trace", (1,), "bprender trace PRESET"),
    "bprender.scene": ("scene", (2,), "bprender scene PRESET"),
    "bprender.composite": ("composite", (1,), "bprender scene PRESET PRESET ..."),
}
READABLE = ", ".join(f"{family}/{'/'.join(map(str, majors))}" for family, (_, majors, _) in FAMILIES.items())


def read_source_file(path: Path):
    """(kind, data) for a saved trace or scene; None for anything else that may be a preset
    (YAML, or JSON with a `model` key). Raises BprenderError for JSON that is neither."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return None  # the preset loader says what is wrong with it
    if not head.startswith(b"{") and path.suffix.lower() != ".json":
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise BprenderError(f"{path}: is not UTF-8 text; a trace or scene is JSON text") from None
    except json.JSONDecodeError as err:
        if path.suffix.lower() == ".json":
            raise BprenderError(f"{path}:{err.lineno}: not valid JSON ({err.msg}, column {err.colno})") from None
        return None  # a YAML flow mapping: the preset loader reads it
    if isinstance(data, dict) and "schema" not in data and "model" in data:
        return None  # a preset written in JSON
    return read_document(data, str(path))


def read_document(data, where: str, validate: bool = True):
    """(kind, data) for parsed JSON that claims to be a bprender trace or scene. validate=False
    skips the JSON Schema check, for bytes this bprender wrote itself and has verified by their
    digest (trace_cache.py): the check and the jsonschema import cost a cached render 0.15 s."""
    schema = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(schema, str):
        raise BprenderError(f"{where}: is JSON but neither a bprender trace nor a scene (no \"schema\" field) "
                            f"nor a preset (no \"model\" key); bprender reads {READABLE} and YAML presets")
    family, _, version = schema.partition("/")
    if family not in FAMILIES:
        what = f"a bprender {family[len('bprender.'):]} file" if family.startswith("bprender.") else \
            f"JSON with the schema {schema!r}"
        raise BprenderError(f"{where}: is {what}, neither a trace nor a scene; this bprender reads {READABLE}")
    kind, majors, command = FAMILIES[family]
    major = int(version) if version.isdigit() else None
    if major not in majors:
        known = "/".join(map(str, majors))
        if major is not None and major < min(majors):
            fix = f"it was written by an older bprender: make it again with `{command}`"
        else:
            fix = f"make it again with this bprender's `{command}`, or upgrade bprender"
        raise BprenderError(f"{where}: is a bprender {kind} of version {version or '?'}; this bprender reads "
                            f"version {known} ({fix})")
    problem = schema_problem(kind, data) if validate else None
    if problem:
        raise BprenderError(f"{where}: is not a valid {schema} file: {problem}")
    return kind, decode_numbers(data) if kind == "trace" else data


@lru_cache(maxsize=None)
def validator(kind: str):
    """The JSON Schema validator of a kind (bprender/schemas/KIND.schema.json, self-contained)."""
    import jsonschema
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def schema_problem(kind: str, data) -> str | None:
    """The first way `data` breaks its JSON Schema (where, and what), or None."""
    error = next(iter(sorted(validator(kind).iter_errors(data), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"{where or 'the top level'}: {message}"
