"""Warning types and levels from CAP, advice by crop, and the village loudspeaker script."""
import csv
import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from weather import advice
from weather.models import AdviceRule

ROOT = Path(__file__).resolve().parents[2]
TZ = dt.timezone(dt.timedelta(hours=8))
CJK = re.compile(r"[\u4e00-\u9fff]")
CITRUS = {"crops": ["navel_orange"], "categories": ["fruit"], "greenhouse": False}


def info(event="", headline="", event_codes=(), parameters=(), severity=None, language="zh-CN"):
    """Stands in for weather.cap.Info: only the fields classify reads."""
    return SimpleNamespace(language=language, event=event, headline=headline, event_codes=list(event_codes),
                           parameters=list(parameters), severity=severity)


def crop_rows():
    with open(ROOT / "farms" / "data" / "crops.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- the data


def test_every_type_and_level_has_general_advice_that_escalates():
    rows = advice.read_rules()
    assert len(rows) > 300
    for event_type in advice.EVENT_TYPES:
        seen = {}
        for level in advice.LEVELS:
            general = [r for r in rows if (r["event_type"], r["level"], r["crop"]) == (event_type, level, "*")]
            assert len(general) >= 2, (event_type, level)
            assert all(r["text_zh"] and r["text_en"] for r in general)
            seen[level] = {r["text_zh"] for r in general}
        # each level says something of its own: the lines do not repeat across levels
        for a in advice.LEVELS:
            for b in advice.LEVELS:
                assert a == b or not seen[a] & seen[b], (event_type, a, b)
        assert len(seen["red"]) >= len(seen["blue"]), event_type
    assert [r for r in rows if r["event_type"] == "other"], "generic advice for other warnings"


def test_advice_rows_are_clean():
    crops = crop_rows()
    # "livestock": advice for farms keeping animals, which general ("*") rows no longer carry.
    allowed = {c["code"] for c in crops} | {c["category"] for c in crops} | {"greenhouse", "livestock", "*"}
    rows = advice.read_rules()
    for row in rows:
        assert row["crop"] in allowed, row
        assert row["position"] >= 1
        assert CJK.search(row["text_zh"]) and row["text_zh"].endswith("。"), row
        assert not re.search(r"[()\"%~]", row["text_zh"]), row  # read aloud as written
        assert row["text_en"].isascii() and not CJK.search(row["text_en"]), row
        assert row["text_en"][0].isupper() and row["text_en"].endswith("."), row
    # the two citrus crops get the same advice
    orange = {(r["event_type"], r["level"], r["text_zh"]) for r in rows if r["crop"] == "navel_orange"}
    tangerine = {(r["event_type"], r["level"], r["text_zh"]) for r in rows if r["crop"] == "nanfeng_tangerine"}
    assert orange == tangerine and len(orange) > 40
    for crop, least in (("tea", 20), ("rice", 20), ("vegetable", 20), ("greenhouse", 20), ("aquatic", 20),
                        ("camellia_oil", 10), ("fruit", 5)):
        assert sum(r["crop"] == crop for r in rows) >= least, crop
    # frost on citrus: irrigate the evening before, cover young trees
    frost = [r for r in rows if (r["event_type"], r["level"], r["crop"], r["position"])
             == ("frost", "orange", "navel_orange", 1)][0]
    assert "傍晚灌水" in frost["text_zh"] and "覆盖" in frost["text_zh"]


def test_event_types_table_names_every_type():
    with open(advice.EVENT_TYPES_CSV, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    codes = [r["value"] for r in rows if r["kind"] == "code"]
    assert len(codes) == len(set(codes))
    for event_type in advice.EVENT_TYPES:
        kinds = {r["kind"] for r in rows if r["event_type"] == event_type}
        assert kinds == {"name_zh", "name_en", "code"}, event_type
        assert any(re.fullmatch(r"11B\d\d", r["value"]) for r in rows
                   if r["event_type"] == event_type and r["kind"] == "code"), event_type


def test_type_and_level_names():
    assert advice.type_name("frost", "zh") == "霜冻" and advice.type_name("frost", "en") == "Frost"
    assert advice.type_name("road_icing", "zh_CN") == "道路结冰" and advice.type_name("road_icing", "en-US") == "Road Icing"
    assert advice.type_name("other", "zh") == "其他" and advice.type_name("other", "en") == "Other"
    assert advice.level_name("orange", "zh") == "橙色" and advice.level_name("orange", "en") == "orange"
    assert advice.level_name(None, "zh") == "" and advice.type_name(None, "en") == ""
    assert all(advice.type_name(t, "en").isascii() and CJK.search(advice.type_name(t, "zh"))
               for t in advice.EVENT_TYPES)


# ---------------------------------------------------------------- classify


@pytest.mark.parametrize("message, expected", [
    (info("霜冻橙色预警"), ("frost", "orange")),
    (info("Frost Orange Warning", language="en-US"), ("frost", "orange")),
    (info("暴雨预警信号", headline="南丰县气象台发布暴雨黄色预警信号"), ("rainstorm", "yellow")),
    (info("台风蓝色预警信号"), ("typhoon", "blue")),
    (info("道路结冰红色预警信号"), ("road_icing", "red")),
    (info("霾黄色预警信号"), ("haze", "yellow")),
    (info("大雾橙色预警"), ("fog", "orange")),
    (info("高温红色预警信号"), ("heat", "red")),
    (info("雷雨大风黄色预警信号"), ("gale", "yellow")),
    (info("寒潮蓝色预警"), ("cold_wave", "blue")),
    (info("Cold Wave Blue Warning"), ("cold_wave", "blue")),
    (info("Road Icing Yellow Warning"), ("road_icing", "yellow")),
    (info("Heavy Fog Red Warning"), ("fog", "red")),
    (info("Thunderstorm Gale Orange Warning"), ("gale", "orange")),
    (info("Sandstorm Yellow Warning"), ("sandstorm", "yellow")),
    (info("Hail Red Warning"), ("hail", "red")),
    (info("Drought Orange Warning"), ("drought", "orange")),
    (info("Blizzard Red Warning"), ("blizzard", "red")),
    (info("High Temperature Orange Warning"), ("heat", "orange")),
    (info("Lightning Yellow Warning"), ("lightning", "yellow")),
    (info("Weather Warning: Wind", parameters=[("Color", "Yellow")]), ("gale", "yellow")),
    (info("Blizzard Warning", severity="Severe"), ("blizzard", "orange")),
    (info("Freezing Rain Advisory", severity="Minor"), ("road_icing", "blue")),
    (info("颱風紅色警報"), ("typhoon", "red")),  # traditional characters
    (info("台风暴雨"), ("typhoon", None)),  # two names: the first one
])
def test_classify_event_names(message, expected):
    assert advice.classify(message) == expected


def test_classify_codes_parameters_and_severity():
    # an event-type code decides the type even when the name is unhelpful
    assert advice.classify(info("预警信号", event_codes=[("eventType", "11B16")], severity="Severe")) \
        == ("frost", "orange")
    assert advice.classify(info("", event_codes=[("QWEATHER", "1003")], parameters=[("color", "红色")])) \
        == ("rainstorm", "red")
    assert advice.classify(info("Warning", event_codes=[{"valueName": "CMA", "value": "11B14_2"}]))[0] == "lightning"
    # the colour from the parameters, in Chinese or English, or as a CMA grade
    assert advice.classify(info("大风预警", parameters=[("预警级别", "橙色")])) == ("gale", "orange")
    assert advice.classify(info("Gale", parameters=[("awareness_level", "2; yellow; Moderate")])) == ("gale", "yellow")
    assert advice.classify(info("冰雹预警", parameters=[("预警级别", "Ⅱ级")])) == ("hail", "orange")
    assert advice.classify(info("冰雹预警", parameters=[("预警级别", "IV级")])) == ("hail", "blue")
    # the type from a parameter when nothing else names it
    assert advice.classify(info("气象预警", parameters=[("预警类型", "霜冻")], severity="Minor")) == ("frost", "blue")
    # the event's own colour beats a later one in the headline (downgrades name both)
    assert advice.classify(info("暴雨黄色预警", headline="将暴雨橙色预警降级为黄色"))[1] == "yellow"
    # no colour anywhere: CAP severity
    for severity, level in (("Minor", "blue"), ("Moderate", "yellow"), ("Severe", "orange"), ("Extreme", "red")):
        assert advice.classify(info("霜冻预警", severity=severity)) == ("frost", level)
    # dicts (the stored JSON) work as well as Info objects
    assert advice.classify({"event": "Frost Orange Warning", "event_codes": [], "parameters": []}) == ("frost", "orange")


def test_classify_unknown_is_other():
    assert advice.classify(info("Flood Watch", event_codes=[("SAME", "FLA")], severity="Moderate")) \
        == ("other", "yellow")
    assert advice.classify(info("森林火险橙色预警")) == ("other", "orange")
    assert advice.classify(info("Tsunami Warning")) == ("other", None)
    assert advice.classify(info("", event_codes=[("CMA", "11B99")])) == ("other", None)
    # a word inside another word is no match: "Heathrow" is not heat, "Redwood" no colour
    assert advice.classify(info("Heathrow notice", headline="Redwood")) == ("other", None)
    # a Red Flag Warning (fire weather) names no colour
    assert advice.classify(info("Fire Weather Watch", headline="Red Flag Warning replaced", severity="Severe")) \
        == ("other", "orange")


# ---------------------------------------------------------------- rules in the database


@pytest.fixture
def rules(app):
    """The rules loaded (every test starts from a fresh copy of the reference data)."""
    advice.load_rules()


def test_load_rules_is_idempotent_and_keeps_bureau_edits(rules, tmp_path):
    rows = advice.read_rules()
    assert AdviceRule.select().count() == len(rows)
    assert advice.load_rules() == 0
    assert AdviceRule.select().count() == len(rows)

    rule = AdviceRule.get((AdviceRule.event_type == "frost") & (AdviceRule.level == "orange")
                          & (AdviceRule.crop == "navel_orange") & (AdviceRule.position == 1))
    rule.text_zh, rule.text_en = "县农业局：今晚全园灌水并覆盖。", "Bureau: irrigate and cover tonight."
    rule.save()
    assert advice.load_rules() == 0
    assert AdviceRule.get_by_id(rule.id).text_zh == "县农业局：今晚全园灌水并覆盖。"
    assert advice.advice_for("frost", "orange", CITRUS, "en")[0] == "Bureau: irrigate and cover tonight."

    # a row added to the file later is loaded; the edited rule still keeps its text
    extended = tmp_path / "advice.csv"
    text = advice.ADVICE_CSV.read_text(encoding="utf-8")
    extended.write_text(text + "frost,orange,navel_orange,99,霜后检查果实冻伤情况。,Check the fruit for frost damage.\n",
                        encoding="utf-8")
    assert advice.load_rules(extended) == 1
    assert advice.load_rules(extended) == 0
    assert AdviceRule.select().count() == len(rows) + 1
    assert AdviceRule.get_by_id(rule.id).text_en == "Bureau: irrigate and cover tonight."


def test_every_type_and_level_gives_advice_in_both_languages(rules):
    nothing = {"crops": [], "categories": [], "greenhouse": False}
    for event_type in advice.EVENT_TYPES:
        for level in advice.LEVELS:
            zh = advice.advice_for(event_type, level, nothing, "zh")
            en = advice.advice_for(event_type, level, nothing, "en")
            assert len(zh) >= 2 and len(en) == len(zh), (event_type, level)
            assert all(CJK.search(line) for line in zh) and all(line.isascii() for line in en)


def test_frost_orange_on_a_citrus_farm(world, rules):
    from farms import service as farms

    profile = farms.crops_on_farm(world.farm_a.id)
    assert profile == {"crops": ["navel_orange"], "categories": ["fruit"], "greenhouse": False}
    zh = advice.advice_for("frost", "orange", profile, "zh")
    assert "傍晚灌水" in zh[0] and "幼树覆盖稻草或薄膜" in zh[0]  # covering and irrigation first
    assert any("柑橘" in line for line in zh[:3])
    general = advice.advice_for("frost", "orange", {}, "zh")
    assert zh[-len(general):] == general  # crop-specific first, then the general lines, in order
    assert len(zh) == len(set(zh))

    en = advice.advice_for("frost", "orange", profile, "en")
    assert en[0].startswith("Irrigate on the evening before the frost") and "cover young trees" in en[0]
    assert len(en) == len(zh) and all(line.isascii() for line in en)

    # the tangerine farm gets the same citrus advice; a farm without citrus does not
    tangerine = advice.advice_for("frost", "orange", farms.crops_on_farm(world.farm_b.id), "zh")
    assert tangerine == zh
    assert not any("柑橘" in line for line in general)


def test_rainstorm_on_a_greenhouse_farm(world, rules):
    from farms import service as farms
    from farms.models import Crop

    house = farms.create_plot(world.farmer_a, world.farm_a, {"name": "2号大棚", "kind": "greenhouse", "area": 2})
    farms.create_planting(world.farmer_a, house, {"crop": Crop.get(Crop.code == "tomato").id,
                                                  "start_date": dt.date(2026, 3, 1)})
    profile = farms.crops_on_farm(world.farm_a.id)
    assert profile["greenhouse"] and "vegetable" in profile["categories"]

    lines = advice.advice_for("rainstorm", "yellow", profile, "zh")
    general = advice.advice_for("rainstorm", "yellow", {}, "zh")
    specific = lines[:len(lines) - len(general)]
    assert lines[len(specific):] == general
    assert any("排水沟" in line and "棚膜" in line for line in specific)  # clear drains, reinforce the film
    assert any("提前采收" in line for line in specific)  # bring the harvest forward, or wait
    assert any("柑橘" in line for line in specific) and any("蔬菜" in line for line in specific)
    # greenhouse advice without a greenhouse: none
    no_house = advice.advice_for("rainstorm", "yellow", {"crops": ["tomato"], "categories": ["vegetable"]}, "zh")
    assert not any("棚膜" in line for line in no_house)
    en = advice.advice_for("rainstorm", "yellow", profile, "en")
    assert any("greenhouse" in line.lower() and "film" in line for line in en)


def test_other_types_and_missing_levels(rules):
    generic = advice.advice_for("other", None, {}, "zh")
    assert len(generic) >= 2 and any("气象台" in line for line in generic)
    assert advice.advice_for("tsunami", "red", {}, "zh") == generic
    assert advice.advice_for("other", "red", CITRUS, "en") == advice.advice_for("other", None, {}, "en")
    # a known type without a level gets the lowest level's advice
    assert advice.advice_for("frost", None, {}, "zh") == advice.advice_for("frost", "blue", {}, "zh")
    # a bureau's rule for every warning ("*") is added to the general lines
    AdviceRule.create(event_type="*", level="*", crop="*", position=50, text_zh="请收听县广播电台。",
                      text_en="Listen to the county radio.")
    assert advice.advice_for("hail", "red", {}, "zh")[-1] == "请收听县广播电台。"
    assert advice.advice_for("other", None, {}, "en")[-1] == "Listen to the county radio."


# ---------------------------------------------------------------- loudspeaker script


def sentences(script):
    return [s for s in re.split(r"(?<=[。！？])", script.replace("\n", "")) if s]


def frost_facts(**changes):
    facts = {"event_type": "frost", "level": "orange", "event": "霜冻橙色预警",
             "headline": "南丰县气象台发布霜冻橙色预警", "sender_name": "南丰县气象台",
             "counties": ["南丰县", "广昌县"], "townships": ["琴城镇", "太和镇", "白舍镇"],
             "onset": dt.datetime(2026, 11, 30, 20, 0, tzinfo=TZ), "expires": dt.datetime(2026, 12, 1, 8, 0, tzinfo=TZ),
             "instruction": None, "now": dt.datetime(2026, 11, 30, 16, 5, tzinfo=TZ)}
    facts.update(changes)
    return facts


LONG = ("受冻后不要急于修剪，等到春季萌芽前分清死活枝再剪，及时摘除受冻果实，"
        "并且喷施叶面肥，加强肥水管理，尽快恢复树势，为来年丰产打好基础。")


def test_broadcast_script_reads_well():
    lines = ["霜冻来临前一天傍晚灌水，幼树覆盖稻草或薄膜。", "未采的柑橘抢在霜冻前采收。", LONG]
    script = advice.broadcast_script(frost_facts(), lines)
    said = script.splitlines()
    assert said[0] == "各位村民请注意，各位村民请注意。"
    assert said[1] == "南丰县气象台发布了霜冻橙色预警。"
    assert "南丰县、广昌县" in script and "琴城镇、太和镇、白舍镇" in script
    assert "今天晚上8点到明天早上8点" in script
    assert "霜冻来临前一天傍晚灌水，幼树覆盖稻草或薄膜。" in said
    assert said[-1] == "请大家相互转告。"
    assert said.index("请大家相互转告。") > said.index("未采的柑橘抢在霜冻前采收。") > said.index(said[1])
    for sentence in sentences(script):
        assert len(sentence) <= 40, sentence
    # the long line is split at its commas, each clause whole, nothing lost
    assert "".join(s.rstrip("。") for s in said if s.rstrip("。") in LONG.replace("。", "")) \
        .replace("，", "") == LONG.rstrip("。").replace("，", "")
    assert len([s for s in said if s.rstrip("。") in LONG]) >= 2
    assert all(line == "\n".join(sentences(line)) for line in said)  # one sentence a line


def test_broadcast_script_times_and_places():
    # further off: dates; a same-day span names the day once; naive datetimes are UTC
    far = advice.broadcast_script(frost_facts(now=dt.datetime(2026, 11, 20, 9, 0, tzinfo=TZ)), [])
    assert "11月30日晚上8点到12月1日早上8点" in far
    naive = frost_facts(onset=dt.datetime(2026, 11, 30, 6, 0), expires=dt.datetime(2026, 11, 30, 12, 30))
    assert "今天下午2点到晚上8点半" in advice.broadcast_script(naive, [])
    midnight = advice.broadcast_script(frost_facts(expires=dt.datetime(2026, 12, 1, 0, 0, tzinfo=TZ)), [])
    assert "今天晚上8点到夜里12点" in midnight
    assert "预警有效到明天早上8点" in advice.broadcast_script(frost_facts(onset=None), [])
    # many townships: several short sentences
    towns = [f"第{i}号镇" for i in range(1, 21)]
    script = advice.broadcast_script(frost_facts(townships=towns, counties=[]), [])
    assert all(town in script for town in towns) and "影响范围" not in script
    assert all(len(s) <= 40 for s in sentences(script))


def test_broadcast_script_names_and_instruction():
    # an English event and sender: the Chinese name of the warning, 气象台 as the sender
    script = advice.broadcast_script(frost_facts(event="Frost Orange Warning", sender_name="Nanfeng Met Office",
                                                 level="red"), [])
    assert "气象台发布了霜冻红色预警。" in script
    # the official Chinese name is kept
    assert "发布了霜冻橙色预警信号。" in advice.broadcast_script(frost_facts(event="霜冻橙色预警信号"), [])
    # no advice: the villagers' part of the instruction, short
    instruction = ("1. 政府及农林主管部门按照职责做好防霜冻应急工作；\n2. 农村基层组织要广泛发动群众，防灾抗灾；\n"
                   "3. 对农作物、蔬菜、花卉、瓜果、林业育种要采取覆盖、喷洒防冻液等措施，减轻冻害。")
    script = advice.broadcast_script(frost_facts(instruction=instruction), [])
    assert "政府" not in script and "覆盖" in script and "发动群众" in script
    assert all(len(s) <= 40 for s in sentences(script))
    # an unknown warning and a very long name still make short sentences
    other = advice.broadcast_script({"event_type": "other", "level": None, "event": "Tsunami",
                                     "sender_name": "某某省某某市某某县某某乡镇某某村某某组气象灾害防御信息服务站",
                                     "counties": ["某县" * 25]}, ["注意安全。"])
    assert "气象灾害预警" in other and other.endswith("请大家相互转告。")
    assert all(len(s) <= 40 for s in sentences(other))
    # at most six advice lines are read
    many = [f"第{i}件事要做好。" for i in range(1, 10)]
    script = advice.broadcast_script(frost_facts(), many)
    assert "第6件事要做好。" in script and "第7件事" not in script
