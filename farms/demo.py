"""Demo farms: six farms in real Jiangxi counties, their plots and plantings, and a few months of farm log.

Run by ``web.demo.load`` (``flask --app web load-demo``) through ``load``. Everything is written
through ``farms.service``, so the demo obeys the same rules as real input. Loading is idempotent:
farms, plots and plantings are looked up by their natural keys first, and logs are generated only
for a farm that has none yet.

The logs cover roughly the last ``WINDOW_DAYS`` days before "now" and follow the season: what a
rule does (spraying, irrigation, harvest, ...) happens only in the months it names, so a demo
loaded in November shows the navel-orange harvest and one loaded in April shows spring tea. They
are deterministic for a given day (``random.Random`` seeded by the farm). No pesticide is applied
on a plot within its pre-harvest interval before a harvest of that plot.

The other domains' demos find these farms, plots and harvests through the helpers at the end.
"""
import datetime as dt
import random
from dataclasses import dataclass

from farms import service as farms
from farms.models import PESTICIDE_CATEGORIES, Crop, Farm, InputProduct, Log, LogPlot, Planting, Plot
from web.accounts.models import Organisation
from web.db import database

WINDOW_DAYS = 120
ALL_YEAR = (("01-01", "12-31"),)
SPRAY_HOURS = (7, 8, 9, 16, 17)
MORNING = (6, 7, 8, 9, 10)
DAYTIME = tuple(range(8, 18))


# ---------------------------------------------------------------- specification


@dataclass(frozen=True)
class PlantingSpec:
    key: str
    plot: str
    crop: str  # code in farms/data/crops.csv
    variety: str
    start_method: str = "transplanted"
    start_date: dt.date | None = None  # perennial crops: when the trees or bushes were planted
    # Annual crops (and stocked ponds): ("MM-DD" start, days to expected harvest, days grown);
    # the planting is the most recent cycle that started on or before today.
    cycle: tuple | None = None
    seed: tuple | None = None  # (quantity, unit, notes) of the seeding log of a cycle
    notes: str = ""


@dataclass(frozen=True)
class Rule:
    """Something done again and again, every ``every`` days while in season."""

    kind: str
    every: tuple  # (min, max) days between two logs
    seasons: tuple = ALL_YEAR  # (("MM-DD", "MM-DD"), ...); a range may run over the new year
    notes: tuple = ("",)  # one is picked; "{q}" is the quantity
    plots: tuple = ()  # plot names; empty: the planting's plot
    planting: str | None = None  # planting key; the rule applies only while it grows
    quantity: tuple | None = None  # (low, high, step, unit)
    product: str | None = None  # input: code in farms/data/input_products.csv
    product_name: str = ""  # input outside the catalogue (category "other")
    dose: tuple | None = None  # input: (low, high, step, unit)
    activity: str = ""
    hours: tuple = DAYTIME
    grows: bool = False  # the quantity rises from low to high through the season (sugar, size)


@dataclass(frozen=True)
class FarmSpec:
    key: str  # lot-number prefix and random seed
    owner: str
    name: str
    county: str
    address: str
    latitude: float
    longitude: float
    certifications: tuple
    plots: tuple  # (name, kind, area in 亩, notes)
    plantings: tuple
    rules: tuple
    phone: str = ""  # printed on the farm's certificates of conformity (the county's area code)


def apply_input(product, dose, every, seasons, notes, plots=(), planting=None):
    return Rule("input", every, seasons, (notes,) if isinstance(notes, str) else notes, plots, planting,
                product=product, dose=dose, hours=SPRAY_HOURS)


def other_input(name, dose, every, seasons, notes, plots=(), planting=None):
    return Rule("input", every, seasons, (notes,) if isinstance(notes, str) else notes, plots, planting,
                product_name=name, dose=dose, hours=SPRAY_HOURS)


def act(activity, every, seasons, notes, plots=(), planting=None, quantity=None):
    return Rule("activity", every, seasons, (notes,) if isinstance(notes, str) else notes, plots, planting,
                quantity=quantity, activity=activity)


def observe(every, seasons, notes, plots=(), planting=None, quantity=None, grows=False):
    return Rule("observation", every, seasons, (notes,) if isinstance(notes, str) else notes, plots,
                planting, quantity=quantity, grows=grows)


def harvest(planting, every, seasons, quantity, notes):
    return Rule("harvest", every, seasons, (notes,) if isinstance(notes, str) else notes, (), planting,
                quantity=quantity, hours=MORNING)


