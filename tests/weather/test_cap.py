"""weather.cap: CAP 1.0/1.1/1.2 alerts, EDXL-DE envelopes, Atom/RSS indexes and NWS GeoJSON.

The sample files in tests/data/cap/ are real publishers' messages copied unchanged (see
SOURCES.md there), except two derived files and one constructed Chinese sample, which
SOURCES.md labels as such. No database and no network are needed.
"""
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest

from weather import cap
from weather.cap import CapError

DATA = Path(__file__).resolve().parents[1] / "data" / "cap"
UTC = dt.timezone.utc


def load(name):
    return (DATA / name).read_bytes()


def only(name):
    return cap.parse_alert(load(name))


def info_in(alert, language):
    return next(info for info in alert.infos if info.language.lower() == language.lower())


# Expected key values per sample file: one entry per alert the file holds (a feed index holds none).
SAMPLES = {
    "us_nws_fire_weather_watch_cancel.xml": [dict(
        version="1.2", identifier="urn:oid:2.49.0.1.840.0.200f7ea12e7e752707f256bcb75139b8363610b4.001.1",
        sender="w-nws.webmaster@noaa.gov", msg_type="Cancel", languages=["en-US"],
        geocode=(0, 0, ("UGC", "MTZ111")))],
    "us_nws_blizzard_warning_cap11.xml": [dict(
        version="1.1", identifier="NOAA-NWS-ALERTS-MN1261CB03F0E0.BlizzardWarning.1261CB10BF00MN.DLHWSWDLH."
                                   "5c2cf27b1f56885d61654dc47fa411d5",
        sender="w-nws.webmaster@noaa.gov", msg_type="Alert", languages=["en-US"],
        geocode=(0, 0, ("UGC", "MNZ020")))],
    "cap10_oasis_appendix_a2_thunderstorm.xml": [dict(
        version="1.0", identifier="KSTO1055887203", sender="KSTO@NWS.NOAA.GOV", msg_type="Alert",
        languages=["en-US"], geocode=(0, 0, ("fips6", "006109")), polygon_points=(0, 0, 5))],
    "ca_eccc_air_quality_ended.xml": [dict(
        version="1.2", identifier="urn:oid:2.49.0.1.124.3651386472.2026", sender="cap-pac@canada.ca",
        msg_type="Update", languages=["en-CA", "fr-CA"], geocode=(0, 0, ("layer:EC-MSC-SMC:1.0:CLC", "094300")),
        polygon_points=(0, 0, 10))],
    "au_nsw_rfs_edxlde.xml": [dict(
        version="1.2", identifier="2014-05-08T10:31:00-00:00:160068", sender="webmaster@rfs.nsw.gov.au",
        msg_type="Alert", languages=["en-AU"],
        geocode=(0, 0, ("urn:oasis:names:tc:emergency:cap:1.2:profile:CAP-AU:1.0:ISO3166-2", "AU-NSW")))],
    "au_nsw_rfs_edxlde_two_alerts_excerpt.xml": [
        dict(version="1.2", identifier="2014-11-09T23:04:00-00:00:177062", sender="webmaster@rfs.nsw.gov.au",
             msg_type="Alert", languages=["en-AU"]),
        dict(version="1.2", identifier="2014-11-10T13:37:00-00:00:177836", sender="webmaster@rfs.nsw.gov.au",
             msg_type="Alert", languages=["en-AU"]),
    ],
    "de_dwd_thunderstorm_update.xml": [dict(
        version="1.2", identifier="2.49.0.0.276.0.DWD.PVW.1661544180000.6ffa85ac-a5ed-4e69-977c-e767a423ecd6.MUL",
        sender="opendata@dwd.de", msg_type="Update", languages=["de-DE"],
        geocode=(0, 1, ("WARNCELLID", "814626190")))],
    "rs_rhmzs_meteoalarm_thunderstorm.xml": [dict(
        version="1.2", identifier="2.49.0.0.688.0.20250817210003.457535", sender="prognoza@hidmet.gov.rs",
        msg_type="Update", languages=["en-GB", "sr", "sr-Latn"], geocode=(0, 0, ("EMMA_ID", "RS010")),
        polygon_points=(0, 0, 76))],
    "is_imo_wind_is_en.xml": [dict(
        version="1.2", identifier="is-IMO-2a4c2db8-07fd-4a0f-b372-9667280d46d1", sender="IMO-Icelandic_Met_Office",
        msg_type="Alert", languages=["is-IS", "en-US"],
        geocode=(1, 0, ("Forecast Region", "Reykjavik - Capital Region")), polygon_points=(0, 0, 8))],
    "mx_smn_tropical_storm.xml": [dict(
        version="1.2", identifier="avisossmn-ciclontropical-4063", sender="smn.cna.gob.mx", msg_type="Update",
        languages=["es-419"], polygon_points=(0, 0, 29))],
    "mx_smn_tropical_storm_latin1.xml": [dict(
        version="1.2", identifier="avisossmn-ciclontropical-4063", sender="smn.cna.gob.mx", msg_type="Update",
        languages=["es-419"], polygon_points=(0, 0, 29))],
    "mo_smg_monsoon_zh_pt_en.xml": [dict(
        version="1.2", identifier="SMG-Weather_MS_2025_006_03", sender="meteo@smg.gov.mo", msg_type="Update",
        languages=["zh-mo", "pt-PT", "en-US"], polygon_points=(0, 0, 63))],
    "cn_constructed_rainstorm_orange_nanchang.xml": [dict(
        version="1.2", identifier="36010041600000_20240708093000_0", sender="36010041600000", msg_type="Update",
        languages=["zh-CN", "en-US"], geocode=(0, 0, ("GB/T 2260", "360121")), polygon_points=(0, 0, 6))],
    "meteoalarm_atom_poland.xml": [],
}
GEOJSON_SAMPLES = {"us_nws_api_alerts_flood_watch.geojson"}


