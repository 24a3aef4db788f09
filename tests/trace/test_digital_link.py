"""GS1 Digital Link URIs: GTIN check digits, building, parsing and their round trip. No database."""
import dataclasses

import pytest

from trace import digital_link
from trace.digital_link import DigitalLink, build, gtin_check_digit, is_valid_gtin, normalise_gtin, parse

BASE = "https://trace.example.cn"


# --- GTIN --------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, digit", [
    ("400638133393", "1"),   # EAN-13 4006381333931, the classic published example
    ("690102807576", "3"),   # EAN-13 6901028075763, a Chinese (690-699) GS1 prefix
    ("0690123456789", "2"),  # GTIN-14 06901234567892
    ("978034541891", "3"),   # 9780345418913, the GTIN in GS1's own Digital Link examples
    ("03600029145", "2"),    # UPC-A 036000291452
    ("9638507", "4"),        # EAN-8 96385074
    ("0000000000000", "0"),
])
def test_check_digit(body, digit):
    assert gtin_check_digit(body) == digit
    assert is_valid_gtin(body + digit)


def test_check_digit_by_hand():
    # 4006381333931: from the right, weights 3,1,3,...: 3*3+9*1+3*3+3*1+3*3+1*1+8*3+3*1+6*3+0*1+0*3+4*1 = 99;
    # 100 - 99 = 1.
    assert gtin_check_digit("400638133393") == "1"


@pytest.mark.parametrize("bad", ["", "12a4", "١٢٣", None, 4006381333931])
def test_check_digit_needs_digits(bad):
    with pytest.raises(ValueError, match="digits 0-9"):
        gtin_check_digit(bad)


@pytest.mark.parametrize("gtin", ["4006381333931", "6901028075763", "06901234567892", "036000291452",
                                  "96385074", "09780345418913"])
def test_valid_gtins(gtin):
    assert is_valid_gtin(gtin)
    assert normalise_gtin(gtin) == gtin.zfill(14)
    assert len(normalise_gtin(gtin)) == 14


@pytest.mark.parametrize("gtin, message", [
    ("4006381333932", "wrong check digit: 2, expected 1"),
    ("6901028075760", "wrong check digit: 0, expected 3"),
    ("06901234567891", "wrong check digit: 1, expected 2"),
    ("036000291453", "wrong check digit: 3, expected 2"),
    ("96385075", "wrong check digit: 5, expected 4"),
    ("40063813339", "has 11 digits"),
    ("400638133393100", "has 15 digits"),
    ("", "only digits"),
    (" 4006381333931", "only digits"),
    ("4006381333931\n", "only digits"),
    ("400638133393１", "only digits"),  # full-width digit
    (4006381333931, "must be a string"),
    (None, "must be a string"),
])
def test_invalid_gtins(gtin, message):
    assert not is_valid_gtin(gtin)
    with pytest.raises(ValueError, match=message):
        normalise_gtin(gtin)


def test_normalise_pads_to_14():
    assert normalise_gtin("96385074") == "00000096385074"
    assert normalise_gtin("036000291452") == "00036000291452"
    assert normalise_gtin("6901028075763") == "06901028075763"


# --- build -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, expected", [
    (dict(gtin="6901028075763", lot="XF2026A"), "/01/06901028075763/10/XF2026A"),
    (dict(gtin="06901234567892", lot="L1", serial="0001"), "/01/06901234567892/10/L1/21/0001"),
    (dict(gtin="96385074", lot="2026/11"), "/01/00000096385074/10/2026%2F11"),
    (dict(gtin="4006381333931", lot="50%", serial="a/b%c"), "/01/04006381333931/10/50%25/21/a%2Fb%25c"),
    (dict(gtin="4006381333931", lot="A-B.C_d"), "/01/04006381333931/10/A-B.C_d"),
    (dict(gtin="4006381333931", lot="!\"&'()*+,:;<=>?"),
     "/01/04006381333931/10/%21%22%26%27%28%29%2A%2B%2C%3A%3B%3C%3D%3E%3F"),
    (dict(batch_code="XF2026A1"), "/t/XF2026A1"),
    (dict(batch_code="NF01", serial="BOX-17"), "/t/NF01/21/BOX-17"),
])
def test_build(kwargs, expected):
    assert build(BASE, **kwargs) == BASE + expected
    assert build(BASE + "/", **kwargs) == BASE + expected