ORCHARDS_XF = ("1号山地果园", "2号山地果园")
XINFENG = FarmSpec(
    key="XF", owner="farmer1", name="信丰县安西镇脐橙果园", county="360722",
    address="江西省赣州市信丰县安西镇脐橙产业基地", latitude=25.21, longitude=114.90, phone="0797-3520186",
    certifications=("green_food", "geographical_indication"),
    plots=(("1号山地果园", "orchard", 45, "缓坡梯田，滴灌水肥一体化"),
           ("2号山地果园", "orchard", 38, "南向坡地，生草栽培"),
           ("育苗大棚", "greenhouse", 3, "防虫网室，无病毒容器苗繁育")),
    plantings=(
        PlantingSpec("newhall", "1号山地果园", "navel_orange", "纽荷尔", start_date=dt.date(2014, 3, 18),
                     notes="枳壳砧，株行距 3 m × 4 m"),
        PlantingSpec("gannanzao", "2号山地果园", "navel_orange", "赣南早", start_date=dt.date(2016, 3, 9),
                     notes="早熟品种，10 月下旬开始采收"),
        PlantingSpec("nursery", "育苗大棚", "navel_orange", "纽荷尔（枳壳砧容器苗）", start_method="sown",
                     cycle=("09-05", 330, 360), seed=(25, "kg", "枳壳种子秋播，营养钵育苗"),
                     notes="来年春季嫁接纽荷尔接穗"),
    ),
    rules=(
        act("irrigation", (9, 14), (("07-01", "10-31"),), ("秋旱抗旱滴灌", "滴灌补水，结合水肥一体化"),
            plots=ORCHARDS_XF, quantity=(80, 150, 5, "m³")),
        apply_input("potassium_sulphate", (15, 25, 1, "kg/亩"), (25, 35), (("07-20", "08-31"),),
                    "壮果肥，开浅沟撒施后覆土", plots=ORCHARDS_XF),
        apply_input("npk_15_15_15", (20, 30, 1, "kg/亩"), (30, 40), (("08-25", "09-20"),), "秋梢肥",
                    plots=ORCHARDS_XF),
        apply_input("organic_manure", (400, 600, 50, "kg/亩"), (40, 50), (("12-26", "01-31"),),
                    "采果后基肥，扩穴深施", plots=ORCHARDS_XF),
        apply_input("abamectin_1_8ec", (40, 60, 5, "ml/亩"), (20, 28),
                    (("03-01", "05-31"), ("09-01", "11-30")), "防治红蜘蛛", plots=ORCHARDS_XF),
        apply_input("spirodiclofen_24sc", (25, 35, 5, "ml/亩"), (40, 60),
                    (("09-05", "09-25"), ("04-01", "04-30")), "防治红蜘蛛、锈壁虱", plots=ORCHARDS_XF),
        apply_input("imidacloprid_10wp", (50, 75, 5, "g/亩"), (25, 30),
                    (("08-01", "09-20"), ("04-10", "05-20")), "秋梢期防治柑橘木虱（黄龙病传播媒介）", plots=ORCHARDS_XF),
        apply_input("copper_hydroxide_46wg", (100, 130, 10, "g/亩"), (30, 40), (("04-15", "09-30"),),
                    "台风雨后防治溃疡病", plots=ORCHARDS_XF),
        apply_input("lime_sulphur_29as", (1000, 1500, 100, "ml/亩"), (30, 40), (("01-05", "02-15"),), "冬季清园",
                    plots=ORCHARDS_XF),
        observe((16, 22), ALL_YEAR, "红蜘蛛虫口密度平均 {q} 头/叶（防治指标 5 头/叶）", plots=ORCHARDS_XF,
                quantity=(0.4, 4.2, 0.1, "头/叶")),
        observe((28, 36), (("04-01", "10-31"),), "溃疡病巡查：抽查 200 张叶片，病叶率 {q}%",
                plots=ORCHARDS_XF, quantity=(0, 1.5, 0.1, "%")),
        observe((35, 45), (("09-01", "12-31"),), "黄龙病普查：逐株巡查，未发现疑似病株", plots=ORCHARDS_XF),
        observe((12, 16), (("10-05", "12-20"),), "抽样测定果实可溶性固形物 {q}%", planting="newhall",
                quantity=(10.5, 13.0, 0.1, "°Brix"), grows=True),
        act("pruning", (25, 35), (("06-15", "08-10"),), "夏季抹芽控梢，统一放秋梢", plots=ORCHARDS_XF),
        act("pruning", (25, 35), (("01-10", "03-10"),), "冬季修剪，剪除病虫枝、交叉枝", plots=ORCHARDS_XF),
        act("mowing", (30, 40), (("04-01", "10-31"),), "果园生草，割草覆盖树盘", plots=ORCHARDS_XF),
        act("thinning", (30, 40), (("07-01", "08-05"),), "疏果，去除畸形果、病虫果", plots=ORCHARDS_XF),
        harvest("newhall", (4, 6), (("11-10", "12-25"),), (8000, 14000, 100, "kg"),
                ("纽荷尔脐橙采收，单果重 230–300 g", "纽荷尔采收，着色均匀，果面光洁")),
        harvest("gannanzao", (5, 7), (("10-22", "11-20"),), (5000, 9000, 100, "kg"),
                ("赣南早脐橙采收", "赣南早采收，果实橙红色")),
        act("irrigation", (15, 20), ALL_YEAR, "苗床微喷灌", planting="nursery", quantity=(3, 6, 0.5, "m³")),
        act("weeding", (25, 35), ALL_YEAR, "苗床人工除草", planting="nursery"),
        apply_input("mancozeb_80wp", (80, 100, 10, "g/亩"), (25, 30), (("09-20", "11-30"),), "预防苗期立枯病",
                    planting="nursery"),
        observe((25, 35), (("09-25", "11-30"),), "出苗调查：出苗率 {q}%", planting="nursery",
                quantity=(82, 96, 1, "%")),
        observe((25, 35), (("12-01", "08-31"),), "苗情调查：平均苗高 {q} cm，长势整齐", planting="nursery",
                quantity=(8, 45, 0.5, "cm"), grows=True),
    ),
)