def test_every_sample_file_is_covered():
    files = {path.name for path in DATA.iterdir() if path.name != "SOURCES.md"}
    assert files == set(SAMPLES) | GEOJSON_SAMPLES


def test_sources_md_lists_every_file_with_its_checksum():
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", sources, flags=re.M))
    files = {path.name for path in DATA.iterdir() if path.name != "SOURCES.md"}
    assert set(rows) == files
    for name, digest in rows.items():
        assert hashlib.sha256(load(name)).hexdigest() == digest, f"{name} changed; samples are copied unchanged"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_parses_with_expected_values(name):
    parsed = cap.parse_document(load(name))
    expected = SAMPLES[name]
    assert len(parsed.alerts) == len(expected)
    assert parsed.problems == []
    for alert, want in zip(parsed.alerts, expected):
        assert alert.version == want["version"]
        assert alert.identifier == want["identifier"]
        assert alert.sender == want["sender"]
        assert alert.msg_type == want["msg_type"]
        assert alert.status == "Actual"
        assert alert.sent.tzinfo is not None and alert.sent.utcoffset() is not None
        assert len(alert.infos) == len(want["languages"])
        assert [info.language for info in alert.infos] == want["languages"]
        if "geocode" in want:
            info_index, area_index, pair = want["geocode"]
            assert pair in alert.infos[info_index].areas[area_index].geocodes
        if "polygon_points" in want:
            info_index, area_index, count = want["polygon_points"]
            ring = alert.infos[info_index].areas[area_index].polygons[0]
            assert len(ring) == count and ring[0] == ring[-1]
            assert all(-90 <= lat <= 90 and -180 <= lon <= 180 for lat, lon in ring)
        for info in alert.infos:
            assert info.categories and info.event and info.urgency and info.severity and info.certainty
            for area in info.areas:
                assert area.desc


def test_nws_cancel_references_the_watch_it_replaces():
    alert = only("us_nws_fire_weather_watch_cancel.xml")
    assert alert.references == [("w-nws.webmaster@noaa.gov",
                                 "urn:oid:2.49.0.1.840.0.1b30bfeb3d4f67abd849b064811d657a163f2249.001.1",
                                 "2026-09-11T10:27:00-06:00")]
    info = alert.infos[0]
    assert info.event == "Fire Weather Watch" and info.urgency == "Past" and info.response_types == ["Monitor"]
    assert info.expires == dt.datetime(2026, 9, 12, 15, 30, 17, tzinfo=UTC)
    assert ("VTEC", "/O.UPG.KMSO.FW.A.0008.260913T1800Z-260914T0200Z/") in info.parameters
    assert [pair for pair in info.parameters if pair[0] == "BLOCKCHANNEL"] == [
        ("BLOCKCHANNEL", "EAS"), ("BLOCKCHANNEL", "NWEM"), ("BLOCKCHANNEL", "CMAS")]
    assert info.instruction.startswith("Please advise") and "\n\nMake and maintain" in info.instruction
    assert alert.codes == ["IPAWSv1.0"] and alert.problems == []


