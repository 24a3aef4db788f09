"""Server-rendered SVG line charts of rollups: a min–max band and the mean line.

No JavaScript and no external assets: the SVG is inline in the page, sized by its
viewBox so it fills the card's width on a 360 px phone and stays sharp when zoomed.
Hours without data break the line instead of being bridged.
"""
import datetime as dt
import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from sensors import service

WIDTH, HEIGHT = 320, 160
TOP, BOTTOM, RIGHT = 10, 24, 8
FONT = 12
CHAR = 6.9  # rough width of a digit at FONT px, for the left margin

PERIOD_SECONDS = {"hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Range:
    key: str  # "24h", "7d", "30d"
    period: str  # rollup period
    span: dt.timedelta


RANGES = {
    "24h": Range("24h", "hour", dt.timedelta(hours=24)),
    "7d": Range("7d", "hour", dt.timedelta(days=7)),
    "30d": Range("30d", "day", dt.timedelta(days=30)),
}


def window(range_, now):
    """[since, until) in naive UTC for a range ending now: whole buckets, the current one included
    (hours of UTC; days of TIMEZONE, as the day rollups are)."""
    if range_.period == "hour":
        until = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    else:
        until = service.local_day_start(service.local_day_start(now) + dt.timedelta(hours=36))
    return until - range_.span, until


def nice_ticks(low, high, count=4):
    """Round tick values covering [low, high] (about ``count`` of them) and the decimals to print."""
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high - low < 1e-9:
        pad = max(abs(high) * 0.05, 0.5)
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw:
            break
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    ticks = []
    value = first
    while value <= last + step / 2:
        ticks.append(round(value, 10))
        value += step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if factor == 2.5 and step < 10:
        decimals += 1
    return ticks, decimals


def _fmt(value, decimals):
    text = f"{value:.{decimals}f}"
    return "0" if text in ("-0", "-0.0", "-0.00") else text


def _x_axis(range_, since, until, zone):
    """Grid lines (naive UTC times) and labels ((naive UTC time, text)) of the x-axis.

    24 h: a line and a label every 6 local hours. 7 d: a line at each local midnight and the
    date centred on its day. 30 d: a line and a date every 7 local days.
    """
    local_since = since.replace(tzinfo=dt.timezone.utc).astimezone(zone)
    if range_.key == "24h":
        every, fmt, label_shift = dt.timedelta(hours=6), "%H:%M", None
        start = local_since.replace(minute=0, second=0, microsecond=0)
        start += dt.timedelta(hours=(-start.hour) % 6)
    else:
        every = dt.timedelta(days=1 if range_.key == "7d" else 7)
        fmt, label_shift = "%m-%d", (dt.timedelta(hours=12) if range_.key == "7d" else None)
        start = local_since.replace(hour=0, minute=0, second=0, microsecond=0)
        if range_.key == "7d":
            start -= every  # the first (partial) day gets its label too, if it fits
        elif start < local_since:
            start += dt.timedelta(days=1)

    def utc(local):
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)

    lines, labels = [], []
    t = start
    while utc(t) <= until:
        if utc(t) >= since:
            lines.append(utc(t))
        at = utc(t + label_shift) if label_shift else utc(t)
        if since <= at <= until:
            labels.append((at, t.strftime(fmt)))
        # Step in local wall time, then normalise (Asia/Shanghai has no DST; others may).
        t = (t.replace(tzinfo=None) + every).replace(tzinfo=zone)
    return lines, labels


def _fit_labels(labels, left, right):
    """Labels as (x, text, anchor) that neither cross the plot's edges nor overlap each other."""
    placed = []
    for x, text in labels:
        width = CHAR * len(text)
        if x - width / 2 < left:
            if x < left + 2:
                continue
            lo, hi, anchor = x, x + width, "start"
        elif x + width / 2 > right:
            if x > right - 2:
                continue
            lo, hi, anchor = x - width, x, "end"
        else:
            lo, hi, anchor = x - width / 2, x + width / 2, "middle"
        if placed and lo < placed[-1][3] + 6:
            if placed[-1][2] == "start":  # the crowded one at the edge gives way
                placed.pop()
            else:
                continue
        placed.append((x, text, anchor, hi))
    return [(x, text, anchor) for x, text, anchor, _hi in placed]


