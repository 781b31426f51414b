"""`bprender watch PRESET`: a live preview that follows the user's edits.

    watch = Watch("linear.yaml").start()      # built once, then served and watched
    watch.url                                 # http://127.0.0.1:PORT/
    ...                                       # every save: a new scene (or an error) in the page
    watch.stop()

Three parts, each on its own thread: the HTTP server (server.py, loopback only; a thread per
request), the watcher (files.py: polls the files' stamps) which rebuilds the scene on the
watcher's thread (builder.py: only a changed model is traced again), and the shared state
the pages long-poll (state.py). The caller's thread is free: the CLI waits there for Ctrl-C.
"""
from __future__ import annotations

import threading
import time

from .builder import SceneBuilder, error_line, error_report
from .files import POLL, stamp, watched_files
from .server import HOST, LiveServer
from .state import LiveState

SETTLE = 0.05       # seconds between the looks that wait for a save to finish
SETTLE_LOOKS = 10   # at most this many: a file written on and on is built as it is then

__all__ = ["Watch", "HOST", "POLL"]


class Watch:
    def __init__(self, arg: str, request=None, cache: bool = True, port: int = 0,
                 theme: str | None = None, log=None, poll: float = POLL):
        self.builder = SceneBuilder(arg, request, cache)
        self.state = LiveState()
        self.port = port
        self.theme = theme
        self.poll = poll
        self.log = log or (lambda line: None)   # one line per save: what changed, or the error
        self.server: LiveServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._files = []
        self._stamp = {}

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def files(self) -> list:
        """The files watched now (they follow the preset: a new model file is watched too)."""
        return list(self._files)

    def start(self) -> "Watch":
        """Build the first scene (a mistake raises: there is no last good animation to keep),
        bind the port, and start serving and watching."""
        self._files = watched_files(self.builder.source_file())
        self._stamp = stamp(self._files)
        self.state.publish_scene(*self.builder.build())
        self._follow_files()
        self.server = LiveServer(self.state, self.port, self.theme)
        for name, target in (("bprender-watch-server", self.server.serve_forever),
                             ("bprender-watch-files", self._watch_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop watching and serving; waiting page requests are answered and the port closed."""
        self._stop.set()
        self.state.close()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _follow_files(self) -> None:
        """Watch the files of the preset as it is now (its model file may have changed); the
        stamp taken before the build stays, so a save during the build is seen next time."""
        files = watched_files(self.builder.source_file(), self.builder.preset)
        known = {f: self._stamp[f] for f in files if f in self._stamp}   # files no longer used go
        known.update(stamp([f for f in files if f not in self._stamp]))
        self._files, self._stamp = files, known

    def _watch_loop(self) -> None:
        while not self._stop.wait(self.poll):
            now = stamp(self._files)
            if now != self._stamp:
                self._stamp = self._settled(now)
                self.rebuild()

    def _settled(self, now: dict) -> dict:
        """The stamp once the files stop changing (up to SETTLE_LOOKS looks SETTLE s apart): an
        editor or a script may save in several writes (truncate, then write), and the half-written
        file would be reported as an error."""
        for _ in range(SETTLE_LOOKS):
            if self._stop.wait(SETTLE):
                break
            again = stamp(self._files)
            if again == now:
                break
            now = again
        return now

    def rebuild(self) -> None:
        """Make the scene again from the files as they are; publish it, or the error."""
        started = time.perf_counter()
        try:
            scene, folds = self.builder.build(on_trace=lambda: self.state.set_building(True))
        except Exception as exc:  # noqa: BLE001 - any failure is shown; the watch goes on
            report = error_report(exc, self.builder.source_file())
            self._follow_files()
            self.state.publish_error(report)
            self.log(f"error: {error_line(report)}")
        else:
            self._follow_files()    # before publishing: whoever sees the new scene sees its files
            self.state.publish_scene(scene, folds)
            self.log(f"updated: {scene['duration']:.1f} s animation, built in "
                     f"{time.perf_counter() - started:.2f} s")