NANFENG = FarmSpec(
    key="NF", owner="farmer2", name="南丰县市山镇蜜橘园", county="361023",
    address="江西省抚州市南丰县市山镇蜜橘种植基地", latitude=27.28, longitude=116.48, phone="0794-3261058",
    certifications=("green_food", "geographical_indication"),
    plots=(("东山坡", "orchard", 30, "红壤丘陵，等高梯田"),
           ("西山坡", "orchard", 22, "老果园，树龄 15 年以上"),
           ("山脚新园", "orchard", 10, "2023 年新植幼龄园")),
    plantings=(
        PlantingSpec("east", "东山坡", "nanfeng_tangerine", "南丰蜜橘 大果系", start_date=dt.date(2012, 3, 10)),
        PlantingSpec("west", "西山坡", "nanfeng_tangerine", "南丰蜜橘 小果系", start_date=dt.date(2009, 2, 26)),
        PlantingSpec("young", "山脚新园", "nanfeng_tangerine", "南丰蜜橘 大果系（幼树）",
                     start_date=dt.date(2023, 3, 5), notes="2027 年起投产"),
    ),
    rules=(
        act("irrigation", (12, 16), (("07-15", "10-31"),), "抗旱灌溉，树盘覆草保湿",
            plots=("东山坡", "西山坡", "山脚新园"), quantity=(40, 80, 5, "m³")),
        apply_input("potassium_sulphate", (10, 15, 1, "kg/亩"), (30, 40), (("08-01", "09-05"),), "壮果肥",
                    plots=("东山坡", "西山坡")),
        apply_input("organic_manure", (300, 500, 50, "kg/亩"), (40, 50), (("12-05", "01-15"),), "采果后基肥",
                    plots=("东山坡", "西山坡", "山脚新园")),
        apply_input("npk_15_15_15", (20, 30, 1, "kg/亩"), (30, 40), (("02-20", "03-20"),), "春季萌芽肥",
                    plots=("东山坡", "西山坡", "山脚新园")),
        apply_input("gibberellic_acid_4ec", (40, 60, 5, "ml/亩"), (25, 30), (("04-20", "05-20"),), "谢花后保果",
                    plots=("东山坡", "西山坡")),
        apply_input("pyridaben_15ec", (40, 60, 5, "ml/亩"), (30, 40), (("08-15", "09-15"),), "防治红蜘蛛",
                    plots=("东山坡", "西山坡")),
        apply_input("abamectin_1_8ec", (40, 60, 5, "ml/亩"), (25, 30),
                    (("03-01", "05-31"), ("09-01", "10-31")), "防治红蜘蛛、锈壁虱", plots=("东山坡", "西山坡", "山脚新园")),
        apply_input("mancozeb_80wp", (150, 200, 10, "g/亩"), (25, 35), (("04-01", "06-15"),), "防治疮痂病",
                    plots=("东山坡", "西山坡")),
        apply_input("difenoconazole_10wg", (60, 100, 10, "g/亩"), (30, 40), (("08-05", "09-10"),), "防治炭疽病",
                    plots=("东山坡", "西山坡")),
        apply_input("lime_sulphur_29as", (1000, 1500, 100, "ml/亩"), (30, 40), (("12-15", "02-20"),), "冬季清园",
                    plots=("东山坡", "西山坡", "山脚新园")),
        observe((16, 22), ALL_YEAR, "红蜘蛛虫口密度平均 {q} 头/叶", plots=("东山坡", "西山坡"),
                quantity=(0.3, 3.8, 0.1, "头/叶")),
        observe((10, 15), (("09-25", "11-15"),), "果实转色调查：着色面积 {q}%", planting="east",
                quantity=(30, 95, 5, "%"), grows=True),
        observe((10, 15), (("10-10", "11-30"),), "抽样测定可溶性固形物 {q}%", planting="west",
                quantity=(11.0, 14.0, 0.1, "°Brix"), grows=True),
        act("pruning", (25, 35), (("12-20", "03-01"),), "冬季修剪，疏除密弱枝", plots=("东山坡", "西山坡")),
        act("pruning", (25, 35), (("06-01", "07-31"),), "夏季抹芽放梢", plots=("山脚新园",)),
        act("weeding", (25, 35), (("05-01", "09-30"),), "人工除草，草覆树盘", plots=("东山坡", "西山坡", "山脚新园")),
        harvest("east", (5, 8), (("10-20", "11-25"),), (3000, 6000, 100, "kg"),
                ("南丰蜜橘大果系采收", "大果系采收，果皮橙黄、果形端正")),
        harvest("west", (5, 8), (("11-01", "11-30"),), (2000, 4000, 100, "kg"),
                ("南丰蜜橘小果系采收", "小果系采收，皮薄汁多")),
    ),
)