def test_cap11_language_defaults_to_en_us_and_an_empty_polygon_is_absent_and_noted():
    alert = only("us_nws_blizzard_warning_cap11.xml")
    info = alert.infos[0]
    assert info.language == "en-US"
    assert info.areas[0].polygons == [] and alert.problems == ["info[0] area[0]: polygon[0] is empty; ignored"]
    assert info.areas[0].geocodes == [("FIPS6", "027031"), ("FIPS6", "027075"), ("UGC", "MNZ020"), ("UGC", "MNZ021")]
    assert ("WMOHEADER", "") in info.parameters
    assert alert.note.startswith("Alert for Southern Cook")


def test_cap10_value_name_equals_value_text_and_whitespace():
    alert = only("cap10_oasis_appendix_a2_thunderstorm.xml")
    info = alert.infos[0]
    assert info.event_codes == [("same", "SVR")]
    assert info.areas[0].geocodes == [("fips6", "006109"), ("fips6", "006009"), ("fips6", "006003")]
    assert info.areas[0].desc == ("EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA, EXTREME NORTHEASTERN "
                                  "CALAVERAS COUNTY IN CALIFORNIA, SOUTHWESTERN ALPINE COUNTY IN CALIFORNIA")
    assert info.description.startswith("AT 254 PM PDT") and info.instruction.endswith("PASSES.")
    assert info.expires == dt.datetime(2003, 6, 17, 23, 0, tzinfo=UTC)


def test_eccc_message_with_xml_signature_and_many_references():
    alert = only("ca_eccc_air_quality_ended.xml")
    assert len(alert.references) == 21
    assert alert.references[-1] == ("cap-pac@canada.ca", "urn:oid:2.49.0.1.124.4246600298.2026",
                                    "2026-09-11T21:44:56-00:00")
    assert alert.sent == dt.datetime(2026, 9, 12, 5, 48, 5, tzinfo=UTC) and alert.sent.utcoffset() == dt.timedelta(0)
    assert alert.source == "Env. Can. - Can. Met. Ctr. – Montréal"
    en, fr = alert.infos
    assert en.categories == ["Env", "Health", "Geo", "Met", "Transport"]
    assert en.response_types == ["AllClear"] and en.audience == "general public"
    assert en.instruction is None  # <instruction/>
    assert en.description == "Poor air quality is no longer expected over the area.\n\n\n###"
    assert fr.event == "qualité de l'air" and fr.areas[0].desc == "région de Ft. Simpson incluant Jean Marie River"
    assert alert.problems == []


def test_multilanguage_zh_cn_and_en_infos():
    alert = only("cn_constructed_rainstorm_orange_nanchang.xml")
    zh, en = info_in(alert, "zh-CN"), info_in(alert, "en-US")
    assert zh.event == "暴雨" and zh.headline == "南昌市气象台升级发布暴雨橙色预警信号"
    assert zh.sender_name == "南昌市气象台" and zh.severity == "Severe"
    assert "农田的排涝" in zh.instruction and zh.instruction.count("\n") == 3
    assert en.event == "Rainstorm" and en.severity == zh.severity
    for info in (zh, en):
        assert info.areas[0].geocodes == [("GB/T 2260", "360121"), ("GB/T 2260", "360124")]
        assert info.effective == dt.datetime(2024, 7, 8, 1, 30, tzinfo=UTC)
        assert info.effective.utcoffset() == dt.timedelta(hours=8)
        assert info.expires - info.effective == dt.timedelta(days=1)
        assert ("eventType", "11B03") in info.event_codes
    assert zh.areas[0].desc == "江西省南昌市南昌县、进贤县"
    assert alert.references == [("36010041600000", "36010041600000_20240708060000_0", "2024-07-08T06:00:00+08:00")]


def test_real_chinese_language_alert_from_macao():
    alert = only("mo_smg_monsoon_zh_pt_en.xml")
    zh = info_in(alert, "zh-mo")
    assert zh.event == "強烈季候風信號" and zh.sender_name == "澳門特別行政區政府地球物理氣象局"
    assert zh.response_types == ["AllClear"] and zh.expires is None and zh.instruction is None
    ring = zh.areas[0].polygons[0]  # points separated by newlines, tabs and spaces
    assert ring[0] == ring[-1] == (22.0766, 113.5709) and ring[4] == (22.2041, 113.6052)
    assert info_in(alert, "en-US").headline.startswith("Strong monsoon signal")


