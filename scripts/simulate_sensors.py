#!/usr/bin/env python3
"""Simulate greenhouse and soil sensors sending readings to the platform.

N devices on M farms send realistic diurnal data (``sensors.simulation``: air temperature
peaking about 14:00, humidity the inverse, CO₂ dipping in daylight, soil moisture drying
slowly with irrigation jumps) over HTTP (``POST /api/v1/ingest`` with each device's token,
as SenML) or MQTT (``sensors.mqtt``). It stops by itself after ``--duration``
seconds (or ``--messages`` messages); ``--duration 0`` runs until stopped.

Tokens are stored only as hashes, so they cannot be read back from the database. Either:

* ``--create``: on the local database (``create_app()``, i.e. ``DATABASE_URL`` or
  ``data/farm.db``), create the simulated devices that are missing (uids ``sim-<farm>-<n>``,
  on a greenhouse plot where the farm has one) and issue each a new token; with ``--demo``
  also the demo's stations (so the demo's plot pages stay live). The tokens are
  written to ``--tokens`` (default ``data/simulator_tokens.json``, mode 600) for later runs;
* or run again later with just ``--tokens FILE``.

Examples::

    # the demo greenhouses, live, every 10 s for 10 minutes
    .venv/bin/python scripts/simulate_sensors.py --create --demo --devices 0 --duration 600
    # 20 devices on 5 farms: two days of history as fast as possible, then a minute live
    .venv/bin/python scripts/simulate_sensors.py --create --devices 20 --farms 5 --backfill 48 --duration 60
    # over MQTT (needs the broker and `flask --app web mqtt-worker`)
    .venv/bin/python scripts/simulate_sensors.py --tokens data/simulator_tokens.json --transport mqtt
"""
import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sensors import simulation  # noqa: E402

# uid: simulation profile (sensors/demo.py STATIONS)
DEMO_STATIONS = {"demo-xf-greenhouse": "greenhouse", "demo-nf-greenhouse": "greenhouse",
                 "demo-xf-orchard-soil": "soil", "demo-xf-orchard2-soil": "soil"}
MAX_PACK = 10_000  # readings per request (the ingest limit)


# ---------------------------------------------------------------- devices and tokens


def create_devices(count, farm_count, demo):
    """Create the missing simulated devices on the local database and issue new tokens.

    Returns [{"uid", "token", "farm_id", "profile", "metrics"}]."""
    from flask_babel import force_locale

    from farms.models import Farm, FarmMember, Plot
    from sensors import service
    from sensors.models import Device
    from web import create_app
    from web.accounts.models import User
    from web.cli import init_database
    from web.db import database

    app = create_app({"RUN_SCHEDULER": False})
    made = []
    with app.app_context(), force_locale(app.config["BABEL_DEFAULT_LOCALE"]), database.connection_context():
        init_database()

        def owner_of(farm_id):
            member = (FarmMember.select(FarmMember, User).join(User)
                      .where((FarmMember.farm == farm_id) & (FarmMember.role == "owner")).first())
            if member is not None:
                return member.user
            return User.select().where(User.role == "admin").first()

        def issue(device, profile):
            user = owner_of(device.farm_id)
            token = service.rotate_token(user, device)
            made.append({"uid": device.uid, "token": token, "farm_id": device.farm_id, "profile": profile,
                         "metrics": device.metric_names})

        if demo:
            for uid, profile in DEMO_STATIONS.items():
                device = Device.get_or_none(Device.uid == uid)
                if device is None:
                    print(f"demo device {uid} not found: run `flask --app web load-demo` first", file=sys.stderr)
                    continue
                issue(device, profile)

        if count:
            greenhouse_first = (Plot.select(Plot.farm).where(Plot.kind == "greenhouse"))
            farms = list(Farm.select().where(Farm.id.in_(greenhouse_first)).order_by(Farm.id).limit(farm_count))
            farms += list(Farm.select().where(Farm.id.not_in([f.id for f in farms] or [0]))
                          .order_by(Farm.id).limit(farm_count - len(farms)))
            if not farms:
                raise SystemExit("no farms in the database: load the demo first (flask --app web load-demo)")
            per_farm = {}
            for n in range(count):
                farm = farms[n % len(farms)]
                per_farm[farm.id] = per_farm.get(farm.id, 0) + 1
                uid = f"sim-{farm.id}-{per_farm[farm.id]}"
                device = Device.get_or_none(Device.uid == uid)
                plot = (Plot.select().where(Plot.farm == farm)
                        .order_by(Plot.kind != "greenhouse", Plot.id).first())
                if plot is None:
                    print(f"farm {farm.id} has no plot; skipped", file=sys.stderr)
                    continue
                profile = "greenhouse" if plot.kind == "greenhouse" else "soil"
                if device is None:
                    device, token = service.create_device(owner_of(farm.id), plot.id, f"模拟传感器 {uid}",
                                                          list(simulation.PROFILES[profile]), uid=uid)
                    made.append({"uid": uid, "token": token, "farm_id": farm.id, "profile": profile,
                                 "metrics": device.metric_names})
                else:
                    issue(device, "greenhouse" if "air_temperature" in device.metric_names else "soil")
    return made


