"""Notifications of alerts: preferences, the delivery queue, retries against a real HTTP receiver, escalation."""
import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from farms import service as farms
from farms import notify
from farms.models import Delivery, NotificationPreference
from web import outbound
from web.db import ValidationError

T0 = dt.datetime(2026, 1, 10, 3, 0)  # naive UTC: 11:00 in Asia/Shanghai


def content(level_zh="橙色", level_en="orange", title=None):
    return {"zh": {"title": title or f"霜冻{level_zh}预警", "message": "今夜最低气温-3℃，请做好防冻。",
                   "advice": ["覆盖幼树", "果园熏烟"]},
            "en": {"title": f"Frost {level_en} warning", "message": "Lows of -3 °C tonight.",
                   "advice": ["Cover young trees", "Smoke the orchard"]}}


def raise_alert(world, key="w:1", level="orange", **kw):
    names = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
    alert, _ = farms.raise_alert(world.farm_a.id, "weather", key, level, content(names[level], level, **kw))
    return alert


def minutes(n):
    return dt.timedelta(minutes=n)


class Receiver:
    """A local HTTP server that records what it is sent and answers as the test scripts it.

    ``script[path]`` is a list of answers used one per request: (status, body) or
    ("sleep", seconds) to answer too late; when a path's script is used up it answers
    200 with {"errcode": 0, "errmsg": "ok"}.
    """

    def __init__(self):
        self.received = []  # (path, parsed JSON body)
        self.script = {}
        self.lock = threading.Lock()
        self.port = 0
        self.start()

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append((self.path, json.loads(body.decode("utf-8"))))
                    queue = receiver.script.get(self.path) or []
                    answer = queue.pop(0) if queue else (200, {"errcode": 0, "errmsg": "ok"})
                if answer[0] == "sleep":
                    time.sleep(answer[1])
                    answer = (200, {"errcode": 0, "errmsg": "ok"})
                status, payload = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self, path):
        return [body for p, body in self.received if p == path]


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def ctx(app):
    app.config["NOTIFY_ALLOW_PRIVATE"] = True  # the receivers here listen on 127.0.0.1
    with app.test_request_context():
        yield app


def statuses(alert):
    return sorted((d.user_id, d.channel, d.round, d.status)
                  for d in Delivery.select().where(Delivery.alert == alert.id))


# ---------------------------------------------------------------- queueing


def test_default_is_in_app_only_sent_at_once_and_enqueue_is_idempotent(ctx, world):
    pref = notify.preferences(world.farmer_a)
    assert pref.id is None and notify.channels_of(pref) == ["in_app"] and pref.min_level == "blue"
    assert pref.quiet_start is None and pref.quiet_end is None
    alert = raise_alert(world)
    first = notify.enqueue(alert, now=T0)
    assert sorted((d.user_id, d.channel, d.status) for d in first) == sorted(
        [(world.farmer_a.id, "in_app", "sent"), (world.worker_a.id, "in_app", "sent")])
    assert all(d.sent_at == T0 for d in first)
    again = notify.enqueue(alert, now=T0 + minutes(5))
    assert [d.id for d in again] == [d.id for d in first]
    assert Delivery.select().count() == 2
    assert notify.deliver_due(T0 + minutes(5)) == {"sent": 0, "retrying": 0, "failed": 0}


def test_a_more_severe_alert_is_notified_in_a_new_round(ctx, world):
    alert = raise_alert(world, level="yellow")
    assert notify.next_round(alert) == 0
    notify.enqueue(alert, round=notify.next_round(alert), now=T0)
    alert, notable = farms.raise_alert(world.farm_a.id, "weather", "w:1", "orange", content())
    assert notable and notify.next_round(alert) == 1
    assert notify.enqueue(alert, now=T0) != [] and Delivery.select().count() == 2  # round 0 again: nothing new
    again = notify.enqueue(alert, round=notify.next_round(alert), now=T0 + minutes(5))
    assert {d.round for d in again} == {1} and Delivery.select().count() == 4


