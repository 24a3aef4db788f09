"""Weather feeds may not make the server fetch its own networks (SSRF): the feed URL, the links inside
a feed's index and every redirect pass the same public-address guard as users' webhooks (web.outbound).

The feed servers here listen on loopback: ``feed_server`` (127.0.0.1) stands for a public weather
service (FEED_ALLOW_PRIVATE lists 127.0.0.1/32, as an operator lists a feed server of their own),
``inner_server`` (127.0.0.2) for a service of the server's own network (Redis, an admin page) that
nobody outside may reach; 169.254.169.254 is the cloud metadata service."""
import pytest

from tests.helpers import cap_message, csrf_token, login
from weather import service
from weather.models import Feed, WeatherWarning
from web import outbound

METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


def atom_index(*links):
    entries = "".join(
        f'<entry><id>e{i}</id><title>e{i}</title><updated>2026-01-01T00:00:00Z</updated>'
        f'<link rel="alternate" type="application/cap+xml" href="{link}"/></entry>' for i, link in enumerate(links))
    return (f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>t</title>'
            f'<updated>2026-01-01T00:00:00Z</updated>{entries}</feed>').encode()


def poll_now(client, feed):
    login(client, "admin")
    client.post(f"/weather/feeds/{feed.id}/poll", data={"csrf_token": csrf_token(client, "/weather/feeds")})
    return client.get("/weather/feeds").get_data(as_text=True)


@pytest.mark.parametrize("where", ["inner", "metadata", "loopback", "decimal", "mapped"])
def test_a_feed_at_a_local_address_is_refused_and_the_feeds_page_says_so(app, client, world, feed_server,
                                                                         inner_server, where):
    app.config["FEED_ALLOW_PRIVATE"] = ()  # the default: no local network at all
    port = feed_server.httpd.server_port
    url = {"inner": inner_server.url + "/cap.xml", "metadata": METADATA,
           "loopback": feed_server.url + "/cap.xml", "decimal": f"http://2130706433:{port}/cap.xml",
           "mapped": f"http://[::ffff:127.0.0.1]:{port}/cap.xml"}[where]
    feed_server.body = inner_server.body = cap_message("LOCAL-1")
    feed = Feed.create(name="local", url=url, format="cap")  # stored before the guard, or by hand
    page = poll_now(client, feed)
    assert "本机或内网" in page, page  # the page's plain status, in Chinese
    assert "local or private network address" in Feed.get_by_id(feed.id).last_error
    assert inner_server.requests == [] and feed_server.requests == []
    assert WeatherWarning.select().count() == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/", METADATA, "http://2130706433/feed.xml",
                                 "http://0x7f000001/", "http://127.1/",
                                 "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "http://10.0.0.8/feed.xml"])
def test_adding_a_feed_at_a_local_address_is_refused(app, client, world, url):
    login(client, "admin")
    response = client.post("/weather/feeds", data={"csrf_token": csrf_token(client, "/weather/feeds"), "name": "x",
                                                   "url": url, "format": "cap", "interval_seconds": "300",
                                                   "enabled": "y"})
    assert response.status_code == 422 and Feed.select().count() == 0
    assert "本机和内网地址不予接受" in response.get_data(as_text=True)


def test_links_of_an_index_into_local_networks_are_not_fetched(app, client, world, feed_server, inner_server):
    """An index (Atom, as NWS and MeteoAlarm publish) whose entries point at the metadata service and at a
    service inside: those entries are refused and named on the feed; the public entry still arrives."""
    inner_server.body = cap_message("INNER-1")

    def body(path):
        if path == "/index.xml":
            return atom_index(METADATA, inner_server.url + "/secret.xml", feed_server.url + "/ok.xml")
        return cap_message("PUBLIC-1")

    feed_server.body = body
    feed = Feed.create(name="index", url=feed_server.url + "/index.xml", format="atom")
    page = poll_now(client, feed)
    assert inner_server.requests == []
    assert [w.identifier for w in WeatherWarning.select()] == ["PUBLIC-1"]
    error = Feed.get_by_id(feed.id).last_error
    assert "169.254.169.254" in error and "127.0.0.2" in error and "refused" in error
    assert "本机或内网" in page


@pytest.mark.parametrize("target", ["inner", "metadata", "decimal"])
def test_a_redirect_into_local_networks_is_refused(app, client, world, feed_server, inner_server, target):
    """A public feed server (127.0.0.1, let through by the setting) that answers 302 to a local address."""
    inner_server.body = cap_message("INNER-1")
    feed_server.redirects["/cap.xml"] = {"inner": inner_server.url + "/cap.xml", "metadata": METADATA,
                                         "decimal": f"http://2130706434:{inner_server.httpd.server_port}/"}[target]
    feed = Feed.create(name="redirect", url=feed_server.url + "/cap.xml", format="cap")
    page = poll_now(client, feed)
    assert [r["path"] for r in feed_server.requests] == ["/cap.xml"] and inner_server.requests == []
    assert "refused" in Feed.get_by_id(feed.id).last_error and "本机或内网" in page
    assert WeatherWarning.select().count() == 0


def test_a_redirect_to_a_public_address_is_followed_and_each_hop_checked(app, world, feed_server):
    feed_server.redirects = {"/old.xml": "/moved.xml", "/moved.xml": feed_server.url + "/cap.xml"}
    feed_server.body = cap_message("MOVED-1")
    feed = Feed.create(name="moved", url=feed_server.url + "/old.xml", format="cap")
    with app.test_request_context():
        assert service.poll_feed(feed)["new"] == 1
    assert [r["path"] for r in feed_server.requests] == ["/old.xml", "/moved.xml", "/cap.xml"]
    feed_server.redirects = {"/old.xml": "/old.xml"}  # a loop ends
    with app.test_request_context():
        assert "redirects" in service.poll_feed(Feed.get_by_id(feed.id))["error"]


def test_the_address_connected_to_is_checked_too(app, world, inner_server, monkeypatch):
    """DNS rebinding: a name that passes the check and then leads to 127.0.0.2 when connecting
    (simulated by letting the check pass): the connection itself is refused, nothing is requested."""
    monkeypatch.setattr(outbound, "private_address", lambda host, resolve, allowed=(): None)
    inner_server.body = cap_message("INNER-1")
    feed = Feed.create(name="rebind", url=inner_server.url + "/cap.xml", format="cap")
    with app.test_request_context():
        error = service.poll_feed(feed)["error"]
    assert error == "127.0.0.2 is a local or private network address (127.0.0.2); refused"
    assert inner_server.requests == [] and WeatherWarning.select().count() == 0


@pytest.mark.parametrize("setting", ["1", "127.0.0.0/8", "127.0.0.2, 10.0.0.0/8"])
def test_an_operator_may_allow_feeds_on_their_own_network(app, world, inner_server, setting):
    app.config["FEED_ALLOW_PRIVATE"] = outbound.allowed_networks(setting)
    inner_server.body = cap_message("LAN-1")
    feed = Feed.create(name="lan", url=inner_server.url + "/cap.xml", format="cap")
    with app.test_request_context():
        assert service.poll_feed(feed)["new"] == 1
