"""Import a data logger's CSV export into a device's readings, through the one ingest path.

``import_csv(device, data, mapping)`` reads the bytes of an export (UTF-8 with or
without BOM, GBK/GB18030 or UTF-16; CRLF or LF; comma, semicolon or tab), finds the
header row among a metadata preamble (HOBOware, Campbell TOA5, controller titles)
when the mapping names columns, turns every row into one reading per mapped metric
and hands them to ``sensors.service.ingest`` in chunks of at most 10,000. Each
reading is judged alone; every reading that is not stored is reported with its
line number (the line as an editor shows it, counting from 1), its column and the
reason. Nothing is coerced: an empty cell is not zero, 101.3 %RH is not clipped,
a time that cannot be read rejects its row instead of borrowing a neighbour's.

Problems with the file or the mapping as a whole (too large, not text, a column
that is not there, an unknown time zone) raise ``CsvImportError``, a
``ValidationError`` whose ``fields`` name the mapping field at fault, before
anything is stored. Its ``code`` and ``params`` let a page show it in the
visitor's language; the messages here are English, like ingest's reasons.

Importing the same file again stores nothing new: its readings come back as
duplicates. A time repeated within the file keeps its first line's reading: with the
same value it is reported in ``repeated``, with another value in ``conflicts``.

A file is history: any time from HISTORY_FLOOR (2001-01-01 UTC) up to ten minutes after
now is taken, not only ingest's 400 days for live devices. The floor refuses the
times of a logger that lost its clock (they restart at 1970-01-01 or 2000-01-01). Readings
older than the raw retention (RAW_RETENTION_DAYS) are rolled up into the hourly and daily
rollups as they are stored, like any reading; the nightly clean-up then deletes their raw
rows, so the report counts them (``older_than_retention``) and the pages say so.

Dates such as 03/04/2026 are read in one order for the whole column: the order the
file's unambiguous dates (13/04 or 04/13) show. Rows written in the other order, and
ambiguous rows that only fit the rows around them when read in the other order (a file
whose dates switch order for some weeks), are rejected with that explanation; a column
whose unambiguous dates are split evenly between the orders is refused. Times going
back (a logger's clock set back, rows out of order) are stored and listed in
``backwards`` by line. The caller checks that the user may write to the device.
"""
import codecs
import csv
import datetime as dt
import io
import math
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sensors import service
from sensors.metrics import METRICS
from web.clock import local_zone, utcnow
from web.db import ValidationError

MAX_BYTES = 20 * 1024 * 1024
CHUNK = service.MAX_READINGS  # readings per ingest call
MAX_DETAILS = 200_000  # rejected / repeated / conflicting / backwards entries kept in a report (all are counted)
HISTORY_FLOOR = dt.datetime(2001, 1, 1)  # naive UTC: older times are a logger's lost clock, not history
ORDER_GAP = dt.timedelta(days=2)  # how far an ambiguous date may follow the row before it and still "fit"
SCAN_ROWS = 100  # non-blank rows searched for the delimiter, the header and the first data row
MAX_UNIT_ROWS = 3  # rows right after a header that hold units or processing (Campbell TOA5)
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "comma": ",", "semicolon": ";", "tab": "\t"}
TIME_KEYWORDS = ("auto", "iso", "epoch")

# Unit spellings seen in logger headers -> the SenML unit metrics.py knows (after NFKC, casefolded).
UNIT_ALIASES = {
    "°c": "Cel", "c": "Cel", "degc": "Cel", "deg c": "Cel", "celsius": "Cel",
    "°f": "degF", "f": "degF", "deg f": "degF", "k": "K",
    "%rh": "%RH", "% rh": "%RH",
    "μs/cm": "uS/cm", "us/cm": "uS/cm", "ms/cm": "mS/cm", "ds/m": "mS/cm",
    "m^3/m^3": "/", "m3/m3": "/", "m³/m³": "/", "fraction": "/",
    "μmol/m2/s": "umol/m2/s", "μmol/m^2/s": "umol/m2/s", "umol/m^2/s": "umol/m2/s",
    "lux": "lx",
}


class CsvImportError(ValidationError):
    """The file or the mapping as a whole cannot be imported; nothing was stored.

    ``fields`` maps the Mapping field at fault ("file", "time_column", "columns",
    "time_format", "timezone", "header", "delimiter", "decimal", "encoding") to the
    message; ``code`` and ``params`` identify the problem for translation.
    """

    def __init__(self, field_name, code, message, **params):
        self.code = code
        self.params = params
        text = message % params if params else message
        super().__init__(text, {field_name: text})