@pytest.mark.parametrize("base, kwargs, message", [
    (BASE, dict(gtin="6901028075763"), "needs a lot"),
    (BASE, dict(gtin="6901028075762", lot="A"), "wrong check digit"),
    (BASE, dict(gtin="6901028075763", lot="LOT 1"), "' '.*not allowed"),
    (BASE, dict(gtin="6901028075763", lot="批次1"), "not allowed"),
    (BASE, dict(gtin="6901028075763", lot="A" * 21), "21 characters; at most 20"),
    (BASE, dict(gtin="6901028075763", lot=""), "empty"),
    (BASE, dict(gtin="6901028075763", lot="A", serial="x~y"), "serial.*'~'"),
    (BASE, dict(gtin="6901028075763", lot=17), "must be a string"),
    (BASE, dict(batch_code="xf2026"), "4 to 32 characters A-Z or 0-9"),
    (BASE, dict(batch_code="ABC"), "4 to 32"),
    (BASE, dict(batch_code="A" * 33), "4 to 32"),
    (BASE, dict(batch_code="ABCD", lot="L1"), "carries no lot"),
    (BASE, dict(gtin="6901028075763", lot="A", batch_code="ABCD"), "not both"),
    (BASE, dict(), "either gtin"),
    (BASE, dict(serial="1"), "either gtin"),
    ("trace.example.cn", dict(batch_code="ABCD"), "absolute http"),
    ("ftp://trace.example.cn", dict(batch_code="ABCD"), "absolute http"),
    ("https://trace.example.cn/dl", dict(batch_code="ABCD"), "just scheme://host"),
    ("https://trace.example.cn?x=1", dict(batch_code="ABCD"), "just scheme://host"),
    ("https://trace.example.cn//", dict(batch_code="ABCD"), "just scheme://host"),
    ("https://trace.example.cn:port", dict(batch_code="ABCD"), "invalid port"),
    ("", dict(batch_code="ABCD"), "absolute http"),
])
def test_build_rejects(base, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(base, **kwargs)


# --- round trip ------------------------------------------------------------------------------

ROUND_TRIPS = [
    dict(gtin="06901028075763", lot="XF2026A"),
    dict(gtin="06901028075763", lot="XF2026A", serial="0001"),
    dict(gtin="04006381333931", lot="2026/11/03"),
    dict(gtin="04006381333931", lot="100%", serial="50%/50%"),
    dict(gtin="04006381333931", lot="!\"%&'()*+,-./:;<=>?_", serial="Zz09"),
    dict(gtin="00000096385074", lot="A" * 20, serial="9" * 20),
    dict(batch_code="XF2026A1"),
    dict(batch_code="NF01", serial="BOX/17"),
    dict(batch_code="A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6"),
]


@pytest.mark.parametrize("kwargs", ROUND_TRIPS)
@pytest.mark.parametrize("variant", ["url", "path", "trailing slash", "query", "http", "port"])
def test_round_trip(kwargs, variant):
    url = build(BASE, **kwargs)
    text = {
        "url": url,
        "path": url[len(BASE):],
        "trailing slash": url + "/",
        "query": url + "?linkType=gs1:traceability&x=%2F",
        "http": build("http://127.0.0.1:5000/", **kwargs),
        "port": build("https://trace.example.cn:8443", **kwargs),
    }[variant]
    assert parse(text) == DigitalLink(**kwargs)


def test_round_trip_normalises_short_gtins():
    for short in ("96385074", "036000291452", "6901028075763"):
        link = parse(build(BASE, gtin=short, lot="L1"))
        assert link.gtin == short.zfill(14)
        assert link.lot == "L1" and link.serial is None and link.batch_code is None


def test_digital_link_is_frozen():
    link = parse("/t/ABCD")
    assert link == DigitalLink(batch_code="ABCD")
    with pytest.raises(dataclasses.FrozenInstanceError):
        link.batch_code = "WXYZ"


def test_parse_accepts_lower_case_hex_and_literal_sub_delims():
    # Percent-encoding hex is case-insensitive, and a path segment may carry these literally.
    assert parse("/01/04006381333931/10/a%2fb%25").lot == "a/b%"
    assert parse("/01/04006381333931/10/(A)!*+,;=:'&").lot == "(A)!*+,;=:'&"


def test_parse_accepts_shorter_gtins_in_the_path():
    assert parse("/01/6901028075763/10/L1").gtin == "06901028075763"


# --- invalid links -------------------------------------------------------------------------------

GTIN = "06901028075763"


@pytest.mark.parametrize("text, message", [
    (f"/10/L1/01/{GTIN}", "wrong AI order.*must start with 01"),
    (f"/01/{GTIN}/21/S1/10/L1", "wrong AI order.*10 \\(lot\\) must come before 21"),
    (f"/01/{GTIN}/10/L1/10/L2", "AI 10 \\(lot\\) repeated or out of order"),
    (f"/01/{GTIN}/17/261231", "unknown or unsupported AI '17'"),
    (f"/01/{GTIN}/10/L1/22/V1", "wrong AI order.*22 \\(CPV\\) must come before 10 \\(lot\\)"),
    (f"/01/{GTIN}/21/S1/22/V1", "wrong AI order.*22 \\(CPV\\) must come before 21"),
    (f"/01/{GTIN}/22/V1/22/V2/10/L1", "AI 22 \\(CPV\\) repeated"),
    (f"/01/{GTIN}/22/V1", "missing lot"),
    (f"/01/{GTIN}/22/V%20/10/L1", "CPV .*' '.*not allowed"),
    ("/414/6901028000003", "unknown or unsupported AI '414'"),
    ("/gtin/06901028075763/lot/L1", "unknown primary key 'gtin'"),
    ("/01/06901028075762/10/L1", "wrong check digit: 2, expected 3"),
    ("/01/6901028075/10/L1", "has 10 digits"),
    (f"/01/{GTIN}", "missing lot"),
    (f"/01/{GTIN}/", "missing lot"),
    (f"/01/{GTIN}/21/S1", "missing lot"),
    ("/01", "AI 01 \\(GTIN\\) .* has no value"),
    (f"/01/{GTIN}/10", "AI 10 \\(lot\\) .* has no value"),
    (f"/01/{GTIN}/10/L1/21", "AI 21 \\(serial\\) .* has no value"),
    (f"/01/{GTIN}/10/{'A' * 21}", "21 characters; at most 20"),
    (f"/01/{GTIN}/10/L1/21/{'%2F' * 21}", "serial .* 21 characters"),
    (f"/01/{GTIN}/10/LOT%201", "' '.*not allowed"),
    (f"/01/{GTIN}/10/%E6%89%B9", "'批'.*not allowed"),
    (f"/01/{GTIN}/10/A~B", "'~'.*not allowed"),
    (f"/01/{GTIN}/10/A%2", "malformed percent-encoding"),
    (f"/01/{GTIN}/10/50%", "malformed percent-encoding"),
    (f"/01/{GTIN}/10/%FF", "does not percent-decode to UTF-8"),
    (f'/01/{GTIN}/10/A"B', "must be percent-encoded"),
    (f"/01/{GTIN}//10/L1", "empty segment"),
    (f"/01/{GTIN}/10/L1//", "empty segment"),
    (f"/01/{GTIN}/10/L1/21/S1/3103/000189", "unexpected path segments after the serial"),
    ("/t/abcd", "batch code 'abcd' must be 4 to 32 characters A-Z or 0-9"),
    ("/t/ABC", "batch code 'ABC' must be 4 to 32"),
    (f"/t/{'A' * 33}", "must be 4 to 32"),
    ("/t/AB-CD", "must be 4 to 32"),
    ("/t/%41BCD", "must be 4 to 32"),
    ("/t", "batch code after /t/ .* is missing"),
    ("/t/ABCD/10/L1", "carries no lot"),
    ("/t/ABCD/x", "unexpected segment 'x'"),
    ("/T/ABCD", "unknown primary key 'T'"),
    ("/", "empty path"),
    ("", "empty Digital Link"),
    ("https://trace.example.cn", "has no path"),
    ("https://trace.example.cn/", "has no path"),
    ("https://trace.example.cn/dl/t/ABCD", "unknown primary key 'dl'"),
    ("ftp://trace.example.cn/t/ABCD", "http\\(s\\) URL or a path starting with '/'"),
    ("t/ABCD", "http\\(s\\) URL or a path starting with '/'"),
    ("trace.example.cn/t/ABCD", "http\\(s\\) URL or a path starting with '/'"),
    ("http://[::1/t/ABCD", "not a well-formed URL"),  # unbalanced IPv6 brackets
    ("https://[::1]x/t/ABCD", "not a well-formed URL"),
    ("/t/AB CD", "' '.*printable ASCII"),
    (" /t/ABCD", "printable ASCII"),
    ("/t/ABCD\n", "printable ASCII"),
    ("/t/批次", "printable ASCII"),
    ("/t/ABCD" + "/" * 3000, "characters long"),
    (None, "expected a URL or path string"),
    (b"/t/ABCD", "expected a URL or path string"),
])
def test_invalid_links(text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)


def test_error_messages_stay_short():
    with pytest.raises(ValueError) as caught:
        parse(f"/01/{GTIN}/10/" + "A" * 1500)
    assert len(str(caught.value)) < 400


def test_public_names():
    assert set(digital_link.__all__) == {"DigitalLink", "LinkError", "build", "gtin_check_digit", "host_of",
                                         "is_valid_gtin", "normalise_gtin", "parse", "parse_identifier"}


# --- the Digital Link grammar: CPV, fragments, query attributes ------------------------------------

@pytest.mark.parametrize("text, expected", [
    # GS1 Digital Link 1.2's own example shape: GTIN, CPV (AI 22), lot, serial, in that order.
    (f"https://id.gs1.org/01/{GTIN}/22/2A/10/ABC123/21/456", DigitalLink(gtin=GTIN, cpv="2A", lot="ABC123",
                                                                       serial="456")),
    (f"/01/{GTIN}/22/ORANGE%2F72/10/L1", DigitalLink(gtin=GTIN, cpv="ORANGE/72", lot="L1")),
    # A fragment is the client's own business: ignored, with or without a query before it.
    (f"{BASE}/01/{GTIN}/10/L1#provenance", DigitalLink(gtin=GTIN, lot="L1")),
    (f"{BASE}/01/{GTIN}/10/L1?linkType=gs1:pip#top", DigitalLink(gtin=GTIN, lot="L1")),
    ("/t/ABCD#top", DigitalLink(batch_code="ABCD")),
    # Unknown query attributes and GS1 data attributes in the query are ignored.
    (f"{BASE}/01/{GTIN}/10/L1?17=261231&3103=000189&utm_source=wechat&x", DigitalLink(gtin=GTIN, lot="L1")),
])
def test_parse_follows_the_digital_link_grammar(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("/01/06901028075762/10/L1", "check_digit"),
    (f"/01/{GTIN}/21/S1/10/L1", "order"),
    (f"/01/{GTIN}/10/L1/22/V1", "order"),
    (f"/01/{GTIN}/10/L1/10/L2", "order"),
    ("/10/L1", "order"),
    ("/414/6901028000003", "primary_key"),
    ("/gtin/06901028075763/lot/L1", "primary_key"),
    (f"/01/{GTIN}/17/261231", "primary_key"),
    (f"/01/{GTIN}/10/LOT%201", "characters"),
    (f"/01/{GTIN}/10/A%2", "characters"),
    ("/t/批次", "characters"),
    (f"/01/{GTIN}", "format"),
    ("http://[::1/t/ABCD", "format"),
])
def test_every_error_is_one_class_with_its_reason(text, reason):
    with pytest.raises(digital_link.LinkError) as caught:
        parse(text)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


