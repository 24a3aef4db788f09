"""The broker's list of who may connect, kept in step with the device registry (Mosquitto 2 dynamic security).

With ``MQTT_ADMIN_URL`` set (``mqtt://<admin>:<password>@host:port``, a client holding the dynamic-security
plugin's admin role), the broker authenticates every MQTT client and its ACL decides what each may do:

* each device connects as username = its uid, password = its token, and holds the role ``device:<uid>``:
  it may publish only to its own ``farms/<farm>/devices/<uid>/up`` and subscribe only to its own ``…/error``;
* the ingest worker connects with the credentials in ``MQTT_URL`` and holds the role ``ingest``: it alone may
  subscribe to every device's ``up`` topic (plain or as an MQTT 5 shared subscription) and publish errors;
* anyone else (a client without an account, a device reading other devices) receives nothing: the plugin's
  default ACL allows neither publishing nor subscribing.

Creating a device or rotating its token sets the broker client at once (deleting it first, which drops any
connection made with an older token); revoking disables it, which drops its connections and refuses new ones.
Tokens are stored here only as hashes, so the broker must be told when a token is issued: if it cannot be
reached then, issuing fails (``Unavailable``) and nothing changes. A revocation always holds here (the ingest
worker refuses a revoked device's messages); the broker is told at once, and if it was unreachable the
``sensors.broker_sync`` job disables the client later (it disables every broker client whose device has no
live token). ``flask mqtt-broker setup`` creates the ingest role and client and checks the whole list.

Without ``MQTT_ADMIN_URL`` (the embedded default: an anonymous Mosquitto on loopback) nothing here runs, and
devices put their token in every message (``MQTT_PAYLOAD_TOKENS``).
"""
import json
import logging
import secrets
import threading

from flask import current_app, has_app_context

from web.db import Unavailable
from web.scheduler import register

log = logging.getLogger(__name__)

CONTROL = "$CONTROL/dynamic-security/v1"
INGEST_ROLE = "ingest"
DEVICE_ROLE = "device:"  # + uid
TIMEOUT = 5  # seconds for the broker to connect and to answer a batch of commands
TOLERATED = ("Client not found", "Role not found")  # deleting what is not there is fine


class BrokerError(Exception):
    """The broker refused a command (the message is the plugin's)."""


def admin_url(app=None):
    app = app or (current_app if has_app_context() else None)
    return (app.config.get("MQTT_ADMIN_URL") or "") if app is not None else ""


def _topic(app, farm_id, uid, kind):
    from sensors.mqtt import error_topic, up_topic

    prefix = app.config["MQTT_TOPIC_PREFIX"]
    return (up_topic if kind == "up" else error_topic)(farm_id, uid, prefix)


class Admin:
    """A short-lived admin connection that sends dynamic-security commands and waits for their answers."""

    def __init__(self, url, timeout=TIMEOUT):
        from sensors.mqtt import connect_client

        self.timeout = timeout
        self._answers = {}
        self._arrived = threading.Condition()
        self.client = connect_client(url, f"gannong-admin-{secrets.token_hex(6)}", timeout,
                                     what="the MQTT broker's admin connection")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.subscribe(CONTROL + "/response", qos=1)
        if not subscribed.wait(timeout):
            self.close()
            raise Unavailable(f"the MQTT broker did not answer a subscription in {timeout} s")

    def _on_message(self, client, userdata, message):
        try:
            responses = json.loads(message.payload).get("responses", [])
        except (ValueError, AttributeError):
            return
        with self._arrived:
            for response in responses:
                self._answers[response.get("correlationData")] = response
            self._arrived.notify_all()

    def run(self, *commands):
        """Send ``commands`` (dicts with a "command" key) in one message; returns their responses in order.
        Raises BrokerError on the first refused command, except deletions of what does not exist."""
        tagged = [dict(command, correlationData=secrets.token_hex(8)) for command in commands]
        self.client.publish(CONTROL, json.dumps({"commands": tagged}), qos=1)
        keys = [c["correlationData"] for c in tagged]
        with self._arrived:
            if not self._arrived.wait_for(lambda: all(k in self._answers for k in keys), self.timeout):
                raise Unavailable(f"the MQTT broker did not answer {commands[0]['command']} in {self.timeout} s")
            responses = [self._answers.pop(k) for k in keys]
        for command, response in zip(commands, responses):
            error = response.get("error")
            if error and error not in TOLERATED:
                raise BrokerError(f"{command['command']}: {error}")
        return responses

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _device_commands(app, device, token):
    role = DEVICE_ROLE + device.uid
    return [
        {"command": "deleteClient", "username": device.uid},  # drops connections made with an older token
        {"command": "deleteRole", "rolename": role},
        {"command": "createRole", "rolename": role, "acls": [
            {"acltype": "publishClientSend", "topic": _topic(app, device.farm_id, device.uid, "up"), "allow": True},
            {"acltype": "subscribePattern", "topic": _topic(app, device.farm_id, device.uid, "error"),
             "allow": True},
        ]},
        {"command": "createClient", "username": device.uid, "password": token, "roles": [{"rolename": role}],
         "textname": device.name[:64]},
    ]