def test_min_level_filters_who_is_notified(ctx, world):
    notify.save_preferences(world.farmer_a, {"channels": ["in_app"], "min_level": "orange"})
    yellow = notify.enqueue(raise_alert(world, "w:y", "yellow"), now=T0)
    assert [d.user_id for d in yellow] == [world.worker_a.id]
    orange = notify.enqueue(raise_alert(world, "w:o", "orange"), now=T0)
    assert sorted(d.user_id for d in orange) == sorted([world.farmer_a.id, world.worker_a.id])
    notify.save_preferences(world.worker_a, {"min_level": "red"})
    blue = notify.enqueue(raise_alert(world, "w:b", "blue"), now=T0)
    assert blue == []
    # Explicit users: nobody else is notified.
    red = notify.enqueue(raise_alert(world, "w:r", "red"), users=[world.farmer_a], now=T0)
    assert [d.user_id for d in red] == [world.farmer_a.id]


def test_quiet_hours_hold_yellow_but_not_red(ctx, world, receiver):
    notify.save_preferences(world.farmer_a, {"channels": ["in_app", "webhook"], "webhook_url": receiver.url("/a"),
                                             "quiet_start": "22:00", "quiet_end": "06:30"})
    night = dt.datetime(2026, 1, 10, 15, 0)  # 23:00 in Shanghai
    morning = dt.datetime(2026, 1, 10, 22, 30)  # 06:30 next day in Shanghai
    yellow = notify.enqueue(raise_alert(world, "w:y", "yellow"), users=[world.farmer_a], now=night)
    red = notify.enqueue(raise_alert(world, "w:r", "red"), users=[world.farmer_a], now=night)
    by_channel = {(d.alert_id, d.channel): d for d in yellow + red}
    held = by_channel[(yellow[0].alert_id, "webhook")]
    assert held.status == "pending" and held.next_attempt_at == morning
    assert by_channel[(yellow[0].alert_id, "in_app")].status == "sent"  # the dashboard shows it anyway
    assert by_channel[(red[0].alert_id, "webhook")].next_attempt_at == night

    assert notify.deliver_due(night) == {"sent": 1, "retrying": 0, "failed": 0}
    assert [b["alert"]["severity"] for b in receiver.bodies("/a")] == ["red"]
    assert notify.deliver_due(morning - dt.timedelta(seconds=1))["sent"] == 0
    assert notify.deliver_due(morning) == {"sent": 1, "retrying": 0, "failed": 0}
    assert [b["alert"]["severity"] for b in receiver.bodies("/a")] == ["red", "yellow"]
    assert Delivery.get_by_id(held.id).sent_at == morning


def test_quiet_hours_in_local_time(ctx, world):
    pref = notify.NotificationPreference(quiet_start="22:00", quiet_end="06:30")
    # Spanning midnight: 05:00 local is quiet until 06:30 the same morning.
    assert notify.quiet_until(pref, dt.datetime(2026, 1, 10, 21, 0)) == dt.datetime(2026, 1, 10, 22, 30)
    assert notify.quiet_until(pref, dt.datetime(2026, 1, 10, 22, 30)) is None  # 06:30 local: over
    assert notify.quiet_until(pref, dt.datetime(2026, 1, 10, 13, 59)) is None  # 21:59 local
    assert notify.quiet_until(pref, dt.datetime(2026, 1, 10, 14, 0)) == dt.datetime(2026, 1, 10, 22, 30)
    noon = notify.NotificationPreference(quiet_start="12:00", quiet_end="14:00")
    assert notify.quiet_until(noon, dt.datetime(2026, 1, 10, 5, 0)) == dt.datetime(2026, 1, 10, 6, 0)
    assert notify.quiet_until(noon, dt.datetime(2026, 1, 10, 6, 0)) is None
    assert notify.quiet_until(noon, dt.datetime(2026, 1, 10, 3, 59)) is None


# ---------------------------------------------------------------- sending