@dataclass(kw_only=True)
class Mapping:
    """How the columns of a CSV file become readings.

    ``time_column`` and each column in ``columns`` are a header name (str; matched
    ignoring case, spacing and full/half-width forms, or as the start of a longer
    header such as HOBO's "Temp, °C (LGR S/N: ...)") or a 0-based index (int).
    ``columns`` maps metric -> (column, unit) or metric -> column (unit: the
    metric's canonical one). ``time_format`` is a strptime format, "iso", "epoch"
    (seconds) or "auto" (each row read on its own: ISO 8601, 2026/11/29 08:00:00,
    29.11.2026 08:00, 11/29/2026 8:00 AM, 11/29/26 08:00:00 AM, 2026年11月29日 08:00,
    epoch seconds). Times without an offset are local to ``timezone`` (IANA name, or
    a fixed offset such as "UTC+08:00"; by default the TIMEZONE setting). ``header``: True, False or None to detect.
    ``delimiter``: ",", ";", "\\t" (or comma/semicolon/tab), None to detect.
    ``decimal``: ".", "," or None (a comma is a decimal mark only when it is not
    the delimiter). ``encoding``: None tries UTF-8 (BOM or not), then GB18030.
    """

    time_column: str | int
    columns: dict
    time_format: str = "auto"
    timezone: str = field(default_factory=lambda: local_zone().key)  # the TIMEZONE setting
    header: bool | None = None
    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None


@dataclass
class ImportReport:
    rows_read: int = 0  # data rows (not blank lines, preamble, header or unit rows)
    imported: int = 0  # readings stored now
    duplicates: int = 0  # readings already stored, or repeated earlier in this file
    rejected: list = field(default_factory=list)  # [{"line", "column", "metric", "reason"}]
    rejected_count: int = 0  # all rejections; ``rejected`` keeps the first MAX_DETAILS
    repeated: list = field(default_factory=list)  # [{"line", "column", "metric", "first_line"}], same value
    conflicts: list = field(default_factory=list)  # same time as first_line, another value; the first is kept
    conflict_count: int = 0  # [{"line", "column", "metric", "first_line", "value", "first_value"}]
    backwards: list = field(default_factory=list)  # [{"line", "time", "previous_line", "previous_time"}]
    backwards_count: int = 0
    older_than_retention: int = 0  # readings stored now that the nightly clean-up keeps only as rollups
    retention_days: int | None = None
    encoding: str = ""
    delimiter: str = ""
    header_line: int | None = None
    first_data_line: int | None = None
    time_column: str | int | None = None  # as found: the header text, or the index without a header
    columns: dict = field(default_factory=dict)  # metric -> column as found

    def as_dict(self):
        return asdict(self)


@dataclass
class Peek:
    encoding: str
    delimiter: str
    rows: list  # [(line, [cells])], the first non-blank rows


# ---------------------------------------------------------------- public API


def import_csv(device, data: bytes, mapping: Mapping, now=None, retention_days=None) -> ImportReport:
    """Import ``data`` (a CSV export) into ``device``'s readings; returns an ImportReport.

    Raises CsvImportError before storing anything when the file or the mapping cannot
    be used. ``now`` (naive UTC) is passed to ingest, which judges future times by it.
    ``retention_days``: the raw retention, to count the readings kept only as rollups.
    """
    columns = _check_mapping(device, mapping)
    text, encoding = _decode(data, mapping.encoding)
    layout = _layout(text, mapping, columns)
    zone = _zone(mapping.timezone)
    # reads every record: a file that is not CSV fails before storing
    day_first, misordered = _date_order(text, layout, mapping.time_format)
    parse_time = _time_parser(mapping.time_format, zone, mapping.timezone, day_first)
    _check_declared_offset(text, layout, zone, mapping, parse_time)

    report = ImportReport(retention_days=retention_days, encoding=encoding, delimiter=layout.delimiter, header_line=layout.header_line,
                          time_column=layout.time_label,
                          columns={metric: label for metric, _i, label, _u in layout.values})
    read_number = _number_reader(mapping.decimal, layout.delimiter)
    first_seen = {metric: {} for metric, *_rest in layout.values}
    items, origins = [], []
    now = now or utcnow()
    cutoff = None if retention_days is None else (
        (now - dt.timedelta(days=retention_days)).replace(tzinfo=dt.timezone.utc).timestamp())
    previous = None  # (seconds, line, text) of the last row with a time

    def flush():
        if items:
            result = service.ingest(device, None, items, now=now, earliest=HISTORY_FLOOR)
            _account(report, result, origins, first_seen, cutoff)
            items.clear()
            origins.clear()

    for line, cells in _records(text, layout.delimiter):
        if line <= layout.data_after or _blank(cells):
            continue
        if report.first_data_line is None:
            report.first_data_line = line
        report.rows_read += 1
        if len(items) + len(layout.values) > CHUNK:
            flush()
        seconds, problem = misordered.get(line) or _cell_time(cells, layout.time_index, parse_time)
        if problem:
            items.append((len(items), problem))
            origins.append((line, layout.time_label, None, None, None))
            continue
        if previous is not None and seconds < previous[0]:
            report.backwards_count += 1
            if len(report.backwards) < MAX_DETAILS:
                report.backwards.append({"line": line, "time": cells[layout.time_index].strip(),
                                         "previous_line": previous[1], "previous_time": previous[2]})
        previous = (seconds, line, cells[layout.time_index].strip())
        for metric, index, label, unit in layout.values:
            value, problem = _cell_value(cells, index, read_number)
            if problem:
                items.append((len(items), problem))
                origins.append((line, label, metric, None, None))
            else:
                items.append((len(items), metric, seconds, value, unit))
                origins.append((line, label, metric, round(seconds, 3), value))
    flush()
    return report


