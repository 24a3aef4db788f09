"""Server-drawn SVG for the bureau's pages: horizontal bars, monthly columns and trend lines.

Inline SVG sized by its viewBox (fills a 360 px phone's card, sharp when zoomed); colours come from classes
in app.css, so the strict Content-Security-Policy (no inline style, no script) holds.
"""
from html import escape

from markupsafe import Markup

WIDTH = 320
ROW = 22
FONT = 12


def _number(value):
    if value >= 10000:
        return f"{value / 10000:.1f}万"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}"


def bars(items, title, unit=""):
    """Horizontal bars: ``items`` [(label, value, css class or "")]; the largest fills the width."""
    items = [(label, value, css) for label, value, css in items if value]
    if not items:
        return Markup("")
    label_width = 96
    top = max(v for _l, v, _c in items) or 1
    height = ROW * len(items) + 4
    parts = [f'<svg class="chart bars" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
             f"<title>{escape(title)}</title>"]
    span = WIDTH - label_width - 56
    for i, (label, value, css) in enumerate(items):
        y = 2 + i * ROW
        w = max(1.0, span * value / top)
        parts.append(f'<text class="xlabel" x="{label_width - 4}" y="{y + 14}" text-anchor="end" '
                     f'font-size="{FONT}">{escape(str(label))[:12]}</text>'
                     f'<rect class="bar {escape(css)}" x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{ROW - 8}">'
                     f"<title>{escape(str(label))}: {_number(value)}{escape(unit)}</title></rect>"
                     f'<text class="ylabel" x="{label_width + w + 4:.1f}" y="{y + 14}" font-size="{FONT}">'
                     f"{_number(value)}{escape(unit)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(labels, values, title, unit=""):
    """Vertical columns, one per label (months), with the first and last labels under the axis."""
    if not values or not any(values):
        return Markup("")
    height, bottom, top_pad = 150, 22, 16
    top = max(values) or 1
    step = WIDTH / len(values)
    plot = height - bottom - top_pad
    parts = [f'<svg class="chart columns" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
             f"<title>{escape(title)}</title>"
             f'<line class="frame" x1="0" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}"/>']
    for i, (label, value) in enumerate(zip(labels, values)):
        h = plot * value / top
        x = i * step + step * 0.15
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{height - bottom - h:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{h:.1f}"><title>{escape(label)}: {_number(value)}{escape(unit)}</title></rect>')
        if i in (0, len(values) - 1) or len(values) <= 6:
            parts.append(f'<text class="xlabel" x="{x + step * 0.35:.1f}" y="{height - 6}" text-anchor="middle" '
                         f'font-size="{FONT - 2}">{escape(label[2:] if len(label) == 7 else label)}</text>')
    parts.append(f'<text class="ylabel" x="2" y="12" font-size="{FONT - 1}">{_number(top)}{escape(unit)}</text>'
                 "</svg>")
    return Markup("".join(parts))


def sparkline(values, title):
    """A small trend line (80 x 20) of ``values``; flat at the bottom when all are zero."""
    width, height = 80, 20
    if not values:
        return Markup("")
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(values))
    last_x = (len(values) - 1) * step
    last_y = height - 2 - (height - 4) * values[-1] / top
    return Markup(f'<svg class="spark" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
                  f"<title>{escape(title)}</title><polyline class=\"line\" points=\"{points}\"/>"
                  f'<circle class="last" cx="{last_x:.1f}" cy="{last_y:.1f}" r="2"/></svg>')


# Jiangxi's extent (degrees), the frame when the jurisdiction's farms are too few to give one.
PROVINCE_BOUNDS = (113.5, 24.4, 118.5, 30.1)


def farm_map(points, title, legend_none, bounds=None):
    """Farms as dots at their coordinates (equirectangular, scaled by the cosine of the mean latitude), coloured
    by their highest open alert; no tiles or outlines are fetched from anywhere."""
    if not points:
        return Markup("")
    lons = [p["longitude"] for p in points]
    lats = [p["latitude"] for p in points]
    west, south, east, north = bounds or (min(lons), min(lats), max(lons), max(lats))
    pad = max(east - west, north - south, 0.2) * 0.08
    west, south, east, north = west - pad, south - pad, east + pad, north + pad
    import math

    aspect = (north - south) / max((east - west) * math.cos(math.radians((north + south) / 2)), 1e-6)
    height = max(120, min(420, int(WIDTH * aspect)))

    def xy(lon, lat):
        return (lon - west) / (east - west) * WIDTH, height - (lat - south) / (north - south) * height

    parts = [f'<svg class="chart map" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
             f"<title>{escape(title)}</title>"
             f'<rect class="frame" x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1}"/>']
    for p in sorted(points, key=lambda p: p["open_alerts"]):  # alerting farms drawn on top
        x, y = xy(p["longitude"], p["latitude"])
        level = p["level"] or "none"
        radius = 3 if not p["open_alerts"] else 5
        label = f"{p['name']}: {p['open_alerts']}" if p["open_alerts"] else f"{p['name']}: {legend_none}"
        parts.append(f'<circle class="farm sev-{escape(level)}" cx="{x:.1f}" cy="{y:.1f}" r="{radius}">'
                     f"<title>{escape(label)}</title></circle>")
    parts.append("</svg>")
    return Markup("".join(parts))
