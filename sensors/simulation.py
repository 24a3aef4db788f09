"""Simulated greenhouse and soil sensors for the demo, the simulator script and benchmarks.

Every value is a pure function of (device seed, metric, time): the same device gives the
same reading for the same instant whether it is backfilled, sent live by
``scripts/simulate_sensors.py`` or regenerated, so a live run continues a backfill
seamlessly and re-sending history is harmless (ingest stores each reading once).

The shapes follow a plastic greenhouse in southern Jiangxi (local time UTC+8):

- air temperature: a seasonal mean (about 8 °C in January to 29 °C in July, plus the
  greenhouse's gain) with a daily swing that bottoms out at sunrise and peaks at about
  14:00, smaller on cloudy days;
- air humidity: the inverse of the temperature swing, near saturation at night;
- CO₂: builds up overnight from respiration and dips below ambient in daylight
  (photosynthesis), recovering when the vents open;
- light: a half-sine between sunrise and sunset scaled by the day's cloud cover;
- soil moisture: dries slowly (faster in the afternoon) and jumps at each irrigation
  (drip irrigation in the morning every one to three days), with the daily ripple a capacitance
  probe takes from the soil's temperature;
- soil temperature: a damped, lagged copy of the air's daily swing; soil EC rises as the
  soil dries and freshens after irrigation; soil pH is the red soil's 5.x, steady.

A device named in ``LOOSE_PROBES`` has a soil moisture probe out of contact with the soil (the
red clay shrank away from its rods): it reads about 18 % whatever the soil does, flickering
by the converter's 0.1 % step, as a real detached capacitance probe does.
"""
import datetime as dt
import hashlib
import math

from sensors.metrics import METRICS

TZ = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, no daylight saving
DAY = 86400
# The simulated farms lie in Jiangxi (about 115 °E): their days run on China Standard Time, whatever
# the app's TIMEZONE, so a device's readings stay a pure function of its seed and the instant.
SITE_UTC_OFFSET = 8 * 3600

PROFILES = {
    "greenhouse": ("air_temperature", "air_humidity", "co2", "light", "soil_moisture", "soil_temperature"),
    "soil": ("soil_moisture", "soil_temperature", "soil_ec", "soil_ph"),
}

# uid -> the value its detached soil moisture probe sits at (the demo's second orchard station).
LOOSE_PROBES = {"demo-xf-orchard2-soil": 18.0}

_MASK = (1 << 64) - 1


def _mix(x):
    """splitmix64: a fast, well-spread integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def seed_of(uid):
    """A device's seed from its uid (stable across processes, unlike hash())."""
    return int.from_bytes(hashlib.sha256(uid.encode()).digest()[:8], "big")


def _unit(seed, *keys):
    """A deterministic number in [0, 1) for the keys."""
    x = seed
    for k in keys:
        x = _mix(x ^ (k & _MASK))
    return x / 2 ** 64


def _noise(seed, *keys):
    """Roughly normal noise (sum of three uniforms), mean 0, sd about 0.5."""
    return _unit(seed, 1, *keys) + _unit(seed, 2, *keys) + _unit(seed, 3, *keys) - 1.5


_METRIC_KEYS = {name: i + 11 for i, name in enumerate(METRICS)}


class Day:
    """What one local day is like: cloud cover, sunrise and sunset, seasonal mean, irrigation."""

    __slots__ = ("index", "cloud", "sunrise", "sunset", "mean", "swing", "irrigated_at", "irrigation_gain")

    def __init__(self, seed, index):
        self.index = index  # days since the epoch, local calendar
        date = dt.date(1970, 1, 1) + dt.timedelta(days=index)
        doy = date.timetuple().tm_yday
        season = math.cos(2 * math.pi * (doy - 15) / 365.25)  # 1 in mid January, -1 in mid July
        # Weather comes in spells: blend today's draw with yesterday's.
        cloud = 0.6 * _unit(seed, 101, index) + 0.4 * _unit(seed, 101, index - 1)
        self.cloud = min(1.0, max(0.0, cloud * 1.2 - 0.1))
        day_length = 12.15 - 1.55 * season  # hours, about 25.5 °N
        noon = 12.6  # local solar noon at about 115 °E
        self.sunrise = noon - day_length / 2
        self.sunset = noon + day_length / 2
        self.mean = 18.7 - 10.5 * season + 3.0 * (_unit(seed, 102, index) - 0.5) + 2.5 * (0.5 - self.cloud)
        self.swing = (3.5 + 4.0 * (1 - self.cloud)) * (1.15 if season > 0 else 1.0)
        # Drip irrigation at about 07:30 on some mornings: more often when it is hot and sunny.
        chance = 0.35 + 0.3 * (1 - season) / 2 + 0.2 * (1 - self.cloud)
        irrigate = _unit(seed, 103, index) < chance
        self.irrigated_at = 7.5 + 0.5 * _unit(seed, 104, index) if irrigate else None
        self.irrigation_gain = 6 + 5 * _unit(seed, 105, index)