def test_meteoalarm_profile_parameters_and_element_order():
    alert = only("rs_rhmzs_meteoalarm_thunderstorm.xml")
    for info in alert.infos:
        assert ("awareness_level", "2; yellow; Moderate") in info.parameters
        assert ("awareness_type", "3; thunderstorm") in info.parameters
        assert info.areas[0].polygons and info.areas[0].geocodes == [("EMMA_ID", "RS010")]  # polygon after geocode
    assert info_in(alert, "sr").event == "Грмљавина Умерен ниво"


def test_resources_with_size_and_digest():
    info = only("is_imo_wind_is_en.xml").infos[0]
    assert info.resources == [cap.Resource(desc="Icon: Vindur", mime_type="image/png", size=17296,
                                           uri="https://cdn.vedur.is/cap/v1/icons/yellow_wind.png",
                                           digest="1c8015126336af265ec36ef202e91611f9cfd7a7")]
    assert info.event == "Veðurviðvörun: Vindur" and info.effective is None


def test_edxl_de_with_two_alerts():
    parsed = cap.parse_document(load("au_nsw_rfs_edxlde_two_alerts_excerpt.xml"))
    assert [a.identifier for a in parsed.alerts] == ["2014-11-09T23:04:00-00:00:177062",
                                                     "2014-11-10T13:37:00-00:00:177836"]
    assert [a.infos[0].areas[0].circles for a in parsed.alerts] == [[(-35.5807, 144.2342, 0.0)],
                                                                   [(-32.3701, 152.4828, 0.0)]]
    assert parsed.alerts[0].incidents == ["177062"] and parsed.links == []
    with pytest.raises(CapError, match="exactly one CAP alert, found 2"):
        cap.parse_alert(load("au_nsw_rfs_edxlde_two_alerts_excerpt.xml"))
    single = only("au_nsw_rfs_edxlde.xml")  # an envelope with one alert is fine for parse_alert
    assert ("AllocatedResources", "") in single.infos[0].parameters
    assert single.infos[0].resources[0].size is None and single.infos[0].resources[0].mime_type == "text/html"


def test_edxl_de_with_a_broken_alert_keeps_the_others():
    text = load("au_nsw_rfs_edxlde_two_alerts_excerpt.xml").decode("utf-8")
    broken = text.replace("<cap:event>Other Non-Urgent Alerts</cap:event>", "", 1)
    parsed = cap.parse_document(broken.encode("utf-8"))
    assert [a.identifier for a in parsed.alerts] == ["2014-11-10T13:37:00-00:00:177836"]
    assert len(parsed.problems) == 1 and "<event>" in parsed.problems[0]
    both_broken = broken.replace("<cap:event>Other Non-Urgent Alerts</cap:event>", "")
    with pytest.raises(CapError) as raised:
        cap.parse_document(both_broken.encode("utf-8"))
    assert raised.value.field == "event"


def test_atom_index_yields_links():
    parsed = cap.parse_document(load("meteoalarm_atom_poland.xml"))
    assert parsed.alerts == []
    assert parsed.links == [
        "https://feeds.meteoalarm.org/api/v1/warnings/feeds-poland/3adfb5e8-78f3-4240-bc8e-4b6a4da41c3b",
        "https://feeds.meteoalarm.org/api/v1/warnings/feeds-poland/3a815d72-c066-4fbd-a114-0d325682a12b",
    ]
    with pytest.raises(CapError, match="found 0"):
        cap.parse_alert(load("meteoalarm_atom_poland.xml"))


def test_atom_entry_links_without_type_and_embedded_cap():
    alert_xml = load("us_nws_fire_weather_watch_cancel.xml").decode("utf-8").split("?>", 1)[1]
    escaped = alert_xml.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:test</id><title>t</title><updated>2026-09-12T15:20:00Z</updated>
  <link href="https://example.org/feed.atom" rel="self"/>
  <entry><id>a</id><title>a</title><updated>2026-09-12T15:20:00Z</updated>
    <link href="https://alerts.example.org/cap/a.xml"/>
    <link href="https://example.org/about" rel="related"/></entry>
  <entry><id>b</id><title>b</title><updated>2026-09-12T15:20:00Z</updated>
    <content type="text/xml">{alert_xml}</content></entry>
  <entry><id>c</id><title>c</title><updated>2026-09-12T15:20:00Z</updated>
    <content type="text">{escaped}</content></entry>
  <entry><id>d</id><title>d</title><updated>2026-09-12T15:20:00Z</updated>
    <link href="https://alerts.example.org/cap/a.xml"/></entry>