def test_webhook_retries_until_the_receiver_recovers(ctx, world, receiver):
    ctx.config["HTTP_TIMEOUT"] = 0.5
    world.worker_a.locale = "en"
    world.worker_a.save()
    notify.save_preferences(world.farmer_a, {"channels": ["in_app", "webhook"], "webhook_url": receiver.url("/a")})
    notify.save_preferences(world.worker_a, {"channels": "webhook", "webhook_url": receiver.url("/b")})
    receiver.script["/a"] = [(500, {"error": "busy"}), ("sleep", 1.5)]
    alert = raise_alert(world)
    queued = notify.enqueue(alert, now=T0)
    assert sorted((d.user_id, d.channel) for d in queued) == sorted(
        [(world.farmer_a.id, "in_app"), (world.farmer_a.id, "webhook"), (world.worker_a.id, "webhook")])
    hook_a = next(d for d in queued if d.user_id == world.farmer_a.id and d.channel == "webhook")

    def row():
        return Delivery.get_by_id(hook_a.id)

    # 1: the receiver answers 500; the other user's webhook works.
    assert notify.deliver_due(T0) == {"sent": 1, "retrying": 1, "failed": 0}
    assert (row().status, row().attempts, row().next_attempt_at) == ("retrying", 1, T0 + minutes(1))
    assert row().last_error.startswith("HTTP 500")
    assert notify.deliver_due(T0 + minutes(1) - dt.timedelta(seconds=1)) == {"sent": 0, "retrying": 0, "failed": 0}
    # 2: the receiver is too slow.
    t = T0 + minutes(1)
    assert notify.deliver_due(t) == {"sent": 0, "retrying": 1, "failed": 0}
    assert (row().status, row().attempts, row().next_attempt_at) == ("retrying", 2, t + minutes(2))
    assert "timed out" in row().last_error.lower() or "timeout" in row().last_error.lower()
    # 3: the receiver is down.
    receiver.stop()
    t += minutes(2)
    assert notify.deliver_due(t) == {"sent": 0, "retrying": 1, "failed": 0}
    assert (row().status, row().attempts, row().next_attempt_at) == ("retrying", 3, t + minutes(4))
    assert "connection" in row().last_error.lower()
    # 4: it is back.
    receiver.start()
    t += minutes(4)
    assert notify.deliver_due(t) == {"sent": 1, "retrying": 0, "failed": 0}
    assert (row().status, row().attempts, row().last_error, row().sent_at) == ("sent", 4, None, t)
    assert notify.deliver_due(t + minutes(60)) == {"sent": 0, "retrying": 0, "failed": 0}

    # Nothing lost, nothing sent twice after success.
    assert {d.status for d in Delivery.select()} == {"sent"}
    bodies_a, bodies_b = receiver.bodies("/a"), receiver.bodies("/b")
    assert len(bodies_a) == 3 and len(bodies_b) == 1  # 500, too slow, success (the refused one never arrived)
    body = bodies_a[-1]["alert"]
    assert body == {"id": alert.id, "severity": "orange", "title": "霜冻橙色预警",
                    "message": "今夜最低气温-3℃，请做好防冻。", "advice": ["覆盖幼树", "果园熏烟"],
                    "farm": {"id": world.farm_a.id, "name": "A 果园"},
                    "url": f"http://127.0.0.1:5000/dashboard#alert-{alert.id}"}
    assert bodies_b[0]["alert"]["title"] == "Frost orange warning"  # the user's language
    assert bodies_b[0]["alert"]["advice"] == ["Cover young trees", "Smoke the orchard"]


def test_gives_up_after_ten_attempts_with_capped_backoff(ctx, world, receiver):
    notify.save_preferences(world.farmer_a, {"channels": "webhook", "webhook_url": receiver.url("/down")})
    receiver.script["/down"] = [(503, b"maintenance")] * 20
    [delivery] = notify.enqueue(raise_alert(world), users=[world.farmer_a], now=T0)
    waits, t = [], T0
    for attempt in range(1, 11):
        counts = notify.deliver_due(t)
        row = Delivery.get_by_id(delivery.id)
        assert row.attempts == attempt
        if attempt < 10:
            assert counts == {"sent": 0, "retrying": 1, "failed": 0} and row.status == "retrying"
            waits.append((row.next_attempt_at - t) / minutes(1))
            t = row.next_attempt_at
        else:
            assert counts == {"sent": 0, "retrying": 0, "failed": 1} and row.status == "failed"
            assert row.last_error == "HTTP 503: maintenance"
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert notify.deliver_due(t + minutes(600)) == {"sent": 0, "retrying": 0, "failed": 0}
    assert len(receiver.bodies("/down")) == 10