def peek(data: bytes, delimiter=None, encoding=None, rows=20) -> Peek:
    """The first non-blank rows of a file as cells, for a page that lets a person map its columns."""
    text, used = _decode(data, encoding)
    candidates = [_delimiter(delimiter)] if delimiter else [",", ";", "\t"]
    best = max(candidates, key=lambda d: _consistency(_sample(text, d)))
    return Peek(encoding=used, delimiter=best, rows=_sample(text, best)[:rows])


def check_timezone(name):
    """Raise CsvImportError unless ``name`` is a time zone the importer takes (IANA name, UTC, UTC+08:00)."""
    _zone(name)


def timezone_names():
    """Every IANA time zone name, sorted, for a form to offer."""
    return sorted(available_timezones())


REPORT_FIELDS = ("kind", "line", "column", "metric", "reason")


def report_rows(report, kinds):
    """Every problem of a report as rows for a CSV file: (kind, line, column, metric, reason), by line.
    ``kinds`` maps "rejected", "conflict", "backwards" and "repeated" to the words shown."""
    rows = [(kinds["rejected"], r["line"], r["column"], r["metric"], r["reason"]) for r in report.rejected]
    rows += [(kinds["conflict"], c["line"], c["column"], c["metric"],
              f"same time as line {c['first_line']} but {c['value']:g} instead of {c['first_value']:g}; "
              f"line {c['first_line']}'s kept") for c in report.conflicts]
    rows += [(kinds["backwards"], b["line"], None, None,
              f"time goes back to {b['time']} (line {b['previous_line']}: {b['previous_time']})")
             for b in report.backwards]
    rows += [(kinds["repeated"], r["line"], r["column"], r["metric"], f"same time and value as line {r['first_line']}")
             for r in report.repeated]
    rows.sort(key=lambda row: row[1] if row[1] is not None else 0)
    return rows


