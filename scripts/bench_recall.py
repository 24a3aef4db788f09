"""Benchmark recall and journey on a large synthetic traceability database.

    .venv/bin/python scripts/bench_recall.py [--db sqlite|postgres|both] [--events 1000000] [--runs 20]

Builds a fresh database (a SQLite file in a temporary directory; a fresh schema of
BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test, dropped afterwards)
through ``web.create_app`` and ``web.cli.init_database`` (the migrations), bulk-loads synthetic
data shaped like the service's own rows, then times ``trace.service.recall`` and ``journey``.

The data is generated once, in memory (about 40 s and 3 GB for a million events), and loaded
into each database in chunks of 1,000 rows, 100 chunks a transaction, with the INSERT statement
``insert_many`` builds (executed by the driver for the whole chunk: see ``bulk``). It holds
organisations with one user each, farms with plots and harvest logs, about ``--events / 10``
batches and ``--events`` journey events (canonical EPCIS JSON with its SHA-256, as
``trace.service._append`` stores it; a few corrected events with their error declarations).
Event rows are numbered in recording order, so a batch's events are spread through the table
as they are in a real database.

Lineage:
* the background is a forest of small clusters: a packing house receives harvest batches of
  several farms, merges some, splits some into retail lots, processes some;
* one deep lineage: a root harvest is split into 24 lanes that go through 14 rounds of
  split + merge (lane i takes half of lane i and half of lane i + 1, 2, 4, 8 or 16, so every
  lane soon descends from every other) or, every third round, a transformation (with side
  inputs from other farms); the last lane is split into retail packs. Its leaf is 26 links
  below the root; the root reaches about 850 batches, the leaf about 570.

Timed (after one warm-up call, median and p95 over ``--runs`` calls, in a request context):
recall of the deep leaf (trace back), recall of the deep root (trace forward), recall of a
typical harvest batch split into a few lots, and journey of the deep leaf.
"""
import argparse
import contextlib
import datetime as dt
import gc
import math
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trace import digital_link  # noqa: E402
from trace.service import CODE_ALPHABET, DISPOSITIONS, NS, UOM, canonical_json, digest  # noqa: E402

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BASE_URL = "http://127.0.0.1:5000"  # PUBLIC_BASE_URL of the benchmark app
TZ_HOURS = 8  # Asia/Shanghai; documents carry +08:00, columns UTC
TARGET_MS = 200

LANES = 24  # width of the deep lineage
ROUNDS = 14  # rounds of split+merge or transformation in the deep lineage
PACKS = 8  # retail packs cut from the deep lineage's last lane

CROPS = [  # code, zh, en, weight
    ("navel_orange", "赣南脐橙", "Gannan navel orange", 30),
    ("nanfeng_tangerine", "南丰蜜橘", "Nanfeng tangerine", 20),
    ("tea", "茶叶", "Tea", 10),
    ("rice", "水稻", "Rice", 10),
    ("chili_pepper", "辣椒", "Chili pepper", 8),
    ("chinese_cabbage", "大白菜", "Chinese cabbage", 6),
    ("tomato", "番茄", "Tomato", 6),
    ("crayfish", "小龙虾", "Crayfish", 5),
    ("lotus_root", "莲藕", "Lotus root", 5),
]
PROCESSED = {  # what a packing house or processor makes of a crop: zh, en, unit, yield per input unit
    "navel_orange": ("脐橙鲜榨汁", "Navel orange juice", "l", 0.45),
    "nanfeng_tangerine": ("蜜橘罐头", "Canned tangerine", "个", 2.0),
    "tea": ("精制红茶", "Refined black tea", "kg", 0.22),
    "rice": ("大米", "Milled rice", "kg", 0.68),
    "chili_pepper": ("剁辣椒", "Chopped chili", "kg", 0.9),
    "chinese_cabbage": ("酸白菜", "Pickled cabbage", "kg", 0.8),
    "tomato": ("番茄酱", "Tomato paste", "kg", 0.3),
    "crayfish": ("麻辣小龙虾", "Spicy crayfish", "箱", 0.2),
    "lotus_root": ("藕粉", "Lotus root starch", "kg", 0.1),
}
DEEP_PRODUCTS = [  # transformation rounds of the deep lineage
    ("脐橙果浆", "Navel orange pulp", "kg", 0.8, False),
    ("脐橙原汁", "Navel orange juice", "l", 0.6, False),
    ("脐橙浓缩汁", "Navel orange juice concentrate", "l", 0.3, False),
    ("脐橙蜜橘复合果汁", "Orange and tangerine juice", "l", 2.5, True),
    ("脐橙蜜橘复合果汁饮料", "Orange and tangerine juice drink", "l", 1.5, True),
]
INPUTS = [  # product, activeIngredient, category, phiDays (from farms/data/input_products.csv)
    ("1.8%阿维菌素乳油", "阿维菌素 abamectin", "acaricide", 14),
    ("24%螺螨酯悬浮剂", "螺螨酯 spirodiclofen", "acaricide", 30),
    ("10%吡虫啉可湿性粉剂", "吡虫啉 imidacloprid", "insecticide", 14),
    ("20%氯虫苯甲酰胺悬浮剂", "氯虫苯甲酰胺 chlorantraniliprole", "insecticide", 7),
    ("99%矿物油乳油", "矿物油 mineral oil", "insecticide", 1),
    ("80%代森锰锌可湿性粉剂", "代森锰锌 mancozeb", "fungicide", 21),
    ("10%苯醚甲环唑水分散粒剂", "苯醚甲环唑 difenoconazole", "fungicide", 14),
    ("复合肥 15-15-15", "", "fertiliser", 0),
    ("有机肥", "", "fertiliser", 0),
]
CERTIFICATIONS = ["green_food", "organic", "gap", "geographical_indication"]
PLACES = ["冷库", "分拣车间", "1号仓", "2号仓", "装车区", "门店", "配送中心", "果园", "预冷间"]