def test_wecom_and_dingtalk_payloads_and_errcode(ctx, world, receiver):
    world.worker_a.locale = "en"
    world.worker_a.save()
    notify.save_preferences(world.farmer_a, {"channels": ["wecom"], "wecom_url": receiver.url("/wecom?key=k")})
    notify.save_preferences(world.worker_a, {"channels": ["dingtalk"],
                                             "dingtalk_url": receiver.url("/ding?access_token=t")})
    receiver.script["/wecom?key=k"] = [(200, {"errcode": 93000, "errmsg": "invalid webhook url"})]
    receiver.script["/ding?access_token=t"] = [(200, b"<html>gateway</html>")]
    alert = raise_alert(world)
    queued = {d.channel: d for d in notify.enqueue(alert, now=T0)}

    # A 200 answer is not enough: the robot's errcode must be 0.
    assert notify.deliver_due(T0) == {"sent": 0, "retrying": 2, "failed": 0}
    wecom, ding = Delivery.get_by_id(queued["wecom"].id), Delivery.get_by_id(queued["dingtalk"].id)
    assert wecom.status == "retrying" and "93000" in wecom.last_error and "invalid webhook url" in wecom.last_error
    assert ding.status == "retrying" and "JSON" in ding.last_error
    assert notify.deliver_due(T0 + minutes(1)) == {"sent": 2, "retrying": 0, "failed": 0}

    markdown = receiver.bodies("/wecom?key=k")[-1]
    assert markdown["msgtype"] == "markdown" and set(markdown) == {"msgtype", "markdown"}
    text = markdown["markdown"]["content"]
    assert text.startswith("### 霜冻橙色预警")
    assert '<font color="warning">橙色</font>' in text and "A 果园" in text
    assert "- 覆盖幼树" in text and "- 果园熏烟" in text and f"#alert-{alert.id}" in text

    ding_body = receiver.bodies("/ding?access_token=t")[-1]
    assert ding_body["msgtype"] == "text" and set(ding_body) == {"msgtype", "text"}
    assert ding_body["text"]["content"].startswith("[Frost orange warning]")
    assert "Level: Orange" in ding_body["text"]["content"] and "1. Cover young trees" in ding_body["text"]["content"]


def test_sms_template_is_filled_json_safely(ctx, world, receiver):
    ctx.config["SMS_GATEWAY_URL"] = receiver.url("/sms")
    ctx.config["SMS_TEMPLATE"] = '{"to": "{phone}", "sign": "赣农", "content": "{text}", "n": 1}'
    notify.save_preferences(world.farmer_a, {"channels": ["in_app", "sms"], "phone": "+86 138-0013-8000"})
    assert notify.preferences(world.farmer_a).phone == "+8613800138000"
    title = '霜冻"橙色"预警 \\ {phone} {text}'
    alert = raise_alert(world, title=title)
    notify.enqueue(alert, users=[world.farmer_a], now=T0)
    assert notify.deliver_due(T0) == {"sent": 1, "retrying": 0, "failed": 0}
    [body] = receiver.bodies("/sms")
    assert body["to"] == "+8613800138000" and body["sign"] == "赣农" and body["n"] == 1
    assert body["content"] == notify.sms_text(alert, "zh", "A 果园")
    assert body["content"].startswith(title + "；农场：A 果园；今夜最低气温-3℃")

    filled = notify.fill_sms_template('{"to": "{phone}", "content": "{text}"}', "123", 'a "quote"\n\\ {phone} 中文')
    assert filled == {"to": "123", "content": 'a "quote"\n\\ {phone} 中文'}