TEA_LS = ("五老峰下茶园", "海会高山茶园")
LUSHAN = FarmSpec(
    key="LS", owner="farmer3", name="庐山市海会镇云雾茶园", county="360483",
    address="江西省九江市庐山市海会镇茶园基地", latitude=29.53, longitude=116.05, phone="0792-2670315",
    certifications=("green_food", "geographical_indication"),
    plots=(("五老峰下茶园", "orchard", 35, "海拔 400–600 m，云雾多"),
           ("海会高山茶园", "orchard", 22, "梯式茶园，四周林木环绕")),
    plantings=(
        PlantingSpec("wulao", "五老峰下茶园", "tea", "庐山云雾 群体种", start_date=dt.date(2006, 3, 12)),
        PlantingSpec("haihui", "海会高山茶园", "tea", "庐山云雾（福鼎大白茶）", start_date=dt.date(2011, 11, 20)),
    ),
    rules=(
        harvest("wulao", (2, 4), (("03-28", "05-10"),), (40, 120, 1, "kg"),
                ("春茶采摘，鲜叶一芽一叶初展", "明前茶采摘，一芽一叶")),
        harvest("haihui", (3, 5), (("04-01", "05-10"),), (30, 90, 1, "kg"), "春茶采摘，鲜叶一芽一叶"),
        harvest("wulao", (6, 9), (("08-25", "10-05"),), (60, 150, 1, "kg"), "秋茶采摘，一芽二叶"),
        harvest("haihui", (7, 10), (("08-28", "10-05"),), (40, 110, 1, "kg"), "秋茶采摘，一芽二叶"),
        act("pruning", (30, 40), (("05-15", "06-10"),), "春茶后轻修剪", plots=TEA_LS),
        act("pruning", (30, 40), (("10-15", "11-10"),), "秋季轻修剪，整理树冠", plots=TEA_LS),
        act("tillage", (40, 50), (("11-15", "12-31"),), "行间冬耕深翻，清除杂草", plots=TEA_LS),
        act("other", (30, 40), (("12-01", "02-20"),), "清沟排水，防止冬春渍害", plots=TEA_LS),
        observe((6, 9), (("03-01", "04-05"),), "茶芽萌发调查：一芽一叶比例 {q}%", plots=TEA_LS,
                quantity=(5, 60, 1, "%"), grows=True),
        act("other", (25, 35), (("01-01", "02-20"),), "防冻：行间铺草覆盖", plots=TEA_LS),
        act("weeding", (20, 30), (("04-01", "10-31"),), "人工除草", plots=TEA_LS),
        act("irrigation", (10, 15), (("07-10", "09-10"),), "伏旱喷灌", plots=TEA_LS,
            quantity=(20, 50, 5, "m³")),
        apply_input("rapeseed_cake", (150, 250, 10, "kg/亩"), (40, 50), (("10-15", "11-30"),), "秋冬基肥，开沟深施",
                    plots=TEA_LS),
        apply_input("organic_manure", (100, 200, 10, "kg/亩"), (40, 50), (("02-15", "03-10"),), "春季催芽肥",
                    plots=TEA_LS),
        apply_input("bifenthrin_2_5ec", (60, 80, 5, "ml/亩"), (30, 40), (("06-01", "08-10"),), "防治茶小绿叶蝉",
                    plots=TEA_LS),
        apply_input("lime_sulphur_29as", (1000, 1500, 100, "ml/亩"), (30, 40), (("11-10", "12-20"),), "秋冬封园",
                    plots=TEA_LS),
        observe((14, 20), (("05-01", "10-31"),), "茶小绿叶蝉虫口 {q} 头/百叶", plots=TEA_LS,
                quantity=(3, 14, 1, "头/百叶")),
        observe((20, 30), ALL_YEAR, ("茶园巡查：树势正常", "茶园巡查：黄板诱虫正常更换"), plots=TEA_LS),
    ),
)

TEA_WY = ("上坞茶园", "下坞茶园")
WUYUAN = FarmSpec(
    key="WY", owner="farmer4", name="婺源县大鄣山有机茶园", county="361130",
    address="江西省上饶市婺源县大鄣山乡茶园基地", latitude=29.43, longitude=117.86, phone="0793-7340462",
    certifications=("organic", "geographical_indication"),
    plots=(("上坞茶园", "orchard", 40, "高山云雾茶园，有机转换完成"),
           ("下坞茶园", "orchard", 28, "溪边缓坡茶园")),
    plantings=(
        PlantingSpec("shangwu", "上坞茶园", "tea", "婺源绿茶（上梅洲种）", start_date=dt.date(2008, 3, 2)),
        PlantingSpec("xiawu", "下坞茶园", "tea", "婺源绿茶（福鼎大白茶）", start_date=dt.date(2013, 11, 15)),
    ),
    rules=(
        harvest("shangwu", (2, 4), (("03-25", "05-05"),), (50, 140, 1, "kg"), "春茶采摘，鲜叶一芽一叶"),
        harvest("xiawu", (3, 5), (("03-25", "05-05"),), (40, 100, 1, "kg"), "春茶采摘，鲜叶一芽二叶初展"),
        harvest("shangwu", (7, 10), (("08-20", "10-10"),), (60, 160, 1, "kg"), "秋茶采摘"),
        harvest("xiawu", (7, 10), (("08-25", "10-10"),), (40, 120, 1, "kg"), "秋茶采摘"),
        act("pruning", (30, 40), (("05-10", "06-10"),), "春茶后修剪", plots=TEA_WY),
        act("pruning", (30, 40), (("10-20", "11-20"),), "秋季轻修剪", plots=TEA_WY),
        act("tillage", (40, 50), (("11-20", "12-31"),), "行间冬耕，铺草覆盖", plots=TEA_WY),
        act("other", (30, 40), (("12-01", "02-20"),), "清沟排水，防止冬春渍害", plots=TEA_WY),
        observe((6, 9), (("03-01", "04-05"),), "茶芽萌发调查：一芽一叶比例 {q}%", plots=TEA_WY,
                quantity=(5, 60, 1, "%"), grows=True),
        act("other", (25, 35), (("01-01", "02-25"),), "雪后检查冻害，摇落积雪", plots=TEA_WY),
        act("weeding", (20, 30), (("04-01", "10-31"),), "人工除草（有机茶园不用除草剂）", plots=TEA_WY),
        act("irrigation", (10, 15), (("07-10", "09-10"),), "引山泉水喷灌", plots=TEA_WY,
            quantity=(20, 60, 5, "m³")),
        apply_input("rapeseed_cake", (150, 250, 10, "kg/亩"), (40, 50), (("10-20", "12-05"),), "秋冬基肥，开沟深施",
                    plots=TEA_WY),
        apply_input("mineral_oil_99ec", (500, 800, 50, "ml/亩"), (30, 40), (("06-01", "08-05"),),
                    "防治茶小绿叶蝉、螨类（有机生产允许使用）", plots=TEA_WY),
        apply_input("lime_sulphur_29as", (1000, 1500, 100, "ml/亩"), (30, 40), (("11-15", "12-25"),), "秋冬封园",
                    plots=TEA_WY),
        observe((14, 20), (("05-01", "10-31"),), "茶小绿叶蝉虫口 {q} 头/百叶", plots=TEA_WY,
                quantity=(2, 12, 1, "头/百叶")),
        observe((20, 30), ALL_YEAR, ("有机茶园巡查：杀虫灯、黄板运行正常", "茶园巡查：树势正常"), plots=TEA_WY),
    ),
)