def report_csv(rows, header):
    """CSV bytes of ``rows`` under ``header``: UTF-8 with a BOM, CRLF, so that Excel shows Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


# ---------------------------------------------------------------- the mapping


def _delimiter(value):
    if value in (None, "", "auto"):
        return None
    if value not in DELIMITERS:
        raise CsvImportError("delimiter", "bad_delimiter", "The delimiter must be a comma, a semicolon or a tab.")
    return DELIMITERS[value]


def _column_ref(value, field_name):
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (isinstance(value, int) and value < 0) \
            or (isinstance(value, str) and not value.strip()):
        raise CsvImportError(field_name, "bad_column", "A column is a header name or a 0-based index, not %(value)r.",
                             value=value)
    return value.strip() if isinstance(value, str) else value


def _unit(metric, unit):
    """The SenML unit for ``unit`` as written in a mapping, or None when it does not fit ``metric``."""
    if unit is None or not str(unit).strip():
        return metric.unit
    unit = str(unit).strip()
    if unit in metric.units:
        return unit
    alias = UNIT_ALIASES.get(unicodedata.normalize("NFKC", unit).casefold())
    return alias if alias in metric.units else None


def _check_mapping(device, mapping):
    """[(metric, column ref, SenML unit)], or CsvImportError for a mapping that cannot work."""
    _column_ref(mapping.time_column, "time_column")
    if not isinstance(mapping.columns, dict) or not mapping.columns:
        raise CsvImportError("columns", "no_columns", "Map at least one column to a metric.")
    allowed = set(device.metric_names)
    columns = []
    for name, spec in mapping.columns.items():
        column, unit = spec if isinstance(spec, (tuple, list)) else (spec, None)
        metric = METRICS.get(name)
        if metric is None or name not in allowed:
            raise CsvImportError("columns", "unknown_metric", "This device does not report %(metric)r (it reports "
                                 "%(metrics)s).", metric=name, metrics=", ".join(device.metric_names))
        senml = _unit(metric, unit)
        if senml is None:
            raise CsvImportError("columns", "bad_unit", "The unit %(unit)r does not fit %(metric)s (use %(units)s).",
                                 unit=unit, metric=name, units=", ".join(metric.units))
        columns.append((name, _column_ref(column, "columns"), senml))
    refs = [_key(c) for _m, c, _u in columns] + [_key(mapping.time_column)]
    if len(set(refs)) != len(refs):
        raise CsvImportError("columns", "column_twice", "Each column can be mapped only once, and not also as the "
                             "time column.")
    if mapping.header is False and any(isinstance(c, str) for c in refs):
        raise CsvImportError("header", "names_without_header", "Columns are named but the file has no header row; "
                             "give 0-based column numbers instead.")
    fmt = mapping.time_format
    if not isinstance(fmt, str) or (fmt not in TIME_KEYWORDS and "%" not in fmt):
        raise CsvImportError("time_format", "bad_time_format", "The time format is 'auto', 'iso', 'epoch' or a "
                             "strftime format such as %%Y-%%m-%%d %%H:%%M.")
    _delimiter(mapping.delimiter)
    if mapping.decimal not in (None, ".", ","):
        raise CsvImportError("decimal", "bad_decimal", "The decimal mark is '.' or ','.")
    if mapping.decimal == "," and _delimiter(mapping.delimiter) == ",":
        raise CsvImportError("decimal", "bad_decimal", "The decimal mark cannot also be the delimiter.")
    _zone(mapping.timezone)
    return columns


def _key(column):
    return _norm(column) if isinstance(column, str) else column


_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


def _zone(name):
    if not isinstance(name, str) or not name.strip():
        raise CsvImportError("timezone", "bad_timezone", "Give a time zone such as Asia/Shanghai.")
    name = name.strip()
    if name.upper() in ("UTC", "GMT", "Z"):
        return dt.timezone.utc
    match = _OFFSET.fullmatch(name)
    if match:
        return _fixed_offset(match)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CsvImportError("timezone", "bad_timezone", "Unknown time zone %(zone)r (use e.g. Asia/Shanghai or "
                             "UTC+08:00).", zone=name) from None


def _fixed_offset(match):
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        raise CsvImportError("timezone", "bad_timezone", "Unknown time zone %(zone)r (use e.g. Asia/Shanghai or "
                             "UTC+08:00).", zone=match.group(0))
    delta = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-delta if sign == "-" else delta)


# ---------------------------------------------------------------- bytes to rows


def _decode(data, encoding=None):
    if not isinstance(data, (bytes, bytearray)):
        raise CsvImportError("file", "not_bytes", "The file must be given as bytes.")
    if len(data) > MAX_BYTES:
        raise CsvImportError("file", "too_large", "The file is larger than %(mb)d MB; split it and import the parts.",
                             mb=MAX_BYTES // (1024 * 1024))
    if not data.strip():
        raise CsvImportError("file", "empty", "The file is empty.")
    if encoding:
        tries = [encoding]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        tries = ["utf-16"]
    else:
        tries = ["utf-8-sig", "gb18030"]
    for name in tries:
        try:
            text = bytes(data).decode(name)
        except LookupError:
            raise CsvImportError("encoding", "bad_encoding", "Unknown encoding %(encoding)r.", encoding=name) from None
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        used = codecs.lookup(name).name
        return text.lstrip("\ufeff"), "utf-8" if used == "utf-8-sig" else used
    raise CsvImportError("file", "not_text", "The file is not CSV text in UTF-8 or GBK (%(tried)s); save it as "
                         "CSV (UTF-8) and try again.", tried=", ".join(tries))


def _records(text, delimiter):
    """(first line number, cells) of every record; blank lines give empty lists."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    try:
        for cells in reader:
            yield line + 1, cells
            line = reader.line_num
    except csv.Error as e:
        raise CsvImportError("file", "bad_csv", "Line %(line)d cannot be read as CSV: %(error)s.",
                             line=line + 1, error=str(e)) from None


def _blank(cells):
    return not any(c.strip() for c in cells)


def _sample(text, delimiter):
    rows = []
    for line, cells in _records(text, delimiter):
        if not _blank(cells):
            rows.append((line, cells))
            if len(rows) >= SCAN_ROWS:
                break
    return rows


def _consistency(rows):
    """How well rows split: (rows with the most common field count, that count), for counts above 1."""
    counts = Counter(len(cells) for _line, cells in rows if len(cells) > 1)
    if not counts:
        return 0, 0
    fields, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return n, fields


