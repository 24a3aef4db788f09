"""MQTT ingest of sensor readings: a worker that feeds the broker's messages into the one ingest path.

Devices publish to ``farms/{farm_id}/devices/{device_uid}/up`` a JSON object::

    {"token": "dv_...", "senml": [...SenML records...]}       or
    {"token": "dv_...", "readings": [{"metric", "ts", "value"[, "unit"]}, ...]}

The token authenticates the device exactly as the HTTP bearer token does (``service.authenticate``);
the device's uid and farm must be the ones in the topic. The readings then go through
``service.parse_body`` and ``service.ingest``, the same path as ``POST /api/v1/ingest``.

Delivery guarantees
-------------------
* MQTT 5 with a fixed client id (``MQTT_CLIENT_ID``, default ``gannong-ingest``), ``clean_start=False``
  and a session expiry interval (``MQTT_SESSION_EXPIRY``, default 7 days): the broker keeps the
  subscription and queues QoS 1 messages while the worker is down; they arrive when it restarts.
  (MQTT 5 rather than 3.1.1 with ``clean_session=False``: a 3.1.1 persistent session never expires,
  and MQTT 5 lets the worker bound the broker's in-flight window with Receive Maximum and the packet
  size with Maximum Packet Size.) The broker's own limits still apply: mosquitto keeps at most
  ``max_queued_messages`` (default 1000) per session, so size it for the longest outage you accept.
* Several workers: with ``MQTT_SHARE_GROUP`` set, each worker subscribes as a member of that MQTT 5 shared
  subscription (``$share/<group>/farms/+/devices/+/up``) and the broker gives each message to one of them.
  Every worker needs its own ``MQTT_CLIENT_ID``: its persistent session holds the messages the broker
  assigned to it, so a worker that is killed gets them again when it restarts (they are not moved to the
  others meanwhile; the supervisor brings it back within seconds).
* Manual acknowledgements: a message's PUBACK is sent only after what it carried is committed
  (its readings stored, or its rejection counted), and PUBACKs go out in the order the messages
  arrived, as MQTT requires (a batch's after its last message is done, and after the batches before it). A crash, ``kill -9`` or database outage before
  that leaves it unacknowledged, and the broker delivers it again. Storage is idempotent (one row
  per device, metric and timestamp; rollups grow only from new rows), so redelivery is harmless;
  only a device's ``rejected_count`` may count a redelivered rejection twice.
* A database error is never a reason to drop a message: the batch is kept, unacknowledged, and
  retried with backoff until the database answers (the broker stops sending once Receive Maximum
  messages are unacknowledged). Integrity and data errors are not outages: such a message is
  logged, counted against its device and acknowledged, so one bad message cannot block the rest.
* Garbage (not JSON, wrong shape, unknown or revoked token, a token used on another device's topic)
  never stops the worker: it is logged, counted against the device where one is known (the
  authenticated device; for a message that cannot be authenticated, the device its topic names),
  acknowledged, and described on ``farms/{farm_id}/devices/{uid}/error`` (QoS 0, not retained).

Throughput: messages are processed in batches of up to ``batch_messages`` or ``batch_wait``
seconds, with one ``ingest`` (one transaction) per device per batch, by ``threads`` storing
threads (default 2 on PostgreSQL, where one stores while another parses; 1 on SQLite, which has
one writer at a time).

Settings (``app.config``, else the environment): MQTT_URL (``mqtt://user:pass@host:1883``;
``mqtts://`` for TLS), MQTT_CLIENT_ID, MQTT_TOPIC_PREFIX (prepended to every topic, e.g. ``"site-a/"``;
default empty), MQTT_SESSION_EXPIRY (seconds), MQTT_SHARE_GROUP (empty: a plain subscription), MQTT_PAYLOAD_TOKENS (on: every message carries its device's
token, as it must on the embedded anonymous broker; off: a message may leave it out, because the broker
authenticated the device and its ACL lets it publish only on its own topic: see ``sensors.broker``).
"""
import json
import logging
import queue
import random
import signal
import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
import peewee as pw
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sensors import service
from sensors.models import Device
from web.db import Unavailable, ValidationError, database, is_postgres
from web.settings import setting

log = logging.getLogger(__name__)