def line_chart(points, range_, since, until, zone, title="", unit=""):
    """An inline SVG of rollup ``points`` [(start, count, mean, min, max)] over [since, until).

    Returns Markup, or None when there is nothing to draw.
    """
    points = [p for p in points if p[1] and p[2] is not None]
    if not points:
        return None
    period = PERIOD_SECONDS[range_.period]
    lows = [p[3] for p in points]
    highs = [p[4] for p in points]
    ticks, decimals = nice_ticks(min(lows), max(highs))
    y_low, y_high = ticks[0], ticks[-1]
    labels = [_fmt(t, decimals) for t in ticks]
    left = 6 + CHAR * max(len(s) for s in labels) + 4
    plot_w = WIDTH - left - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    t0 = since.timestamp() if since.tzinfo else since.replace(tzinfo=dt.timezone.utc).timestamp()
    span = (until - since).total_seconds()

    def x_of(when):
        seconds = when.replace(tzinfo=dt.timezone.utc).timestamp() - t0
        return left + plot_w * min(max(seconds / span, 0.0), 1.0)

    def y_of(value):
        return TOP + plot_h * (1 - (value - y_low) / (y_high - y_low))

    half = dt.timedelta(seconds=period / 2)
    # Split into runs of consecutive buckets; a missing bucket breaks the line.
    runs, run, previous = [], [], None
    for p in points:
        if previous is not None and (p[0] - previous).total_seconds() > period * 1.5:
            runs.append(run)
            run = []
        run.append(p)
        previous = p[0]
    runs.append(run)

    parts = []
    summary = (f"{title}: {_fmt(min(lows), decimals + 1)}–{_fmt(max(highs), decimals + 1)} {unit}").strip()
    parts.append(f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
                 f'aria-label="{escape(summary)}" data-points="{len(points)}" '
                 f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT}">')
    parts.append(f"<title>{escape(summary)}</title>")
    # Grid and y labels.
    for value, label in zip(ticks, labels):
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{left:.1f}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="ylabel" x="{left - 4:.1f}" y="{y + FONT * 0.35:.1f}" '
                     f'text-anchor="end">{escape(label)}</text>')
    # X grid lines and labels.
    lines, x_labels = _x_axis(range_, since, until, zone)
    for when in lines:
        x = x_of(when)
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM + 3}"/>')
    for x, label, anchor in _fit_labels([(x_of(when), text) for when, text in x_labels], left, WIDTH - RIGHT):
        parts.append(f'<text class="xlabel" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="{anchor}">{escape(label)}</text>')
    # Band and mean line, run by run.
    for run in runs:
        xs = [x_of(p[0] + half) for p in run]
        if len(run) > 1:
            upper = " ".join(f"{x:.1f},{y_of(p[4]):.1f}" for x, p in zip(xs, run))
            lower = " ".join(f"{x:.1f},{y_of(p[3]):.1f}" for x, p in reversed(list(zip(xs, run))))
            parts.append(f'<polygon class="band" points="{upper} {lower}"/>')
            mean = " ".join(f"{x:.1f},{y_of(p[2]):.1f}" for x, p in zip(xs, run))
            parts.append(f'<polyline class="mean" points="{mean}"/>')
        else:
            x, p = xs[0], run[0]
            if p[4] > p[3]:
                parts.append(f'<line class="whisker" x1="{x:.1f}" x2="{x:.1f}" '
                             f'y1="{y_of(p[4]):.1f}" y2="{y_of(p[3]):.1f}"/>')
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y_of(p[2]):.1f}" r="2.5"/>')
    last = points[-1]
    parts.append(f'<circle class="last" cx="{x_of(last[0] + half):.1f}" cy="{y_of(last[2]):.1f}" r="3.5"/>')
    parts.append(f'<rect class="frame" x="{left:.1f}" y="{TOP}" width="{plot_w:.1f}" height="{plot_h}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
