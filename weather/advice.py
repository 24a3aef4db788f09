"""What a weather warning means for a farm: its type and level, advice, and the loudspeaker script.

The China Meteorological Administration issues 14 types of warning signal, each
at up to four colour levels. ``classify`` reads a CAP info block (Chinese or
English names, CMA/12379 event-type codes, colour words, CAP severity) into
one of ``EVENT_TYPES`` and ``LEVELS``. The advice itself is data: rows of
``AdviceRule`` seeded from ``data/advice.csv`` by ``load_rules`` and edited by
agriculture bureaus afterwards; ``advice_for`` picks the rows that fit what
grows on a farm. ``broadcast_script`` turns a warning and its advice into a
script for the village loudspeaker (乡村大喇叭).

Names and codes live in ``data/event_types.csv`` (kind ``name_zh``, ``name_en``
or ``code``; the first name of each language is the one shown). The ``11Bxx``
codes are the event types of the national early-warning release system, as
QWeather documents them with its own ``10xx`` numbers.
"""
import csv
import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

from peewee import chunked

from weather.models import AdviceRule
from web.clock import as_utc, local_zone, utcnow
from web.db import database

DATA = Path(__file__).resolve().parent / "data"
ADVICE_CSV = DATA / "advice.csv"
EVENT_TYPES_CSV = DATA / "event_types.csv"

EVENT_TYPES = ("typhoon", "rainstorm", "blizzard", "cold_wave", "gale", "sandstorm", "heat", "drought",
               "lightning", "hail", "frost", "fog", "haze", "road_icing")
LEVELS = ("blue", "yellow", "orange", "red")
OTHER = "other"
ANY = "*"
RULE_COLUMNS = ("event_type", "level", "crop", "position", "text_zh", "text_en")