DEFAULT_CLIENT_ID = "gannong-ingest"
DEFAULT_SESSION_EXPIRY = 7 * 24 * 3600
SUBSCRIPTION = "farms/+/devices/+/up"
BATCH_MESSAGES = 500
BATCH_WAIT = 0.05  # seconds to wait for more messages once one has arrived
# Unacknowledged messages the broker may send ahead (MQTT 5 Receive Maximum): room for bursts without
# leaving them in the broker's per-client queue, which mosquitto caps at max_queued_messages (default 1000).
RECEIVE_MAXIMUM = 1000
KEEPALIVE = 30
CONNECT_TIMEOUT = 10
RECONNECT_DELAY = (1, 3)  # seconds: first retry, cap (doubling in between; each wait jittered to 50-100 %)
DB_RETRY_DELAY = (0.5, 30)
STATS_EVERY = 30  # seconds between throughput lines in the log
MAX_ERROR_REASONS = 20  # rejected readings listed in one error message
MAX_READINGS_PER_MESSAGE = service.MAX_READINGS  # message k of a batch numbers its records from k * this


# ---------------------------------------------------------------- topics and settings


def _prefix(prefix):
    prefix = prefix or ""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def up_topic(farm_id, uid, prefix=""):
    return f"{_prefix(prefix)}farms/{farm_id}/devices/{uid}/up"


def error_topic(farm_id, uid, prefix=""):
    return f"{_prefix(prefix)}farms/{farm_id}/devices/{uid}/error"


def _setting(app, name):
    """A setting from the app's config (without an app: its default or environment value, from web.settings)."""
    return app.config[name] if app is not None else setting(name)


