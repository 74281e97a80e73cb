"""Serve a WSGI app from a background thread with werkzeug's threaded server (demo and tests)."""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, get_sockaddr, make_server, select_address_family


class ServerThread:
    """A threaded werkzeug server on host:port (0 = any free port), started in a daemon thread.

    Threaded because LTI peers call each other back: the platform fetches the tool's JWKS while
    the tool waits on its token request.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None):
        if port:
            # werkzeug answers a busy port with print() and sys.exit(1); an OSError lets callers explain
            family = select_address_family(host, port)
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(get_sockaddr(host, port, family))
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
        self.host = host
        self.port = self.server.server_port
        self.scheme = "https" if ssl_context else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"serve-{host}:{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