CRAB_PONDS = ("1号蟹塘", "2号蟹塘")
POYANG = FarmSpec(
    key="PY", owner="farmer5", name="鄱阳县莲湖乡蟹鱼生态养殖场", county="361128",
    address="江西省上饶市鄱阳县莲湖乡养殖基地", latitude=28.95, longitude=116.55, phone="0793-6218057",
    certifications=("green_food", "geographical_indication"),
    plots=(("1号蟹塘", "pond", 60, "种植伊乐藻、轮叶黑藻，投放螺蛳"),
           ("2号蟹塘", "pond", 45, "蟹鳜混养试验塘"),
           ("3号鱼塘", "pond", 80, "鳙鱼为主，搭配鲢鱼")),
    plantings=(
        PlantingSpec("crab1", "1号蟹塘", "mitten_crab", "长江水系中华绒螯蟹", cycle=("03-01", 205, 280),
                     seed=(1200, "kg", "投放扣蟹，规格约 160 只/kg")),
        PlantingSpec("crab2", "2号蟹塘", "mitten_crab", "长江水系中华绒螯蟹", cycle=("03-03", 205, 280),
                     seed=(900, "kg", "投放扣蟹，规格约 160 只/kg")),
        PlantingSpec("carp", "3号鱼塘", "bighead_carp", "鳙鱼", cycle=("02-15", 280, 340),
                     seed=(4000, "kg", "投放大规格鳙鱼种，约 0.4 kg/尾")),
    ),
    rules=(
        act("feeding", (6, 9), (("03-20", "11-20"),), ("投喂颗粒饲料和冰鲜小杂鱼", "投喂螺蛳、玉米和颗粒饲料"),
            plots=CRAB_PONDS, quantity=(250, 600, 10, "kg")),
        act("water_change", (15, 22), (("04-01", "11-15"),), "换水 20–30 cm", plots=CRAB_PONDS + ("3号鱼塘",)),
        observe((10, 14), ALL_YEAR, "水质监测：溶解氧 {q} mg/L，pH 7.6–8.2", plots=CRAB_PONDS + ("3号鱼塘",),
                quantity=(5.0, 8.5, 0.1, "mg/L")),
        observe((20, 28), (("08-01", "11-30"),), "抽样 30 只，平均体重 {q} g/只", plots=CRAB_PONDS,
                quantity=(90, 190, 5, "g/只"), grows=True),
        other_input("生石灰（调节水质）", (8, 15, 1, "kg/亩"), (30, 40), (("05-01", "10-15"),), "全池泼洒",
                    plots=CRAB_PONDS),
        other_input("芽孢杆菌制剂", (250, 500, 50, "g/亩"), (25, 35), (("05-01", "10-31"),), "改良底质",
                    plots=CRAB_PONDS + ("3号鱼塘",)),
        apply_input("organic_manure", (50, 100, 10, "kg/亩"), (30, 40), (("03-15", "10-15"),), "发酵有机肥培水",
                    plots=("3号鱼塘",)),
        harvest("crab1", (7, 10), (("09-25", "11-30"),), (300, 800, 10, "kg"),
                ("地笼捕捞，公蟹 200 g 以上分级", "捕捞成蟹，分级打包")),
        harvest("crab2", (8, 11), (("09-28", "11-30"),), (250, 600, 10, "kg"), "地笼捕捞成蟹"),
        harvest("carp", (12, 16), (("11-15", "01-20"),), (2000, 4500, 50, "kg"), "拉网捕捞鳙鱼，平均 2.5 kg/尾"),
    ),
)

