"""Load YAML while remembering where every key came from.

yaml.safe_load throws line numbers away, so we compose the node tree with the SafeLoader and
build the plain Python value ourselves, recording the 1-based line of every mapping key under
its dotted path ("render.fps"). The root value's line is stored under "". A text value whose
lines map one to one onto the file's (a `|` literal block, or text on one line) also records
the line its text starts on, under its path + TEXT_LINE ("model.steps#text"), so an error on the
third line of that text can name the file's own line.

Keys are kept as the text written in the file (so `yes:` stays "yes", not True); values are
built by the SafeLoader's own constructors, so `fps: yes` still gives True, `1e-3` a float, etc.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import PresetError

__all__ = ["load_yaml_lines", "TEXT_LINE"]

TEXT_LINE = "#text"


def load_yaml_lines(text: str, path: str | Path | None = None) -> tuple[object, dict[str, int]]:
    """Parse one YAML document. Returns (value, lines); value is None for an empty document.

    Raises PresetError (with path and line) when the text is not valid YAML.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[str, int] = {}
        if root is None:
            return None, lines
        lines[""] = root.start_mark.line + 1
        return _Builder(loader, lines, path).build(root, ""), lines
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path, text) from None
    finally:
        loader.dispose()


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, lines: dict[str, int], path):
        self.loader = loader
        self.lines = lines
        self.path = path
        self.active: set[int] = set()   # nodes being built: catches recursive aliases

    def build(self, node: Node, where: str) -> object:
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
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    hint = None
    if "\\t" in problem or "'\\t'" in str(exc):
        hint = "YAML indentation must use spaces, not tabs"
    elif "mapping values are not allowed" in problem:
        hint = "a value containing ': ' must be put in quotes"
    return PresetError(message, path=path, line=line, hint=hint)
