"""GS1 Digital Link URIs for harvest batches (no network).

Two forms of path, each under a URI stem that is just ``scheme://host[:port]``:

* ``/01/{gtin14}/10/{lot}[/21/{serial}]`` for produce that carries a GTIN.
  GS1 Digital Link allows a GTIN without a lot; this app does not: every
  harvest batch is a lot, so ``parse`` rejects ``/01/{gtin}`` alone.
* ``/t/{batch_code}[/21/{serial}]`` for a batch without a GTIN; ``t`` is this
  app's own key, not a GS1 one, and a batch code is ``[A-Z0-9]{4,32}``.

Lot (AI 10) and serial (AI 21) are 1 to 20 characters of GS1 AI encodable
character set 82 (``! " % & ' ( ) * + , - . / 0-9 : ; < = > ? A-Z _ a-z``).
``build`` percent-encodes, with upper-case hex, every one of them that is not an
RFC 3986 unreserved character (so ``/`` becomes ``%2F``, ``%`` becomes ``%25``), as
GS1 Digital Link 1.x asks; ``parse`` accepts either case of hex, and the
characters a path segment may carry literally, and decodes them.

``parse`` follows the Digital Link grammar for the GTIN key: the key qualifiers
``/22/{cpv}``, ``/10/{lot}`` and ``/21/{serial}`` each at most once and in that
order; the query string (data attributes, ``linkType`` and any unknown attribute)
and the ``#fragment`` are ignored.

``parse_identifier`` reads every GS1 form that names a GTIN with its lot or serial,
as partners write them in EPCIS documents: a Digital Link on any domain (the GS1
resolver ``https://id.gs1.org`` as well as ours: the domain is not part of the
identifier), the EPC pure identity URNs ``urn:epc:class:lgtin:`` (GTIN + lot) and
``urn:epc:id:sgtin:`` (GTIN + serial), with GTIN-8/12/13 padded to GTIN-14 and
percent-encoding decoded.

Every invalid input, whatever is wrong with it (its type too), raises ``LinkError``
(a ValueError) whose ``reason`` is one of ``check_digit``, ``order`` (qualifiers out
of order or repeated), ``primary_key`` (unknown or unsupported key), ``characters``
(characters a GS1 value or URI may not hold) or ``format`` (anything else), and
whose message says what is wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

__all__ = ["DigitalLink", "LinkError", "build", "gtin_check_digit", "host_of", "is_valid_gtin", "normalise_gtin", "parse",
           "parse_identifier"]

GTIN_LENGTHS = (8, 12, 13, 14)
MAX_VALUE_LENGTH = 20  # AI 10 and AI 21 are both X..20
BATCH_CODE_RE = re.compile(r"[A-Z0-9]{4,32}")
_DIGITS_RE = re.compile(r"[0-9]+")  # not \d: that also matches non-ASCII digits
# GS1 AI encodable character set 82.
_CSET82 = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
# RFC 3986 unreserved characters: the only ones build() leaves as they are.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# A well-formed RFC 3986 path segment (pchar+).
_SEGMENT_RE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
_AI_NAMES = {"01": "GTIN", "10": "lot", "21": "serial"}
# Far longer than any valid link (a stem plus six segments, each value at most 60 characters encoded).
MAX_LINK_LENGTH = 2000


class LinkError(ValueError):
    """Why a text is not a valid GS1 identifier; ``reason`` is one of ``REASONS``, ``str()`` says it in full.

    A ValueError, so callers that catch ValueError keep working."""

    REASONS = ("check_digit", "order", "primary_key", "characters", "format")

    def __init__(self, reason: str, message: str):
        assert reason in self.REASONS, reason
        super().__init__(message)
        self.reason = reason


def _show(value: str, limit: int = 60) -> str:
    """repr() of a value for an error message, cut short when long."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"... ({len(value)} characters)"


@dataclass(frozen=True)
class DigitalLink:
    """What a Digital Link identifies: either ``gtin`` and ``lot``, or ``batch_code``; ``serial`` optional.

    ``gtin`` is always the 14-digit form.
    """

    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    batch_code: str | None = None
    cpv: str | None = None  # AI 22, consumer product variant: read, not part of a batch's identity


# --- GTIN ---------------------------------------------------------------------------------------

