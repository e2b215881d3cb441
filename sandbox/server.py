"""The stand-in's HTTP server: a threaded wsgiref server that can drop a connection unanswered."""

from __future__ import annotations

import logging
import sys
import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from sandbox.http_errors import DropConnection
from sandbox.pomelo_server import PomeloSandboxApp

logger = logging.getLogger("sandbox.pomelo")




class _SandboxServerHandler(ServerHandler):
    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], DropConnection):
            # Write nothing: the socket closes when the request ends, and the client sees the
            # connection drop without a status line, like a crash or a cut network.
            return
        super().handle_error()


class _SandboxRequestHandler(WSGIRequestHandler):
    def handle(self) -> None:
        # Same as WSGIRequestHandler.handle, with a ServerHandler that can drop connections.
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _SandboxServerHandler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True
        )
        handler.request_handler = self
        handler.run(self.server.get_app())

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines go to logging (quiet by default), not to stderr as wsgiref does.
        logger.debug("sandbox %s " + format, self.address_string(), *args)


class SandboxPomeloServer(ThreadingMixIn, WSGIServer):
    """A threaded wsgiref server for the stand-in. Port 0 picks a free port."""

    # Daemon threads: a request stuck in an injected delay must not keep a test run alive.
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    app: PomeloSandboxApp
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.server_address[0]
        return f"http://{host}:{self.server_address[1]}"

    def start(self) -> threading.Thread:
        """Serve in a background thread; `stop()` ends it."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()


def serve(host: str = "127.0.0.1", port: int = 8765, **app_options: Any) -> SandboxPomeloServer:
    """Bind the stand-in to host:port (0: any free port) without serving yet; `app_options` are
    `PomeloSandboxApp`'s (client credentials, account types, faults, state file, clock, …).

    Call `.start()` to serve in a thread or `.serve_forever()` to block; `.stop()` to end.
    `faults` takes the same options as POST /_sandbox/faults and applies from the start.
    """
    app = PomeloSandboxApp(**app_options)
    server = SandboxPomeloServer((host, port), _SandboxRequestHandler)
    server.set_app(app)
    server.app = app
    return server
