#!/usr/bin/env python3
"""Screenshots of the main pages, and a comparison of two sets of them.

    .venv/bin/python scripts/screenshots.py shoot OUTDIR [--tree PATH] [--port 5077]
    .venv/bin/python scripts/screenshots.py compare OLD NEW

``shoot`` loads the demo (``flask --app web load-demo``) into a temporary SQLite data directory,
serves the source tree ``--tree`` (default: this one; e.g. a ``git worktree`` of an older commit)
with gunicorn as scripts/run does, but without scheduler, MQTT worker or chain node, and saves
every page of PAGES in headless Chromium (/usr/bin/chromium) at 390 px (a phone) and 1280 px
wide, full height, as OUTDIR/<page>@<width>.png, after polling the demo's weather feed once as the
admin (its scheduler is not started). The data directory is deleted afterwards.

``compare`` tells per page whether the two PNGs are identical, and if not which share of the
pixels differs (Pillow) and whether the size changed. Demo data is made relative to the clock and
batch codes are random, so some pages differ between two runs even with the same code: the
consumer page, the labels and the QR codes (random codes), and anything showing ages ("3 minutes
ago"). Exit status 0 either way; it reports, it does not judge.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # chain.node (free_port)
BIN = Path(sys.executable).parent  # the .venv whose Python runs this script
WIDTHS = (390, 1280)
MAX_HEIGHT = 8000
PASSWORD = "demo-password"

# (name, user or None for signed out, path). Paths may hold {placeholders} found by FIND below.
PAGES = [
    ("login", None, "/login"),
    ("consumer", None, "/t/{code}"),
    ("farmer-dashboard", "farmer1", "/dashboard"),
    ("farms", "farmer1", "/farms/"),
    ("farm", "farmer1", "/farms/{farm}"),
    ("farm-new", "farmer1", "/farms/new"),
    ("plot", "farmer1", "/plots/{plot}"),
    ("plot-new", "farmer1", "/farms/{farm}/plots/new"),
    ("planting", "farmer1", "/plantings/{planting}"),
    ("logs", "farmer1", "/logs/"),
    ("log", "farmer1", "/logs/{log}"),
    ("log-new", "farmer1", "/plots/{plot}/logs/new"),
    ("sensors-farm", "farmer1", "/farms/{farm}/devices"),
    ("sensors-plot", "farmer1", "/plots/{plot}/devices"),
    ("sensor-alarms", "farmer1", "/devices/{device}"),
    ("weather", "farmer1", "/weather/"),
    ("weather-warning", "farmer1", "/weather/warnings/{warning}"),
    ("weather-preferences", "farmer1", "/weather/preferences"),
    ("batches", "farmer1", "/batches/"),
    ("batch-new", "farmer1", "/batches/new"),
    ("batch", "farmer1", "/batches/{batch}"),
    ("label", "farmer1", "/batches/{batch}/labels"),
    ("certificate", "farmer1", "/batches/{batch}/certificate"),
    ("recall", "farmer1", "/batches/{batch}/recall"),
    ("account", "farmer1", "/account"),
    ("coop-dashboard", "coop1", "/dashboard"),
    ("coop-batches", "coop1", "/batches/"),
    ("coop-organisation", "coop1", "/organisation"),
    ("inspector-dashboard", "inspector1", "/dashboard"),
    ("bureau-dashboard", "bureau_ganzhou", "/dashboard"),
    ("admin-dashboard", "admin", "/dashboard"),
    ("admin-feeds", "admin", "/weather/feeds"),
    ("admin-advice", "admin", "/weather/advice"),
    ("admin-account", "admin", "/account"),
    ("admin-users", "admin", "/admin/users"),
    ("admin-user", "admin", "/admin/users/{user}"),
    ("admin-organisations", "admin", "/admin/organisations"),
    ("bureau-people", "bureau_xinfeng", "/admin/users"),
    ("developer", "farmer1", "/account/developer"),
]

# placeholder -> (user, page whose links hold it, regular expression of the link)
FIND = {
    "farm": ("farmer1", "/farms/", r'href="/farms/(\d+)"'),
    "plot": ("farmer1", "/farms/{farm}", r'href="/plots/(\d+)"'),
    "planting": ("farmer1", "/plots/{plot}", r'href="/plantings/(\d+)"'),
    "log": ("farmer1", "/logs/", r'href="/logs/(\d+)"'),
    "device": ("farmer1", "/farms/{farm}/devices", r'href="/devices/(\d+)"'),
    "warning": ("farmer1", "/weather/", r'href="/weather/warnings/(\d+)"'),
    "batch": ("farmer1", "/batches/", r'href="/batches/(\d+)"'),
    "code": ("farmer1", "/batches/{batch}", r'/t/([0-9A-Za-z]+)'),
    "user": ("admin", "/admin/users?q=farmer2", r'href="/admin/users/(\d+)"'),
}


def wait_for(port, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the app did not answer on port {port} within {seconds} s")


def serve(tree, data_dir, port):
    """Load the demo into data_dir and start gunicorn on tree; returns the server process."""
    env = dict(os.environ, DATA_DIR=str(data_dir), RUN_SCHEDULER="0", CHAIN_RPC_URL="", FLASK_APP="web",
               SECRET_KEY="screenshots-only", PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
               MQTT_URL="mqtt://127.0.0.1:9")  # nothing listens there: no worker is started anyway
    env.pop("DATABASE_URL", None)
    subprocess.run([str(BIN / "pybabel"), "-q", "compile", "-d", "web/translations"], cwd=tree, check=True)
    subprocess.run([str(BIN / "flask"), "--app", "web", "load-demo"], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = open(data_dir / "gunicorn.log", "wb")
    server = subprocess.Popen([str(BIN / "gunicorn"), "--chdir", str(tree), "--workers", "1", "--threads", "4",
                               "--bind", f"127.0.0.1:{port}", "web:create_app()"],
                              cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(port)
    return server


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                     "--force-device-scale-factor=1", "--lang=zh-CN", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


class Site:
    def __init__(self, driver, base):
        self.driver, self.base, self.user = driver, base, "?"

    def sign_in(self, user):
        if user == self.user:
            return
        from selenium.webdriver.common.by import By

        self.driver.delete_all_cookies()
        self.user = user
        if user is None:
            return
        self.driver.get(self.base + "/login")
        self.driver.find_element(By.NAME, "username").send_keys(user)
        self.driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        self.driver.find_element(By.NAME, "password").submit()
        deadline = time.monotonic() + 10
        while "/login" in self.driver.current_url and time.monotonic() < deadline:
            time.sleep(0.1)
        if "/login" in self.driver.current_url:
            sys.exit(f"could not sign in as {user}")

    def html(self, user, path):
        self.sign_in(user)
        self.driver.get(self.base + path)
        return self.driver.page_source

    def shoot(self, user, path, width, target):
        self.sign_in(user)
        driver = self.driver
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600})
        driver.get(self.base + path)
        driver.execute_script("return document.fonts ? document.fonts.ready : null")
        height = min(MAX_HEIGHT, driver.execute_script(
            "return Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)"))
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        time.sleep(0.2)
        target.write_bytes(__import__("base64").b64decode(
            driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]))


def poll_feeds(site):
    """Fetch the demo's weather feed once (the scheduler that would do it is not started)."""
    from selenium.webdriver.common.by import By

    site.html("admin", "/weather/feeds")
    for index in range(len(site.driver.find_elements(By.CSS_SELECTOR, "form[action$='/poll'] button"))):
        site.driver.get(site.base + "/weather/feeds")
        site.driver.find_elements(By.CSS_SELECTOR, "form[action$='/poll'] button")[index].click()
        time.sleep(1)


