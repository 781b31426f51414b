"""Load YAML while remembering where every key came from.

yaml.safe_load throws line numbers away, so we compose the node tree with the SafeLoader and
build the plain Python value ourselves, recording the 1-based line of every mapping key under
its dotted path ("render.fps"). The root value's line is stored under "". A text value whose
lines map one to one onto the file's (a `|` literal block, or text on one line) also records
the line its text starts on, under its path + TEXT_LINE ("model.steps#text"), so an error on the
third line of that text can name the file's own line.

Keys are kept as the text written in the file (so `yes:` stays "yes", not True); values are
built by the SafeLoader's own constructors, so `fps: yes` still gives True. Numbers are read as
YAML 1.2 writes them: `1e-3`, `1.0e38`, `.5` and `5.` are floats (PyYAML follows YAML 1.1, where
an exponent needs a dot and a sign, and reads `1e-3` as text).

Hostile documents are refused with a located one-line message, in bounded time and memory:
characters YAML does not allow (NUL, control bytes), a document over MAX_BYTES, nesting deeper
than MAX_DEPTH (checked on the event stream before PyYAML's recursive composer runs), and alias
expansion ("billion laughs"): every value built counts, an alias's each time it is used, and
the count is capped at MAX_VALUES (libyaml and yaml.v3 cap alias expansion the same way).
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import PresetError

__all__ = ["load_yaml_lines", "TEXT_LINE", "MAX_BYTES", "MAX_DEPTH", "MAX_VALUES"]

TEXT_LINE = "#text"

MAX_BYTES = 4 * 1024 * 1024   # a preset is a page of settings; 4 MB leaves room for tensors
MAX_DEPTH = 64                # sections, then nested lists for tensors: a real preset uses < 10
MAX_VALUES = 1_000_000        # values built, aliases counted every time they are used

# YAML 1.2 (core schema) floats, which YAML 1.1's resolver misses: 1e-3, 1.0e38, .5, 5., +1E+3
_FLOAT_12 = re.compile(r"""^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$
                           |^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)$""", re.X)
# what YAML allows in a stream (the printable set); anything else is named with its line
_NOT_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


class _Loader(yaml.SafeLoader):
    """The SafeLoader, plus YAML 1.2 floats."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789."))


def _construct_float(loader: yaml.SafeLoader, node: ScalarNode) -> float:
    try:
        return yaml.SafeLoader.construct_yaml_float(loader, node)
    except ValueError:          # a YAML 1.2 form the 1.1 constructor does not take: 1e-3
        return float(str(node.value).replace("_", ""))


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def load_yaml_lines(text: str, path: str | Path | None = None) -> tuple[object, dict[str, int]]:
    """Parse one YAML document. Returns (value, lines); value is None for an empty document.

    Raises PresetError (with path and line) when the text is not valid YAML, or is too big,
    too deep or expands (through aliases) to too many values.
    """
    _check_text(text, path)
    _check_depth(text, path)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        lines: dict[str, int] = {}
        if root is None:
            return None, lines
        lines[""] = root.start_mark.line + 1
        return _Builder(loader, lines, path).build(root, ""), lines
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path, text) from None
    except (ValueError, OverflowError) as exc:   # a constructor on an odd value: a bad date
        raise PresetError(f"not valid YAML: {_one_line(exc)}", path=path) from None
    finally:
        loader.dispose()


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _check_text(text: str, path) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise PresetError(f"the file is {size / 2 ** 20:.1f} MB; a preset may be at most "
                          f"{MAX_BYTES // 2 ** 20} MB", path=path,
                          hint="give large tensors from a Python model (model: {python: FILE.py:build})")
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        line = _line_of(text, bad.start())
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise PresetError(f"column {column}: the control character U+{ord(bad.group()):04X} is not "
                          "allowed in YAML", path=path, line=line,
                          hint="delete it; write special characters in a double-quoted string as "
                               "an escape such as \\x1b")


def _check_depth(text: str, path) -> None:
    """Refuse nesting deeper than MAX_DEPTH, reading events (PyYAML's parser keeps its own
    stack, so this cannot overflow Python's; its composer is recursive and would)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise PresetError(f"nested more than {MAX_DEPTH} levels deep", path=path,
                                      line=event.start_mark.line + 1,
                                      hint="a preset needs a few levels: sections, then lists")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path, text) from None
    except RecursionError:      # pragma: no cover - the parser is iterative
        raise PresetError(f"nested more than {MAX_DEPTH} levels deep", path=path) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, lines: dict[str, int], path):
        self.loader = loader
        self.lines = lines
        self.path = path
        self.active: set[int] = set()   # nodes being built: catches recursive aliases
        self.count = 0                  # values built, an alias's each time it is used

    def build(self, node: Node, where: str) -> object:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self._error(node, f"the document expands to more than {MAX_VALUES:,} values "
                                    "(through aliases: *name repeats what &name holds)", where)
        if isinstance(node, ScalarNode):
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.active:
            raise self._error(node, "a recursive alias (*name) refers to itself", where)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, where) for item in node.value]
            if isinstance(node, MappingNode):
                return self._mapping(node, where)
            return self.loader.construct_object(node, deep=True)  # pragma: no cover
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: MappingNode, where: str) -> dict:
        self.loader.flatten_mapping(node)       # apply `<<: *anchor` merge keys
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self._error(key_node, "a key must be plain text, not a list or mapping",
                                  where)
            key = str(key_node.value)
            dotted = f"{where}.{key}" if where else key
            line = key_node.start_mark.line + 1
            if key in out:
                raise self._error(key_node, f"duplicate key (first given on line "
                                            f"{self.lines.get(dotted, '?')})", dotted)
            self.lines[dotted] = line
            out[key] = self.build(value_node, dotted)
            if isinstance(value_node, ScalarNode) and isinstance(out[key], str):
                if value_node.style == "|":   # the text starts on the line after the `|`
                    self.lines[dotted + TEXT_LINE] = value_node.start_mark.line + 2
                elif value_node.style != ">" and value_node.start_mark.line == value_node.end_mark.line:
                    self.lines[dotted + TEXT_LINE] = value_node.start_mark.line + 1
        return out

    def _error(self, node: Node, message: str, key: str) -> PresetError:
        return PresetError(message, path=self.path, line=node.start_mark.line + 1, key=key or None)


def _yaml_error(exc: yaml.YAMLError, path, text: str) -> PresetError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    if line is not None:                       # "<stream end>" sits past the last line
        line = max(1, min(line, len(text.rstrip().splitlines())))
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    context = getattr(exc, "context", None)
    context = " ".join(str(context).split()) if context else None
    message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    hint = None
    if "\\t" in problem or "'\\t'" in str(exc):
        hint = "YAML indentation must use spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        hint = "a value containing ': ' must be put in quotes"
    return PresetError(message, path=path, line=line, hint=hint)
