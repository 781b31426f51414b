"""The watch server: a small HTTP server on the loopback interface only (http.server).

    GET /                  the player page with the last good scene (html.export_html, live mode)
    GET /scene.json        {"scene_version": N, "scene": ..., "folds": ...}: the last good scene
                           and its folded groups' variants (folds.py)
    GET /events?after=V    the state {version, scene_version, error, building} once its version
                           is past V (a long poll: at most WAIT seconds)

It binds 127.0.0.1, so no other machine can connect, and answers only requests addressed to
127.0.0.1 or localhost at its port (a web page elsewhere cannot reach it by pointing a name it
controls at 127.0.0.1: DNS rebinding). Every request is served on a thread of its own, so a
waiting long poll never holds up the page or another tab.
"""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .state import LiveState

HOST = "127.0.0.1"
WAIT = 20.0   # seconds a long poll waits at most before answering "no change"


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True        # a request thread never keeps the process alive
    # SO_REUSEADDR (http.server's default): the same --port again right after Ctrl-C works
    # despite the closed connections' TIME_WAIT; a port another program listens on is refused
    allow_reuse_address = True

    def __init__(self, state: LiveState, port: int = 0, theme: str | None = None):
        self.state = state
        self.theme = theme
        super().__init__((HOST, port), LiveHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def page(self) -> bytes:
        from ..html import export_html
        scene, folds, version = self.state.page_data()
        return export_html(scene, self.theme, live={"scene_version": version}, folds=folds).encode("utf-8")


class LiveHandler(BaseHTTPRequestHandler):
    server: LiveServer
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if not self._host_ok():
            return self._send(403, b"forbidden: this server answers only http://127.0.0.1 or localhost\n",
                              "text/plain; charset=utf-8")
        url = urlsplit(self.path)
        state = self.server.state
        if state.closed:
            return self._stopped()
        if url.path == "/":
            return self._send(200, self.server.page(), "text/html; charset=utf-8")
        if url.path == "/scene.json":
            return self._send(200, state.current()[2], "application/json")
        if url.path == "/events":
            try:
                after = int(parse_qs(url.query).get("after", ["0"])[0])
            except ValueError:
                return self._send(400, b"after must be a number\n", "text/plain; charset=utf-8")
            snapshot = state.wait(after, WAIT)
            if state.closed:
                return self._stopped()
            return self._send(200, json.dumps(snapshot).encode("utf-8"), "application/json")
        return self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _stopped(self) -> None:
        """The watch is stopping: say so and close the connection, so a page's keep-alive
        connection cannot go on polling a server that is gone."""
        self.close_connection = True
        self._send(503, b"bprender watch has stopped\n", "text/plain; charset=utf-8")

    def _host_ok(self) -> bool:
        host = self.headers.get("Host", "")
        return host in (f"{HOST}:{self.server.port}", f"localhost:{self.server.port}")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the tab was closed mid-answer

    def log_message(self, format, *args):
        pass   # the terminal shows saves and errors, not every request