def gtin_check_digit(first13: str) -> str:
    """The GS1 mod-10 check digit for the digits before it, e.g. the first 13 of a GTIN-14.

    Any GS1 key body works (7, 11, 12 or 13 digits for GTIN-8/12/13/14): weights 3, 1, 3, ...
    from the rightmost digit.
    """
    if not isinstance(first13, str):
        raise LinkError("characters", f"check digit needs a string of digits 0-9, got {type(first13).__name__}")
    if not _DIGITS_RE.fullmatch(first13):
        raise LinkError("characters", f"check digit needs a string of digits 0-9, got {_show(first13)}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(first13)))
    return str((10 - total % 10) % 10)


def _gtin_problem(s) -> LinkError | None:
    """Why ``s`` is not a GTIN-8/12/13/14, or None when it is one."""
    if not isinstance(s, str):
        return LinkError("format", f"GTIN must be a string of digits, got {type(s).__name__}")
    if not _DIGITS_RE.fullmatch(s):
        return LinkError("characters", f"GTIN {_show(s)} must contain only digits 0-9")
    if len(s) not in GTIN_LENGTHS:
        return LinkError("format", f"GTIN {_show(s)} has {len(s)} digits; a GTIN has 8, 12, 13 or 14")
    expected = gtin_check_digit(s[:-1])
    if s[-1] != expected:
        return LinkError("check_digit", f"GTIN {s} has a wrong check digit: {s[-1]}, expected {expected}")
    return None


def is_valid_gtin(s) -> bool:
    """True for a GTIN-8, -12, -13 or -14 digit string whose check digit is right."""
    return _gtin_problem(s) is None


def normalise_gtin(s: str) -> str:
    """The 14-digit form of a valid GTIN-8/12/13/14 (zero-padded on the left).

    Raises LinkError saying what is wrong otherwise.
    """
    problem = _gtin_problem(s)
    if problem:
        raise problem
    return s.zfill(14)


# --- values ------------------------------------------------------------------------------------

def _check_value(name: str, value) -> str:
    """Validate a lot or serial (decoded): 1-20 characters of AI character set 82."""
    if not isinstance(value, str):
        raise LinkError("format", f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise LinkError("format", f"{name} is empty; it needs 1 to {MAX_VALUE_LENGTH} characters")
    bad = sorted({c for c in value if c not in _CSET82})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise LinkError("characters", f"{name} {_show(value)} contains {shown}, not allowed: GS1 lots and serials use only "
                         "the AI character set 82 (A-Z a-z 0-9 and ! \" % & ' ( ) * + , - . / : ; < = > ? _)")
    if len(value) > MAX_VALUE_LENGTH:
        raise LinkError("format", f"{name} {_show(value)} has {len(value)} characters; at most {MAX_VALUE_LENGTH} are allowed")
    return value


def _check_batch_code(code) -> str:
    if not isinstance(code, str):
        raise LinkError("format", f"batch code must be a string, got {type(code).__name__}")
    if not BATCH_CODE_RE.fullmatch(code):
        raise LinkError("format", f"batch code {_show(code)} must be 4 to 32 characters A-Z or 0-9")
    return code


def _encode(value: str) -> str:
    return "".join(c if c in _UNRESERVED else f"%{ord(c):02X}" for c in value)


def _decode(name: str, segment: str) -> str:
    if not _SEGMENT_RE.fullmatch(segment):
        if re.search(r"%(?![0-9A-Fa-f]{2})", segment):
            raise LinkError("characters", f"{name} {_show(segment)} has a malformed percent-encoding ('%' must be followed by "
                             "two hex digits; a literal '%' is written %25)")
        bad = sorted({c for c in segment if not re.fullmatch(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%]", c)})
        raise LinkError("characters", f"{name} {_show(segment)} contains {', '.join(repr(c) for c in bad)}, which must be "
                         "percent-encoded in a URI")
    try:
        value = unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise LinkError("characters", f"{name} {_show(segment)} does not percent-decode to UTF-8 text") from None
    return _check_value(name, value)


# --- build ------------------------------------------------------------------------------------

def _check_base_url(base_url) -> str:
    if not isinstance(base_url, str):
        raise LinkError("format", f"base_url must be a string, got {type(base_url).__name__}")
    base = base_url[:-1] if base_url.endswith("/") else base_url
    if not base.isascii() or not base.isprintable() or " " in base:
        raise LinkError("characters", f"base_url {base_url!r} must be printable ASCII without spaces")
    parts = urlsplit(base)
    try:
        parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise LinkError("format", f"base_url {base_url!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LinkError("format", f"base_url {base_url!r} must be an absolute http(s) URL such as https://trace.example.cn")
    if parts.path or parts.query or parts.fragment or base.endswith(("?", "#")):
        raise LinkError("format", f"base_url {base_url!r} must be just scheme://host[:port]: Digital Link paths "
                         "start at the root, with no query or fragment")
    return base


def build(base_url: str, *, gtin: str | None = None, lot: str | None = None, serial: str | None = None,
          batch_code: str | None = None) -> str:
    """The Digital Link URI of a batch.

    With ``gtin`` (and then ``lot`` is required): ``{base}/01/{gtin14}/10/{lot}[/21/{serial}]``.
    With ``batch_code`` (no lot): ``{base}/t/{batch_code}[/21/{serial}]``.
    ``base_url`` is ``scheme://host[:port]``; one trailing slash is dropped.
    """
    base = _check_base_url(base_url)
    if gtin is not None and batch_code is not None:
        raise LinkError("format", "give either gtin (with lot) or batch_code, not both")
    if gtin is not None:
        if lot is None:
            raise LinkError("format", "a GTIN link needs a lot (AI 10): this app requires one")
        path = f"/01/{normalise_gtin(gtin)}/10/{_encode(_check_value('lot', lot))}"
    elif batch_code is not None:
        if lot is not None:
            raise LinkError("format", "a batch-code link (/t/) carries no lot; the batch code is the lot")
        path = f"/t/{_check_batch_code(batch_code)}"
    else:
        raise LinkError("format", "give either gtin (with lot) or batch_code")
    if serial is not None:
        path += f"/21/{_encode(_check_value('serial', serial))}"
    return base + path


# --- parse ------------------------------------------------------------------------------------

# The GTIN key's qualifiers in the order the Digital Link grammar puts them.
_QUALIFIERS = ("22", "10", "21")
_QUALIFIER_NAMES = {"22": "CPV", "10": "lot", "21": "serial"}
_AI_NAMES = {"01": "GTIN", "22": "CPV", "10": "lot", "21": "serial"}
# RFC 3986 authority: [userinfo@] (IP literal | reg-name) [:port].
_AUTHORITY_RE = re.compile(r"(?:[A-Za-z0-9\-._~%!$&'()*+,;=:]*@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)"
                           r"(?::[0-9]*)?")


def _split(url_or_path) -> tuple[str, str | None]:
    """(path, host or None) of a full http(s) URL or of a path; query and fragment dropped."""
    if not isinstance(url_or_path, str):
        raise LinkError("format", f"expected a URL or path string, got {type(url_or_path).__name__}")
    text = url_or_path
    if not text:
        raise LinkError("format", "empty Digital Link")
    if len(text) > MAX_LINK_LENGTH:
        raise LinkError("format", f"Digital Link is {len(text)} characters long; no valid one exceeds "
                                  f"{MAX_LINK_LENGTH}")
    bad = sorted({c for c in text if not ("!" <= c <= "~")})
    if bad:
        raise LinkError("characters", f"Digital Link {_show(text)} contains {', '.join(repr(c) for c in bad)}: a "
                                      "URI is printable ASCII without spaces (other characters must be "
                                      "percent-encoded)")
    before_query = text.split("#", 1)[0].split("?", 1)[0]
    if before_query.startswith("/"):
        return before_query, None
    try:
        parts = urlsplit(before_query)
        host, _port = parts.hostname, parts.port
        if parts.netloc and not _AUTHORITY_RE.fullmatch(parts.netloc):
            raise ValueError("malformed host")
    except ValueError as e:  # e.g. unbalanced IPv6 brackets (http://[::1/t/...), a port that is no number
        raise LinkError("format", f"Digital Link {_show(text)} is not a well-formed URL ({e})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or not host:
        raise LinkError("format", f"Digital Link {_show(text)} must be an http(s) URL or a path starting with '/'")
    if not parts.path or parts.path == "/":
        raise LinkError("format", f"Digital Link {_show(text)} has no path: expected /01/{{gtin}}/10/{{lot}} "
                                  "or /t/{batch code}")
    return parts.path, host


def host_of(url: str) -> str | None:
    """The lower-case host of a Digital Link URL that ``parse`` accepts; None for a bare path."""
    return _split(url)[1]


def parse(url_or_path: str, *, require_lot: bool = True) -> DigitalLink:
    """Read a Digital Link URL (http or https, on any domain) or just its path.

    The query string and fragment are ignored and one trailing slash tolerated; anything else
    that is not ``/01/{gtin}[/22/{cpv}]/10/{lot}[/21/{serial}]`` or ``/t/{batch_code}[/21/{serial}]``
    raises LinkError. ``require_lot=False`` also accepts ``/01/{gtin}[/22/{cpv}]/21/{serial}``
    (an item named by GTIN and serial, like an SGTIN).
    """
    path, _host = _split(url_or_path)
    segments = path[1:].split("/")
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # one trailing slash
    if segments == [""]:
        raise LinkError("format", "empty path: expected /01/{gtin}/10/{lot} or /t/{batch code}")
    for i, segment in enumerate(segments):
        if segment == "":
            raise LinkError("format", f"path {_show(path)} has an empty segment (at position {i + 1}; '//' or a "
                                      "second trailing slash)")

    key = segments[0]
    if key == "01":
        return _parse_gtin_path(path, segments, require_lot)
    if key == "t":
        return _parse_batch_path(path, segments)
    if key in _QUALIFIERS:
        raise LinkError("order", f"wrong AI order in {_show(path)}: it must start with 01 (GTIN) or t (batch code), "
                                 f"not {key} ({_AI_NAMES[key]})")
    if _DIGITS_RE.fullmatch(key):
        raise LinkError("primary_key", f"unknown or unsupported AI {_show(key)} in {_show(path)}: expected 01 "
                                       "(GTIN) or t (batch code)")
    raise LinkError("primary_key", f"unknown primary key {_show(key)} in {_show(path)}: expected 01 (GTIN) or t "
                                   "(batch code)")


def _parse_gtin_path(path: str, segments: list[str], require_lot: bool) -> DigitalLink:
    if len(segments) < 2:
        raise LinkError("format", f"AI 01 (GTIN) in {_show(path)} has no value")
    gtin = normalise_gtin(segments[1])
    values: dict[str, str] = {}
    at = 2
    while at < len(segments):
        ai = segments[at]
        if ai not in _QUALIFIERS:
            if "21" in values:
                extra = "/".join(segments[at:])
                raise LinkError("format", f"unexpected path segments after the serial in {_show(path)}: "
                                          f"{_show(extra)} (other GS1 data attributes belong in the query string)")
            if ai == "01":
                raise LinkError("order", f"AI 01 (GTIN) repeated in {_show(path)}")
            raise _unexpected(path, ai, "22 (CPV), 10 (lot) or 21 (serial)")
        if ai in values:
            raise LinkError("order", f"AI {ai} ({_AI_NAMES[ai]}) repeated or out of order in {_show(path)}")
        later = [q for q in values if _QUALIFIERS.index(q) > _QUALIFIERS.index(ai)]
        if later:
            raise LinkError("order", f"wrong AI order in {_show(path)}: {ai} ({_AI_NAMES[ai]}) must come before "
                                     f"{later[0]} ({_AI_NAMES[later[0]]})")
        if at + 1 >= len(segments):
            raise LinkError("format", f"AI {ai} ({_AI_NAMES[ai]}) in {_show(path)} has no value")
        values[ai] = _decode(_QUALIFIER_NAMES[ai], segments[at + 1])
        at += 2
    if "10" not in values and (require_lot or "21" not in values):
        after = " before 21 (serial)" if "21" in values else ""
        raise LinkError("format", f"missing lot in {_show(path)}: this app requires /10/{{lot}} after the GTIN"
                                  f"{after}")
    return DigitalLink(gtin=gtin, lot=values.get("10"), serial=values.get("21"), cpv=values.get("22"))


def _parse_batch_path(path: str, segments: list[str]) -> DigitalLink:
    if len(segments) < 2:
        raise LinkError("format", f"batch code after /t/ in {_show(path)} is missing")
    code = _check_batch_code(segments[1])
    if len(segments) > 2 and segments[2] == "10":
        raise LinkError("format", f"a batch-code link (/t/) carries no lot (AI 10), in {_show(path)}")
    serial = None
    if len(segments) > 2:
        if segments[2] != "21":
            if segments[2] in ("01", "22"):
                raise LinkError("order", f"AI {segments[2]} ({_AI_NAMES[segments[2]]}) out of order in "
                                         f"{_show(path)}")
            raise _unexpected(path, segments[2], "21 (serial) or the end")
        if len(segments) == 3:
            raise LinkError("format", f"AI 21 (serial) in {_show(path)} has no value")
        serial = _decode("serial", segments[3])
        if len(segments) > 4:
            extra = "/".join(segments[4:])
            raise LinkError("format", f"unexpected path segments after the serial in {_show(path)}: "
                                      f"{_show(extra)} (other GS1 data attributes are not supported)")
    return DigitalLink(batch_code=code, serial=serial)


def _unexpected(path: str, segment: str, expected: str) -> LinkError:
    if _DIGITS_RE.fullmatch(segment):
        return LinkError("primary_key", f"unknown or unsupported AI {_show(segment)} in {_show(path)}: expected "
                                        f"{expected}")
    return LinkError("format", f"unexpected segment {_show(segment)} in {_show(path)}: expected {expected}")


# --- EPC URNs ---------------------------------------------------------------------------------

# EPC Tag Data Standard pure identities: urn:epc:class:lgtin:CP.IR.lot and urn:epc:id:sgtin:CP.IR.serial,
# CP the company prefix (6 to 12 digits), IR the indicator digit then the item reference (13 digits together).
_EPC_URNS = {"urn:epc:class:lgtin:": "lot", "urn:epc:id:sgtin:": "serial"}
# Characters a TDS URN component may hold literally; " % & / < > ? are written %22 %25 %26 %2F %3C %3E %3F.
_URN_SAFE_RE = re.compile(r"(?:[A-Za-z0-9!'()*+,\-.:;=_]|%[0-9A-Fa-f]{2})+")


def _parse_urn(text: str, prefix: str) -> DigitalLink:
    name = _EPC_URNS[prefix]
    body = text[len(prefix):]
    parts = body.split(".", 2)
    if len(parts) != 3:
        raise LinkError("format", f"EPC URN {_show(text)} must be {prefix}<company prefix>.<indicator and item "
                                  f"reference>.<{name}>")
    company, item, value = parts
    if not (_DIGITS_RE.fullmatch(company) and _DIGITS_RE.fullmatch(item)):
        raise LinkError("characters", f"EPC URN {_show(text)}: the company prefix and item reference are digits "
                                      "0-9")
    if not 6 <= len(company) <= 12 or len(company) + len(item) != 13:
        raise LinkError("format", f"EPC URN {_show(text)}: a company prefix of 6 to 12 digits and the indicator "
                                  "with item reference make 13 digits together")
    body13 = item[0] + company + item[1:]
    gtin = body13 + gtin_check_digit(body13)
    if not _URN_SAFE_RE.fullmatch(value):
        if re.search(r"%(?![0-9A-Fa-f]{2})", value) or not value:
            raise LinkError("characters", f"{name} {_show(value)} in EPC URN {_show(text)} is empty or has a "
                                          "malformed percent-encoding")
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9!'()*+,\-.:;=_%]", c)})
        raise LinkError("characters", f"{name} {_show(value)} in EPC URN {_show(text)} contains "
                                      f"{', '.join(repr(c) for c in bad)}, which an EPC URN writes percent-encoded")
    try:
        decoded = unquote_to_bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise LinkError("characters", f"{name} {_show(value)} does not percent-decode to UTF-8 text") from None
    decoded = _check_value(name, decoded)
    return DigitalLink(gtin=gtin, lot=decoded) if name == "lot" else DigitalLink(gtin=gtin, serial=decoded)


def parse_identifier(text: str) -> DigitalLink:
    """Any GS1 form naming a GTIN with its lot, or a GTIN with a serial, or one of this app's /t/ links.

    Accepts a Digital Link URL on any domain (``parse`` with the lot optional when a serial is
    given), ``urn:epc:class:lgtin:…`` and ``urn:epc:id:sgtin:…``. Raises LinkError otherwise.
    """
    if isinstance(text, str) and text[:4].lower() == "urn:":
        if len(text) > MAX_LINK_LENGTH:
            raise LinkError("format", f"URN is {len(text)} characters long; no valid one exceeds {MAX_LINK_LENGTH}")
        for prefix in _EPC_URNS:
            if text.startswith(prefix):
                return _parse_urn(text, prefix)
        kind = text.split(":", 3)[:3]
        raise LinkError("primary_key", f"{_show(text)} ({':'.join(kind)}) is not a GS1 identifier of a batch: "
                                       "expected urn:epc:class:lgtin: (GTIN and lot) or urn:epc:id:sgtin: (GTIN "
                                       "and serial)")
    if isinstance(text, str) and not text.startswith(("http://", "https://", "HTTP://", "HTTPS://")):
        raise LinkError("format", f"{_show(text)} is neither a Digital Link (https://…/01/…) nor an EPC URN "
                                  "(urn:epc:…)")
    return parse(text, require_lot=False)


def check_lot(lot: str) -> str:
    """Raise ValueError unless ``lot`` can be a GS1 lot (AI 10): 1-20 characters of set 82."""
    return _check_value("lot", lot)