def broker_address(url):
    """(host, port, tls, username, password) from mqtt://[user[:password]@]host[:port] or mqtts://..."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT_URL must be mqtt:// or mqtts://, not {parts.scheme}://")
    tls = parts.scheme in ("mqtts", "ssl")
    return (parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None)


def _client(url, client_id, **kwargs):
    host, port, tls, username, password = broker_address(url)
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5, **kwargs)
    if tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    if username:
        client.username_pw_set(username, password)
    client.connect_timeout = CONNECT_TIMEOUT
    client.reconnect_delay_set(*RECONNECT_DELAY)
    return client, host, port


def connect_client(url, client_id, timeout=CONNECT_TIMEOUT, what="the MQTT broker"):
    """A client connected (CONNACK received) and looping in its own thread; raises Unavailable when the broker
    cannot be reached or refuses the connection within ``timeout`` seconds."""
    client, host, port = _client(url, client_id)
    answer = {}
    connected = threading.Event()

    def on_connect(c, userdata, flags, reason_code, properties):
        answer["code"] = reason_code
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=KEEPALIVE, clean_start=True)
    except OSError as e:
        raise Unavailable(f"{what} at {host}:{port}: {e}") from None
    client.loop_start()
    if not connected.wait(timeout) or answer["code"].is_failure:
        client.disconnect()
        client.loop_stop()
        why = f"refused: {answer['code']}" if answer else f"no answer in {timeout} s"
        raise Unavailable(f"{what} at {host}:{port}: {why}")
    return client


# ---------------------------------------------------------------- the worker


@dataclass
class _Rejection:
    device: object  # the Device to count it against, or None
    code: str
    reason: str


@dataclass
class _Accepted:
    device: object
    credential: object
    items: list  # numbered from start: the records of the batch's messages are numbered as one
    start: int


class _Entry:
    """A received message and the connection it came on; compared by identity (paho's messages compare
    by mid, and every QoS 0 message has mid 0)."""

    __slots__ = ("generation", "message")

    def __init__(self, generation, message):
        self.generation = generation
        self.message = message


class _Outage(Exception):
    """The database did not answer; the messages stay unacknowledged."""


def _is_outage(exc):
    """True for errors that say nothing about the message (connection lost, locked, timeout, schema)."""
    if isinstance(exc, (pw.IntegrityError, pw.DataError)):
        return False
    if isinstance(exc, pw.PeeweeException):
        return True
    try:
        import sqlite3

        if isinstance(exc, sqlite3.Error):
            return True
    except ImportError:  # pragma: no cover
        pass
    try:
        import psycopg2

        return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))
    except ImportError:  # pragma: no cover
        return False


class Worker:
    """Subscribes to every device's up topic and stores what arrives; see the module docstring."""

    def __init__(self, app, url=None, client_id=None, topic_prefix=None, session_expiry=None,
                 batch_messages=BATCH_MESSAGES, batch_wait=BATCH_WAIT, receive_maximum=RECEIVE_MAXIMUM,
                 publish_errors=True, threads=None, share_group=None):
        self.app = app
        self.url = url or _setting(app, "MQTT_URL")
        self.client_id = client_id or _setting(app, "MQTT_CLIENT_ID")
        self.prefix = _prefix(topic_prefix if topic_prefix is not None
                              else _setting(app, "MQTT_TOPIC_PREFIX"))
        self.session_expiry = int(session_expiry if session_expiry is not None
                                  else _setting(app, "MQTT_SESSION_EXPIRY"))
        self.batch_messages = batch_messages
        self.batch_wait = batch_wait
        self.receive_maximum = min(int(receive_maximum), 65535)
        self.publish_errors = publish_errors
        # Storing threads, each with its own database connection: on PostgreSQL one stores a batch while
        # another reads the next; SQLite has one writer at a time, so a second thread would only wait.
        self.threads = max(1, int(threads if threads is not None else (2 if is_postgres() else 1)))
        # Several workers share the device topics through an MQTT 5 shared subscription: the broker hands each
        # message to one member of the group; each member keeps its own persistent session (its own client id).
        group = _setting(app, "MQTT_SHARE_GROUP") if share_group is None else share_group
        self.subscription = (f"$share/{group}/" if group else "") + self.prefix + SUBSCRIPTION
        self.max_bytes = int(_setting(app, "INGEST_MAX_BYTES"))
        # Tokens in payloads: required (the embedded anonymous broker), or optional once the broker itself
        # authenticates each device and lets it publish only on its own topic (MQTT_PAYLOAD_TOKENS off).
        self.payload_tokens = bool(_setting(app, "MQTT_PAYLOAD_TOKENS"))
        self._queue = queue.Queue()
        self._lock = threading.Lock()
        self._collect_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._turn = threading.Condition()
        self._batches = 0  # batches taken so far; the next one's number
        self._acknowledged = -1  # number of the last batch acknowledged
        self._held_back = False  # a batch was left unacknowledged: later ones must not overtake it
        self._generation = 0  # bumped on every (dis)connect: acks of an older connection are not sent
        self.subscribed = threading.Event()
        self._sessions = 0  # successful connections so far
        self._failures = 0  # connection attempts failed or lost since the last success
        self._stopping = False
        self.stats = defaultdict(int)
        self._client, self._host, self._port = _client(self.url, self.client_id)
        self._client.manual_ack_set(True)
        self._client.on_pre_connect = self._on_pre_connect
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # ------------------------------------------------ network thread

    def _bump(self):
        with self._lock:
            self._generation += 1

    def _on_pre_connect(self, client, userdata):
        self._bump()

    def _retry_later(self, client):
        """Set the wait before the next attempt: doubling from RECONNECT_DELAY[0] to RECONNECT_DELAY[1] while the
        broker stays away, each wait drawn between half and all of that (so that several workers do not retry in
        step). With the cap at 3 s the worker is back within about 3 s of the broker, however long it was down,
        and a broker that is down sees one attempt every 1.5-3 s from it."""
        self._failures += 1
        delay = min(RECONNECT_DELAY[0] * 2 ** min(self._failures - 1, 16), RECONNECT_DELAY[1])
        delay = random.uniform(delay / 2, delay)
        client.reconnect_delay_set(delay, delay)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("MQTT broker %s:%s refused the connection: %s", self._host, self._port, reason_code)
            self._retry_later(client)
            return
        self._failures = 0
        self._bump()
        log.info("connected to MQTT broker %s:%s as %s (session present: %s)", self._host, self._port,
                 self.client_id, flags.session_present)
        if self._sessions and not flags.session_present:
            log.warning("the broker lost this client's session (expired, or restarted without persistence): "
                        "messages published while the worker was disconnected are lost")
        self._sessions += 1
        client.subscribe(self.subscription, qos=1)

    def _on_connect_fail(self, client, userdata):
        log.warning("cannot reach MQTT broker %s:%s; retrying", self._host, self._port)
        self._retry_later(client)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._bump()
        self.subscribed.clear()
        if not self._stopping:
            log.warning("disconnected from MQTT broker (%s); reconnecting", reason_code)
            self._retry_later(client)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if any(rc.is_failure for rc in reason_codes):
            log.error("MQTT broker refused the subscription to %s: %s", self.subscription, reason_codes)
            return
        log.info("subscribed to %s (QoS 1)", self.subscription)
        self.subscribed.set()

    def _on_message(self, client, userdata, message):
        self._queue.put(_Entry(self._generation, message))

    # ------------------------------------------------ main loop

    def run(self, stop_event):
        """Block until ``stop_event`` is set."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry
        # Room for a batch being read while every storing thread holds one unacknowledged.
        properties.ReceiveMaximum = min(max(self.receive_maximum, (self.threads + 1) * self.batch_messages), 65535)
        properties.MaximumPacketSize = self.max_bytes + 64 * 1024
        self._client.connect_async(self._host, self._port, keepalive=KEEPALIVE, clean_start=False,
                                   properties=properties)
        self._client.loop_start()
        storers = [threading.Thread(target=self._store_loop, args=(stop_event,), name=f"mqtt-store-{n}",
                                    daemon=True) for n in range(self.threads)]
        for thread in storers:
            thread.start()
        last_stats = time.monotonic()
        try:
            while not stop_event.wait(1.0):
                if time.monotonic() - last_stats >= STATS_EVERY:
                    self._log_stats(time.monotonic() - last_stats)
                    last_stats = time.monotonic()
        finally:
            for thread in storers:
                thread.join(timeout=DB_RETRY_DELAY[1] + 30)
            self._log_stats(time.monotonic() - last_stats)
            self._stopping = True
            self._client.disconnect()
            self._client.loop_stop()
            log.info("MQTT worker stopped")

    def _store_loop(self, stop_event):
        """One storing thread: take the next batch, store it, acknowledge it in its turn."""
        from flask_babel import force_locale

        with self.app.app_context(), force_locale("en"):
            try:
                while not stop_event.is_set():
                    with self._collect_lock:  # batches are runs of consecutive messages, numbered in order
                        batch = self._collect()
                        if not batch:
                            continue
                        number = self._batches
                        self._batches += 1
                    stored = self._handle_with_retry(batch, stop_event)
                    self._acknowledge(number, batch if stored else None, stop_event)
            except Exception:  # noqa: BLE001 - never run on without storing: stop, and let the supervisor restart
                log.exception("MQTT storing thread failed; stopping the worker")
                stop_event.set()
            finally:
                if not database.is_closed():
                    try:
                        database.close()
                    except Exception:  # noqa: BLE001 - a broken connection is closed anyway
                        pass

    def _acknowledge(self, number, batch, stop_event):
        """PUBACK every message of batch ``number`` in the order they arrived, after those of the batches
        before it (MQTT requires PUBACKs in the order of the PUBLISHes). ``batch`` None: it was not
        stored (stopping); it and every later batch stay unacknowledged, for the broker to send again."""
        with self._turn:
            while self._acknowledged < number - 1 and not stop_event.is_set():
                self._turn.wait(0.5)
            if batch is None or self._acknowledged < number - 1:
                self._held_back = True
            if not self._held_back:
                with self._lock:
                    for entry in batch:
                        message = entry.message
                        if message.qos and entry.generation == self._generation:
                            self._client.ack(message.mid, message.qos)
            self._acknowledged = max(self._acknowledged, number)
            self._turn.notify_all()

    def _collect(self):
        try:
            batch = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self.batch_messages:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _handle_with_retry(self, batch, stop_event):
        pending = {id(entry): entry for entry in batch}  # in arrival order
        delay = DB_RETRY_DELAY[0]
        while pending:
            try:
                self._handle(pending)
                return True
            except _Outage as e:
                log.error("database error; %d message(s) kept unacknowledged, retrying in %.1f s: %s",
                          len(pending), delay, e.__cause__)
                self._count(db_errors=1)
            except Exception:  # noqa: BLE001 - a bug must not lose messages either: keep them and retry
                log.exception("unexpected error; %d message(s) kept unacknowledged, retrying in %.1f s",
                              len(pending), delay)
                self._count(db_errors=1)
            try:
                database.close()
            except Exception:  # noqa: BLE001 - the connection may be gone already
                pass
            if stop_event.wait(delay):
                return False  # stopping: the broker delivers them again after the restart
            delay = min(delay * 2, DB_RETRY_DELAY[1])
        return True

    def _db(self, func, *args):
        try:
            return func(*args)
        except Exception as e:
            if _is_outage(e):
                raise _Outage() from e
            raise

    def _handle(self, pending):
        """Store or reject each pending message; each leaves ``pending`` once its outcome is committed.

        Raises _Outage with the unfinished messages left in ``pending`` ({id(entry): entry})."""
        self._db(database.connect, True)
        tokens, topic_devices = {}, {}
        groups = {}  # device id -> (device, credential, [(entry, accepted)])
        start = 0
        for entry in list(pending.values()):
            try:
                outcome = self._judge(entry.message, tokens, topic_devices, start)
            except _Outage:
                raise
            except Exception:  # noqa: BLE001 - a message that trips a bug would block every other one
                log.exception("could not read a message on %s; dropping it", entry.message.topic)
                outcome = _Rejection(None, "internal", "MQTT message could not be read")
            if isinstance(outcome, _Rejection):
                self._reject(entry, outcome)
                self._finish(entry, pending)
                continue
            group = groups.setdefault(outcome.device.id, (outcome.device, outcome.credential, []))
            group[2].append((entry, outcome))
            start += MAX_READINGS_PER_MESSAGE
        for device, credential, entries in groups.values():
            self._ingest(device, credential, entries, pending)

    def _judge(self, message, tokens, topic_devices, start):
        route = self._route(message.topic)
        if route is None:
            return _Rejection(None, "bad_topic", f"topic {message.topic!r} is not {self.subscription}")
        farm, uid = route

        def topic_device():
            if route not in topic_devices:
                device = self._db(lambda: Device.get_or_none(Device.uid == uid))
                topic_devices[route] = device if device is not None and str(device.farm_id) == farm else None
            return topic_devices[route]

        try:
            body = json.loads(message.payload)
        except (ValueError, RecursionError):  # UnicodeDecodeError included; RecursionError: [[[[...
            return _Rejection(topic_device(), "not_json", "MQTT message is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("token", None if self.payload_tokens else ""), str):
            return _Rejection(topic_device(), "bad_shape", 'MQTT message must be {"token": ..., "senml": [...]} '
                                                           'or {"token": ..., "readings": [...]}')
        token = body.get("token")
        if token is None:  # the broker authenticated the device: its topic names it
            key = ("topic", uid)
            if key not in tokens:
                tokens[key] = self._db(service.authenticate_uid, uid)
            device, credential = tokens[key]
            if device is None:
                return _Rejection(topic_device(), "invalid_token", "MQTT message from a device without a live token")
        else:
            if token not in tokens:
                tokens[token] = self._db(service.authenticate, token)
            device, credential = tokens[token]
            if device is None:
                return _Rejection(topic_device(), "invalid_token", "MQTT message with an unknown or revoked token")
        if device.uid != uid or str(device.farm_id) != farm:
            return _Rejection(device, "topic_mismatch",
                              f"token of device {device.uid} used on the topic of farm {farm}, device {uid}")
        keys = [k for k in ("senml", "readings") if k in body]
        if len(keys) != 1 or not isinstance(body[keys[0]], list):
            return _Rejection(device, "bad_shape",
                              'MQTT message must carry exactly one of "senml" or "readings", a JSON array')
        try:
            items = service.parse_body(body[keys[0]], device, start=start)
        except ValidationError as e:
            return _Rejection(device, "bad_body", f"MQTT message rejected: {e.message}")
        except Exception:  # noqa: BLE001 - a body the parser chokes on is the sender's problem
            log.exception("could not parse a message on %s", message.topic)
            return _Rejection(device, "bad_body", "body is neither a SenML pack nor a plain batch")
        return _Accepted(device, credential, items, start)

    def _route(self, topic):
        if not topic.startswith(self.prefix):
            return None
        parts = topic[len(self.prefix):].split("/")
        if len(parts) != 5 or parts[0] != "farms" or parts[2] != "devices" or parts[4] != "up" \
                or not parts[1] or not parts[3]:
            return None
        return parts[1], parts[3]

    def _reject(self, entry, rejection):
        message = entry.message
        log.warning("rejected MQTT message on %s: %s", message.topic, rejection.reason)
        self._count(rejected_messages=1)
        if rejection.device is not None:
            self._db(service.reject_all, rejection.device, rejection.reason)
        self._publish_error(message.topic, {"error": rejection.code, "message": rejection.reason})

    def _ingest(self, device, credential, entries, pending):
        """One ingest for all of a device's messages in the batch; a message that breaks it goes alone."""
        combined = [item for _entry, accepted in entries for item in accepted.items]
        try:
            result = self._db(service.ingest, device, credential, combined)
        except _Outage:
            raise
        except Exception:  # noqa: BLE001 - not an outage: something in these messages
            if len(entries) > 1:
                for one in entries:
                    self._ingest(device, credential, [one], pending)
                return
            entry = entries[0][0]
            log.exception("could not store a message on %s; dropping it", entry.message.topic)
            self._reject(entry, _Rejection(device, "not_stored", "MQTT message could not be stored"))
            self._finish(entry, pending)
            return
        self._count(messages=len(entries), accepted=result.accepted, duplicates=result.duplicates,
                    rejected_readings=len(result.rejected))
        starts = {accepted.start: entry for entry, accepted in entries}
        rejected = defaultdict(list)
        for r in result.rejected:
            start = r["index"] - r["index"] % MAX_READINGS_PER_MESSAGE
            rejected[id(starts[start])].append({"index": r["index"] - start, "reason": r["reason"]})
        for entry, _accepted in entries:
            self._finish(entry, pending)
            reasons = rejected.get(id(entry))
            if reasons:
                self._publish_error(entry.message.topic, {
                    "error": "rejected_readings", "message": f"{len(reasons)} reading(s) rejected",
                    "rejected": reasons[:MAX_ERROR_REASONS]})

    def _finish(self, entry, pending):
        """The message's outcome is committed; it is acknowledged with its batch (``_acknowledge``)."""
        pending.pop(id(entry), None)

    def _publish_error(self, topic, payload):
        if not self.publish_errors or self._route(topic) is None:
            return
        target = topic[: -len("/up")] + "/error"
        self._client.publish(target, json.dumps(payload), qos=0)

    def _count(self, **counts):
        with self._stats_lock:
            for name, value in counts.items():
                self.stats[name] += value

    def _log_stats(self, seconds):
        with self._stats_lock:
            stats, self.stats = self.stats, defaultdict(int)
        if stats["messages"] or stats["rejected_messages"]:
            log.info("MQTT ingest: %d messages, %d readings stored (%.0f/s), %d duplicates, %d readings and "
                     "%d messages rejected, %d database errors in %.0f s",
                     stats["messages"], stats["accepted"], stats["accepted"] / max(seconds, 1e-3),
                     stats["duplicates"], stats["rejected_readings"], stats["rejected_messages"],
                     stats["db_errors"], seconds)