PADDY = "东片稻田"
NANCHANG = FarmSpec(
    key="NC", owner="farmer6", name="南昌县蒋巷镇稻菜基地", county="360121",
    address="江西省南昌市南昌县蒋巷镇稻菜轮作基地", latitude=28.73, longitude=116.07, phone="0791-85720913",
    certifications=("green_food",),
    plots=((PADDY, "field", 120, "双季稻，机插秧"),
           ("藜蒿地", "field", 15, "沙壤土，靠近赣江"),
           ("1号蔬菜大棚", "greenhouse", 6, "钢架大棚，滴灌")),
    plantings=(
        PlantingSpec("early", PADDY, "rice", "早籼稻 中早39", cycle=("04-12", 92, 100),
                     seed=(3.5, "kg/亩", "机插早稻秧苗")),
        PlantingSpec("late", PADDY, "rice", "晚粳稻 甬优1538", cycle=("07-24", 95, 105),
                     seed=(1.5, "kg/亩", "机插晚稻秧苗")),
        PlantingSpec("artemisia", "藜蒿地", "artemisia", "藜蒿 大叶青", cycle=("08-25", 80, 210),
                     seed=(300, "kg", "藜蒿茎段扦插")),
        PlantingSpec("chili", "1号蔬菜大棚", "chili_pepper", "辣椒 螺丝椒", cycle=("08-18", 60, 210),
                     seed=(16000, "株", "秋延后辣椒定植")),
    ),
    rules=(
        act("irrigation", (12, 18), (("04-15", "10-10"),), ("灌溉补水", "干湿交替灌溉", "灌跑马水"), plots=(PADDY,),
            quantity=(300, 600, 10, "m³")),
        apply_input("npk_15_15_15", (25, 35, 1, "kg/亩"), (30, 40), (("04-10", "04-20"),), "早稻基肥",
                    planting="early"),
        apply_input("npk_15_15_15", (25, 35, 1, "kg/亩"), (30, 40), (("07-24", "08-02"),), "晚稻基肥",
                    planting="late"),
        apply_input("urea", (5, 8, 1, "kg/亩"), (30, 40), (("04-25", "05-10"),), "分蘖肥", planting="early"),
        apply_input("urea", (5, 8, 1, "kg/亩"), (30, 40), (("08-05", "08-20"),), "分蘖肥", planting="late"),
        apply_input("pymetrozine_50wg", (10, 15, 1, "g/亩"), (25, 30),
                    (("06-01", "07-05"), ("08-20", "10-05")), "防治稻飞虱", plots=(PADDY,)),
        apply_input("chlorantraniliprole_20sc", (10, 10, 1, "ml/亩"), (30, 40),
                    (("05-20", "06-30"), ("08-10", "09-20")), "防治稻纵卷叶螟", plots=(PADDY,)),
        apply_input("validamycin_5as", (150, 200, 10, "ml/亩"), (30, 40),
                    (("06-01", "06-30"), ("09-01", "09-30")), "防治纹枯病", plots=(PADDY,)),
        apply_input("tricyclazole_75wp", (20, 27, 1, "g/亩"), (30, 40),
                    (("06-20", "07-05"), ("09-10", "09-25")), "破口期预防穗颈瘟", plots=(PADDY,)),
        observe((15, 20), (("05-15", "10-15"),), "稻飞虱百丛虫量 {q} 头", plots=(PADDY,),
                quantity=(200, 1200, 10, "头/百丛")),
        act("tillage", (30, 40), (("07-19", "07-23"),), "早稻收割后翻耕、灌水泡田", plots=(PADDY,)),
        act("tillage", (30, 40), (("11-10", "12-10"),), "晚稻收割后秸秆还田翻耕", plots=(PADDY,)),
        harvest("early", (3, 4), (("07-12", "07-20"),), (20000, 28000, 100, "kg"), "早稻机收，含水率约 20%"),
        harvest("late", (3, 5), (("10-25", "11-06"),), (18000, 26000, 100, "kg"), "晚稻机收"),
        apply_input("npk_15_15_15", (40, 50, 5, "kg/亩"), (30, 40), (("08-20", "08-25"),), "整地基肥",
                    plots=("藜蒿地",)),
        apply_input("urea", (8, 10, 1, "kg/亩"), (25, 30), (("09-20", "10-20"), ("12-20", "01-20")), "追肥",
                    planting="artemisia"),
        apply_input("imidacloprid_10wp", (10, 20, 5, "g/亩"), (30, 40), (("09-15", "10-25"),), "防治蚜虫",
                    planting="artemisia"),
        act("irrigation", (14, 20), (("08-25", "11-30"),), "沟灌保湿", planting="artemisia",
            quantity=(30, 60, 5, "m³")),
        act("weeding", (20, 30), (("09-01", "11-15"),), "人工除草", planting="artemisia"),
        observe((20, 30), (("09-15", "03-31"),), "藜蒿株高 {q} cm", planting="artemisia",
                quantity=(8, 30, 1, "cm")),
        harvest("artemisia", (7, 10), (("11-10", "03-31"),), (400, 900, 10, "kg"), "藜蒿采收，嫩茎长 20–25 cm"),
        act("irrigation", (12, 16), (("08-18", "03-15"),), "滴灌", planting="chili", quantity=(8, 15, 1, "m³")),
        act("pruning", (30, 40), (("09-05", "09-30"),), "整枝打杈，吊蔓", planting="chili"),
        apply_input("npk_15_15_15", (10, 15, 1, "kg/亩"), (30, 40), (("09-15", "10-10"),), "结果期追肥",
                    planting="chili"),
        apply_input("imidacloprid_10wp", (15, 20, 5, "g/亩"), (30, 40), (("09-01", "10-05"),), "防治蚜虫、烟粉虱",
                    planting="chili"),
        apply_input("difenoconazole_10wg", (30, 50, 5, "g/亩"), (30, 40), (("09-10", "10-01"),), "防治炭疽病",
                    planting="chili"),
        observe((20, 30), (("08-25", "03-15"),), "棚内最低气温 {q} ℃，通风正常", planting="chili",
                quantity=(8, 22, 1, "℃")),
        harvest("chili", (6, 9), (("10-17", "03-10"),), (300, 700, 10, "kg"), "螺丝椒采收，分级装箱"),
    ),
)