class Generator:
    """Readings of one simulated device; ``value(metric, epoch_seconds)`` is deterministic."""

    def __init__(self, uid, profile="greenhouse"):
        self.uid = uid
        self.seed = seed_of(uid)
        self.profile = profile
        self.metrics = PROFILES[profile]
        self.greenhouse = profile == "greenhouse"
        self._days = {}
        # The device's own offsets, so two greenhouses do not draw the same line.
        self.offset = 1.6 * (_unit(self.seed, 7) - 0.5)
        self.soil_base = 22 + 4 * _unit(self.seed, 8)  # % VWC the soil settles around

    def day(self, index):
        found = self._days.get(index)
        if found is None:
            if len(self._days) > 512:
                self._days.clear()
            found = self._days[index] = Day(self.seed, index)
        return found

    @staticmethod
    def _local(seconds):
        local = seconds + SITE_UTC_OFFSET
        index = int(local // DAY)
        return index, (local - index * DAY) / 3600.0

    # ---------------------------------------------------------- shapes

    @staticmethod
    def _swing(hour, sunrise, peak=14.0):
        """-1 at sunrise, +1 at ``peak``, smooth in between and through the night."""
        if sunrise <= hour < peak:
            return -math.cos(math.pi * (hour - sunrise) / (peak - sunrise))
        since_peak = (hour - peak) % 24
        return math.cos(math.pi * since_peak / (24 - (peak - sunrise)))

    def _daylight(self, day, hour):
        """0 at night, up to 1 at solar noon on a clear day."""
        if not day.sunrise < hour < day.sunset:
            return 0.0
        return math.sin(math.pi * (hour - day.sunrise) / (day.sunset - day.sunrise)) * (1 - 0.72 * day.cloud)

    def _weather(self, index, hour):
        """(mean, swing, cloud) blended between neighbouring days, so nothing jumps at midnight."""
        if hour >= 12:
            a, b, w = self.day(index), self.day(index + 1), (hour - 12) / 24
        else:
            a, b, w = self.day(index - 1), self.day(index), (hour + 12) / 24
        return (a.mean + (b.mean - a.mean) * w, a.swing + (b.swing - a.swing) * w,
                a.cloud + (b.cloud - a.cloud) * w)

    def air_temperature(self, seconds):
        index, hour = self._local(seconds)
        day = self.day(index)
        mean, amplitude, cloud = self._weather(index, hour)
        swing = self._swing(hour, day.sunrise)
        value = mean + self.offset + amplitude * swing
        if self.greenhouse:  # the film keeps the night a little warmer and the sunny afternoon much warmer
            value += 1.5 + (2.0 + 4.0 * (1 - cloud)) * max(swing, 0)
            if value > 30:  # the vents open: the grower holds it back, not quite enough on hot days
                value = 30 + (value - 30) * 0.5
        return min(value, 45.0) + 0.25 * _noise(self.seed, 1, int(seconds))

    def air_humidity(self, seconds):
        index, hour = self._local(seconds)
        day = self.day(index)
        _mean, _amplitude, cloud = self._weather(index, hour)
        swing = self._swing(hour, day.sunrise)
        value = 90 - 12 * (1 - cloud) * (swing + 1) - 6 * (swing + 1) + 6 * cloud
        return min(99.0, max(28.0, value + 1.2 * _noise(self.seed, 2, int(seconds))))

    def co2(self, seconds):
        index, hour = self._local(seconds)
        day = self.day(index)
        light = self._daylight(day, hour)
        # Overnight build-up from sunset, drawn down within a couple of hours of sunrise.
        if hour >= day.sunset:
            night = (hour - day.sunset) / (24 - day.sunset + day.sunrise)
        elif hour < day.sunrise:
            night = (hour + 24 - day.sunset) / (24 - day.sunset + day.sunrise)
        else:
            night = math.exp(-(hour - day.sunrise) / 1.2)
        value = 415 + (300 if self.greenhouse else 60) * night - (85 if self.greenhouse else 20) * light
        vents = max(0.0, self.air_temperature(seconds) - 28) * 3  # open vents pull it back to ambient
        value = value + min(vents, max(0.0, 415 - value))
        return value + 6 * _noise(self.seed, 3, int(seconds))

    def light(self, seconds):
        index, hour = self._local(seconds)
        day = self.day(index)
        peak = 52000 if self.greenhouse else 80000
        value = peak * self._daylight(day, hour)
        return max(0.0, value * (1 + 0.04 * _noise(self.seed, 4, int(seconds))))

    def soil_moisture(self, seconds):
        """Exponential drying since the last irrigation, which lifts it by the day's gain."""
        if self.uid in LOOSE_PROBES:  # out of contact: the converter's flicker around one value
            return LOOSE_PROBES[self.uid] + 0.1 * (_unit(self.seed, 10, int(seconds) // 300) < 0.3)
        index, hour = self._local(seconds)
        low = self.soil_base - 5
        level, last_hours = None, None
        # Walk back to the last irrigation (or a rainy day for open soil) within two weeks.
        for back in range(0, 15):
            day = self.day(index - back)
            at = day.irrigated_at if self.greenhouse else (7.5 if day.cloud > 0.8 else None)
            if at is None or (back == 0 and hour < at):
                continue
            last_hours = back * 24 + hour - at
            level = min(35.5, self.soil_base + day.irrigation_gain)  # field capacity of the red soil
            break
        if level is None:
            level, last_hours = self.soil_base, 14 * 24
        tau = 70.0 if self.greenhouse else 110.0
        value = low + (level - low) * math.exp(-last_hours / tau)
        # A capacitance probe also reads the soil's temperature: a daily ripple of a few tenths, highest in
        # the afternoon, so even weeks without water never read flat (a flat probe is a detached one).
        value += 0.35 * math.sin(2 * math.pi * (hour - 9) / 24)
        return min(60.0, max(5.0, value + 0.15 * _noise(self.seed, 5, int(seconds))))

    def soil_temperature(self, seconds):
        index, hour = self._local(seconds)
        day = self.day(index)
        mean, amplitude, _cloud = self._weather(index, hour)
        swing = self._swing((hour - 2.5) % 24, day.sunrise)
        value = mean + self.offset + (1.5 if self.greenhouse else 0.0) + 0.3 * amplitude * swing
        return value + 0.1 * _noise(self.seed, 6, int(seconds))

    def soil_ec(self, seconds):
        moisture = self.soil_moisture(seconds)
        return max(0.05, 1.15 * (30.0 / max(moisture, 5.0)) ** 0.6 + 0.02 * _noise(self.seed, 7, int(seconds)))

    def soil_ph(self, seconds):
        index, _hour = self._local(seconds)
        return 5.4 + 0.3 * (_unit(self.seed, 9) - 0.5) + 0.05 * math.sin(index / 9) \
            + 0.02 * _noise(self.seed, 8, int(seconds))

    def par(self, seconds):
        return self.light(seconds) / 54.0  # sunlight: about 54 lx per umol/m2/s

    # ---------------------------------------------------------- readings

    def value(self, metric, seconds):
        """The reading of ``metric`` at ``seconds`` (epoch, UTC) in the metric's canonical unit."""
        value = getattr(self, metric)(seconds)
        meta = METRICS[metric]
        return round(min(meta.high, max(meta.low, value)), 2)

    def readings(self, start, end, step=600, metrics=None):
        """(metric, epoch seconds, value) every ``step`` seconds in [start, end), aligned to ``step``."""
        metrics = metrics or self.metrics
        first = math.ceil(start / step) * step
        t = first
        while t < end:
            for metric in metrics:
                yield metric, float(t), self.value(metric, t)
            t += step


def epoch(when):
    """Epoch seconds of an aware datetime, or of a naive one taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def ingest_items(rows, start_index=0):
    """Rows (metric, seconds, value) as items for ``sensors.service.ingest``."""
    return [(start_index + i, metric, seconds, value, None) for i, (metric, seconds, value) in enumerate(rows)]


def senml_pack(uid, rows):
    """Rows (metric, seconds, value) as a SenML pack (RFC 8428) with base name, time and units."""
    rows = list(rows)
    if not rows:
        return []
    base = rows[0][1]
    pack = []
    for metric, seconds, value in rows:
        record = {"n": metric, "u": METRICS[metric].unit, "v": value}
        if seconds != base:
            record["t"] = round(seconds - base, 3)
        pack.append(record)
    pack[0] = {"bn": f"urn:dev:{uid}:", "bt": base, **pack[0]}
    return pack
