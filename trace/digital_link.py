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

Every invalid input, whatever is wrong with it (its type too), raises
``ValueError`` with a message that says what is wrong.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

__all__ = ["DigitalLink", "build", "gtin_check_digit", "is_valid_gtin", "normalise_gtin", "parse"]

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


# --- GTIN ---------------------------------------------------------------------------------------

def gtin_check_digit(first13: str) -> str:
    """The GS1 mod-10 check digit for the digits before it, e.g. the first 13 of a GTIN-14.

    Any GS1 key body works (7, 11, 12 or 13 digits for GTIN-8/12/13/14): weights 3, 1, 3, ...
    from the rightmost digit.
    """
    if not isinstance(first13, str):
        raise ValueError(f"check digit needs a string of digits 0-9, got {type(first13).__name__}")
    if not _DIGITS_RE.fullmatch(first13):
        raise ValueError(f"check digit needs a string of digits 0-9, got {_show(first13)}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(first13)))
    return str((10 - total % 10) % 10)


def _gtin_problem(s) -> str | None:
    """Why ``s`` is not a GTIN-8/12/13/14, or None when it is one."""
    if not isinstance(s, str):
        return f"GTIN must be a string of digits, got {type(s).__name__}"
    if not _DIGITS_RE.fullmatch(s):
        return f"GTIN {_show(s)} must contain only digits 0-9"
    if len(s) not in GTIN_LENGTHS:
        return f"GTIN {_show(s)} has {len(s)} digits; a GTIN has 8, 12, 13 or 14"
    expected = gtin_check_digit(s[:-1])
    if s[-1] != expected:
        return f"GTIN {s} has a wrong check digit: {s[-1]}, expected {expected}"
    return None


def is_valid_gtin(s) -> bool:
    """True for a GTIN-8, -12, -13 or -14 digit string whose check digit is right."""
    return _gtin_problem(s) is None


def normalise_gtin(s: str) -> str:
    """The 14-digit form of a valid GTIN-8/12/13/14 (zero-padded on the left).

    Raises ValueError saying what is wrong otherwise.
    """
    problem = _gtin_problem(s)
    if problem:
        raise ValueError(problem)
    return s.zfill(14)


# --- values ------------------------------------------------------------------------------------

def _check_value(name: str, value) -> str:
    """Validate a lot or serial (decoded): 1-20 characters of AI character set 82."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} is empty; it needs 1 to {MAX_VALUE_LENGTH} characters")
    bad = sorted({c for c in value if c not in _CSET82})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise ValueError(f"{name} {_show(value)} contains {shown}, not allowed: GS1 lots and serials use only "
                         "the AI character set 82 (A-Z a-z 0-9 and ! \" % & ' ( ) * + , - . / : ; < = > ? _)")
    if len(value) > MAX_VALUE_LENGTH:
        raise ValueError(f"{name} {_show(value)} has {len(value)} characters; at most {MAX_VALUE_LENGTH} are allowed")
    return value


def _check_batch_code(code) -> str:
    if not isinstance(code, str):
        raise ValueError(f"batch code must be a string, got {type(code).__name__}")
    if not BATCH_CODE_RE.fullmatch(code):
        raise ValueError(f"batch code {_show(code)} must be 4 to 32 characters A-Z or 0-9")
    return code


def _encode(value: str) -> str:
    return "".join(c if c in _UNRESERVED else f"%{ord(c):02X}" for c in value)


def _decode(name: str, segment: str) -> str:
    if not _SEGMENT_RE.fullmatch(segment):
        if re.search(r"%(?![0-9A-Fa-f]{2})", segment):
            raise ValueError(f"{name} {_show(segment)} has a malformed percent-encoding ('%' must be followed by "
                             "two hex digits; a literal '%' is written %25)")
        bad = sorted({c for c in segment if not re.fullmatch(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%]", c)})
        raise ValueError(f"{name} {_show(segment)} contains {', '.join(repr(c) for c in bad)}, which must be "
                         "percent-encoded in a URI")
    try:
        value = unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{name} {_show(segment)} does not percent-decode to UTF-8 text") from None
    return _check_value(name, value)


# --- build ------------------------------------------------------------------------------------

def _check_base_url(base_url) -> str:
    if not isinstance(base_url, str):
        raise ValueError(f"base_url must be a string, got {type(base_url).__name__}")
    base = base_url[:-1] if base_url.endswith("/") else base_url
    if not base.isascii() or not base.isprintable() or " " in base:
        raise ValueError(f"base_url {base_url!r} must be printable ASCII without spaces")
    parts = urlsplit(base)
    try:
        parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise ValueError(f"base_url {base_url!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url {base_url!r} must be an absolute http(s) URL such as https://trace.example.cn")
    if parts.path or parts.query or parts.fragment or base.endswith(("?", "#")):
        raise ValueError(f"base_url {base_url!r} must be just scheme://host[:port]: Digital Link paths "
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
        raise ValueError("give either gtin (with lot) or batch_code, not both")
    if gtin is not None:
        if lot is None:
            raise ValueError("a GTIN link needs a lot (AI 10): this app requires one")
        path = f"/01/{normalise_gtin(gtin)}/10/{_encode(_check_value('lot', lot))}"
    elif batch_code is not None:
        if lot is not None:
            raise ValueError("a batch-code link (/t/) carries no lot; the batch code is the lot")
        path = f"/t/{_check_batch_code(batch_code)}"
    else:
        raise ValueError("give either gtin (with lot) or batch_code")
    if serial is not None:
        path += f"/21/{_encode(_check_value('serial', serial))}"
    return base + path


# --- parse ------------------------------------------------------------------------------------

def _path_of(url_or_path) -> str:
    """The path of a full http(s) URL or of a path; query ignored, fragment rejected."""
    if not isinstance(url_or_path, str):
        raise ValueError(f"expected a URL or path string, got {type(url_or_path).__name__}")
    text = url_or_path
    if not text:
        raise ValueError("empty Digital Link")
    if len(text) > MAX_LINK_LENGTH:
        raise ValueError(f"Digital Link is {len(text)} characters long; no valid one exceeds {MAX_LINK_LENGTH}")
    bad = sorted({c for c in text if not ("!" <= c <= "~")})
    if bad:
        raise ValueError(f"Digital Link {_show(text)} contains {', '.join(repr(c) for c in bad)}: a URI is printable "
                         "ASCII without spaces (other characters must be percent-encoded)")
    if "#" in text:
        raise ValueError(f"Digital Link {_show(text)} has a fragment ('#...'), which is not allowed")
    before_query = text.split("?", 1)[0]
    if before_query.startswith("/"):
        return before_query
    parts = urlsplit(before_query)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"Digital Link {_show(text)} must be an http(s) URL or a path starting with '/'")
    if not parts.path or parts.path == "/":
        raise ValueError(f"Digital Link {_show(text)} has no path: expected /01/{{gtin}}/10/{{lot}} "
                         "or /t/{batch code}")
    return parts.path


def parse(url_or_path: str) -> DigitalLink:
    """Read a Digital Link URL (http or https) or just its path.

    A query string is ignored and one trailing slash tolerated; anything else that is not
    ``/01/{gtin}/10/{lot}[/21/{serial}]`` or ``/t/{batch_code}[/21/{serial}]`` raises ValueError.
    """
    path = _path_of(url_or_path)
    segments = path[1:].split("/")
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # one trailing slash
    if segments == [""]:
        raise ValueError("empty path: expected /01/{gtin}/10/{lot} or /t/{batch code}")
    for i, segment in enumerate(segments):
        if segment == "":
            raise ValueError(f"path {_show(path)} has an empty segment (at position {i + 1}; '//' or a second "
                             "trailing slash)")

    key = segments[0]
    if key == "01":
        return _parse_gtin_path(path, segments)
    if key == "t":
        return _parse_batch_path(path, segments)
    if key in ("10", "21"):
        raise ValueError(f"wrong AI order in {_show(path)}: it must start with 01 (GTIN) or t (batch code), "
                         f"not {key} ({_AI_NAMES[key]})")
    if _DIGITS_RE.fullmatch(key):
        raise ValueError(f"unknown or unsupported AI {_show(key)} in {_show(path)}: expected 01 (GTIN) "
                         "or t (batch code)")
    raise ValueError(f"unknown primary key {_show(key)} in {_show(path)}: expected 01 (GTIN) or t (batch code)")


def _parse_gtin_path(path: str, segments: list[str]) -> DigitalLink:
    if len(segments) < 2:
        raise ValueError(f"AI 01 (GTIN) in {_show(path)} has no value")
    gtin = normalise_gtin(segments[1])
    if len(segments) < 3:
        raise ValueError(f"missing lot in {_show(path)}: this app requires /10/{{lot}} after the GTIN")
    if segments[2] != "10":
        if segments[2] == "21":
            if "10" in segments[2::2]:
                raise ValueError(f"wrong AI order in {_show(path)}: 10 (lot) must come before 21 (serial)")
            raise ValueError(f"missing lot in {_show(path)}: this app requires /10/{{lot}} after the GTIN, "
                             "before 21 (serial)")
        raise _unexpected(path, segments[2], "10 (lot)")
    if len(segments) < 4:
        raise ValueError(f"AI 10 (lot) in {_show(path)} has no value")
    lot = _decode("lot", segments[3])
    serial = _parse_serial(path, segments, 4)
    return DigitalLink(gtin=gtin, lot=lot, serial=serial)


def _parse_batch_path(path: str, segments: list[str]) -> DigitalLink:
    if len(segments) < 2:
        raise ValueError(f"batch code after /t/ in {_show(path)} is missing")
    code = _check_batch_code(segments[1])
    if len(segments) > 2 and segments[2] == "10":
        raise ValueError(f"a batch-code link (/t/) carries no lot (AI 10), in {_show(path)}")
    serial = _parse_serial(path, segments, 2)
    return DigitalLink(batch_code=code, serial=serial)


def _parse_serial(path: str, segments: list[str], at: int) -> str | None:
    """The optional trailing ``/21/{serial}`` starting at segment ``at``."""
    if len(segments) == at:
        return None
    if segments[at] != "21":
        if segments[at] in ("01", "10"):
            name = _AI_NAMES[segments[at]]
            raise ValueError(f"AI {segments[at]} ({name}) repeated or out of order in {_show(path)}")
        raise _unexpected(path, segments[at], "21 (serial) or the end")
    if len(segments) == at + 1:
        raise ValueError(f"AI 21 (serial) in {_show(path)} has no value")
    serial = _decode("serial", segments[at + 1])
    if len(segments) > at + 2:
        extra = "/".join(segments[at + 2:])
        raise ValueError(f"unexpected path segments after the serial in {_show(path)}: {_show(extra)} (other GS1 "
                         "data attributes are not supported)")
    return serial


def _unexpected(path: str, segment: str, expected: str) -> ValueError:
    if _DIGITS_RE.fullmatch(segment):
        return ValueError(f"unknown or unsupported AI {_show(segment)} in {_show(path)}: expected {expected}")
    return ValueError(f"unexpected segment {_show(segment)} in {_show(path)}: expected {expected}")


def check_lot(lot: str) -> str:
    """Raise ValueError unless ``lot`` can be a GS1 lot (AI 10): 1-20 characters of set 82."""
    return _check_value("lot", lot)