FARMS = (XINFENG, NANFENG, LUSHAN, WUYUAN, POYANG, NANCHANG)


# ---------------------------------------------------------------- planning (pure)


@dataclass(frozen=True)
class PlantingDates:
    start_date: dt.date
    expected_harvest: dt.date | None
    ended_on: dt.date | None

    def active(self, day):
        return self.start_date <= day and (self.ended_on is None or day <= self.ended_on)


@dataclass
class Event:
    """One log to write: plots and planting by name and key, the product by its code."""

    timestamp: dt.datetime
    kind: str
    plots: tuple
    planting: str | None
    data: dict
    seasons: tuple = ALL_YEAR


def _md(text):
    month, day = text.split("-")
    return int(month), int(day)


def in_season(day, seasons):
    md = (day.month, day.day)
    for first, last in seasons:
        first, last = _md(first), _md(last)
        if (first <= md <= last) if first <= last else (md >= first or md <= last):
            return True
    return False


def season_progress(day, seasons):
    """How far (0 to 1) ``day`` is into the season range that holds it."""
    for first, last in seasons:
        (m1, d1), (m2, d2) = _md(first), _md(last)
        begin = dt.date(day.year, m1, d1)
        if begin > day:
            begin = dt.date(day.year - 1, m1, d1)
        end = dt.date(begin.year + (1 if (m2, d2) < (m1, d1) else 0), m2, d2)
        if begin <= day <= end:
            return (day - begin).days / max((end - begin).days, 1)
    return 0.5


def planting_dates(spec, today):
    """Start, expected harvest and end of a planting, for annual crops relative to ``today``."""
    if spec.cycle is None:
        return PlantingDates(spec.start_date, None, None)
    month, day = _md(spec.cycle[0])
    start = dt.date(today.year, month, day)
    if start > today:
        start = dt.date(today.year - 1, month, day)
    expected = start + dt.timedelta(days=spec.cycle[1])
    end = start + dt.timedelta(days=spec.cycle[2])
    return PlantingDates(start, expected, end if end < today else None)


def _pick(rng, low, high, step):
    value = round(rng.uniform(low, high) / step) * step
    return int(round(value)) if step >= 1 else round(value, 1)


def _at(rng, day, hours, zone):
    return dt.datetime.combine(day, dt.time(rng.choice(hours), rng.randrange(0, 60, 5)), tzinfo=zone)


