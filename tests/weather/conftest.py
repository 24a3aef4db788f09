"""A local HTTP server to serve CAP messages (tests.helpers.cap_message) as a feed.

Feeds may not lead to local addresses (FEED_ALLOW_PRIVATE): with an app, ``feed_server`` lets
127.0.0.1/32, where it listens, through, as an operator would list a feed server of their own; any
other local address (127.0.0.2, 169.254.169.254) stays refused."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FeedServer:
    """Serves ``self.body`` (bytes) with ``self.status``; counts requests; honours ETag."""

    def __init__(self, host="127.0.0.1"):
        self.body, self.status, self.delay, self.requests, self.etag = b"", 200, 0, [], None
        self.redirects = {}  # path -> Location answered with 302
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                import time

                server.requests.append(dict(self.headers, path=self.path))
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if server.delay:
                    time.sleep(server.delay)
                if server.etag and self.headers.get("If-None-Match") == server.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                body = server.body if isinstance(server.body, bytes) else server.body(self.path)
                self.send_response(server.status)
                if server.etag:
                    self.send_header("ETag", server.etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server(request):
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["FEED_ALLOW_PRIVATE"] = ("127.0.0.1/32",)
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def inner_server():
    """A server on another loopback address (127.0.0.2): stands for Redis, an admin page or any
    service of the server's own network that a feed must not reach."""
    server = FeedServer("127.0.0.2")
    yield server
    server.close()