# --- every GS1 form of an identifier ---------------------------------------------------------------

# 6901028075763: a GTIN-13 under the Chinese company prefix 6901028; as an EPC URN the indicator digit 0
# leads the item reference 07576 (EPC Tag Data Standard 2.1, section 6.3.1 and 6.3.11).
@pytest.mark.parametrize("text, expected", [
    (f"https://id.gs1.org/01/{GTIN}/10/XF-2611-01", DigitalLink(gtin=GTIN, lot="XF-2611-01")),
    ("https://id.gs1.org/01/6901028075763/10/XF-2611-01", DigitalLink(gtin=GTIN, lot="XF-2611-01")),  # GTIN-13
    ("HTTPS://ID.GS1.ORG/01/00000096385074/10/L1", DigitalLink(gtin="00000096385074", lot="L1")),
    ("https://id.gs1.org/01/96385074/10/L1", DigitalLink(gtin="00000096385074", lot="L1")),  # GTIN-8
    ("https://id.gs1.org/01/036000291452/10/L1", DigitalLink(gtin="00036000291452", lot="L1")),  # GTIN-12
    (f"https://trace.example.cn/01/{GTIN}/10/2026%2f11", DigitalLink(gtin=GTIN, lot="2026/11")),
    (f"https://id.gs1.org/01/{GTIN}/21/0001", DigitalLink(gtin=GTIN, serial="0001")),  # an item, like an SGTIN
    ("urn:epc:class:lgtin:6901028.007576.XF-2611-01", DigitalLink(gtin=GTIN, lot="XF-2611-01")),
    ("urn:epc:class:lgtin:6901028.007576.2026%2F11%25", DigitalLink(gtin=GTIN, lot="2026/11%")),
    ("urn:epc:class:lgtin:690102.0807576.L1", DigitalLink(gtin=GTIN, lot="L1")),  # a 6-digit company prefix
    ("urn:epc:class:lgtin:4012345.012345.998877", DigitalLink(gtin="04012345123456", lot="998877")),  # TDS example
    ("urn:epc:id:sgtin:0614141.112345.400", DigitalLink(gtin="10614141123459", serial="400")),  # TDS example
    ("urn:epc:id:sgtin:6901028.007576.A%2FB", DigitalLink(gtin=GTIN, serial="A/B")),
    ("https://trace.example.cn/t/ABCD2345", DigitalLink(batch_code="ABCD2345")),
])
def test_parse_identifier_reads_every_gs1_form(text, expected):
    assert digital_link.parse_identifier(text) == expected