LEVEL_NAMES = {"zh": {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色", ANY: "全部级别"},
               "en": {"blue": "blue", "yellow": "yellow", "orange": "orange", "red": "red", ANY: "all levels"}}
SEVERITY_LEVELS = {"minor": "blue", "moderate": "yellow", "severe": "orange", "extreme": "red"}
# CMA grades: I is the most severe (red), IV the least (blue).
GRADE_LEVELS = {"Ⅰ": "red", "I": "red", "一": "red", "1": "red",
                "Ⅱ": "orange", "II": "orange", "二": "orange", "2": "orange",
                "Ⅲ": "yellow", "III": "yellow", "三": "yellow", "3": "yellow",
                "Ⅳ": "blue", "IV": "blue", "四": "blue", "4": "blue"}

_ZH_COLOURS = {"蓝色": "blue", "黄色": "yellow", "橙色": "orange", "红色": "red",
               "藍色": "blue", "黃色": "yellow", "紅色": "red"}  # also in traditional characters
_EN_COLOUR = re.compile(r"\b(blue|yellow|orange|amber|red)\b(?![\s-]+flag)", re.I)  # a Red Flag Warning is no colour
_GRADE = re.compile(r"^\s*(?:level\s*|grade\s*)?(IV|III|II|I|Ⅳ|Ⅲ|Ⅱ|Ⅰ|[一二三四1-4])\s*级?\s*$", re.I)
_GRADE_NAME = re.compile(r"级别|等级|level|grade", re.I)
_CMA_CODE = re.compile(r"11B\d{2}", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------- names and codes


@lru_cache(maxsize=1)
def _event_table():
    """({(type, "zh"|"en"): display name}, {CODE: type}, [(alias, type, pattern or None)])."""
    names, codes, aliases = {}, {}, []
    with open(EVENT_TYPES_CSV, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            event_type, kind, value = row["event_type"].strip(), row["kind"].strip(), row["value"].strip()
            if event_type not in EVENT_TYPES + (OTHER,) or not value:
                raise ValueError(f"event_types.csv: bad row {row}")
            if kind == "code":
                codes[value.upper()] = event_type
            elif kind in ("name_zh", "name_en"):
                names.setdefault((event_type, kind[-2:]), value)
                if value.isascii():
                    words = r"[\s_-]*".join(re.escape(w) for w in value.split())
                    aliases.append((value, event_type, re.compile(rf"\b{words}\b", re.I)))
                else:
                    aliases.append((value, event_type, None))
            else:
                raise ValueError(f"event_types.csv: unknown kind {kind!r}")
    return names, codes, aliases


def _english(locale):
    return str(locale or "zh").lower().startswith("en")


def type_name(event_type, locale="zh"):
    """霜冻 / Frost; "other" is 其他 / Other."""
    if not event_type:
        return ""
    lang = "en" if _english(locale) else "zh"
    if event_type == ANY:
        return "All types" if lang == "en" else "全部类型"
    names, _codes, _aliases = _event_table()
    return names.get((event_type, lang), event_type)


def level_name(level, locale="zh"):
    """橙色 / orange."""
    if not level:
        return ""
    return LEVEL_NAMES["en" if _english(locale) else "zh"].get(level, level)


# ---------------------------------------------------------------- classification


def _field(info, name):
    if isinstance(info, dict):
        return info.get(name)
    return getattr(info, name, None)


def _pairs(value):
    """CAP (valueName, value) pairs from tuples, dicts or objects."""
    if not value:
        return []
    if isinstance(value, dict) and "value" not in value:
        value = list(value.items())
    elif isinstance(value, dict):
        value = [value]
    pairs = []
    for item in value:
        if isinstance(item, dict):
            name, val = item.get("valueName", item.get("value_name", item.get("name"))), item.get("value")
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            name, val = item
        elif hasattr(item, "value"):
            name, val = getattr(item, "value_name", getattr(item, "name", "")), item.value
        else:
            name, val = "", item
        pairs.append((str(name or ""), str(val or "")))
    return pairs


def _type_from_code(value):
    _names, codes, _aliases = _event_table()
    value = value.strip().upper()
    found = codes.get(value)
    if found is None:
        match = _CMA_CODE.search(value)  # "11B16", also inside e.g. "11B16_2"
        found = codes.get(match.group(0).upper()) if match else None
    return found if found != OTHER else None


def _type_from_text(text):
    """The type named earliest in ``text`` (the longer name wins a tie), or None."""
    if not text:
        return None
    _names, _codes, aliases = _event_table()
    best = None
    for alias, event_type, pattern in aliases:
        if event_type == OTHER:
            continue
        if pattern is None:
            at = text.find(alias)
        else:
            match = pattern.search(text)
            at = match.start() if match else -1
        if at >= 0 and (best is None or (at, -len(alias)) < best[0]):
            best = ((at, -len(alias)), event_type)
    return best[1] if best else None


def _colour(text):
    """The colour level named earliest in ``text``, or None."""
    if not text:
        return None
    found = []
    for word, level in _ZH_COLOURS.items():
        at = text.find(word)
        if at >= 0:
            found.append((at, level))
    match = _EN_COLOUR.search(text)
    if match:
        word = match.group(1).lower()
        found.append((match.start(), "orange" if word == "amber" else word))
    return min(found)[1] if found else None


def _level_from_parameters(parameters):
    for _name, value in parameters:
        level = _colour(value)
        if level:
            return level
    for name, value in parameters:
        match = _GRADE.match(value)
        if match and _GRADE_NAME.search(name):
            return GRADE_LEVELS.get(match.group(1).upper())
    return None


def classify(info):
    """(event type or "other", level or None) of one CAP info block.

    The type comes from the event codes, then the event name, the headline and
    the parameters; the level from the coded level in the parameters (colour
    words, also CMA grades I-IV), then colour words in the event name and the
    headline, else from the CAP severity (Minor blue, Moderate yellow, Severe
    orange, Extreme red). The code wins over free text: Hong Kong's "Amber"
    rainstorm signal is the first level (黄色), not orange.
    """
    event = str(_field(info, "event") or "")
    headline = str(_field(info, "headline") or "")
    codes = _pairs(_field(info, "event_codes"))
    parameters = _pairs(_field(info, "parameters"))

    event_type = None
    for _name, value in codes:
        event_type = event_type or _type_from_code(value)
    event_type = event_type or _type_from_text(event) or _type_from_text(headline)
    for _name, value in parameters:
        event_type = event_type or _type_from_code(value) or _type_from_text(value)

    level = _level_from_parameters(parameters) or _colour(event) or _colour(headline)
    if level is None:
        level = SEVERITY_LEVELS.get(str(_field(info, "severity") or "").strip().lower())
    return event_type or OTHER, level


# ---------------------------------------------------------------- rules


def read_rules(path=None):
    """The rows of advice.csv, checked, as dicts with an int position."""
    rows, keys = [], set()
    with open(path or ADVICE_CSV, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != RULE_COLUMNS:
            raise ValueError(f"advice.csv: columns must be {','.join(RULE_COLUMNS)}")
        for line, row in enumerate(reader, 2):
            row = {key: (value or "").strip() for key, value in row.items()}
            try:
                row["position"] = int(row["position"])
            except ValueError:
                raise ValueError(f"advice.csv line {line}: position must be a whole number") from None
            key = tuple(row[k] for k in RULE_COLUMNS[:4])
            if (row["event_type"] not in EVENT_TYPES + (OTHER, ANY) or row["level"] not in LEVELS + (ANY,)
                    or not row["crop"] or not row["text_zh"] or not row["text_en"]):
                raise ValueError(f"advice.csv line {line}: bad row {row}")
            if key in keys:
                raise ValueError(f"advice.csv line {line}: {key} appears twice")
            keys.add(key)
            rows.append(row)
    return rows


def load_rules(path=None):
    """Insert the rows of advice.csv whose (event_type, level, crop, position) the table lacks.

    Idempotent; a rule a bureau has edited keeps its text. Returns how many rows were inserted.
    """
    rows = read_rules(path)
    now = utcnow()
    with database.atomic():
        existing = set(AdviceRule.select(AdviceRule.event_type, AdviceRule.level, AdviceRule.crop,
                                         AdviceRule.position).tuples())
        new = [dict(row, updated_at=now) for row in rows
               if (row["event_type"], row["level"], row["crop"], row["position"]) not in existing]
        for batch in chunked(new, 100):
            AdviceRule.insert_many(batch).execute()
    return len(new)


def advice_for(event_type, level, profile, locale="zh"):
    """Advice lines for a warning on a farm, crop-specific lines first, in ``locale`` (zh or en).

    ``profile`` is ``farms.service.crops_on_farm(...)``. A rule fits when its
    event type is ``event_type`` or "*", its level is ``level`` or "*", and its
    crop is one of the farm's crop codes or categories, "greenhouse" (when the
    farm has one) or "*". Crop-specific rules come first, then general ones,
    each by position (at equal position a crop code before a category before
    "greenhouse"); a text appears once. A type outside ``EVENT_TYPES`` gets
    the generic "other" advice; a known type without a level gets the blue advice.
    """
    profile = profile or {}
    if event_type not in EVENT_TYPES:
        event_type = OTHER
    if level not in LEVELS:
        level = None if event_type == OTHER else LEVELS[0]
    rank = {}
    for code in profile.get("crops") or ():
        rank.setdefault(code, 0)
    for category in profile.get("categories") or ():
        rank.setdefault(category, 1)
    if profile.get("greenhouse"):
        rank.setdefault("greenhouse", 2)
    rank[ANY] = 3
    levels = [ANY] + ([level] if level else [])
    rules = AdviceRule.select().where(AdviceRule.event_type.in_([event_type, ANY]) & AdviceRule.level.in_(levels)
                                      & AdviceRule.crop.in_(list(rank)))
    rules = sorted(rules, key=lambda r: (r.crop == ANY, r.position, rank[r.crop], r.level == ANY,
                                         r.event_type == ANY, r.id))
    english = _english(locale)
    lines, seen = [], set()
    for rule in rules:
        text = ((rule.text_en if english else rule.text_zh) or "").strip()
        if text and text not in seen:
            seen.add(text)
            lines.append(text)
    return lines


# ---------------------------------------------------------------- loudspeaker script

ATTENTION = "各位村民请注意，各位村民请注意。"
CLOSING = "请大家相互转告。"
MAX_ADVICE = 6
SOFT_LIMIT = 30  # sentences longer than this are split at commas where they can be
HARD_LIMIT = 40  # no sentence is longer than this
_NOT_FOR_VILLAGERS = re.compile(r"政府|部门|单位|机关|学校|幼儿园|托儿所|媒体|预案")
_PARTS_OF_DAY = ((5, "凌晨"), (9, "早上"), (12, "上午"), (13, "中午"), (18, "下午"), (24, "晚上"))


def _spoken(text):
    """Text as it is read aloud: no list numbers, brackets or symbols; clauses end in ， or 。."""
    text = str(text or "")
    text = re.sub(r"(?m)^\s*(?:\d{1,2}\s*[.、．)）]|[(（]\d{1,2}[)）]|[①-⑳]|[一二三四五六七八九十]{1,2}、)\s*", "", text)
    for old, new in (("℃", "度"), ("°C", "度"), ("～", "到"), ("~", "到"), ("（", "，"), ("(", "，"),
                     ("）", "，"), (")", "，"), ("：", "，"), (":", "，"), ("；", "。"), (";", "。"),
                     ("!", "！"), ("?", "？"), ("\n", "。"), ("“", ""), ("”", ""), ('"', ""), ("《", ""),
                     ("》", ""), ("【", ""), ("】", ""), ("…", "，")):
        text = text.replace(old, new)
    text = re.sub(r"(?<!\d),|,(?!\d)", "，", text)
    text = re.sub(r"(?<!\d)\.(?!\d)", "。", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r" ?([，、。！？]) ?", r"\1", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", text)
    text = re.sub(r"[，、]*([。！？])[，、。！？]*", r"\1", text)
    text = re.sub(r"([，、])[，、]+", r"\1", text)
    return text.strip("，、 ")


def _hard_cut(clause):
    pieces = []
    while len(clause) > HARD_LIMIT - 1:
        pieces.append(clause[:HARD_LIMIT - 1])
        clause = clause[HARD_LIMIT - 1:]
    return pieces + ([clause] if clause else [])


def _pack(parts, joiner):
    """Join ``parts`` with ``joiner`` into chunks that fit SOFT_LIMIT (a lone long part stays whole);
    a short leftover clause joins its neighbour when the two fit HARD_LIMIT."""
    chunks, current = [], ""
    for part in parts:
        candidate = f"{current}{joiner}{part}" if current else part
        if current and len(candidate) + 1 > SOFT_LIMIT:
            chunks.append(current)
            current = part
        else:
            current = candidate
    chunks += [current] if current else []
    merged = []
    for chunk in chunks:
        if merged and min(len(chunk), len(merged[-1])) < 8 and len(merged[-1]) + len(chunk) + 2 <= HARD_LIMIT:
            merged[-1] = f"{merged[-1]}{joiner}{chunk}"
        else:
            merged.append(chunk)
    return merged


def _sentences(text):
    """Short spoken sentences, each ending in 。！or ？ and at most HARD_LIMIT characters."""
    result = []
    for match in re.finditer(r"([^。！？]+)([。！？]?)", _spoken(text)):
        body, end = match.group(1).strip("，、 "), match.group(2) or "。"
        if not body:
            continue
        if len(body) + 1 <= SOFT_LIMIT:
            result.append(body + end)
            continue
        chunks = []
        for chunk in _pack(body.split("，"), "，"):
            if len(chunk) + 1 > HARD_LIMIT:
                for piece in _pack(chunk.split("、"), "、"):
                    chunks.extend(_hard_cut(piece) if len(piece) + 1 > HARD_LIMIT else [piece])
            else:
                chunks.append(chunk)
        chunks = [c.strip("，、 ") for c in chunks if c.strip("，、 ")]
        result.extend(c + "。" for c in chunks[:-1])
        if chunks:
            result.append(chunks[-1] + end)
    return result


def _name_list(first, names, then="还有"):
    """"影响范围是甲、乙。" split over sentences that stay short."""
    names = [str(n).strip() for n in names if n and str(n).strip()]
    sentences, prefix, current = [], first, []
    for name in names:
        if current and len(prefix + "、".join(current + [name])) + 1 > SOFT_LIMIT:
            sentences.append(prefix + "、".join(current) + "。")
            prefix, current = then, []
        current.append(name)
    if current:
        sentences.append(prefix + "、".join(current) + "。")
    return sentences


def _aware_local(value, zone):
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:  # the project stores naive UTC
        value = as_utc(value)
    return value.astimezone(zone)


def _spoken_time(moment, today):
    """(day words, time of day words): ("今天", "晚上8点"), ("12月1日", "早上8点半")."""
    day, hour, minute = moment.date(), moment.hour, moment.minute
    if hour == 0 and minute == 0:
        day, clock = day - dt.timedelta(days=1), "夜里12点"
    else:
        part = next(name for limit, name in _PARTS_OF_DAY if hour < limit)
        shown = hour - 12 if hour > 12 else hour
        clock = f"{part}{shown}点" + ("" if minute == 0 else "半" if minute == 30 else f"{minute}分")
    delta = (day - today).days
    words = {-1: "昨天", 0: "今天", 1: "明天", 2: "后天"}.get(delta, f"{day.month}月{day.day}日")
    return words, clock


def _time_sentence(onset, expires, now, zone):
    today = now.astimezone(zone).date()
    start = _spoken_time(onset, today) if onset else None
    end = _spoken_time(expires, today) if expires else None
    if start and end:
        until = end[1] if end[0] == start[0] else end[0] + end[1]
        return f"影响时间是{start[0]}{start[1]}到{until}。"
    if start:
        return f"影响从{start[0]}{start[1]}开始。"
    if end:
        return f"预警有效到{end[0]}{end[1]}。"
    return None


def _event_name(facts):
    event_type, level = facts.get("event_type"), facts.get("level")
    official = str(facts.get("event") or "").strip()
    if event_type in EVENT_TYPES:
        name_zh, colour = type_name(event_type, "zh"), level_name(level, "zh") if level in LEVELS else ""
        if _CJK.search(official) and name_zh in official and colour in official and len(official) <= 20:
            return official  # e.g. 霜冻橙色预警信号
        return f"{name_zh}{colour}预警"
    for text in (official, str(facts.get("headline") or "").strip()):
        if _CJK.search(text) and len(text) <= 20:
            return text
    return "气象灾害预警"


_ORGANISATION = re.compile(r"^[\u4e00-\u9fff]{2,30}?(?:气象台|天文台|气象局|气象中心|中心|台|局|站|署|办公室|委员会|指挥部)")
_PERSON = re.compile(r"(?:值班|首席)?(?:预报员|签发人?|联系人|责任人|值班员|主班|副班)")
_NAMED = re.compile(r"(?:预报员|签发人?|联系人|责任人|值班员)\s*[:：]?\s*([\u4e00-\u9fff·]{2,4})")


def _organisation(sender_name):
    """The issuing organisation, never a person: "信丰县气象台 值班预报员李明" is read as 信丰县气象台."""
    text = str(sender_name or "").strip()
    head = re.split(r"[\s,，;；:：(（/|]", text, maxsplit=1)[0]
    match = _ORGANISATION.match(head)
    if match and not _PERSON.search(match.group(0)):
        return match.group(0)
    return "气象台"


def _people(contact):
    """Names given after 预报员/联系人/签发 in a message's contact, to keep them off the loudspeaker."""
    return {name for name in _NAMED.findall(str(contact or ""))}


def is_chinese(text):
    """True when ``text`` is written in Chinese characters (a name fit to be read out)."""
    return bool(_CJK.search(str(text or "")))


def broadcast_script(facts, advice):
    """The 乡村大喇叭 script: one short sentence a line, fit to be read aloud twice.

    ``facts``: event_type, level, event, headline, sender_name, counties,
    townships, onset, expires (aware datetimes, or naive UTC), instruction,
    contact, and
    optionally ``now`` (for 今天/明天; default the current time). Times are
    spoken in the app's TIMEZONE (Asia/Shanghai). ``advice``: lines in Chinese,
    at most MAX_ADVICE are read; without advice, the villagers' part of the
    warning's instruction is read instead. No person is ever named: the sender is
    reduced to its organisation, and instruction lines naming a forecaster, a
    signatory or a contact person (or a name from ``contact``) are left out.
    """
    zone = local_zone()
    now = _aware_local(facts.get("now"), zone) or dt.datetime.now(zone)
    lines = [ATTENTION]

    sender = _organisation(facts.get("sender_name"))
    event = _event_name(facts)
    issued = f"{sender}发布了{event}。"
    lines += [issued] if len(issued) <= HARD_LIMIT else _sentences(f"发布单位是{sender}。现在发布的是{event}。")

    lines += _name_list("影响范围是", facts.get("counties") or [])
    lines += _name_list("涉及的乡镇有", facts.get("townships") or [])
    when = _time_sentence(_aware_local(facts.get("onset"), zone), _aware_local(facts.get("expires"), zone),
                          now, zone)
    if when:
        lines.append(when)

    todo = [line for line in (advice or []) if str(line or "").strip()][:MAX_ADVICE]
    if not todo and facts.get("instruction"):
        items = re.split(r"\n+|(?<=[。；;])\s*(?=\d{1,2}\s*[.、．)）])", str(facts["instruction"]))
        people = _people(facts.get("contact"))
        todo = [item for item in items if item.strip() and not _NOT_FOR_VILLAGERS.search(item)
                and not _PERSON.search(item) and not any(name in item for name in people)][:4]
    if todo:
        lines.append("请大家抓紧做好防范。")
        for line in todo:
            lines += _sentences(line)
    lines.append(CLOSING)

    result = []
    for line in lines:  # a last guard: every sentence short
        result += [line] if len(line) <= HARD_LIMIT else _sentences(line)
    return "\n".join(result)