def run(app, stop_event=None, **options):
    """The worker's entry point (``flask --app web mqtt-worker``): blocks until ``stop_event`` is set,
    or, without one, until SIGTERM or SIGINT."""
    handlers = {}
    if stop_event is None:
        stop_event = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                handlers[sig] = signal.signal(sig, lambda *_: stop_event.set())
    try:
        Worker(app, **options).run(stop_event)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------- publishing (simulator, tests)


class Publisher:
    """A connected MQTT client that publishes device messages; use as a context manager."""

    def __init__(self, url="mqtt://127.0.0.1:1883", client_id="", topic_prefix="", timeout=10):
        """``url`` may carry the device's broker credentials: mqtt://<uid>:<token>@host:port."""
        self.prefix = _prefix(topic_prefix)
        self.timeout = timeout
        try:
            self.client = connect_client(url, client_id, timeout)
        except Unavailable as e:
            raise TimeoutError(str(e)) from None

    def publish_raw(self, topic, payload, qos=1, wait=True):
        info = self.client.publish(topic, payload, qos=qos)
        if wait:
            info.wait_for_publish(self.timeout)
            if not info.is_published():
                raise TimeoutError(f"message on {topic} not acknowledged in {self.timeout} s")
        return info

    def publish(self, farm_id, uid, token, senml=None, readings=None, qos=1, wait=True):
        """Publish one device message (SenML pack or plain batch); returns paho's MQTTMessageInfo. ``token``
        None: the message carries none (the broker authenticated the device)."""
        body = {} if token is None else {"token": token}
        if readings is not None:
            body["readings"] = readings
        else:
            body["senml"] = senml
        return self.publish_raw(f"{self.prefix}farms/{farm_id}/devices/{uid}/up", json.dumps(body), qos, wait)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def publish_readings(url, farm_id, uid, token, senml, qos=1, topic_prefix="", timeout=10):
    """Connect, publish one SenML pack for a device, wait for the broker's acknowledgement (QoS >= 1)."""
    with Publisher(url, topic_prefix=topic_prefix, timeout=timeout) as publisher:
        return publisher.publish(farm_id, uid, token, senml=senml, qos=qos).mid