</feed>"""
    parsed = cap.parse_document(feed.encode("utf-8"))
    assert parsed.links == ["https://alerts.example.org/cap/a.xml"]
    assert [a.msg_type for a in parsed.alerts] == ["Cancel", "Cancel"]
    assert parsed.alerts[0] == parsed.alerts[1] == only("us_nws_fire_weather_watch_cancel.xml")


def test_rss_index_yields_links():
    rss = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>t</title>
  <item><title>one</title><link>https://alerts.example.org/1.xml</link></item>
  <item><title>two</title><link>https://example.org/page/2</link>
    <enclosure url="https://alerts.example.org/2.cap" type="application/cap+xml" length="1"/></item>
</channel></rss>"""
    assert cap.parse_document(rss).links == ["https://alerts.example.org/1.xml", "https://alerts.example.org/2.cap"]


def test_latin1_file():
    raw = load("mx_smn_tropical_storm_latin1.xml")
    assert raw.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    alert = cap.parse_alert(raw)
    info = alert.infos[0]
    assert info.event == "Aviso de Ciclón Tropical en el Pacífico"
    assert info.parameters[0] == ("Elaboró", "Aline Esperanza Maza Vázquez")
    assert ("trayectoria", "150 km al sur-suroeste de Tapachula, Chis.") in info.parameters
    assert alert == only("mx_smn_tropical_storm.xml")


def test_other_declared_encodings():
    text = load("cn_constructed_rainstorm_orange_nanchang.xml").decode("utf-8")
    for codec, declared in (("gb18030", "GB2312"), ("gbk", "GBK"), ("utf-16", "UTF-16")):
        data = text.replace('encoding="UTF-8"', f'encoding="{declared}"', 1).encode(codec)
        assert cap.parse_alert(data) == only("cn_constructed_rainstorm_orange_nanchang.xml"), declared
    as_str = text.replace('encoding="UTF-8"', 'encoding="GBK"', 1)  # a str: its declaration no longer applies
    assert cap.parse_alert(as_str).infos[0].event == "暴雨"
    with pytest.raises(CapError, match="unknown character encoding"):
        cap.parse_document(b'<?xml version="1.0" encoding="x-no-such"?><alert/>')
    with pytest.raises(CapError, match="not valid"):
        cap.parse_document('<?xml version="1.0" encoding="GB2312"?><alert>'.encode("ascii") + b"\xff\xff</alert>")


def test_malformed_polygon_is_dropped_and_the_alert_kept():
    alert = only("de_dwd_thunderstorm_update.xml")  # a real 3-point "polygon"
    event_area, commune = alert.infos[0].areas
    assert event_area.desc == "polygonal event area" and event_area.polygons == []
    assert event_area.altitude == 0.0 and event_area.ceiling == 9842.5197
    assert commune.geocodes == [("WARNCELLID", "814626190")]
    assert alert.problems == ["info[0] area[0]: polygon[0] dropped: 3 points, at least 4 needed"]


def minimal(area="<area><areaDesc>Testgebiet</areaDesc></area>", alert_extra="",
            ns="urn:oasis:names:tc:emergency:cap:1.2"):
    """A small valid CAP 1.2 alert (one info, one area) for the rule tests."""
    xmlns = f' xmlns="{ns}"' if ns else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert{xmlns}>
  <identifier>TEST-1</identifier>
  <sender>test@example.org</sender>
  <sent>2024-07-08T09:30:00+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>{alert_extra}
  <info>
    <category>Met</category>
    <event>Heavy rain</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    {area}
  </info>
