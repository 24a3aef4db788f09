"""The one place where settings are read.

Every setting comes from an environment variable of the same name; a dict
passed to ``web.create_app`` overrides both the environment and the defaults.
"""
import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value):
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _allowed_networks(value):
    from web.outbound import allowed_networks

    return allowed_networks(value)


# name -> (default, parser). A default of None means "derived below".
_SETTINGS = {
    "DATA_DIR": (str(PROJECT_ROOT / "data"), str),
    "DATABASE_URL": (None, str),
    "SECRET_KEY": (None, str),
    # Time zone in which farmers enter and read times; storage is UTC.
    "TIMEZONE": ("Asia/Shanghai", str),
    "BABEL_DEFAULT_LOCALE": ("zh", str),
    # Run the APScheduler jobs inside the web process (embedded default only).
    "RUN_SCHEDULER": (False, _bool),
    "API_PAGE_SIZE": (50, int),
    "API_MAX_PAGE_SIZE": (200, int),
    # Seconds before a database call gives up.
    "DATABASE_TIMEOUT": (10, int),
    "MAX_CONTENT_LENGTH": (16 * 1024 * 1024, int),
    "SESSION_COOKIE_SECURE": (False, _bool),
    "LOG_LEVEL": ("INFO", str),
    # Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: none).
    "TRUSTED_PROXIES": (0, int),
    # Weather warnings: outgoing HTTP timeout (s), re-notify unacknowledged orange/red after N minutes,
    # and the SMS gateway (a JSON request template with {phone} and {text} placeholders).
    "HTTP_TIMEOUT": (10, int),
    # Let users' webhook / WeCom / DingTalk addresses reach loopback, private and link-local hosts
    # (an on-premises install whose receivers are on the LAN). Off: such addresses are refused.
    "NOTIFY_ALLOW_PRIVATE": (False, _bool),
    # How long a warning whose message gives no <expires> (nor NWS "ends") lasts, in hours, per type ("*": any).
    "WARNING_LIFETIME_HOURS": ("*=24,typhoon=48,heat=72,drought=168", str),
    # Weather feeds (their URLs, the links in their indexes, every redirect) likewise: 0 none, 1 every
    # private network, or a list of networks ("192.168.10.0/24, 10.1.0.0/16") a feed server of your own is on.
    "FEED_ALLOW_PRIVATE": ((), _allowed_networks),
    "ESCALATE_MINUTES": (30, int),
    "SMS_GATEWAY_URL": ("", str),
    "SMS_TEMPLATE": ('{"to": "{phone}", "content": "{text}"}', str),
    # Sensors: largest ingest body, raw-reading retention (rollups are kept), MQTT broker.
    # Trace: the attachment storage of each organisation (photos and PDFs of its events), in bytes.
    "ATTACHMENT_QUOTA_BYTES": (500 * 1024 * 1024, int),
    "INGEST_MAX_BYTES": (4 * 1024 * 1024, int),
    "RAW_RETENTION_DAYS": (400, int),
    "MQTT_URL": ("mqtt://127.0.0.1:1883", str),
    # One ingest worker per client id: its persistent session keeps what arrives while it is down.
    "MQTT_CLIENT_ID": ("gannong-ingest", str),
    "MQTT_TOPIC_PREFIX": ("", str),
    "MQTT_SESSION_EXPIRY": (7 * 24 * 3600, int),
    # Several ingest workers: the name of their MQTT 5 shared subscription (each worker its own MQTT_CLIENT_ID).
    "MQTT_SHARE_GROUP": ("", str),
    # On: every MQTT message carries its device's token (the embedded broker is anonymous, on loopback).
    # Off in production, where the broker authenticates each device (see MQTT_ADMIN_URL).
    "MQTT_PAYLOAD_TOKENS": (True, _bool),
    # The broker's dynamic-security admin (mqtt://admin:<password>@host:port): set, device accounts and ACLs
    # at the broker follow the device registry (created, rotated, revoked at once). Empty: none kept.
    "MQTT_ADMIN_URL": ("", str),
    # Sensor alarms: a device is silent after N minutes without readings; a value is stuck after N hours unchanged.
    "SENSOR_SILENT_MINUTES": (30, int),
    "SENSOR_STUCK_HOURS": (6, int),
    # ... and flat (changing by no more than a probe's own noise) after N hours.
    "SENSOR_FLAT_HOURS": (48, int),
    # Origin printed in QR codes (GS1 Digital Link); consumers' phones open it.
    "PUBLIC_BASE_URL": ("http://127.0.0.1:5000", str),
    # Chain: the node's JSON-RPC URL (empty: events are sealed and wait, "pending"), the registry's address
    # (empty: the one `flask chain deploy` wrote to DATA_DIR/chain.json), the admin key that deploys and
    # grants WRITER (0x-hex; keep it out of the database), the password that encrypts organisations'
    # keys (empty: derived from SECRET_KEY), blocks before a root counts, seconds per call, and the
    # anchoring job's period and largest tree. CHAIN_POA=1 for Besu QBFT and other PoA chains.
    # Sign-in throttling: Flask-Limiter's storage (memory:// for one process; redis://127.0.0.1:6379 when
    # several workers serve), and the limits per client address and per account name.
    "RATELIMIT_STORAGE_URI": ("memory://", str),
    "LOGIN_LIMIT_PER_ADDRESS": ("20 per 10 minutes", str),
    "LOGIN_LIMIT_PER_ACCOUNT": ("10 per 10 minutes", str),
    # Consumer page: a place (hashed /24 or /48 network) counts once per window; clients that flood it
    # get 429 (per address, and per place).
    "SCAN_WINDOW_HOURS": (24, float),
    "CONSUMER_LIMIT_PER_ADDRESS": ("30/minute", str),
    "CONSUMER_LIMIT_PER_PLACE": ("120/minute", str),
    # gunicorn worker processes scripts/run starts (0: one per CPU core).
    "WEB_WORKERS": (0, int),
    "CHAIN_RPC_URL": ("", str),
    "CHAIN_CONTRACT": ("", str),
    "CHAIN_ADMIN_KEY": ("", str),
    "CHAIN_KEY_PASSWORD": ("", str),
    "CHAIN_CONFIRMATIONS": (2, int),
    "CHAIN_TIMEOUT": (5, int),
    "CHAIN_ANCHOR_SECONDS": (10, int),
    "CHAIN_ANCHOR_EVENTS": (10000, int),
    "CHAIN_RECONCILE_SECONDS": (300, int),
    "CHAIN_POA": (False, _bool),
    # How long a batch's verification verdict is reused while the rows it was computed from are unchanged.
    "CHAIN_VERIFY_CACHE_SECONDS": (300, int),
    # Agriculture bureau: how often its tallies are brought up to date from the other domains' figures.
    "BUREAU_REFRESH_SECONDS": (300, int),
}

LANGUAGES = {"zh": "中文", "en": "English"}


def setting(name):
    """One setting from the environment or its default, for code running outside an app."""
    default, parse = _SETTINGS[name]
    return parse(os.environ[name]) if name in os.environ else default


def load_settings(overrides=None):
    """Return the settings as a dict: defaults < environment < overrides."""
    overrides = dict(overrides or {})
    settings = {}
    for name, (default, parse) in _SETTINGS.items():
        if name in overrides:
            settings[name] = overrides.pop(name)
        elif name in os.environ:
            settings[name] = parse(os.environ[name])
        else:
            settings[name] = default
    settings.update(overrides)

    data_dir = Path(settings["DATA_DIR"])
    if not settings["DATABASE_URL"]:
        data_dir.mkdir(parents=True, exist_ok=True)
        settings["DATABASE_URL"] = f"sqlite:///{data_dir / 'farm.db'}"
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _stored_secret_key(data_dir)
    settings["LANGUAGES"] = LANGUAGES
    return settings


def _stored_secret_key(data_dir):
    """Generate the secret key on first run and keep it, so sessions survive restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    # Create with owner-only permissions; never overwrite a key another process wrote.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