# ---------------------------------------------------------------- synthetic data, once, in memory


class Org:
    __slots__ = ("id", "name", "kind", "division", "user_id", "lots")

    def __init__(self, id, name, kind, division):
        self.id, self.name, self.kind, self.division = id, name, kind, division
        self.user_id = None
        self.lots = 0


class B:
    """A batch being generated; ``t`` is the (UTC) time of its latest event."""

    __slots__ = ("id", "code", "org", "holder", "destination", "lot", "gtin", "zh", "en", "crop", "variety",
                 "farm", "plot", "log", "harvest_date", "quantity", "remaining", "unit", "status", "created_by",
                 "created_at", "url", "t")


class World:
    def __init__(self, events_target, seed):
        self.rng = random.Random(seed)
        self.target = events_target
        self.orgs, self.users, self.farms, self.plots, self.logs, self.log_plots = [], [], [], [], [], []
        self.batches, self.links, self.events = [], [], []  # events: (recorded_at, row without id)
        self.event_count = {}  # batch id -> events
        self.codes = set()
        self.corrections = 0
        self.end = dt.datetime(2026, 3, 1)  # UTC; every event is in the past
        self.start = self.end - dt.timedelta(days=730)

    # ------------------------------------------------------------ helpers

    def uid(self):
        return f"urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def code(self):
        rng = self.rng
        while True:
            code = "".join(rng.choices(CODE_ALPHABET, k=10))
            if code not in self.codes:
                self.codes.add(code)
                return code

    def org(self, name, kind, division):
        org = Org(len(self.orgs) + 1, name, kind, division)
        self.orgs.append(org)
        role = {"farm": "farmer", "cooperative": "farmer", "lab": "inspector"}.get(kind, "operator")
        org.user_id = len(self.users) + 1
        self.users.append((org.user_id, f"u{org.id}", "!bench-no-login", name[:64], role, org.id, None, None,
                           True, self.start, None))
        return org

    def later(self, t, lo_hours, hi_hours):
        return t + dt.timedelta(seconds=self.rng.randint(int(lo_hours * 3600), int(hi_hours * 3600)))

    def event(self, b, step, when, org, extra, etype="ObjectEvent", place=None):
        """One journey event of batch ``b`` at UTC time ``when``, as trace.service._append stores it."""
        local = when + dt.timedelta(hours=TZ_HOURS)
        document = {
            "type": etype, "eventID": self.uid(),
            "eventTime": local.isoformat(timespec="seconds") + "+08:00", "eventTimeZoneOffset": "+08:00",
            "bizStep": step, "readPoint": {"id": f"urn:gannong:org:{org.id}"},
            "bizLocation": {"id": f"urn:gannong:org:{org.id}"},
            f"{NS}:organisation": org.name, f"{NS}:place": place or org.name,
            f"{NS}:recordedBy": {"organisation": org.id, "user": org.user_id}, f"{NS}:batch": b.code,
        }
        document.update(extra)
        self._store(b, document, step, when, org, "event", None)
        b.t = when
        if step not in ("commissioning", "transforming") and self.rng.random() < 0.002:
            self._correct(b, document, when, org)
        return document

    def _store(self, b, document, step, when, org, kind, corrects, recorded=None):
        text = canonical_json(document)
        recorded = recorded or when + dt.timedelta(seconds=self.rng.randint(5, 900))
        self.events.append((recorded, (document["eventID"], kind, b.id, step, when, org.id, org.user_id,
                                       corrects, text, digest(text), recorded)))
        self.event_count[b.id] = self.event_count.get(b.id, 0) + 1

    def _correct(self, b, original, when, org):
        """A corrected event and the error declaration of the original (trace.service.correct_event)."""
        fixed_at = when + dt.timedelta(hours=self.rng.randint(1, 48))
        corrected = dict(original)
        corrected["eventID"] = self.uid()
        corrected[f"{NS}:place"] = self.rng.choice(PLACES)
        corrected[f"{NS}:corrects"] = original["eventID"]
        self._store(b, corrected, original["bizStep"], when, org, "event", original["eventID"], fixed_at)
        declaration = dict(original)
        declaration["errorDeclaration"] = {
            "declarationTime": (fixed_at + dt.timedelta(hours=TZ_HOURS)).isoformat(timespec="seconds") + "+08:00",
            "reason": "incorrect_data", "correctiveEventIDs": [corrected["eventID"]]}
        self._store(b, declaration, original["bizStep"], when, org, "error_declaration", None,
                    fixed_at + dt.timedelta(seconds=1))
        self.corrections += 1

    def qty(self, b, q):
        element = {"epcClass": b.url, "quantity": q}
        if UOM.get(b.unit):
            element["uom"] = UOM[b.unit]
        return element

    def new_batch(self, org, when, zh, en, crop, unit, quantity, variety="", farm=None, plot=None, log=None,
                  harvest_date=None, gtin=None):
        b = B()
        b.id = len(self.batches) + 1
        b.code = self.code()
        b.org = b.holder = org
        b.destination = None
        org.lots += 1
        b.lot = f"{when:%y%m%d}-{org.lots:05d}"
        b.gtin = gtin
        b.zh, b.en, b.crop, b.unit, b.variety = zh, en, crop, unit, variety
        b.farm, b.plot, b.log = farm, plot, log
        b.harvest_date = harvest_date
        b.quantity = b.remaining = round(quantity, 3)
        b.status = "active"
        b.created_by = org.user_id
        b.created_at = when
        b.url = (digital_link.build(BASE_URL, gtin=gtin, lot=b.lot) if gtin
                 else digital_link.build(BASE_URL, batch_code=b.code))
        b.t = when
        self.batches.append(b)
        return b

    # ------------------------------------------------------------ journey steps

    def harvest(self, farm, crop, when, quantity=None):
        """A batch made from a harvest log, with its commissioning event (trace.service.create_batch)."""
        farm_id, farm_name, org, county_code, county, certs, plots = farm
        code, zh, en = crop
        plot_id, plot_name = self.rng.choice(plots)
        log_id = len(self.logs) + 1
        quantity = quantity or float(self.rng.randrange(500, 20000, 50))
        self.logs.append((log_id, farm_id, "harvest", when, None, "", quantity, "kg", None, "", "", "", None, "",
                          None, "", "", f"H{when:%y%m%d}-{log_id}", org.user_id, when))
        self.log_plots.append((len(self.log_plots) + 1, log_id, plot_id))
        local_day = (when + dt.timedelta(hours=TZ_HOURS)).date()
        variety = {"navel_orange": "纽荷尔", "nanfeng_tangerine": "南丰蜜橘", "tea": "狗牯脑"}.get(code, "")
        b = self.new_batch(org, when, zh, en, code, "kg", quantity, variety, farm_id, plot_id, log_id, local_day)
        planting_start = local_day - dt.timedelta(days=self.rng.randint(90, 2000))
        applied = []
        for product, ingredient, category, phi in self.rng.sample(INPUTS, self.rng.randint(1, 5)):
            day = local_day - dt.timedelta(days=self.rng.randint(phi + 1, phi + 120))
            applied.append({"product": product, "activeIngredient": ingredient, "category": category,
                            "date": day.isoformat(), "phiDays": phi})
        applied.sort(key=lambda a: a["date"])
        self.event(b, "commissioning", when, org, {
            "action": "ADD", "disposition": "active", "quantityList": [self.qty(b, quantity)],
            "ilmd": {
                f"{NS}:product": {"zh": zh, "en": en, "crop": code},
                f"{NS}:variety": variety,
                f"{NS}:harvestDate": local_day.isoformat(),
                f"{NS}:farm": {"id": farm_id, "name": farm_name, "countyCode": county_code, "county": county,
                               "certifications": certs},
                f"{NS}:plots": [plot_name],
                f"{NS}:plantingStart": planting_start.isoformat(),
                f"{NS}:inputsApplied": applied,
            }}, place=farm_name)
        return b

    def step(self, b, step, org=None, hours=(1, 30), place=None, extra=None):
        """A recordable step (trace.service.record_event)."""
        org = org or b.holder
        when = self.later(b.t, *hours)
        document = {"action": "OBSERVE", "quantityList": [self.qty(b, b.remaining)],
                    "disposition": DISPOSITIONS.get(step, "in_progress")}
        if step == "inspecting":
            items = [{"name": name, "passed": True, "result": round(self.rng.uniform(0, 0.05), 3),
                      "limit": 0.1, "unit": "mg/kg"}
                     for name in self.rng.sample(["阿维菌素", "吡虫啉", "螺螨酯", "代森锰锌", "铅", "镉"], 3)]
            document["disposition"] = "conformant"
            document[f"{NS}:inspection"] = {"lab": org.name, "passed": True, "items": items}
        if extra:
            document.update(extra)
        if self.rng.random() < 0.1:
            document[f"{NS}:notes"] = self.rng.choice(["温度 4℃", "已预冷", "包装完好", "抽检合格", "按单发货"])
        self.event(b, step, when, org, document, place=place or self.rng.choice(PLACES))

    def ship(self, b, to, receive=True):
        frm = b.holder
        self.step(b, "shipping", extra={
            "destinationList": [{"type": "owning_party", "destination": f"urn:gannong:org:{to.id}"}],
            "sourceList": [{"type": "owning_party", "source": f"urn:gannong:org:{frm.id}"}],
            f"{NS}:destination": to.name})
        b.status, b.destination = "in_transit", to
        if receive:
            self.step(b, "receiving", org=to, hours=(2, 48), extra={
                "sourceList": [{"type": "owning_party", "source": f"urn:gannong:org:{frm.id}"}],
                "destinationList": [{"type": "owning_party", "destination": f"urn:gannong:org:{to.id}"}]})
            b.status, b.holder, b.destination = "active", to, None

    def made(self, inputs, output, kind, when):
        """The TransformationEvent and links that made ``output`` (trace.service._transformation)."""
        self.event(output, "transforming", when, output.holder, {
            "inputQuantityList": [self.qty(b, q) for b, q in inputs],
            "outputQuantityList": [self.qty(output, output.quantity)],
            "disposition": "active", f"{NS}:lineage": kind, f"{NS}:inputs": [b.code for b, _q in inputs],
            f"{NS}:product": {"zh": output.zh, "en": output.en}}, etype="TransformationEvent")
        for b, q in inputs:
            self.links.append((len(self.links) + 1, b.id, output.id, kind, q))
            b.remaining = round(b.remaining - q, 6)
            if b.remaining <= 1e-9:
                b.remaining, b.status = 0, "consumed"

    def _start_time(self, inputs):
        return self.later(max(b.t for b, _q in inputs), 0.5, 12)

    def split(self, b, parts):
        when = self._start_time([(b, 0)])
        children = []
        whole = b.remaining
        for share in parts:
            q = round(whole * share, 3) if share < 1 else b.remaining
            child = self.new_batch(b.holder, when, b.zh, b.en, b.crop, b.unit, q, b.variety, b.farm, b.plot,
                                   None, b.harvest_date, b.gtin)
            self.made([(b, q)], child, "split", when)
            children.append(child)
        return children

    def merge(self, batches):
        inputs = [(b, b.remaining) for b in batches]
        when = self._start_time(inputs)
        first = batches[0]
        same_farm = len({b.farm for b in batches}) == 1
        out = self.new_batch(first.holder, when, first.zh, first.en, first.crop, first.unit,
                             sum(q for _b, q in inputs), first.variety, first.farm if same_farm else None,
                             first.plot if same_farm else None, None, first.harvest_date, first.gtin)
        self.made(inputs, out, "merge", when)
        return out

    def transform(self, inputs, product):
        zh, en, unit, yield_, with_gtin = product
        when = self._start_time(inputs)
        first = inputs[0][0]
        same_farm = len({b.farm for b, _q in inputs}) == 1
        gtin = None
        if with_gtin:
            body = f"0690{self.rng.randrange(10 ** 9):09d}"
            gtin = body + digital_link.gtin_check_digit(body)
        out = self.new_batch(first.holder, when, zh, en, "", unit, sum(q for _b, q in inputs) * yield_, "",
                             first.farm if same_farm else None, first.plot if same_farm else None, None,
                             first.harvest_date, gtin)
        self.made(inputs, out, "transform", when)
        return out

    def to_retail(self, b, full=True):
        """Pack, store, ship through a logistics hub to a retailer, sell (most of the time)."""
        rng = self.rng
        if rng.random() < 0.7:
            self.step(b, "storing", hours=(1, 8))
        if rng.random() < 0.3:
            self.step(b, "inspecting", org=rng.choice(self.labs))
        self.step(b, "packing")
        self.step(b, "storing")
        for hop in range(2):
            if rng.random() < (0.8, 0.4)[hop]:
                self.ship(b, rng.choice(self.logistics))
                self.step(b, "storing")
        if not full and rng.random() < 0.3:
            return
        retailer = rng.choice(self.retailers)
        if rng.random() < 0.03:
            self.ship(b, retailer, receive=False)  # still on the road
            return
        self.ship(b, retailer)
        self.step(b, "storing", hours=(1, 12))
        if rng.random() < 0.5:
            self.step(b, "storing", hours=(12, 48), place="门店")
        if rng.random() < 0.9:
            self.step(b, "retail_selling", hours=(2, 72))
            b.status = "sold"

    # ------------------------------------------------------------ the world

    def build(self, divisions):
        rng = self.rng
        counties = [(code, full) for code, full, level in divisions if level == "county"]
        n_farm_orgs = max(20, self.target // 5000)

        def place_name(i):
            return counties[i % len(counties)][1].split()[-1]

        self.farm_list = []
        for i in range(n_farm_orgs):
            county_code, county = counties[(i * 7) % len(counties)]
            org = self.org(f"{place_name(i * 7)}{i + 1}号{'合作社' if i % 3 else '家庭农场'}",
                           "cooperative" if i % 3 else "farm", county_code)
            for j in range(rng.randint(1, 2)):
                farm_id = len(self.farms) + 1
                name = f"{org.name}{'东西南北'[j]}基地"
                self.farms.append((farm_id, name, org.id, county_code, "", 25 + rng.random() * 3,
                                   114 + rng.random() * 3, self.start))
                plots = []
                for k in range(rng.randint(1, 3)):
                    plot_id = len(self.plots) + 1
                    plots.append((plot_id, f"{k + 1}号地块"))
                    self.plots.append((plot_id, farm_id, f"{k + 1}号地块", "orchard",
                                       round(rng.uniform(3000, 60000)), None, "", self.start))
                certs = sorted(rng.sample(CERTIFICATIONS, rng.randint(0, 2)))
                self.farm_list.append((farm_id, name, org, county_code, county, certs, plots))
        self.packers = [self.org(f"{place_name(i * 5)}果蔬分拣中心{i + 1}", "cooperative", counties[i][0])
                        for i in range(max(5, n_farm_orgs // 8))]
        self.processors = [self.org(f"{place_name(i * 3)}食品加工厂{i + 1}", "processor", counties[i][0])
                           for i in range(max(4, n_farm_orgs // 10))]
        self.logistics = [self.org(f"赣鲜冷链物流{i + 1}", "logistics", None) for i in range(max(4, n_farm_orgs // 10))]
        self.retailers = [self.org(f"{place_name(i * 11)}生鲜超市{i + 1}", "retailer", counties[i % len(counties)][0])
                          for i in range(max(10, n_farm_orgs // 2))]
        self.labs = [self.org(f"江西省农产品检测中心{i + 1}", "lab", None) for i in range(max(3, n_farm_orgs // 25))]
        self.crops = [(c, zh, en) for c, zh, en, _w in CROPS]
        self.crop_weights = [w for *_c, w in CROPS]

        # Clusters in time order; the deep lineage starts about a third of the way through.
        deep_at = self.target // 3
        self.deep = None
        self.typical = None
        clusters = 0
        while len(self.events) < self.target:
            progress = len(self.events) / self.target
            t0 = self.start + dt.timedelta(seconds=int(progress * 0.9 * (self.end - self.start).total_seconds()))
            if self.deep is None and len(self.events) >= deep_at:
                self.deep = self.deep_lineage(t0)
            self.cluster(t0)
            clusters += 1
        return clusters

    def cluster(self, t0):
        """Harvests of a few farms go to a packing house; some are merged, split, processed; all go on sale."""
        rng = self.rng
        crop = rng.choices(self.crops, self.crop_weights)[0]
        packer = rng.choice(self.packers)
        received = []
        for _ in range(rng.randint(2, 6)):
            b = self.harvest(rng.choice(self.farm_list), crop, self.later(t0, 0, 72))
            self.step(b, "storing", hours=(1, 8), place="预冷间")
            if rng.random() < 0.5:
                self.step(b, "sampling", org=rng.choice(self.labs))
            if rng.random() < 0.7:
                self.step(b, "inspecting", org=rng.choice(self.labs))
            if rng.random() < 0.6:
                self.step(b, "packing", hours=(1, 8))
            self.ship(b, packer)
            self.step(b, "storing", hours=(1, 6))
            if rng.random() < 0.5:
                self.step(b, "storing", hours=(6, 48))
            received.append(b)
        if len(received) >= 3 and rng.random() < 0.4:
            k = rng.randint(2, 3)
            received = [self.merge(received[:k])] + received[k:]
            self.step(received[0], "storing")
        for b in received:
            r = rng.random()
            if r < 0.6:
                parts = rng.randint(2, 4)
                children = self.split(b, [1 / parts] * (parts - 1) + [1])
                if self.typical is None and len(children) >= 3 and b.log is not None:
                    self.typical = b
                for child in children:
                    if rng.random() < 0.08:
                        grand = self.split(child, [0.5, 1])
                        for g in grand:
                            self.to_retail(g)
                    else:
                        self.to_retail(child)
            elif r < 0.75:
                processor = rng.choice(self.processors)
                self.ship(b, processor)
                zh, en, unit, yield_ = PROCESSED[b.crop]
                out = self.transform([(b, b.remaining)], (zh, en, unit, yield_, rng.random() < 0.5))
                self.step(out, "inspecting", org=rng.choice(self.labs))
                self.to_retail(out)
            else:
                self.to_retail(b, full=False)

    def deep_lineage(self, t0):
        """A root harvest split into lanes that are split, re-merged across lanes, and processed, ~14 rounds."""
        rng = self.rng
        orange = next(c for c in self.crops if c[0] == "navel_orange")
        tangerine = next(c for c in self.crops if c[0] == "nanfeng_tangerine")
        root = self.harvest(self.farm_list[0], orange, t0, quantity=160000.0)
        self.step(root, "storing", hours=(1, 4), place="预冷间")
        self.step(root, "inspecting", org=self.labs[0])
        holders = [self.packers[0], self.processors[0], self.processors[1 % len(self.processors)],
                   self.packers[1 % len(self.packers)]]
        self.ship(root, holders[0])
        lanes = self.split(root, [1 / LANES] * (LANES - 1) + [1])
        products = iter(DEEP_PRODUCTS)
        merge_round = 0
        for r in range(1, ROUNDS + 1):
            holder = holders[r % len(holders)]
            for lane in lanes:
                self.step(lane, "storing")
                if rng.random() < 0.5:
                    self.step(lane, "inspecting", org=rng.choice(self.labs))
                if lane.holder is not holder:
                    self.ship(lane, holder)
            if r % 3 == 0:
                product = next(products)
                new = []
                for i, lane in enumerate(lanes):
                    inputs = [(lane, lane.remaining)]
                    if i % 2 == 0:  # a side input from another farm
                        side = self.harvest(rng.choice(self.farm_list[1:]), tangerine, self.later(lane.t, -72, -24))
                        self.step(side, "storing", hours=(1, 8))
                        self.ship(side, holder)
                        inputs.append((side, side.remaining))
                    new.append(self.transform(inputs, product))
                lanes = new
            else:
                stride = 1 << (merge_round % math.ceil(math.log2(LANES)))
                merge_round += 1
                halves = [self.split(lane, [0.5, 1]) for lane in lanes]
                for half in (h for pair in halves for h in pair):
                    self.step(half, "storing", hours=(0.5, 6))
                new = []
                for i in range(LANES):
                    parts = [halves[i][0], halves[(i + stride) % LANES][1]]
                    if r < 3 and i % 4 == 0:  # before processing: more raw oranges from other farms
                        side = self.harvest(rng.choice(self.farm_list[1:]), orange, self.later(parts[0].t, -72, -24))
                        self.step(side, "storing", hours=(1, 8))
                        self.ship(side, holder)
                        parts.append(side)
                    merged = self.merge(parts)
                    self.step(merged, "storing", hours=(0.5, 6))
                    new.append(merged)
                lanes = new
        last = lanes[0]
        self.step(last, "inspecting", org=self.labs[0])
        self.ship(last, self.retailers[0])
        packs = self.split(last, [1 / PACKS] * (PACKS - 1) + [1])
        for pack in packs:
            self.step(pack, "packing")
            self.step(pack, "storing")
            self.step(pack, "retail_selling", hours=(2, 48))
            pack.status = "sold"
        for lane in lanes[1:]:
            self.to_retail(lane)
        return root, packs[0]

    def depth(self, root_id, leaf_id):
        """Longest chain of links from root to leaf."""
        parents = {}
        for _id, parent, child, _kind, _q in self.links:
            parents.setdefault(child, []).append(parent)
        memo = {}

        def longest(batch_id):  # links from root down to batch_id, or None when not below root
            if batch_id == root_id:
                return 0
            if batch_id not in memo:
                best = None
                for p in parents.get(batch_id, []):
                    d = longest(p)
                    if d is not None and (best is None or d + 1 > best):
                        best = d + 1
                memo[batch_id] = best
            return memo[batch_id]

        sys.setrecursionlimit(10000)
        return longest(leaf_id)


def load_divisions():
    import csv

    from web.divisions import DATA_FILE

    rows = list(csv.DictReader(DATA_FILE.open(encoding="utf-8")))
    names = {r["code"]: (r["name"], r["parent_code"]) for r in rows}

    def full(code):
        parts = []
        while code:
            name, parent = names[code]
            parts.append(name)
            code = parent
        return " ".join(reversed(parts))

    return [(r["code"], full(r["code"]), r["level"]) for r in rows]


def generate(events, seed):
    started = time.perf_counter()
    world = World(events, seed)
    clusters = world.build(load_divisions())
    world.events.sort(key=lambda e: e[0])  # ids in recording order
    world.event_rows = [(i + 1,) + row for i, (_recorded, row) in enumerate(world.events)]
    world.events = None
    world.batch_rows = [(b.id, b.code, b.org.id, b.holder.id, b.destination.id if b.destination else None, b.lot,
                         b.gtin, b.zh, b.en, b.crop, b.variety, b.farm, b.plot, b.log, b.harvest_date, b.quantity,
                         b.remaining, b.unit, b.status, b.created_by, b.created_at) for b in world.batches]
    world.org_rows = [(o.id, o.name, o.kind, o.division, "", world.start) for o in world.orgs]
    root, leaf = world.deep
    world.root_id, world.leaf_id, world.typical_id = root.id, leaf.id, world.typical.id
    world.lineage_depth = world.depth(root.id, leaf.id)
    world.clusters = clusters
    world.generate_seconds = time.perf_counter() - started
    world.batches = None
    return world


# ---------------------------------------------------------------- loading


def bulk(model, fields, rows, postgres):
    """Insert ``rows`` (tuples in the order of ``fields``) in chunks, a transaction per 100 chunks.

    Columns not in ``fields`` get their defaults (``with_defaults``). The statement is the one
    ``insert_many`` builds; the driver repeats it for every row of a chunk (executemany on SQLite,
    execute_values on PostgreSQL). Building each chunk's SQL in peewee
    instead costs about 160 s per million events, most of the time budget.
    """
    from web.db import database

    fields, rows = with_defaults(model, fields, rows)
    query = model.insert_many(rows[:1], fields=fields).returning()
    sql, params = query.sql()
    if len(params) != len(fields):
        raise RuntimeError(f"{model.__name__}: give every column, defaults too ({len(params)} != {len(fields)})")
    per_chunk = 1000
    if postgres:
        from psycopg2.extras import execute_values

        head, _values = sql.split(" VALUES ", 1)
        sql = head + " VALUES %s"
    for start in range(0, len(rows), 100 * per_chunk):
        with database.atomic():
            cursor = database.cursor()
            for i in range(start, min(start + 100 * per_chunk, len(rows)), per_chunk):
                if postgres:
                    execute_values(cursor, sql, rows[i:i + per_chunk], page_size=per_chunk)
                else:
                    cursor.executemany(sql, rows[i:i + per_chunk])


def with_defaults(model, fields, rows):
    """``fields`` and ``rows`` completed with every other column of ``model`` at its default: columns that later
    features add (an organisation's address, a log's correction links) need no change in the generators."""
    given = {f.name for f in fields}
    extra = [f for f in model._meta.sorted_fields if f.name not in given]
    if not extra:
        return fields, rows
    values = tuple(f.default() if callable(f.default) else f.default for f in extra)
    return fields + extra, [tuple(row) + values for row in rows]


def load(world, postgres):
    from farms.models import Farm, Log, LogPlot, Plot
    from trace.models import Batch, BatchLink, Event
    from web.accounts.models import Organisation, User
    from web.db import database

    O, U, F, P, L, LP, Bt, BL, E = Organisation, User, Farm, Plot, Log, LogPlot, Batch, BatchLink, Event
    tables = [
        (O, [O.id, O.name, O.kind, O.division, O.contact_phone, O.created_at], world.org_rows),
        (U, [U.id, U.username, U.password_hash, U.display_name, U.role, U.organisation, U.division, U.locale,
             U.active, U.created_at, U.last_login_at], world.users),
        (F, [F.id, F.name, F.organisation, F.county, F.address, F.latitude, F.longitude, F.created_at], world.farms),
        (P, [P.id, P.farm, P.name, P.kind, P.area_m2, P.geometry, P.notes, P.created_at], world.plots),
        (L, [L.id, L.farm, L.kind, L.timestamp, L.planting, L.notes, L.quantity, L.unit, L.input_product,
             L.input_category, L.product_name, L.active_ingredient, L.dose, L.dose_unit, L.phi_days, L.input_lot,
             L.activity_kind, L.lot_number, L.created_by, L.created_at], world.logs),
        (LP, [LP.id, LP.log, LP.plot], world.log_plots),
        (Bt, [Bt.id, Bt.code, Bt.organisation, Bt.holder, Bt.destination, Bt.lot_number, Bt.gtin, Bt.product_name,
              Bt.product_name_en, Bt.crop_code, Bt.variety, Bt.farm, Bt.plot, Bt.harvest_log, Bt.harvest_date,
              Bt.quantity, Bt.remaining, Bt.unit, Bt.status, Bt.created_by, Bt.created_at], world.batch_rows),
        (BL, [BL.id, BL.parent, BL.child, BL.kind, BL.quantity], world.links),
        (E, [E.id, E.event_id, E.kind, E.batch, E.biz_step, E.event_time, E.organisation, E.recorded_by,
             E.corrects, E.document, E.hash, E.recorded_at], world.event_rows),
    ]
    with database.connection_context():
        for model, fields, rows in tables:
            bulk(model, fields, rows, postgres)
        if postgres:
            for model, _fields, _rows in tables:  # explicit ids: move the sequences past them
                table = model._meta.table_name
                database.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                     f"(SELECT max(id) FROM \"{table}\"))")
            database.execute_sql("ANALYZE")  # what autovacuum does soon after a bulk load


# ---------------------------------------------------------------- measuring


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), percentile(times, 95)


def run(name, world, runs):
    from bench_db import bench_database
    from trace import service as trace
    from trace.models import Batch, Event
    from web import create_app, db
    from web.cli import init_database

    postgres = name == "postgres"
    bench = contextlib.ExitStack()
    try:
        url, tmp = bench.enter_context(bench_database(postgres, "bench_recall_", POSTGRES_URL))
        started = time.perf_counter()
        app = create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp / "data"), "SECRET_KEY": "bench",
                          "TESTING": True, "LOG_LEVEL": "WARNING", "DATABASE_TIMEOUT": 600,
                          "PUBLIC_BASE_URL": BASE_URL})
        init_database()
        migrated = time.perf_counter()
        load(world, postgres)
        build_seconds = time.perf_counter() - started
        loaded = build_seconds - (migrated - started)
        print(f"[{name}] migrated in {migrated - started:.1f} s, loaded in {loaded:.1f} s", flush=True)

        results = []
        with app.test_request_context(), db.database.connection_context():
            events = Event.select().count()
            batches = Batch.select().count()
            root, leaf, typical = (Batch.get_by_id(i) for i in (world.root_id, world.leaf_id, world.typical_id))
            cases = [
                ("recall deep leaf (back)", lambda: trace.recall(leaf),
                 lambda r: len(r["upstream"]) + len(r["downstream"]) + 1),
                ("recall deep root (fwd)", lambda: trace.recall(root),
                 lambda r: len(r["upstream"]) + len(r["downstream"]) + 1),
                ("recall typical (shallow)", lambda: trace.recall(typical),
                 lambda r: len(r["upstream"]) + len(r["downstream"]) + 1),
                ("journey deep leaf", lambda: trace.journey(leaf), None),
            ]
            origins = trace.recall(leaf)["origins"]
            status = trace.verification(leaf)["status"]
            farms = len({o["farm"]["id"] for o in origins})
            print(f"[{name}] deep leaf: {len(origins)} harvests of {farms} farms at its origin, "
                  f"hashes {status}", flush=True)
            if status != "pending" or not origins:
                raise RuntimeError("the generated events do not look like the service's")
            for label, fn, reached in cases:
                result = fn()
                if reached:
                    ids = ({d["id"] for d in result["upstream"]} | {d["id"] for d in result["downstream"]}
                           | {result["batch"]["id"]})
                    extent = f"{len(ids)} batches, {sum(world.event_count.get(i, 0) for i in ids)} events"
                else:
                    extent = f"{len({e.batch_id for e, _d, _x in result})} batches, {len(result)} events shown"
                median, p95 = measure(fn, runs)
                results.append((label, extent, median, p95))
                print(f"[{name}] {label}: {extent}; median {median:.1f} ms, p95 {p95:.1f} ms", flush=True)
        return {"db": name, "events": events, "batches": batches, "build": build_seconds, "results": results}
    finally:
        bench.close()  # closes the connection, drops the PostgreSQL schema, deletes the folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20260301)
    args = parser.parse_args()

    world = generate(args.events, args.seed)
    gc.collect()
    gc.freeze()  # the generated rows stay for the next database; keep them out of GC pauses while timing
    print(f"generated {len(world.event_rows):,} events ({world.corrections} corrected), "
          f"{len(world.batch_rows):,} batches, {len(world.links):,} links, {len(world.orgs)} organisations, "
          f"{len(world.farms)} farms in {world.clusters:,} clusters in {world.generate_seconds:.1f} s; "
          f"deep lineage: root {world.root_id}, leaf {world.leaf_id}, depth {world.lineage_depth}", flush=True)

    reports = [run(name, world, args.runs) for name in (["sqlite", "postgres"] if args.db == "both" else [args.db])]

    print()
    print(f"recall benchmark: {args.runs} runs after one warm-up; target <= {TARGET_MS} ms for the deep lineage")
    print(f"data generated once in {world.generate_seconds:.1f} s; lineage depth (root to leaf) "
          f"{world.lineage_depth} links")
    header = f"{'db':<9} {'events':>9} {'batches':>8} {'build s':>7}  {'case':<25} {'reached':<28} " \
             f"{'median ms':>9} {'p95 ms':>8}"
    print(header)
    print("-" * len(header))
    for report in reports:
        for i, (label, extent, median, p95) in enumerate(report["results"]):
            lead = (f"{report['db']:<9} {report['events']:>9,} {report['batches']:>8,} {report['build']:>7.1f}"
                    if i == 0 else " " * 36)
            print(f"{lead}  {label:<25} {extent:<28} {median:>9.1f} {p95:>8.1f}")
    deep = [r for report in reports for r in report["results"] if r[0].startswith("recall deep")]
    if deep:
        worst = max(r[3] for r in deep)
        print(f"deep recall p95 worst case: {worst:.1f} ms ({'within' if worst <= TARGET_MS else 'OVER'} "
              f"the {TARGET_MS} ms target)")


if __name__ == "__main__":
    main()