</alert>""".encode("utf-8")


@pytest.mark.parametrize("polygon, reason", [
    ("28.75,115.85 28.70,116.25 28.55,116.55 28.20,116.45", "not closed"),
    ("28.75,115.85 28.70,116.25 28.75,115.85", "at least 4"),
    ("95.0,115.85 28.70,116.25 28.55,116.55 95.0,115.85", "latitude 95.0"),
    ("28.75,215.85 28.70,116.25 28.55,116.55 28.75,215.85", "longitude 215.85"),
    ("28.75;115.85 28.70;116.25 28.55;116.55 28.75;115.85", "pair of numbers"),
    ("north,east 28.70,116.25 28.55,116.55 north,east", "pair of numbers"),
    ("nan,1 1,2 2,3 nan,1", "pair of numbers"),
    ("1_0,1 1,2 2,3 1_0,1", "pair of numbers"),
])
def test_malformed_polygons(polygon, reason):
    good = "28.75,115.85 28.70,116.25 28.55,116.55 28.75,115.85"
    data = minimal(f"<area><areaDesc>A</areaDesc><polygon>{polygon}</polygon><polygon>{good}</polygon></area>")
    alert = cap.parse_alert(data)
    assert alert.infos[0].areas[0].polygons == [[(28.75, 115.85), (28.70, 116.25), (28.55, 116.55), (28.75, 115.85)]]
    assert len(alert.problems) == 1 and alert.problems[0].startswith("info[0] area[0]: polygon[0] dropped")
    assert reason in alert.problems[0]


@pytest.mark.parametrize("circle, kept", [
    ("32.9525,-115.5527 0", [(32.9525, -115.5527, 0.0)]),
    (" 28.68 , 115.89   12.5 ", [(28.68, 115.89, 12.5)]),
    ("28.68,115.89", []),
    ("28.68,115.89 -3", []),
    ("128.68,115.89 3", []),
])
def test_circles(circle, kept):
    alert = cap.parse_alert(minimal(f"<area><areaDesc>A</areaDesc><circle>{circle}</circle></area>"))
    assert alert.infos[0].areas[0].circles == kept
    assert bool(alert.problems) == (not kept)


def remove(data, name):
    text = data.decode("utf-8")
    changed = re.sub(rf"<{name}>[^<]*</{name}>", "", text, count=1)
    assert changed != text
    return changed.encode("utf-8")


@pytest.mark.parametrize("name", ["identifier", "sender", "sent", "status", "msgType", "scope",
                                  "category", "event", "urgency", "severity", "certainty", "areaDesc"])
def test_missing_required_element_raises_naming_it(name):
    with pytest.raises(CapError) as raised:
        cap.parse_document(remove(minimal(), name))
    assert raised.value.field == name
    assert f"missing required element <{name}>" in str(raised.value)


@pytest.mark.parametrize("name", ["identifier", "sender", "status", "event", "areaDesc"])
def test_empty_required_element_raises_naming_it(name):
    text = minimal().decode("utf-8")
    text = re.sub(rf"<{name}>[^<]*</{name}>", f"<{name}>  </{name}>", text, count=1)
    with pytest.raises(CapError) as raised:
        cap.parse_document(text.encode("utf-8"))
    assert raised.value.field == name and f"empty required element <{name}>" in str(raised.value)


def test_missing_namespace_is_read_as_cap_12_with_a_problem():
    alert = cap.parse_alert(minimal(ns=""))
    assert alert.version == "1.2"
    assert alert.problems == ["alert has no XML namespace; read as CAP 1.2"]
    with pytest.raises(CapError, match="unknown namespace"):
        cap.parse_document(minimal(ns="urn:example:not-cap"))


@pytest.mark.parametrize("value, expected", [
    ("2024-07-08T09:30:00+08:00", dt.datetime(2024, 7, 8, 1, 30, tzinfo=UTC)),
    ("2003-06-17T14:57:00-07:00", dt.datetime(2003, 6, 17, 21, 57, tzinfo=UTC)),
    ("2002-05-24T16:49:00-00:00", dt.datetime(2002, 5, 24, 16, 49, tzinfo=UTC)),
    ("2002-05-24T16:49:00Z", dt.datetime(2002, 5, 24, 16, 49, tzinfo=UTC)),
    ("  2002-05-24T16:49:00.250+0530\n", dt.datetime(2002, 5, 24, 11, 19, 0, 250000, tzinfo=UTC)),
])
def test_dates(value, expected):
    sent = cap.parse_alert(minimal().replace(b"2024-07-08T09:30:00+08:00", value.encode())).sent
    assert sent == expected and sent.tzinfo is not None


@pytest.mark.parametrize("value", ["2024-07-08T09:30:00", "2024-07-08", "yesterday", "2024-13-08T09:30:00+08:00",
                                   "2024-07-08T09:30:00+25:00"])
def test_bad_dates_raise_naming_the_element(value):
    with pytest.raises(CapError) as raised:
        cap.parse_document(minimal().replace(b"2024-07-08T09:30:00+08:00", value.encode()))
    assert raised.value.field == "sent"
    data = minimal(alert_extra="").replace(b"<certainty>Likely</certainty>",
                                          f"<certainty>Likely</certainty><expires>{value}</expires>".encode())
    with pytest.raises(CapError) as raised:
        cap.parse_document(data)
    assert raised.value.field == "expires"


def test_references_addresses_incidents_and_whitespace():
    extra = """
  <restriction>  farm staff only </restriction>
  <addresses>ops@example.org "Nanchang County office"  x@y</addresses>
  <references>
     a@example.org,ID-1,2024-07-08T06:00:00+08:00
     b@example.org, ID-2 , 2024-07-08T07:00:00+08:00
     broken-reference
  </references>
  <incidents>inc-1 "flood 2024"</incidents>"""
    alert = cap.parse_alert(minimal(alert_extra=extra).replace(b"<scope>Public</scope>", b"<scope>Private</scope>"))
    assert alert.restriction == "farm staff only"
    assert alert.addresses == ["ops@example.org", "Nanchang County office", "x@y"]
    assert alert.references == [("a@example.org", "ID-1", "2024-07-08T06:00:00+08:00"),
                                ("b@example.org", "ID-2", "2024-07-08T07:00:00+08:00")]
    assert alert.incidents == ["inc-1", "flood 2024"]
    assert alert.problems == ["alert: reference 'broken-reference' is not 'sender,identifier,sent'; ignored"]


def test_unknown_values_are_kept_and_noted():
    data = minimal().replace(b"<severity>Moderate</severity>", b"<severity>orange</severity>")
    alert = cap.parse_alert(data)
    assert alert.infos[0].severity == "orange"
    assert alert.problems == ["info[0]: <severity> 'orange' is not a CAP value"]


def test_update_without_references_is_noted():
    alert = cap.parse_alert(minimal().replace(b"<msgType>Alert</msgType>", b"<msgType>Update</msgType>"))
    assert alert.problems == ["alert: msgType Update without <references>"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]><alert/>"""