def _norm(text):
    return " ".join(unicodedata.normalize("NFKC", text).replace("\ufeff", "").split()).casefold()


def _matches(cells, name):
    """Indexes of header ``name`` in ``cells``: the exact matches, else the headers that start with it
    followed by an annotation (" (", ",", "[")."""
    wanted = _norm(name)
    normed = [_norm(c) for c in cells]
    exact = [i for i, c in enumerate(normed) if c == wanted]
    return exact or [i for i, c in enumerate(normed)
                     if c.startswith(wanted) and len(c) > len(wanted) and c[len(wanted)] in " ,([（【"]


def _find(cells, name):
    """Index of the first header ``name`` in ``cells`` (``_layout`` refuses a name found twice), or None."""
    found = _matches(cells, name)
    return found[0] if found else None


@dataclass
class _Layout:
    delimiter: str
    header_line: int | None
    data_after: int  # rows on lines up to this one are preamble, header or unit rows
    time_index: int
    time_label: str | int
    values: list  # [(metric, index, label, SenML unit)]
    declared_offset: dt.timedelta | None


def _layout(text, mapping, columns):
    names = [c for c in [mapping.time_column] + [c for _m, c, _u in columns] if isinstance(c, str)]
    given = _delimiter(mapping.delimiter)
    candidates = [given] if given else [",", ";", "\t"]
    samples = {d: _sample(text, d) for d in candidates}
    if names:
        found = []
        for d in candidates:
            for position, (line, cells) in enumerate(samples[d]):
                if all(_find(cells, n) is not None for n in names):
                    found.append((d, position))
                    break
        if not found:
            raise _not_found(samples, candidates, names, mapping)
        delimiter, position = max(found, key=lambda f: len(samples[f[0]][f[1]][1]))
        rows = samples[delimiter]
        header_line, header = rows[position]
        after = [cells for _line, cells in rows[position + 1:]]
        unit_rows = 0
        while unit_rows < min(MAX_UNIT_ROWS, len(after)) and _unit_row(after[unit_rows], header, mapping, columns):
            unit_rows += 1
        data_after = _last_line_of(text, delimiter, rows[position + unit_rows][0])
    else:
        delimiter = max(candidates, key=lambda d: _consistency(samples[d]))
        rows = samples[delimiter]
        if not rows:
            raise CsvImportError("file", "empty", "The file is empty.")
        header_line, header, data_after = None, None, 0
        if mapping.header is not False:
            parse = _time_parser(mapping.time_format, dt.timezone.utc, "UTC", detecting=True)
            value_indexes = [c for _m, c, _u in columns]
            if not any(_cell_time(cells, mapping.time_column, parse)[1] is None for _l, cells in rows):
                raise CsvImportError("time_column", "no_times", "No time was found in column %(column)s of the first "
                                     "%(n)d rows; check the time column and the time format.",
                                     column=mapping.time_column, n=len(rows))
            # Rows before the first one with a time or a number are a preamble and the header (of those, the
            # first as wide as the data); a row with numbers but an unreadable time is data, reported as such.
            first = next(i for i, (_l, cells) in enumerate(rows)
                         if _looks_like_data(cells, mapping.time_column, value_indexes, parse))
            before = rows[:first] or (rows[:1] if mapping.header is True else [])
            if before:
                same = [row for row in before if len(row[1]) == len(rows[first][1])]
                header_line, header = same[0] if same else before[-1]
                data_after = _last_line_of(text, delimiter, before[-1][0])
    width = max((len(c) for _l, c in samples[delimiter]), default=0)

    def resolve(column, field_name):
        if isinstance(column, str):
            found = _matches(header, column)
            if len(found) > 1:
                raise CsvImportError(field_name, "duplicate_header", "The header row (line %(line)d) has %(name)r in "
                                     "more than one column: %(positions)s (counted from 0); rename one, or give "
                                     "the column number.", line=header_line, name=column,
                                     positions=" and ".join(f"column {i} ({header[i].strip()!r})" for i in found))
            return found[0], header[found[0]].strip()
        if column >= width:
            raise CsvImportError(field_name, "no_such_column", "Column %(column)d is not in the file (its rows have "
                                 "%(width)d columns, counted from 0).", column=column, width=width)
        label = header[column].strip() if header is not None and column < len(header) and header[column].strip() \
            else column
        return column, label

    time_index, time_label = resolve(mapping.time_column, "time_column")
    values = []
    for metric, column, unit in columns:
        index, label = resolve(column, "columns")
        values.append((metric, index, label, unit))
    indexes = [time_index] + [index for _m, index, _l, _u in values]
    if len(set(indexes)) != len(indexes):
        raise CsvImportError("columns", "column_twice", "Each column can be mapped only once, and not also as the "
                             "time column.")
    declared = None
    if header is not None and isinstance(time_label, str):
        match = re.search(r"\b(?:GMT|UTC)\s*([+-])(\d{1,2})(?::?(\d{2}))?", time_label, re.IGNORECASE)
        if match:
            declared = _fixed_offset(match).utcoffset(None)
        elif re.search(r"\b(?:GMT|UTC)\b", time_label, re.IGNORECASE):
            declared = dt.timedelta(0)
    return _Layout(delimiter=delimiter, header_line=header_line, data_after=data_after, time_index=time_index,
                   time_label=time_label, values=values, declared_offset=declared)