def plan(spec, now, products):
    """The logs of a farm for the ``WINDOW_DAYS`` days up to ``now``, oldest first.

    ``products`` maps a catalogue code to (category, pre-harvest interval in days). Times are
    in ``now``'s time zone.
    """
    rng = random.Random(f"farmkit-demo:{spec.key}")
    today = now.date()
    first_day = today - dt.timedelta(days=WINDOW_DAYS)
    plantings = {p.key: p for p in spec.plantings}
    dates = {p.key: planting_dates(p, today) for p in spec.plantings}
    events = []

    for p in spec.plantings:
        when = dates[p.key].start_date
        if p.seed and first_day <= when <= today:
            quantity, unit, notes = p.seed
            events.append(Event(_at(rng, when, MORNING, now.tzinfo), "seeding", (p.plot,), p.key,
                                {"quantity": quantity, "unit": unit, "notes": notes}))

    for rule in spec.rules:
        plots = rule.plots or (plantings[rule.planting].plot,)

        def eligible(day, rule=rule):
            growing = rule.planting is None or dates[rule.planting].active(day)
            return growing and in_season(day, rule.seasons)

        day, fresh = first_day, True
        while day <= today:
            if not eligible(day):
                day, fresh = day + dt.timedelta(days=1), True
                continue
            if fresh:  # a season (or the window) begins: start a few days into it
                day, fresh = day + dt.timedelta(days=rng.randint(0, rule.every[0] // 2)), False
                continue
            events.append(Event(_at(rng, day, rule.hours, now.tzinfo), rule.kind, plots, rule.planting,
                                _fields(rule, rng, day), rule.seasons))
            day += dt.timedelta(days=rng.randint(*rule.every))

    events = [e for e in events if e.timestamp <= now]

    # Respect the pre-harvest interval: no pesticide on a plot within it before a harvest
    # of that plot, past (as planned) or still to come (its season).
    harvests = {}
    for e in events:
        if e.kind == "harvest":
            harvests.setdefault(e.plots[0], []).append(e.timestamp.date())
    harvest_seasons = {}
    for rule in spec.rules:
        if rule.kind == "harvest":
            harvest_seasons.setdefault(plantings[rule.planting].plot, []).extend(rule.seasons)

    def too_close(e):
        category, phi = products.get(e.data.get("input_product"), ("other", 0))
        if e.kind != "input" or category not in PESTICIDE_CATEGORIES:
            return False
        day = e.timestamp.date()
        for plot in e.plots:
            if any(0 <= (h - day).days < phi for h in harvests.get(plot, ())):
                return True
            seasons = harvest_seasons.get(plot)
            if seasons and any(in_season(d, seasons) for d in
                               (day + dt.timedelta(days=k) for k in range(phi)) if d > today):
                return True
        return False

    events = sorted((e for e in events if not too_close(e)), key=lambda e: e.timestamp)

    for e in events:
        if e.kind == "input":
            batch = e.timestamp.date() - dt.timedelta(days=rng.randint(30, 300))
            e.data["input_lot"] = f"{batch:%Y%m%d}{rng.randint(1, 9):02d}"
    return events


def _fields(rule, rng, day):
    data = {}
    quantity = None
    if rule.quantity:
        low, high, step, unit = rule.quantity
        if rule.grows:
            middle = low + (high - low) * season_progress(day, rule.seasons)
            spread = (high - low) * 0.05
            low, high = max(low, middle - spread), min(high, middle + spread)
        quantity = _pick(rng, low, high, step)
        data.update(quantity=quantity, unit=unit)
    if rule.kind == "input":
        low, high, step, unit = rule.dose
        data.update(dose=_pick(rng, low, high, step), dose_unit=unit)
        if rule.product:
            data["input_product"] = rule.product
        else:
            data.update(product_name=rule.product_name, input_category="other")
    if rule.activity:
        data["activity_kind"] = rule.activity
    data["notes"] = rng.choice(rule.notes).format(q=quantity)
    return data


# ---------------------------------------------------------------- loading


def load(now, users, summary):
    """The demo farms, plots, plantings and logs that are missing, as of ``now`` (aware)."""
    for key in ("farms", "plots", "plantings", "logs"):
        summary.setdefault(key, 0)
    products = {p.code: p for p in InputProduct.select()}
    with database.atomic():
        for spec in FARMS:
            _load_farm(spec, users[spec.owner], now, products, summary)


def _load_farm(spec, owner, now, products, summary):
    farm = find_farm(spec, owner)
    if not farm:
        farm = farms.create_farm(owner, {
            "name": spec.name, "county_code": spec.county, "address": spec.address, "contact_phone": spec.phone,
            "latitude": spec.latitude, "longitude": spec.longitude,
            "certifications": list(spec.certifications)})
        summary["farms"] += 1

    plots = {}
    for name, kind, area, notes in spec.plots:
        plot = Plot.get_or_none((Plot.farm == farm) & (Plot.name == name))
        if plot is None:
            plot = farms.create_plot(owner, farm, {"name": name, "kind": kind, "area": area,
                                                   "area_unit": "mu", "notes": notes})
            summary["plots"] += 1
        plots[name] = plot

    today = now.date()
    plantings = {}
    for p in spec.plantings:
        crop = Crop.get(Crop.code == p.crop)
        planting = Planting.get_or_none((Planting.plot == plots[p.plot]) & (Planting.crop == crop)
                                        & (Planting.variety == p.variety))
        if planting is None:
            dates = planting_dates(p, today)
            planting = farms.create_planting(owner, plots[p.plot], {
                "crop": crop.id, "variety": p.variety, "start_method": p.start_method,
                "start_date": dates.start_date, "expected_harvest": dates.expected_harvest,
                "ended_on": dates.ended_on, "notes": p.notes})
            summary["plantings"] += 1
        plantings[p.key] = planting

    if Log.select().where(Log.farm == farm).exists():
        return
    catalogue = {code: (p.category, p.phi_days) for code, p in products.items()}
    for event in plan(spec, now, catalogue):
        data = dict(event.data, kind=event.kind, timestamp=event.timestamp,
                    plots=[plots[name].id for name in event.plots])
        if event.planting:
            data["planting"] = plantings[event.planting].id
        if "input_product" in data:
            data["input_product"] = products[data["input_product"]].id
        if event.kind == "harvest":  # as the app suggests lots: unguessable, even when the GTIN is printed
            data["lot_number"] = farms.suggest_lot(spec.key, event.timestamp.year)
        farms.create_log(owner, farm, data)
        summary["logs"] += 1
    if spec.key == "XF":
        _correct_a_fertiliser_dose(owner, farm)
        summary["logs"] += 1


def _correct_a_fertiliser_dose(owner, farm):
    """The demo's history shows a correction: the latest fertiliser dose was written in kg per plot
    instead of per mu, and the farmer corrected it (the old log stays, struck through)."""
    log = (Log.select().where((Log.farm == farm) & (Log.kind == "input") & (Log.input_category == "fertiliser")
                              & Log.voided_at.is_null()).order_by(Log.timestamp.desc()).first())
    if log is None or log.dose is None:
        return
    data = dict(farms.correction_defaults(log), dose=round(log.dose / 2, 1),
                reason="用量记成了整块地的，应按每亩记")
    farms.correct_log(owner, log.id, data)


# ---------------------------------------------------------------- for the other domains' demos


def find_farm(spec, owner):
    """The demo farm of ``spec`` (owned by ``owner``), or None while it is not loaded."""
    # create_farm puts the farm under the owner's organisation, or one named after the farm.
    organisation = owner.organisation or Organisation.get_or_none(Organisation.name == spec.name)
    return organisation and Farm.get_or_none((Farm.organisation == organisation) & (Farm.name == spec.name))


def find_plot(farm, name):
    return Plot.get_or_none((Plot.farm == farm) & (Plot.name == name))


def first_greenhouse(farm):
    return Plot.select().where((Plot.farm == farm) & (Plot.kind == "greenhouse")).order_by(Plot.id).first()


def latest_harvest(farm, crop_code):
    """The farm's latest harvest log of ``crop_code``, or None."""
    return (Log.select().join(Planting).join(Crop)
            .where((Log.farm == farm) & (Log.kind == "harvest") & (Crop.code == crop_code) & Log.voided_at.is_null())
            .order_by(Log.timestamp.desc()).first())


def harvest_plot_id(log):
    return LogPlot.select(LogPlot.plot).where(LogPlot.log == log).first().plot_id
