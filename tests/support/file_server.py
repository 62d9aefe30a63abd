"""A real HTTP server on 127.0.0.1 for download tests: each path serves given bytes, an error
status, or a connection cut part way through the file."""

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Route:
    """What one path answers: `body` with `status` 200, else the error `status`; with
    `cut_after`, the full Content-Length is announced but the connection closes after that many
    bytes."""

    body: bytes = b""
    status: int = 200
    cut_after: int | None = None


@dataclass
class FileServer:
    """The running server's base URL, and the paths requested, in order."""

    base: str
    hits: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The full URL of a path on this server."""
        return f"{self.base}{path}"


def handler_for(routes: dict[str, Route], server: FileServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class answering GET requests from `routes` (404 for other paths)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.hits.append(self.path)
            route = routes.get(self.path, Route(status=404))
            if route.status != 200:
                self.send_error(route.status)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body[: route.cut_after])
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output clean."""

    return Handler


@contextlib.contextmanager
def file_server(routes: dict[str, Route]) -> Iterator[FileServer]:
    """Serve `routes` from a thread on a free port of 127.0.0.1 until the block ends."""
    server = FileServer(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(routes, server))
    server.base = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/weatherAUS.csv"
