"""A local HTTP server to serve CAP messages (tests.helpers.cap_message) as a feed."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FeedServer:
    """Serves ``self.body`` (bytes) with ``self.status``; counts requests; honours ETag."""

    def __init__(self):
        self.body, self.status, self.delay, self.requests, self.etag = b"", 200, 0, [], None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                import time

                server.requests.append(dict(self.headers))
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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server():
    server = FeedServer()
    yield server
    server.close()