def test_sms_without_gateway_fails_at_once(ctx, world):
    ctx.config["SMS_GATEWAY_URL"] = ""
    notify.save_preferences(world.farmer_a, {"channels": "sms", "phone": "13800138000"})
    [delivery] = notify.enqueue(raise_alert(world), users=[world.farmer_a], now=T0)
    assert notify.deliver_due(T0) == {"sent": 0, "retrying": 0, "failed": 1}
    row = Delivery.get_by_id(delivery.id)
    assert row.status == "failed" and row.attempts == 1 and "SMS_GATEWAY_URL" in row.last_error
    assert notify.deliver_due(T0 + minutes(120)) == {"sent": 0, "retrying": 0, "failed": 0}


def test_a_cleared_alert_is_not_sent_late(ctx, world, receiver):
    notify.save_preferences(world.farmer_a, {"channels": "webhook", "webhook_url": receiver.url("/a"),
                                             "quiet_start": "22:00", "quiet_end": "06:30"})
    night = dt.datetime(2026, 1, 10, 15, 0)
    alert = raise_alert(world, level="yellow")
    notify.enqueue(alert, users=[world.farmer_a], now=night)
    farms.clear_alerts("weather", "w:1")
    assert notify.deliver_due(night + minutes(600)) == {"sent": 0, "retrying": 0, "failed": 1}
    assert "cleared" in Delivery.get().last_error and receiver.received == []


# ---------------------------------------------------------------- escalation


def test_escalation_renotifies_unacknowledged_orange_only(ctx, world):
    minutes_ = ctx.config["ESCALATE_MINUTES"]
    open_alert = raise_alert(world, "w:open", "orange")
    seen = raise_alert(world, "w:seen", "orange")
    yellow = raise_alert(world, "w:yellow", "yellow")
    for alert in (open_alert, seen, yellow):
        notify.enqueue(alert, now=T0)
    farms.acknowledge_alert(world.worker_a, seen.id)

    assert notify.escalate(T0 + minutes(minutes_ - 1)) == 0
    assert notify.escalate(T0 + minutes(minutes_ + 1)) == 1
    assert notify.latest_round(open_alert) == 1 and notify.latest_round(seen) == 0
    assert notify.latest_round(yellow) == 0
    assert [(u, c, r, s) for u, c, r, s in statuses(open_alert) if r == 1] == sorted(
        [(world.farmer_a.id, "in_app", 1, "sent"), (world.worker_a.id, "in_app", 1, "sent")])
    # The next round counts from the last one.
    assert notify.escalate(T0 + minutes(minutes_ + 10)) == 0
    assert notify.escalate(T0 + minutes(2 * minutes_ + 2)) == 1
    assert notify.latest_round(open_alert) == 2
    # Acknowledged or cleared: no more.
    farms.acknowledge_alert(world.farmer_a, open_alert.id)
    assert notify.escalate(T0 + minutes(10 * minutes_)) == 0
    red = raise_alert(world, "w:red", "red")
    notify.enqueue(red, now=T0)
    farms.clear_alerts("weather", "w:red")
    assert notify.escalate(T0 + minutes(10 * minutes_)) == 0
    assert notify.latest_round(red) == 0


def test_escalation_waits_for_quiet_hours_to_end(ctx, world, receiver):
    notify.save_preferences(world.farmer_a, {"channels": "webhook", "webhook_url": receiver.url("/a"),
                                             "quiet_start": "22:00", "quiet_end": "06:30"})
    night, morning = dt.datetime(2026, 1, 10, 15, 0), dt.datetime(2026, 1, 10, 22, 30)
    alert = raise_alert(world, level="orange")
    notify.enqueue(alert, users=[world.farmer_a], now=night)
    assert notify.escalate(night + minutes(120)) == 0  # still held back: not out yet
    assert notify.deliver_due(morning)["sent"] == 1
    assert notify.escalate(morning + minutes(10)) == 0  # counts from when it went out
    assert notify.escalate(morning + minutes(31)) == 1
    assert len(receiver.received) == 1
    assert notify.deliver_due(morning + minutes(31))["sent"] == 1
    assert len(receiver.received) == 2


