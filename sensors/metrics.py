"""The metrics sensors report: canonical unit, accepted SenML units, plausible range.

Units follow SenML (RFC 8428) names. A value outside the plausible range, or a
known saturation value of a logger (65535, -9999, ...), is rejected with a reason.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # canonical (stored) unit
    low: float
    high: float
    label_zh: str
    label_en: str
    # other unit -> function converting a value into the canonical unit
    conversions: tuple = ()

    def convert(self, value, unit):
        """The value in the canonical unit, or None when the unit does not fit this metric."""
        if unit in (None, "", self.unit):
            return value
        for other, convert in self.conversions:
            if other == unit:
                return convert(value)
        return None

    @property
    def units(self):
        return (self.unit,) + tuple(u for u, _f in self.conversions)


def _kelvin(value):
    return value - 273.15


def _fahrenheit(value):
    return (value - 32) * 5 / 9


TEMPERATURE = (("K", _kelvin), ("degF", _fahrenheit))

METRICS = {m.name: m for m in (
    Metric("soil_moisture", "%", 0, 100, "土壤含水量", "Soil moisture", (("%VWC", float), ("/", lambda v: v * 100))),
    Metric("soil_temperature", "Cel", -20, 70, "土壤温度", "Soil temperature", TEMPERATURE),
    Metric("soil_ph", "pH", 0, 14, "土壤pH", "Soil pH"),
    Metric("soil_ec", "mS/cm", 0, 20, "土壤电导率", "Soil EC", (("S/m", lambda v: v * 10), ("uS/cm", lambda v: v / 1000))),
    Metric("air_temperature", "Cel", -40, 70, "空气温度", "Air temperature", TEMPERATURE),
    Metric("air_humidity", "%RH", 0, 100, "空气湿度", "Air humidity", (("%", float), ("/", lambda v: v * 100))),
    Metric("co2", "ppm", 0, 10000, "二氧化碳", "CO₂"),
    Metric("light", "lx", 0, 200000, "光照", "Light"),
    Metric("par", "umol/m2/s", 0, 3000, "光合有效辐射", "PAR"),
    Metric("rainfall", "mm", 0, 500, "降雨量", "Rainfall"),
    Metric("leaf_wetness", "%", 0, 100, "叶面湿度", "Leaf wetness", (("/", lambda v: v * 100),)),
)}

# Values loggers write when a sensor is saturated, disconnected or broken.
SATURATION = {65535.0, 32767.0, -32768.0, -9999.0, 9999.0, 6553.5, -999.0}

# Units as people read them (SenML names otherwise): "Cel" is °C.
UNIT_LABELS = {"Cel": "°C", "%RH": "%", "umol/m2/s": "µmol/m²/s", "pH": "", "/": "(0–1)", "degF": "°F",
               "K": "K", "%VWC": "%VWC", "uS/cm": "µS/cm", "S/m": "S/m"}


def unit_label(unit):
    return UNIT_LABELS.get(unit, unit)