def find_ids(site):
    found = {}
    for key, (user, path, pattern) in FIND.items():
        match = re.search(pattern, site.html(user, path.format(**found)))
        found[key] = match.group(1) if match else None
    return found


def shoot(out, tree, port, only=None):
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="screenshots-"))
    server = serve(tree, data_dir, port)
    driver = None
    try:
        driver = browser()
        site = Site(driver, f"http://127.0.0.1:{port}")
        poll_feeds(site)
        ids = find_ids(site)
        missing = sorted(k for k, v in ids.items() if v is None)
        if missing:
            print("not found in the demo:", ", ".join(missing))
        for name, user, path in PAGES:
            if only and name not in only:
                continue
            try:
                url = path.format(**ids)
            except (KeyError, IndexError):
                continue
            if "None" in url:
                print(f"{name}: skipped (no {path})")
                continue
            for width in WIDTHS:
                site.shoot(user, url, width, out / f"{name}@{width}.png")
            print(f"{name}: {url}")
    finally:
        if driver is not None:
            driver.quit()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


def difference(old, new):
    """(identical, share of differing pixels, old size, new size)."""
    if old.read_bytes() == new.read_bytes():
        return True, 0.0, None, None
    from PIL import Image, ImageChops

    a, b = Image.open(old).convert("RGB"), Image.open(new).convert("RGB")
    width, height = max(a.width, b.width), max(a.height, b.height)
    canvas_a, canvas_b = Image.new("RGB", (width, height)), Image.new("RGB", (width, height))
    canvas_a.paste(a)
    canvas_b.paste(b)
    mask = ImageChops.difference(canvas_a, canvas_b).convert("L").point(lambda v: 255 if v else 0)
    changed = mask.histogram()[255]
    return changed == 0, changed / (width * height), a.size, b.size


def compare(old_dir, new_dir):
    names = sorted({p.name for p in old_dir.glob("*.png")} | {p.name for p in new_dir.glob("*.png")})
    counts = {"identical": 0, "differs": 0, "missing": 0}
    for name in names:
        old, new = old_dir / name, new_dir / name
        if not old.exists() or not new.exists():
            counts["missing"] += 1
            print(f"{name:36} only in {'new' if new.exists() else 'old'}")
            continue
        same, share, size_a, size_b = difference(old, new)
        counts["identical" if same else "differs"] += 1
        if same:
            print(f"{name:36} identical")
        else:
            size = "" if size_a == size_b else f"  size {size_a[0]}x{size_a[1]} -> {size_b[0]}x{size_b[1]}"
            print(f"{name:36} differs  {share:7.3%} of pixels{size}")
    print(", ".join(f"{n} {k}" for k, n in counts.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    shoot_cmd = commands.add_parser("shoot", help="screenshots of PAGES into a folder")
    shoot_cmd.add_argument("out", type=Path)
    shoot_cmd.add_argument("--tree", type=Path, default=ROOT, help="the source tree to serve (default: this one)")
    shoot_cmd.add_argument("--port", type=int, default=0, help="default: a free port")
    shoot_cmd.add_argument("--only", default="", help="comma-separated page names (default: every page)")
    compare_cmd = commands.add_parser("compare", help="identical or not, page by page")
    compare_cmd.add_argument("old", type=Path)
    compare_cmd.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "shoot":
        from chain.node import free_port

        shoot(args.out.resolve(), args.tree.resolve(), args.port or free_port(),
              {n for n in args.only.split(",") if n})
    else:
        compare(args.old, args.new)


if __name__ == "__main__":
    main()