# ---------------------------------------------------------------- preferences


def test_save_preferences_validates(ctx, world):
    with pytest.raises(ValidationError) as bad:
        notify.save_preferences(world.farmer_a, {
            "channels": ["in_app", "fax", "webhook", "sms", "wecom"], "min_level": "purple",
            "quiet_start": "25:00", "quiet_end": "6:30", "webhook_url": "", "wecom_url": "ftp://example.com/x",
            "dingtalk_url": "javascript:alert(1)", "phone": "call me"})
    assert set(bad.value.fields) == {"channels", "min_level", "quiet_start", "quiet_end", "webhook_url",
                                     "wecom_url", "dingtalk_url", "phone"}
    assert bad.value.message
    with pytest.raises(ValidationError) as half:
        notify.save_preferences(world.farmer_a, {"quiet_start": "22:00", "quiet_end": ""})
    assert set(half.value.fields) == {"quiet_end"}
    with pytest.raises(ValidationError) as missing:
        notify.save_preferences(world.farmer_a, {"channels": ["sms", "dingtalk"]})
    assert set(missing.value.fields) == {"phone", "dingtalk_url"}
    with pytest.raises(ValidationError) as none:
        notify.save_preferences(world.farmer_a, {"channels": []})
    assert set(none.value.fields) == {"channels"}
    assert NotificationPreference.select().count() == 0

    pref = notify.save_preferences(world.farmer_a, {
        "channels": "webhook,in_app", "min_level": "yellow", "quiet_start": "22:00", "quiet_end": "06:30",
        "webhook_url": "https://example.com/hook"})
    assert (notify.channels_of(pref), pref.min_level, pref.quiet_start, pref.quiet_end) == (
        ["in_app", "webhook"], "yellow", "22:00", "06:30")
    # A partial update keeps the rest; clearing quiet hours needs both emptied.
    again = notify.save_preferences(world.farmer_a, {"min_level": "red", "quiet_start": "", "quiet_end": None})
    assert again.id == pref.id and NotificationPreference.select().count() == 1
    stored = notify.preferences(world.farmer_a)
    assert (notify.channels_of(stored), stored.min_level, stored.quiet_start, stored.webhook_url) == (
        ["in_app", "webhook"], "red", None, "https://example.com/hook")
    with pytest.raises(ValidationError) as unset:
        notify.save_preferences(world.farmer_a, {"webhook_url": ""})  # still chosen
    assert set(unset.value.fields) == {"webhook_url"}


def test_scheduler_jobs_are_registered(ctx, world):
    from web.scheduler import JOBS

    assert (JOBS["weather.deliver"].trigger, JOBS["weather.deliver"].kwargs) == ("interval", {"seconds": 30})
    assert (JOBS["weather.escalate"].trigger, JOBS["weather.escalate"].kwargs) == ("interval", {"seconds": 60})
    from web.accounts.models import utcnow

    notify.enqueue(raise_alert(world), now=utcnow() - minutes(ctx.config["ESCALATE_MINUTES"] + 1))
    JOBS["weather.deliver"].func(ctx)
    JOBS["weather.escalate"].func(ctx)
    assert notify.latest_round(farms.Alert.get()) == 1  # the first round is older than ESCALATE_MINUTES


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook",
                                 "http://[::ffff:127.0.0.1]:{port}/hook", "http://169.254.169.254/latest/meta-data",
                                 "http://10.1.2.3/hook", "http://[::1]:{port}/hook"])
