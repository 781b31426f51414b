"""What the watch server publishes: the last good scene and the current error, versioned.

`version` moves on with every change a page should hear of (a new scene, an error appearing
or going, a re-trace starting); `scene_version` only with a new scene. Pages long-poll
`wait(after)`: it returns at once when the version is past `after`, else when it moves on (or
after a timeout, so a connection never hangs forever), which shows a save in the page as soon
as the scene is built, without polling the server many times a second.
"""
from __future__ import annotations

import threading

from ..jsonio import dumps_compact


class LiveState:
    def __init__(self):
        self._changed = threading.Condition()
        self.version = 0
        self.scene_version = 0
        self.scene: dict | None = None
        self.folds: dict | None = None     # its folded groups' variants (folds.py), or None
        self.scene_json: bytes = b""
        self.error: dict | None = None
        self.building = False
        self.closed = False

    def publish_scene(self, scene: dict, folds: dict | None = None) -> None:
        with self._changed:
            self.scene_version += 1
            self.scene, self.folds = scene, folds
            body = {"scene_version": self.scene_version, "scene": scene}
            if folds:
                body["folds"] = folds
            self.scene_json = dumps_compact(body).encode("utf-8")
            self.error = None
            self.building = False
            self._bump()

    def publish_error(self, error: dict) -> None:
        with self._changed:
            self.error = error
            self.building = False
            self._bump()

    def set_building(self, building: bool) -> None:
        with self._changed:
            if self.building != building:
                self.building = building
                self._bump()

    def _bump(self) -> None:
        self.version += 1
        self._changed.notify_all()

    def current(self) -> tuple[dict | None, int, bytes]:
        """(the last good scene, its version, its scene.json body)."""
        with self._changed:
            return self.scene, self.scene_version, self.scene_json

    def page_data(self) -> tuple[dict | None, dict | None, int]:
        """(the last good scene, its folded groups' variants, its version), for the page."""
        with self._changed:
            return self.scene, self.folds, self.scene_version

    def snapshot(self) -> dict:
        with self._changed:
            return {"version": self.version, "scene_version": self.scene_version,
                    "error": self.error, "building": self.building}

    def wait(self, after: int, timeout: float) -> dict:
        """The state once its version is past `after` (or the timeout passed, or it closed)."""
        with self._changed:
            self._changed.wait_for(lambda: self.version > after or self.closed, timeout)
            return self.snapshot()

    def close(self) -> None:
        """Wake every waiting page request: the server is stopping."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()