def device_token_issued(device, token):
    """Give the broker the device's new token (a new device, or a rotation). No-op without MQTT_ADMIN_URL;
    raises Unavailable when the broker cannot be reached, so that the caller's transaction is undone."""
    url = admin_url()
    if not url:
        return
    with Admin(url) as admin:
        admin.run(*_device_commands(current_app, device, token))
    log.info("broker: device %s may connect with its new token", device.uid)


def device_revoked(device):
    """Disable the device's broker client (its connections are dropped). Never raises: if the broker is away,
    the sensors.broker_sync job disables it later, and the ingest worker refuses its messages meanwhile."""
    url = admin_url()
    if not url:
        return
    try:
        with Admin(url) as admin:
            admin.run({"command": "disableClient", "username": device.uid})
    except (Unavailable, BrokerError) as e:
        log.warning("broker: could not disable device %s now (%s); the broker_sync job will", device.uid, e)
    else:
        log.info("broker: device %s disabled", device.uid)


def _credentials(url):
    from sensors.mqtt import broker_address

    _host, _port, _tls, username, password = broker_address(url)
    return username, password


def setup(app):
    """Create (or reset) the ingest role and the ingest worker's client from MQTT_URL's credentials, then
    disable broker clients whose device has no live token. Returns a list of lines saying what was done."""
    url = admin_url(app)
    if not url:
        raise BrokerError("MQTT_ADMIN_URL is not set: the broker has no accounts to keep")
    username, password = _credentials(app.config["MQTT_URL"])
    if not username or not password:
        raise BrokerError("MQTT_URL must carry the ingest worker's user and password "
                          "(mqtt://ingest:<password>@host:port) once the broker authenticates")
    up = _topic(app, "+", "+", "up")
    acls = [{"acltype": "subscribePattern", "topic": up, "allow": True},
            {"acltype": "subscribePattern", "topic": "$share/+/" + up, "allow": True},
            {"acltype": "publishClientSend", "topic": _topic(app, "+", "+", "error"), "allow": True}]
    with Admin(url) as admin:
        admin.run({"command": "deleteRole", "rolename": INGEST_ROLE},
                  {"command": "createRole", "rolename": INGEST_ROLE, "acls": acls},
                  {"command": "deleteClient", "username": username},
                  {"command": "createClient", "username": username, "password": password,
                   "roles": [{"rolename": INGEST_ROLE}], "textname": "ingest worker"})
    done = [f"role {INGEST_ROLE}: subscribe {up}; client {username} holds it"]
    return done + sync(app)


def sync(app):
    """Disable every enabled broker client named after a device that has no live token (revoked while the
    broker was away, or deleted). Returns what it did, one line each."""
    from sensors import service

    url = admin_url(app)
    if not url:
        return []
    with Admin(url) as admin:
        listed = admin.run({"command": "listClients", "verbose": True, "count": -1})[0]
        clients = (listed.get("data") or {}).get("clients") or []
        names = [c.get("username") for c in clients
                 if not c.get("disabled") and any(r.get("rolename", "").startswith(DEVICE_ROLE)
                                                  for r in c.get("roles") or [])]
        live = service.uids_with_live_tokens(names)
        stale = [name for name in names if name not in live]
        if stale:
            admin.run(*({"command": "disableClient", "username": name} for name in stale))
    for name in stale:
        log.info("broker: disabled client %s (its device has no live token)", name)
    return [f"disabled {name}: its device has no live token" for name in stale]


@register("sensors.broker_sync", "interval", minutes=1)
def broker_sync_job(app):
    """Disable the broker accounts of devices revoked while the broker was away (only with MQTT_ADMIN_URL)."""
    if admin_url(app):
        try:
            sync(app)
        except (BrokerError, Unavailable) as e:
            log.warning("broker sync: %s", e)
