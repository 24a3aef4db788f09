"""Outgoing HTTP to addresses that users and administrators give: the public-address guard.

A webhook, a WeCom or DingTalk robot, a weather feed, the links inside a feed's index and every
redirect on the way are addresses typed by someone else; fetched from the server, they must not let
that someone probe the server's own networks (Redis on 127.0.0.1, the cloud's metadata service at
169.254.169.254, the office LAN). Three checks, all here:

* ``private_address(host)``: the host as written (on save, no DNS) or also resolved (before sending).
  An address in any spelling the system resolver takes (``2130706433``, ``0x7f000001``, ``127.1``,
  ``0177.0.0.1``, ``localhost.``) and IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64
  ``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo, IPv4-compatible) are judged
  by the IPv4 address they lead to.
* ``session(allowed)``: a requests session whose connections refuse, once connected, a peer that is
  not public: the address actually connected to, so DNS rebinding gets no further than the check before.
* ``get(url, ...)``: follows redirects itself, checking every hop.

``allowed``: networks an operator lets through anyway (``NOTIFY_ALLOW_PRIVATE``, ``FEED_ALLOW_PRIVATE``;
see ``allowed_networks``).
"""
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

ALL = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
MAX_REDIRECTS = 5
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")


class Refused(Exception):
    """An address that leads into a local or private network; never worth another try."""

    def __init__(self, host, address):
        super().__init__(f"{host} is a local or private network address ({address}); refused")
        self.host, self.address = host, address


def allowed_networks(value):
    """A setting's value as the networks it lets through: ``0``/empty none, ``1`` all, or networks
    separated by commas or spaces (``127.0.0.1/32, 192.168.1.0/24``). Raises ValueError otherwise."""
    if isinstance(value, (tuple, list)):
        return tuple(ipaddress.ip_network(v, strict=False) for v in value)
    if isinstance(value, bool):
        return ALL if value else ()
    text = str(value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return ()
    if text in ("1", "true", "yes", "on"):
        return ALL
    return tuple(ipaddress.ip_network(part, strict=False) for part in text.replace(",", " ").split())


def _inet_aton(host):
    """``host`` read as the C library's inet_aton reads it (1 to 4 parts, each decimal, 0x-hex or
    0-octal, the last filling the remaining bytes), or None if it is not such a number."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        try:
            if part[:2] in ("0x", "0X"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            elif part.isdigit():
                numbers.append(int(part))
            else:
                return None
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (4 - len(head)) + last)


def embedded_ipv4(address):
    """The IPv4 address an IPv6 address leads to (mapped, translated, NAT64, 6to4, Teredo, compatible)."""
    if address.version != 6:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if any(address in net for net in _NAT64 + (_IPV4_TRANSLATED,)) or \
            (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def not_public(address, allowed=()):
    """Whether ``address`` (text or ipaddress) is loopback, private, link-local, reserved or otherwise
    not on the internet, or leads to such an IPv4 address, and lies outside ``allowed``."""
    address = ipaddress.ip_address(str(address).split("%")[0])
    candidates = [address]
    inner = embedded_ipv4(address)
    if inner is not None:
        candidates.append(inner)
    for candidate in candidates:
        if not candidate.is_global or candidate.is_multicast:
            if not any(candidate.version == net.version and candidate in net for net in allowed):
                return True
    return False


def literal_address(host):
    """The address ``host`` spells (any inet_aton form, IPv6 with or without brackets), or None for a name."""
    host = (host or "").strip().strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return _inet_aton(host)


def private_address(host, resolve, allowed=()):
    """The loopback, private, link-local or otherwise non-public address ``host`` leads to (when
    ``resolve``, also through DNS: any of its addresses), or None. Raises OSError when a name does
    not resolve."""
    name = (host or "").strip().strip("[]").rstrip(".").lower()
    if not name:
        return host or "(no host)"
    if name == "localhost" or name.endswith(".localhost"):
        return host if not_public("127.0.0.1", allowed) else None
    literal = literal_address(name)
    if literal is not None:
        return str(literal) if not_public(literal, allowed) else None
    if not resolve:
        return None
    for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP):
        address = info[4][0].split("%")[0]
        if not_public(address, allowed):
            return address
    return None


def check_url(url, allowed=(), resolve=True):
    """Raise Refused when ``url``'s host leads into a local or private network (OSError when its name
    does not resolve)."""
    host = urlsplit(url).hostname
    found = private_address(host, resolve, allowed)
    if found:
        raise Refused(host, found)


class _PrivatePeer(urllib3.exceptions.NewConnectionError):
    def __init__(self, conn, host, peer):
        super().__init__(conn, f"{host} is a local or private network address ({peer}); refused")
        self.refused = Refused(host, peer)


def _public_only(connection_class, allowed):
    class PublicOnly(connection_class):
        def _new_conn(self):
            sock = super()._new_conn()
            try:
                peer = sock.getpeername()[0]
            except OSError:
                peer = None
            if peer is not None and not_public(peer, allowed):
                sock.close()
                raise _PrivatePeer(self, self.host, peer)
            return sock

    return PublicOnly


class PublicOnlyAdapter(requests.adapters.HTTPAdapter):
    """Connections that refuse a peer outside the public internet (and ``allowed``) once connected."""

    def __init__(self, allowed=(), **kwargs):
        self.allowed = tuple(allowed)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http = type("PublicHTTPPool", (urllib3.HTTPConnectionPool,),
                    {"ConnectionCls": _public_only(urllib3.connection.HTTPConnection, self.allowed)})
        https = type("PublicHTTPSPool", (urllib3.HTTPSConnectionPool,),
                     {"ConnectionCls": _public_only(urllib3.connection.HTTPSConnection, self.allowed)})
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


def session(allowed=()):
    """A requests session whose connections may reach only public addresses and ``allowed``."""
    result = requests.Session()
    if tuple(allowed) != ALL:
        adapter = PublicOnlyAdapter(allowed)
        result.mount("http://", adapter)
        result.mount("https://", adapter)
    return result


def refusal(error):
    """The Refused behind a requests error raised by a ``session``'s connection, or None."""
    if isinstance(error, Refused):
        return error
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _PrivatePeer):
            return error.refused
        reason = getattr(error, "reason", None)
        if isinstance(reason, _PrivatePeer):
            return reason.refused
        error = error.args[0] if getattr(error, "args", None) and isinstance(error.args[0], BaseException) \
            else error.__context__
    return None


