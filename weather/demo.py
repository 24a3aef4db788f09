"""The embedded demo feed: sample CAP 1.2 warnings for Jiangxi counties, dated today.

Served by the app itself (``/weather/demo/feed.xml``), so the demo shows live
warnings with no internet. Identifiers are stable for a day, so polling again
adds nothing.
"""
import datetime as dt
from xml.sax.saxutils import escape

from weather import service
from web.clock import local_zone


# slug: (sender, sender name zh/en, event zh/en, CMA type, level, geocodes, area zh, headline zh/en,
#        description zh/en, instruction zh/en, onset hour offset from issue, duration hours)
SAMPLES = {
    "nanfeng-frost": dict(
        sender="nanfeng@qx.jiangxi.demo", sender_zh="南丰县气象台", sender_en="Nanfeng County Meteorological Observatory",
        event_zh="霜冻橙色预警", event_en="Frost Orange Warning", level="Orange", severity="Severe",
        geocodes=["361023"], area_zh="南丰县", area_en="Nanfeng County",
        headline_zh="南丰县气象台发布霜冻橙色预警信号",
        headline_en="Nanfeng County Meteorological Observatory issues an orange frost warning",
        description_zh="受强冷空气影响，预计今天夜里到明天早晨，南丰县大部分乡镇最低气温降至-3℃左右，有霜冻，对柑橘等作物影响较大。",
        description_en="A strong cold air mass will bring minimum temperatures of about -3°C with frost to most "
                       "townships of Nanfeng County tonight and tomorrow morning, harming citrus and other crops.",
        instruction_zh="请做好柑橘等作物的防冻工作。", instruction_en="Protect citrus and other crops from frost.",
        onset=12, hours=26),
    "ganzhou-coldwave": dict(
        sender="ganzhou@qx.jiangxi.demo", sender_zh="赣州市气象台", sender_en="Ganzhou Meteorological Observatory",
        event_zh="寒潮黄色预警", event_en="Cold Wave Yellow Warning", level="Yellow", severity="Moderate",
        geocodes=["360700"], area_zh="赣州市", area_en="Ganzhou City",
        headline_zh="赣州市气象台发布寒潮黄色预警信号",
        headline_en="Ganzhou Meteorological Observatory issues a yellow cold wave warning",
        description_zh="预计未来48小时，赣州市日平均气温将下降10℃以上，最低气温降至2℃左右，并伴有4～5级偏北风。",
        description_en="Within 48 hours the daily mean temperature in Ganzhou will drop by more than 10°C to a "
                       "minimum of about 2°C, with northerly winds of force 4 to 5.",
        instruction_zh="注意添衣保暖，做好农作物和畜禽防寒。",
        instruction_en="Keep warm; protect crops and livestock from the cold.", onset=6, hours=48),
}


def _time(value):
    return value.isoformat(timespec="seconds")


def issued_at(now):
    """Today's issue time (08:00 local), or yesterday's before 08:00: stable within a day."""
    now = now.astimezone(local_zone())
    issued = now.replace(hour=8, minute=0, second=0, microsecond=0)
    return issued if now >= issued else issued - dt.timedelta(days=1)


def identifier(slug, now):
    return f"{issued_at(now):%Y%m%d}-{slug}"


def cap_xml(slug, now):
    sample = SAMPLES[slug]
    sent = issued_at(now)
    onset = sent + dt.timedelta(hours=sample["onset"])
    expires = sent + dt.timedelta(hours=sample["hours"])
    infos = []
    for lang, suffix in (("zh-CN", "zh"), ("en-US", "en")):
        geocodes = "".join(f"<geocode><valueName>GB/T 2260</valueName><value>{code}</value></geocode>"
                           for code in sample["geocodes"])
        infos.append(f"""
  <info>
    <language>{lang}</language>
    <category>Met</category>
    <event>{escape(sample['event_' + suffix])}</event>
    <responseType>Prepare</responseType>
    <urgency>Expected</urgency>
    <severity>{sample['severity']}</severity>
    <certainty>Likely</certainty>
    <eventCode><valueName>CMA color</valueName><value>{sample['level']}</value></eventCode>
    <effective>{_time(sent)}</effective>
    <onset>{_time(onset)}</onset>
    <expires>{_time(expires)}</expires>
    <senderName>{escape(sample['sender_' + suffix])}</senderName>
    <headline>{escape(sample['headline_' + suffix])}</headline>
    <description>{escape(sample['description_' + suffix])}</description>
    <instruction>{escape(sample['instruction_' + suffix])}</instruction>
    <area>
      <areaDesc>{escape(sample['area_' + suffix])}</areaDesc>
      {geocodes}
    </area>
  </info>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier(slug, now)}</identifier>
  <sender>{sample['sender']}</sender>
  <sent>{_time(sent)}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <note>Demo warning served by the app itself; not a real forecast.</note>{''.join(infos)}
</alert>
"""


def atom_index(base_url, now):
    updated = _time(issued_at(now))
    entries = "".join(f"""
  <entry>
    <id>{base_url}/weather/demo/cap/{slug}.xml</id>
    <title>{escape(sample['headline_zh'])}</title>
    <updated>{updated}</updated>
    <link rel="alternate" type="application/cap+xml" href="{base_url}/weather/demo/cap/{slug}.xml"/>
  </entry>""" for slug, sample in SAMPLES.items())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>{base_url}/weather/demo/feed.xml</id>
  <title>江西省气象预警（演示）</title>
  <updated>{updated}</updated>{entries}
</feed>
"""


def load(now, users, summary):
    """The demo adds the app's own feed of these warnings (no internet needed)."""
    service.add_feed("江西省气象预警（演示，本地）", service.demo_feed_url(), "atom", 300)