def _last_line_of(text, delimiter, first_line):
    """The last physical line of the record that starts on ``first_line`` (quoted cells may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    for _cells in reader:
        if line + 1 == first_line:
            return reader.line_num
        line = reader.line_num
    return first_line


def _unit_row(cells, header, mapping, columns):
    """A row under the header holding units or processing ("TS","RN","Deg C" / "","","Avg"): no time, no number."""
    def index(column):
        return _find(header, column) if isinstance(column, str) else column

    parse = _time_parser("auto", dt.timezone.utc, "UTC", detecting=True)
    return not _looks_like_data(cells, index(mapping.time_column), [index(c) for _m, c, _u in columns], parse)


def _looks_like_data(cells, time_index, value_indexes, parse):
    """Whether a row has a time in the time column or a number in a mapped column."""
    if _cell_time(cells, time_index, parse)[1] is None:
        return True
    numbers = _number_reader(None, ";")
    return any(i is not None and i < len(cells) and numbers(cells[i].strip()) is not None for i in value_indexes)


def _not_found(samples, candidates, names, mapping):
    best_missing, best_cells = None, []
    for d in candidates:
        for _line, cells in samples[d]:
            missing = [n for n in names if _find(cells, n) is None]
            if best_missing is None or len(missing) < len(best_missing):
                best_missing, best_cells = missing, cells
    missing = best_missing if best_missing is not None else names
    field_name = "time_column" if missing == [mapping.time_column] else "columns"
    shown = ", ".join(c.strip() for c in best_cells[:12] if c.strip())
    return CsvImportError(field_name, "columns_not_found", "No header row in the first %(n)d rows has the column(s) "
                          "%(missing)s; the closest row has: %(found)s.", n=SCAN_ROWS,
                          missing=", ".join(repr(m) for m in missing), found=shown or "-")


# ---------------------------------------------------------------- cells


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_COMMA_NUMBER = re.compile(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?")


def _number_reader(decimal, delimiter):
    comma = decimal == "," or (decimal is None and delimiter != ",")
    dot = decimal in (None, ".")

    def read(text):
        if dot and _NUMBER.fullmatch(text):
            return float(text)
        if comma and _COMMA_NUMBER.fullmatch(text):
            return float(text.replace(",", "."))
        if not dot and re.fullmatch(r"[+-]?\d+", text):
            return float(text)
        return None

    return read


def _cell_value(cells, index, read_number):
    """(value, None) or (None, reason)."""
    if index >= len(cells):
        return None, f"missing cell (the line has {len(cells)} fields)"
    text = cells[index].strip()
    if not text:
        return None, "empty cell"
    value = read_number(text)
    if value is None or not math.isfinite(value):
        return None, f"not a number: {text!r}"
    return value, None


def _cell_time(cells, index, parse):
    """(epoch seconds, None) or (None, reason)."""
    if not isinstance(index, int) or index >= len(cells):
        return None, f"missing time cell (the line has {len(cells)} fields)"
    text = cells[index].strip()
    if not text:
        return None, "empty time cell"
    return parse(text)


# ---------------------------------------------------------------- times

_CLOCK = (r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?)?"
          r"(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?")
_DATES = (
    re.compile(rf"(?P<Y>\d{{4}})(?P<sep>[/.-])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}})(?:(?:\s+|T){_CLOCK})?"),
    re.compile(rf"(?P<Y>\d{{4}})年(?P<m>\d{{1,2}})月(?P<d>\d{{1,2}})日?(?:\s*{_CLOCK})?"),
    re.compile(rf"(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<Y>\d{{4}}|\d{{2}})(?:\s+{_CLOCK})?"),
    re.compile(rf"(?P<d>\d{{1,2}})-(?P<m>\d{{1,2}})-(?P<Y>\d{{4}})(?:\s+{_CLOCK})?"),
)
_SLASH = re.compile(rf"(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/(?P<Y>\d{{4}}|\d{{2}})(?:\s+{_CLOCK})?")
_EPOCH = re.compile(r"\d{9,10}(?:\.\d+)?")


class _Ambiguous(Exception):
    pass


def _naive(match, year, month, day):
    """A naive datetime from a matched date and clock; ValueError when out of range."""
    year = int(year)
    if year < 100:
        year += 2000
    hour = int(match.group("H") or 0)
    ampm = (match.group("ampm") or "").replace(".", "").upper()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("hour with AM/PM")
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    micro = int((match.group("f") or "0").ljust(6, "0"))
    return dt.datetime(year, int(month), int(day), hour, int(match.group("M") or 0), int(match.group("S") or 0),
                       micro)


def _auto(text, day_first):
    """An aware or naive datetime, or epoch seconds (float); ValueError or _Ambiguous."""
    if _EPOCH.fullmatch(text):
        return float(text)
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    for pattern in _DATES:
        match = pattern.fullmatch(text)
        if match:
            return _naive(match, match.group("Y"), match.group("m"), match.group("d"))
    match = _SLASH.fullmatch(text)
    if match:
        a, b = int(match.group("a")), int(match.group("b"))
        if a > 12 >= b:
            first_is_day = True
        elif b > 12 >= a:
            first_is_day = False
        elif match.group("ampm"):
            first_is_day = False  # US style, as HOBOware writes it
        elif day_first is not None:
            first_is_day = day_first
        elif a == b:
            first_is_day = True
        else:
            raise _Ambiguous
        day, month = (a, b) if first_is_day else (b, a)
        return _naive(match, match.group("Y"), month, day)
    raise ValueError(text)


def _time_parser(fmt, zone, zone_name, day_first=None, detecting=False):
    """A function text -> (epoch seconds, None) or (None, reason)."""

    def parse(text):
        try:
            if fmt == "auto":
                value = _auto(text, day_first)
            elif fmt == "epoch":
                value = float(text) if _NUMBER.fullmatch(text) else None
                if value is None:
                    return None, f"not epoch seconds: {text!r}"
            elif fmt == "iso":
                value = dt.datetime.fromisoformat(text)
            else:
                value = dt.datetime.strptime(text, fmt)
        except _Ambiguous:
            if detecting:
                return 0.0, None
            return None, (f"{text!r}: the order of day and month is ambiguous; "
                          "give the time format (e.g. %d/%m/%Y %H:%M)")
        except ValueError:
            if fmt in ("auto", "iso"):
                return None, f"not a date and time: {text!r}"
            return None, f"{text!r} does not match the time format {fmt!r}"
        if isinstance(value, float):
            return value, None
        if value.tzinfo is not None:
            return value.timestamp(), None
        return _local(value, zone, zone_name, text)

    return parse


def _local(naive, zone, zone_name, text):
    first, second = naive.replace(tzinfo=zone), naive.replace(tzinfo=zone, fold=1)
    if first.astimezone(dt.timezone.utc).astimezone(zone).replace(tzinfo=None) != naive:
        return None, f"{text!r} does not exist in {zone_name} (clock change)"
    if first.utcoffset() != second.utcoffset():
        return None, f"{text!r} happens twice in {zone_name} (clock change); give times with an offset"
    return first.timestamp(), None


def _date_order(text, layout, fmt):
    """How ``auto`` reads d/m/y and m/d/y dates without AM/PM, from the whole time column.

    Returns (day_first, misordered): day_first is True or False when the column's unambiguous dates
    (13/04, 04/13) show the order, else None (ambiguous rows are then rejected one by one);
    misordered maps a line to (None, reason) for rows whose date is in the other order (written so,
    or an ambiguous date that follows the row before it only when read the other way round).
    A column whose unambiguous dates are split evenly between the orders is refused."""
    if fmt != "auto":
        for _line, _cells in _records(text, layout.delimiter):  # a file that is not CSV fails before storing
            pass
        return None, {}
    rows = []
    for line, cells in _records(text, layout.delimiter):
        if line <= layout.data_after or layout.time_index >= len(cells):
            continue
        cell = cells[layout.time_index].strip()
        if "/" not in cell or cell[-1] in "Mm.":  # not a slash date, or with AM/PM (month first, as HOBOware)
            continue
        match = _SLASH.fullmatch(cell)
        if match and not match.group("ampm"):
            rows.append((line, int(match.group("a")), int(match.group("b")), match, cell))
    day_lines = [r[0] for r in rows if r[1] > 12 >= r[2]]
    month_lines = [r[0] for r in rows if r[2] > 12 >= r[1]]
    if not day_lines and not month_lines:
        return None, {}
    if len(day_lines) == len(month_lines):
        raise CsvImportError("time_column", "mixed_date_order", "The time column has as many day/month dates "
                             "(lines %(day)s) as month/day dates (lines %(month)s); give the time format or "
                             "correct the file.", day=_some(day_lines), month=_some(month_lines))
    day_first = len(day_lines) > len(month_lines)
    order, other = ("day/month", "month/day") if day_first else ("month/day", "day/month")
    misordered = {}
    previous = None  # (naive datetime, line) of the row before, as its date really is (or best fits)
    for line, a, b, match, cell in rows:
        try:
            if a > 12 or b > 12 or a == b:
                own = a > 12 if a != b else day_first
                when = _naive(match, match.group("Y"), *((b, a) if own else (a, b)))
                if own != day_first:
                    misordered[line] = (None, f"{cell!r} is written {other}, but the rest of the column is "
                                              f"{order}: the file mixes date orders")
                previous = (when, line)
                continue
            chosen = _naive(match, match.group("Y"), *((b, a) if day_first else (a, b)))
        except ValueError:
            continue  # read (and reported) row by row
        try:
            swapped = _naive(match, match.group("Y"), *((a, b) if day_first else (b, a)))
        except ValueError:
            swapped = None
        if previous is not None and swapped is not None and not previous[0] <= chosen <= previous[0] + ORDER_GAP \
                and previous[0] <= swapped <= previous[0] + ORDER_GAP:
            misordered[line] = (None, f"{cell!r} read {order} like the rest of the column is "
                                      f"{chosen:%Y-%m-%d %H:%M}, out of sequence after line {previous[1]}; read "
                                      f"{other} ({swapped:%Y-%m-%d %H:%M}) it follows on: the file mixes date orders")
            previous = (swapped, line)
        else:
            previous = (chosen, line)
    return day_first, misordered


def _some(lines, n=5):
    shown = ", ".join(str(line) for line in lines[:n])
    return shown + (f" and {len(lines) - n} more" if len(lines) > n else "")


def _check_declared_offset(text, layout, zone, mapping, parse_time):
    """A header such as HOBO's "Date Time, GMT+08:00" states the logger's offset; a time zone that says otherwise
    would shift every reading, so it is refused."""
    if layout.declared_offset is None:
        return
    rows = 0
    for line, cells in _records(text, layout.delimiter):
        if line <= layout.data_after or _blank(cells):
            continue
        rows += 1
        if rows > SCAN_ROWS:
            return
        seconds, problem = _cell_time(cells, layout.time_index, parse_time)
        if problem is None:
            cell = cells[layout.time_index].strip()
            try:
                explicit = dt.datetime.fromisoformat(cell).tzinfo is not None
            except ValueError:
                explicit = False
            if explicit:
                return
            offset = dt.datetime.fromtimestamp(seconds, zone).utcoffset()
            if offset != layout.declared_offset:
                raise CsvImportError("timezone", "offset_mismatch", "The time column says %(declared)s but the time "
                                     "zone %(zone)s is UTC%(offset)s at %(time)s; choose a matching time zone.",
                                     declared=layout.time_label, zone=mapping.timezone, offset=_hhmm(offset),
                                     time=cell)
            return


def _hhmm(offset):
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# ---------------------------------------------------------------- results


def _account(report, result, origins, first_seen, cutoff):
    """Add one ingest call's result to the report, rejections mapped back to lines and columns."""
    report.imported += result.accepted
    report.duplicates += result.duplicates
    rejected = set()
    for entry in result.rejected:
        line, column, metric, _key_, _value = origins[entry["index"]]
        rejected.add(entry["index"])
        report.rejected_count += 1
        if len(report.rejected) < MAX_DETAILS:
            report.rejected.append({"line": line, "column": column, "metric": metric, "reason": entry["reason"]})
    # Ingest keeps the first of readings with the same metric and time; say which line each repeat repeats.
    # A repeat with another value is a conflict: the file says two things about one moment.
    old = 0
    for index, (line, column, metric, key, value) in enumerate(origins):
        if key is None or index in rejected:
            continue
        seen = first_seen[metric]
        first = seen.get(key)
        if first is None:
            seen[key] = (line, value)
            old += cutoff is not None and key < cutoff
        elif value != first[1]:
            report.conflict_count += 1
            report.duplicates -= 1
            if len(report.conflicts) < MAX_DETAILS:
                report.conflicts.append({"line": line, "column": column, "metric": metric, "first_line": first[0],
                                         "value": value, "first_value": first[1]})
        elif len(report.repeated) < MAX_DETAILS:
            report.repeated.append({"line": line, "column": column, "metric": metric, "first_line": first[0]})
    # Readings of the file in the database (stored now or before) that the raw retention will trim.
    report.older_than_retention += old