def save_tokens(path, devices):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(devices, fh, ensure_ascii=False, indent=1)


def load_tokens(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise SystemExit(f"no tokens file at {path}: run with --create first (see --help)") from None


# ---------------------------------------------------------------- transports


class Http:
    def __init__(self, base_url, timeout):
        import requests

        self.url = base_url.rstrip("/") + "/api/v1/ingest"
        self.session = requests.Session()
        self.timeout = timeout

    def send(self, device, pack):
        response = self.session.post(self.url, data=json.dumps(pack), timeout=self.timeout, headers={
            "Authorization": f"Bearer {device['token']}", "Content-Type": "application/senml+json"})
        if response.status_code >= 400 and response.status_code != 422:
            raise RuntimeError(f"{device['uid']}: HTTP {response.status_code} {response.text[:200]}")
        body = response.json()
        return body.get("accepted", 0), body.get("duplicates", 0), len(body.get("rejected", []))

    def close(self):
        self.session.close()


class Mqtt:
    def __init__(self, url, timeout):
        try:
            from sensors.mqtt import Publisher
        except ImportError as e:
            raise SystemExit(f"MQTT is not available ({e}); use --transport http") from None
        self.publisher = Publisher(url, timeout=timeout)

    def send(self, device, pack):
        self.publisher.publish(device["farm_id"], device["uid"], device["token"], senml=pack, qos=1, wait=True)
        return len(pack), 0, 0  # the broker acknowledged it; the worker stores it

    def close(self):
        self.publisher.close()


# ---------------------------------------------------------------- sending


def backfill(transport, devices, hours, step, batch, deadline):
    """History for every device, from ``hours`` ago to now, in packs of ``batch`` readings."""
    end = time.time()
    start = end - hours * 3600
    sent = accepted = duplicates = rejected = 0
    began = time.perf_counter()
    for device in devices:
        generator = simulation.Generator(device["uid"], device.get("profile", "greenhouse"))
        rows = generator.readings(start, end, step, metrics=device.get("metrics") or generator.metrics)
        pack_rows = []
        for row in rows:
            pack_rows.append(row)
            if len(pack_rows) >= batch:
                a, d, r = transport.send(device, simulation.senml_pack(device["uid"], pack_rows))
                sent, accepted, duplicates, rejected = sent + len(pack_rows), accepted + a, duplicates + d, rejected + r
                pack_rows = []
                if time.monotonic() > deadline:
                    print("backfill stopped: --duration reached", file=sys.stderr)
                    return sent, accepted, duplicates, rejected, time.perf_counter() - began
        if pack_rows:
            a, d, r = transport.send(device, simulation.senml_pack(device["uid"], pack_rows))
            sent, accepted, duplicates, rejected = sent + len(pack_rows), accepted + a, duplicates + d, rejected + r
    return sent, accepted, duplicates, rejected, time.perf_counter() - began


def live(transport, devices, interval, deadline, max_messages):
    """Every ``interval`` seconds each device sends its current readings, until the deadline."""
    generators = {d["uid"]: simulation.Generator(d["uid"], d.get("profile", "greenhouse")) for d in devices}
    messages = readings = failures = 0
    next_round = time.monotonic()
    while time.monotonic() < deadline and (not max_messages or messages < max_messages):
        now = float(int(time.time()))
        for device in devices:
            generator = generators[device["uid"]]
            metrics = device.get("metrics") or generator.metrics
            rows = [(m, now, generator.value(m, now)) for m in metrics]
            try:
                transport.send(device, simulation.senml_pack(device["uid"], rows))
                messages += 1
                readings += len(rows)
                failures = 0
            except Exception as e:  # noqa: BLE001 - keep going; give up after many in a row
                failures += 1
                print(f"send failed: {e}", file=sys.stderr)
                if failures >= 20:
                    raise SystemExit("20 failures in a row; stopping") from None
            if max_messages and messages >= max_messages:
                break
        print(f"{time.strftime('%H:%M:%S')} sent {messages} messages, {readings} readings", flush=True)
        next_round += interval
        pause = min(next_round - time.monotonic(), deadline - time.monotonic())
        if pause > 0:
            time.sleep(pause)
    return messages, readings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
                        help="the platform's origin for HTTP (default %(default)s)")
    parser.add_argument("--transport", choices=("http", "mqtt"), default="http")
    parser.add_argument("--mqtt-url", default=os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883"))
    parser.add_argument("--tokens", default=str(ROOT / "data" / "simulator_tokens.json"),
                        help="JSON file of device tokens (written by --create)")
    parser.add_argument("--create", action="store_true",
                        help="create the simulated devices on the local database and issue new tokens")
    parser.add_argument("--demo", action="store_true", help="with --create: also the demo's sensor stations")
    parser.add_argument("--devices", type=int, default=4, help="simulated devices to create (default %(default)s)")
    parser.add_argument("--farms", type=int, default=2, help="spread over this many farms (default %(default)s)")
    parser.add_argument("--interval", type=float, default=10.0,
                        help="live: seconds between two messages of a device (default %(default)s)")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="stop after this many seconds, backfill included; 0: run until stopped "
                             "(SIGTERM or Ctrl-C), as scripts/run does for the demo (default %(default)s)")
    parser.add_argument("--messages", type=int, default=0, help="live: stop after this many messages (0: no limit)")
    parser.add_argument("--backfill", type=float, default=0.0, metavar="HOURS",
                        help="first send this many hours of history, as fast as the server takes it")
    parser.add_argument("--step", type=int, default=600, help="backfill: seconds between readings (default 600)")
    parser.add_argument("--batch", type=int, default=5000, help="backfill: readings per request (max 10000)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = parser.parse_args(argv)
    if not 0 < args.batch <= MAX_PACK:
        parser.error(f"--batch must be 1..{MAX_PACK}")
    if args.duration < 0 or args.interval <= 0:
        parser.error("--duration must be 0 (until stopped) or positive, --interval positive")

    if args.create:
        devices = create_devices(args.devices, max(args.farms, 1), args.demo)
        save_tokens(args.tokens, devices)
        print(f"{len(devices)} device token(s) written to {args.tokens}")
    else:
        devices = load_tokens(args.tokens)
    if not devices:
        raise SystemExit("no devices to simulate")

    deadline = time.monotonic() + args.duration if args.duration else math.inf
    transport = Http(args.base_url, args.timeout) if args.transport == "http" else Mqtt(args.mqtt_url, args.timeout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop between two sends, closing the transport
    try:
        if args.backfill > 0:
            sent, accepted, duplicates, rejected, seconds = backfill(transport, devices, args.backfill, args.step,
                                                                     args.batch, deadline)
            print(f"backfill: {sent} readings sent in {seconds:.1f} s ({sent / max(seconds, 1e-9):,.0f}/s): "
                  f"{accepted} stored, {duplicates} already there, {rejected} rejected")
        if time.monotonic() < deadline:
            messages, readings = live(transport, devices, args.interval, deadline, args.messages)
            print(f"live: {messages} messages, {readings} readings from {len(devices)} device(s)")
    finally:
        transport.close()


if __name__ == "__main__":
    main()
