"""The scene stage: trace -> Scene, the one contract both backends interpret.

- build.py: build_scene (a single scene), the layout fitted to the graph area
- compose.py: compose_scenes (several traces side by side: a composite)
- regions.py: where header, graph, caption band and loss-curve panel go (computed once)
- text.py: text measured and fitted with the real fonts
- nodes.py, edges.py, header.py, captions.py, chart.py, training.py: the parts of a scene
- style.py (sizes, magnitude scale), themes.py (palettes by colour role), fonts.py (font files)
- types.py: the Scene's shape as TypedDicts (docs/formats.md; schemas/ has the JSON Schemas)
"""
from __future__ import annotations

from .build import SCENE_SCHEMA, build_scene
from .compose import COMPOSITE_SCHEMA, MAX_PANELS, compose_scenes

__all__ = ["SCENE_SCHEMA", "COMPOSITE_SCHEMA", "MAX_PANELS", "build_scene", "compose_scenes"]