@pytest.mark.parametrize("text, reason, message", [
    ("urn:epc:class:lgtin:6901028.007576", "format", "must be urn:epc:class:lgtin:<company prefix>"),
    ("urn:epc:class:lgtin:6901028.0075760.L1", "format", "13 digits together"),
    ("urn:epc:class:lgtin:69010.0807576X.L1", "characters", "digits 0-9"),
    ("urn:epc:class:lgtin:6901028.007576.A/B", "characters", "'/'.*percent-encoded"),
    ("urn:epc:class:lgtin:6901028.007576.A%2", "characters", "malformed percent-encoding"),
    ("urn:epc:class:lgtin:6901028.007576.", "characters", "empty"),
    ("urn:epc:class:lgtin:6901028.007576." + "A" * 21, "format", "at most 20"),
    ("urn:epc:id:sscc:0614141.1234567890", "primary_key", "not a GS1 identifier of a batch"),
    ("urn:uuid:6f0c3c0e-8d7a-4c59-9b8e-0d7b4a3c2f11", "primary_key", "urn:epc:class:lgtin"),
    ("ftp://id.gs1.org/01/06901028075763/10/L1", "format", "neither a Digital Link"),
    ("/01/06901028075763/10/L1", "format", "neither a Digital Link"),
    ("https://id.gs1.org/01/06901028075763", "format", "missing lot"),
    ("https://id.gs1.org/01/06901028075762/10/L1", "check_digit", "wrong check digit"),
    ("http://[::1/t/ABCD", "format", "not a well-formed URL"),
    (None, "format", "expected a URL"),
])
def test_parse_identifier_says_why(text, reason, message):
    with pytest.raises(digital_link.LinkError, match=message) as caught:
        digital_link.parse_identifier(text)
    assert caught.value.reason == reason