@pytest.mark.parametrize("data, message", [
    (EXTERNAL_ENTITY, "DTDs are not allowed"),
    (BILLION_LAUGHS, "DTDs are not allowed"),
    (EXTERNAL_DTD, "DTDs are not allowed"),
    (PARAMETER_ENTITY, "DTDs are not allowed"),
    (b"<alert>" + b"x" * (6 * 1024 * 1024) + b"</alert>", "too large"),
    ("<alert>" + "雨" * (2 * 1024 * 1024) + "</alert>", "too large"),
    (b"not xml", "not well-formed XML"),
    (b"<alert><identifier>unclosed</alert>", "not well-formed XML"),
    (b"", "empty document"),
    (b"  \n\t", "empty document"),
    (None, "expected bytes"),
    (b"<html><body>503 Service Unavailable</body></html>", "the feed returned HTML, not CAP"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not well-formed XML"),
])
def test_hostile_and_broken_inputs_raise_cap_error(data, message):
    with pytest.raises(CapError, match=message):
        cap.parse_document(data)
    with pytest.raises(CapError):
        cap.parse_alert(data)


def test_size_limit_is_checked_before_parsing(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("parser called")

    import defusedxml.ElementTree

    monkeypatch.setattr(defusedxml.ElementTree, "fromstring", boom)
    with pytest.raises(CapError, match="too large"):
        cap.parse_document(b" " * (cap.MAX_BYTES + 1))
    with pytest.raises(CapError, match="too large"):
        cap.parse_nws_geojson(b" " * (cap.MAX_BYTES + 1))


# --- NWS GeoJSON -------------------------------------------------------------------------------


def test_nws_geojson_sample():
    alerts = cap.parse_nws_geojson(load("us_nws_api_alerts_flood_watch.geojson"))
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.identifier == "NWS-IDP-PROD-3965873-3369046" and alert.sender == "w-nws.webmaster@noaa.gov"
    assert alert.msg_type == "Update" and alert.status == "Actual" and alert.scope == "Public"
    assert alert.sent == dt.datetime(2019, 12, 20, 21, 34, tzinfo=UTC)
    assert alert.references[0] == ("w-nws.webmaster@noaa.gov", "NWS-IDP-PROD-3964821-3368352",
                                   "2019-12-19T12:52:00-08:00")
    assert len(alert.references) == 4
    info = alert.infos[0]
    assert (info.language, info.categories, info.event, info.response_types) == ("en-US", ["Met"], "Flood Watch",
                                                                                 ["Prepare"])
    assert (info.urgency, info.severity, info.certainty) == ("Future", "Severe", "Possible")
    assert info.expires == dt.datetime(2019, 12, 21, 13, 30, tzinfo=UTC)
    assert ("ends", "2019-12-22T10:00:00-08:00") in info.parameters
    assert ("BLOCKCHANNEL", "NWEM") in info.parameters
    area = info.areas[0]
    assert area.desc.startswith("North Oregon Coast;") and area.polygons == []
    assert ("UGC", "ORZ004") in area.geocodes and ("SAME", "041007") in area.geocodes
    assert len(area.geocodes) == 11 + 16
    assert alert.problems == []


def nws_feature(**changes):
    feature = json.loads(load("us_nws_api_alerts_flood_watch.geojson"))["features"][0]
    feature["properties"].update(changes)
    return feature


def test_nws_geojson_geometry_in_lat_lon():
    feature = nws_feature()
    feature["geometry"] = {"type": "Polygon", "coordinates": [
        [[-122.5, 45.5], [-122.0, 45.5], [-122.0, 46.0], [-122.5, 45.5]],
        [[-122.3, 45.6], [-122.2, 45.6], [-122.2, 45.7], [-122.3, 45.6]]]}
    alert = cap.parse_nws_geojson(json.dumps(feature).encode())[0]
    assert alert.infos[0].areas[0].polygons == [[(45.5, -122.5), (45.5, -122.0), (46.0, -122.0), (45.5, -122.5)]]
    assert alert.problems == ["alert: geometry: polygon[0] has 1 hole(s); only the outer ring kept"]
    feature["geometry"] = {"type": "MultiPolygon", "coordinates": [
        [[[-122.5, 45.5], [-122.0, 45.5], [-122.0, 46.0], [-122.5, 45.5]]],
        [[[-120.0, 44.0], [-119.0, 44.0], [-119.0, 44.5], [-120.0, 44.0]]],
        [[[-120.0, 44.0], [-119.0, 44.0], [-120.0, 44.0]]]]}
    alert = cap.parse_nws_geojson(json.dumps({"type": "FeatureCollection", "features": [feature]}))[0]
    assert [ring[0] for ring in alert.infos[0].areas[0].polygons] == [(45.5, -122.5), (44.0, -120.0)]
    assert alert.problems == ["alert: geometry: polygon[2] dropped: 3 points, at least 4 needed"]


@pytest.mark.parametrize("name", ["sender", "sent", "status", "messageType", "event", "urgency", "severity",
                                  "certainty", "category", "areaDesc"])
def test_nws_geojson_missing_property_raises_naming_it(name):
    feature = nws_feature(**{name: None})
    with pytest.raises(CapError) as raised:
        cap.parse_nws_geojson(json.dumps(feature).encode())
    assert raised.value.field == name and name in str(raised.value)


def test_nws_geojson_collection_skips_a_broken_feature():
    collection = {"type": "FeatureCollection", "features": [nws_feature(event=None), nws_feature(id="OK-1")]}
    assert [a.identifier for a in cap.parse_nws_geojson(json.dumps(collection))] == ["OK-1"]
    collection["features"] = [nws_feature(event=None)]
    with pytest.raises(CapError, match="'event'"):
        cap.parse_nws_geojson(json.dumps(collection))
    assert cap.parse_nws_geojson(b'{"type": "FeatureCollection", "features": []}') == []


@pytest.mark.parametrize("data", [b"", b"not json", b"[1, 2]", b'{"type": "Point"}', b"{" * 100_000,
                                  load("meteoalarm_atom_poland.xml")])
def test_nws_geojson_bad_input(data):
    with pytest.raises(CapError):
        cap.parse_nws_geojson(data)


# --- JSON form ---------------------------------------------------------------------------------


def all_sample_alerts():
    for name in sorted(SAMPLES):
        yield from cap.parse_document(load(name)).alerts
    yield from cap.parse_nws_geojson(load("us_nws_api_alerts_flood_watch.geojson"))


def test_to_json_from_json_round_trip():
    alerts = list(all_sample_alerts())
    assert len(alerts) == 15
    for alert in alerts:
        data = cap.to_json(alert)
        text = json.dumps(data, ensure_ascii=False)
        assert cap.from_json(json.loads(text)) == alert
    cn = cap.to_json(only("cn_constructed_rainstorm_orange_nanchang.xml"))
    assert cn["sent"] == "2024-07-08T09:30:00+08:00"
    assert cn["infos"][0]["areas"][0]["polygons"][0][0] == [28.75, 115.85]
    assert cn["references"][0] == ["36010041600000", "36010041600000_20240708060000_0", "2024-07-08T06:00:00+08:00"]
    de = cap.to_json(only("de_dwd_thunderstorm_update.xml"))
    assert de["problems"] and de["infos"][0]["expires"] == "2022-08-26T23:00:00+02:00"


def test_from_json_rejects_garbage():
    with pytest.raises(CapError):
        cap.from_json({"identifier": "x"})
    data = cap.to_json(only("us_nws_fire_weather_watch_cancel.xml"))
    data["sent"] = "2026-09-12T09:15:00"
    with pytest.raises(CapError, match="no UTC offset"):
        cap.from_json(data)
