"""CAP messages made to order, and a local HTTP server to serve them as a feed."""
import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import pytest

TZ = dt.timezone(dt.timedelta(hours=8))


def cap_message(identifier, msg_type="Alert", references=(), sender="nanfeng@qx.jiangxi.test",
                sent=None, expires_in=dt.timedelta(hours=12), geocodes=("361023",), polygon=None, circle=None,
                event_zh="霜冻橙色预警", event_en="Frost Orange Warning", status="Actual", area="南丰县"):
    sent = sent or dt.datetime.now(TZ).replace(microsecond=0) - dt.timedelta(minutes=5)
    expires = sent + expires_in
    refs = " ".join(f"{s},{i},{t}" for s, i, t in references)
    area_xml = f"<areaDesc>{escape(area)}</areaDesc>"
    area_xml += "".join(f"<geocode><valueName>GB/T 2260</valueName><value>{c}</value></geocode>" for c in geocodes)
    if polygon:
        area_xml += "<polygon>" + " ".join(f"{lat},{lon}" for lat, lon in polygon) + "</polygon>"
    if circle:
        area_xml += f"<circle>{circle[0]},{circle[1]} {circle[2]}</circle>"
    infos = ""
    for lang, event in (("zh-CN", event_zh), ("en-US", event_en)):
        infos += f"""<info><language>{lang}</language><category>Met</category><event>{escape(event)}</event>
<urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
<onset>{sent.isoformat()}</onset><expires>{expires.isoformat()}</expires>
<senderName>南丰县气象台</senderName><headline>{escape(event)}</headline>
<description>预计今夜有霜冻。</description><area>{area_xml}</area></info>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier><sender>{sender}</sender>
<sent>{sent.isoformat()}</sent><status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>
{f'<references>{refs}</references>' if refs else ''}{infos}</alert>""".encode()


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