def test_users_addresses_may_not_lead_into_local_networks(ctx, world, receiver, url):
    """A farmer's webhook must not make the server probe its own networks (Redis on 127.0.0.1, cloud
    metadata at 169.254.169.254, the LAN): refused when saved, and refused again when sending."""
    url = url.format(port=receiver.port)
    ctx.config["NOTIFY_ALLOW_PRIVATE"] = False
    with pytest.raises(ValidationError) as refused:
        notify.save_preferences(world.farmer_a, {"channels": ["in_app", "webhook"], "webhook_url": url})
    assert set(refused.value.fields) == {"webhook_url"}
    assert NotificationPreference.select().count() == 0

    # Saved while allowed (or a name that resolved elsewhere then): still refused when sending.
    ctx.config["NOTIFY_ALLOW_PRIVATE"] = True
    notify.save_preferences(world.farmer_a, {"channels": ["in_app", "webhook"], "webhook_url": url})
    ctx.config["NOTIFY_ALLOW_PRIVATE"] = False
    alert = raise_alert(world)
    notify.enqueue(alert, now=T0)
    notify.deliver_due(T0)
    webhook = Delivery.get((Delivery.user == world.farmer_a.id) & (Delivery.channel == "webhook"))
    assert webhook.status == "failed" and "local or private network address" in webhook.last_error, (
        webhook.status, webhook.last_error)
    assert receiver.bodies("/hook") == []


@pytest.mark.parametrize("url", [
    "http://2130706433/hook",            # 127.0.0.1 as one decimal number
    "http://0x7f000001/hook",            # ... as one hexadecimal number
    "http://127.1/hook",                 # ... with the zero bytes left out
    "http://0177.0.0.1/hook",            # ... in octal
    "http://localhost./hook",            # the local name, fully qualified
    "http://[64:ff9b::7f00:1]/hook",     # NAT64 (RFC 6052) of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of the cloud metadata service 169.254.169.254
    "http://[2002:7f00:1::]/hook",       # 6to4 of 127.0.0.1
    "http://[::ffff:a9fe:a9fe]/hook",    # IPv4-mapped 169.254.169.254
])
def test_saving_a_webhook_refuses_other_spellings_of_local_addresses(ctx, world, url):
    """Every spelling the system resolver reads as a local address is refused when saved, not only at send time."""
    ctx.config["NOTIFY_ALLOW_PRIVATE"] = False
    with pytest.raises(ValidationError) as refused:
        notify.save_preferences(world.farmer_a, {"channels": ["in_app", "webhook"], "webhook_url": url})
    assert set(refused.value.fields) == {"webhook_url"}
    assert NotificationPreference.select().count() == 0


def test_saving_a_webhook_on_the_internet_still_works(ctx, world):
    ctx.config["NOTIFY_ALLOW_PRIVATE"] = False
    for url in ("https://hooks.example.com/x", "http://8.8.8.8/hook", "http://[64:ff9b::808:808]/hook"):
        notify.save_preferences(world.farmer_a, {"channels": ["in_app", "webhook"], "webhook_url": url})
        assert notify.preferences(world.farmer_a).webhook_url == url


def test_the_address_connected_to_is_checked_too(ctx, world, receiver, monkeypatch):
    """DNS rebinding: a name that resolved to a public address when checked but leads to 127.0.0.1 when
    connecting. Simulated by letting the name check pass: the connection itself is refused."""
    notify.save_preferences(world.farmer_a, {"channels": ["in_app", "webhook"], "webhook_url": receiver.url("/hook")})
    ctx.config["NOTIFY_ALLOW_PRIVATE"] = False
    monkeypatch.setattr(outbound, "private_address", lambda host, resolve, allowed=(): None)
    alert = raise_alert(world)
    notify.enqueue(alert, now=T0)
    notify.deliver_due(T0)
    webhook = Delivery.get((Delivery.user == world.farmer_a.id) & (Delivery.channel == "webhook"))
    assert (webhook.status, webhook.last_error) == (
        "failed", "127.0.0.1 is a local or private network address (127.0.0.1); refused")
    assert receiver.bodies("/hook") == []
    # Allowed again (a receiver on one's own LAN): it arrives.
    ctx.config["NOTIFY_ALLOW_PRIVATE"] = True
    second = raise_alert(world, key="w:2", level="red")
    notify.enqueue(second, now=T0)
    notify.deliver_due(T0)
    assert len(receiver.bodies("/hook")) == 1
