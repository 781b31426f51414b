"""View state: what a viewer has highlighted or hidden, and the theme they look at. Part of
the frame function on both backends ({"highlight": node id or None, "hidden": [group names],
"theme": palette name or None}); here names a user types (`--highlight w`, `--hide inputs`,
`--theme dark`) become that state."""
from __future__ import annotations

import difflib

from .errors import BprenderError
from .notation import plain


def resolve_view(scene: dict, highlight: str | None = None, hidden: list[str] | tuple = (),
                 theme: str | None = None) -> dict | None:
    """The view state for a node name (a leaf, constant or op label, or a node id), group
    names and a theme; None when nothing is asked for."""
    if not highlight and not hidden and not theme:
        return None
    if theme and theme not in scene["palettes"]:
        raise BprenderError(f"--theme: no theme called '{theme}' (themes: {', '.join(scene['palettes'])})")
    if not highlight and not hidden:
        return {"highlight": None, "hidden": [], "theme": theme}
    scene_nodes = scene.get("nodes", [])
    node_id = None
    if highlight:
        matches = [n["id"] for n in scene_nodes if highlight in (n["id"], n["info"]["label"])]
        if not matches:   # W1 for W¹: the lecture's superscripts typed on a keyboard
            matches = [n["id"] for n in scene_nodes if plain(highlight) == plain(n["info"]["label"])]
        if not matches:
            names = sorted({n["info"]["label"] for n in scene_nodes})
            close = difflib.get_close_matches(highlight, names, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise BprenderError(f"--highlight: no node called '{highlight}' ({hint}nodes: {', '.join(names)})")
        if len(matches) > 1:
            raise BprenderError(f"--highlight: {len(matches)} nodes are called '{highlight}'; "
                                f"give one of their ids instead: {', '.join(matches)}")
        node_id = matches[0]
    for group in hidden:
        if group not in scene.get("groups", []):
            raise BprenderError(f"--hide: no group called '{group}' (groups: {', '.join(scene.get('groups', []))})")
    return {"highlight": node_id, "hidden": list(hidden), "theme": theme}