def same_origin(url, origin):
    """Whether ``url`` has ``origin``'s scheme, host and port."""
    def key(value):
        parts = urlsplit(value)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        return parts.scheme.lower(), (parts.hostname or "").rstrip(".").lower(), port

    try:
        return bool(origin) and key(url) == key(origin)
    except ValueError:
        return False


class Client:
    """GETs that follow redirects themselves: every hop passes ``check_url`` before and the peer check
    once connected, except hops on ``trusted_origin`` (this app's own public origin, which anyone may
    read). Use as a context manager; ``get`` returns a streamed response the caller reads and closes."""

    def __init__(self, allowed=(), trusted_origin=None, timeout=10, max_redirects=MAX_REDIRECTS):
        self.allowed, self.trusted_origin = tuple(allowed), trusted_origin
        self.timeout, self.max_redirects = timeout, max_redirects
        self.guarded, self.plain = session(self.allowed), requests.Session()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.guarded.close()
        self.plain.close()

    def get(self, url, headers=None):
        """Raises Refused, OSError (a name that does not resolve), requests.RequestException
        (requests.TooManyRedirects after ``max_redirects``)."""
        for _hop in range(self.max_redirects + 1):
            trusted = same_origin(url, self.trusted_origin)
            if urlsplit(url).scheme not in ("http", "https"):
                raise requests.exceptions.InvalidSchema(f"not an http(s) address: {url}")
            if not trusted:
                check_url(url, self.allowed)
            try:
                response = (self.plain if trusted else self.guarded).get(
                    url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False)
            except requests.RequestException as e:
                refused = refusal(e)
                if refused is not None:
                    raise refused from None
                raise
            if not response.is_redirect:
                return response
            location = response.headers.get("Location", "")
            response.close()
            url = urljoin(url, location)
        raise requests.TooManyRedirects(f"more than {self.max_redirects} redirects")
