"""User-facing errors.

Anything the user can fix (a bad preset, a missing file, an unknown option) is raised as a
BprenderError. The CLI prints its message without a traceback and exits non-zero; any other
exception is a bug in bprender and keeps its traceback.
"""
from __future__ import annotations

from pathlib import Path


class BprenderError(Exception):
    """An error the user can fix; str() is the whole message shown to them."""


class PresetError(BprenderError):
    """A problem in a preset, located as precisely as we can: file, line, dotted key.

    str() reads like a compiler message:
        presets/x.yaml:12: render.fps: must be a positive integer, got 'abc' (did you mean ...?)
    """

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None,
                 key: str | None = None, hint: str | None = None,
                 code: tuple[str, int] | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.key = key
        self.hint = hint
        # (file, line) in the user's own Python code where it failed (a model file), when known:
        # `bprender watch` points there rather than at the preset line naming the file
        self.code = code
        super().__init__(str(self))

    def located(self, path: str | Path | None, line: int | None) -> "PresetError":
        """The same error with the file and line filled in where they were unknown."""
        return PresetError(self.message, path=self.path or path, line=self.line or line,
                           key=self.key, hint=self.hint, code=self.code)

    def unlocated(self) -> str:
        """The message without its file and line: key, message and hint."""
        return str(PresetError(self.message, key=self.key, hint=self.hint))

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key}: " if self.key else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{key}{self.message}{hint}"


class StepError(PresetError):
    """A mistake on one line of a model's ``steps`` text (1-based ``step_line``, ``column``).

    Unlocated it reads "model.steps: line 2, column 9: unknown name 'y_prd'"; :meth:`at` puts it
    on the file's own line, where "line 2" would only confuse, so only the column stays."""

    def __init__(self, message: str, *, step_line: int, column: int | None = None,
                 key: str = "model.steps", hint: str | None = None):
        self.what = message
        self.step_line = step_line
        self.column = column
        where = f"line {step_line}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {message}", key=key, hint=hint)

    def at(self, path: str | Path | None, first_line: int) -> PresetError:
        """Located in a file whose steps text starts on ``first_line``."""
        where = f"column {self.column}: " if self.column else ""
        return PresetError(where + self.what, path=path, line=first_line + self.step_line - 1,
                           key=self.key, hint=self.hint)
