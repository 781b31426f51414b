"""Shared by the HTML player tests: animations traced once per session, the exported pages, and a
guard on what a page does (PageWatch)."""
from __future__ import annotations

import functools
import re

EVIL_SCRIPT = "</script><script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(1)>"
EVIL_TITLE = f"{EVIL_SCRIPT} {EVIL_IMG} \u2028 \u2029"

SCENES_JSON = re.compile(r'<script type="application/json" id="bp-scenes">(.*?)</script>', re.S)


@functools.lru_cache(maxsize=None)
def animation(preset: str = "linear"):
    import bprender
    return bprender.animate(preset)


@functools.lru_cache(maxsize=None)
def page(preset: str = "linear") -> str:
    return animation(preset).html()


@functools.lru_cache(maxsize=None)
def evil_animation():
    """A model whose two top-level modules are named like markup, with a title to match."""
    import torch
    from torch import nn

    import bprender

    class Evil(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module(EVIL_SCRIPT, nn.Linear(2, 2))
            self.add_module(EVIL_IMG, nn.Linear(2, 1))

        def forward(self, x):
            return getattr(self, EVIL_IMG)(torch.tanh(getattr(self, EVIL_SCRIPT)(x)))

    torch.manual_seed(0)
    return bprender.animate(model=Evil(), inputs=torch.tensor([[1.0, 2.0]]), target=torch.tensor([[0.5]]),
                            loss="mse", title=EVIL_TITLE, description=EVIL_IMG)


@functools.lru_cache(maxsize=None)
def evil_page() -> str:
    return evil_animation().html()


class PageWatch:
    """Everything a page does that the tests forbid: console errors, uncaught exceptions,
    dialogs and network requests."""

    def __init__(self, pg):
        self.errors, self.dialogs, self.requests = [], [], []
        pg.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(f"{m.type}: {m.text}"))
        pg.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        pg.on("dialog", self._dialog)
        pg.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self, document_url: str | None = None):
        assert self.errors == []
        assert self.dialogs == []
        others = [u for u in self.requests if not u.startswith("data:") and u != document_url]
        assert others == []
