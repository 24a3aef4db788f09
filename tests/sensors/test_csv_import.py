"""CSV import of data logger exports: real-looking files, line-exact reports, the one ingest path, the CLI.

The files in tests/data/loggers/ are written as the loggers write them (encodings,
line endings, preambles); ingest judges timestamps against a fixed "now" so the
files' November 2026 readings stay within its 400-day window whenever this runs.
"""
import datetime as dt
from pathlib import Path

import pytest

from sensors import csv_import, service
from sensors.csv_import import CsvImportError, Mapping, import_csv
from sensors.models import Device, Reading, Rollup

LOGGERS = Path(__file__).resolve().parents[1] / "data" / "loggers"
NOW = dt.datetime(2026, 11, 29, 12, 0)  # naive UTC, as ingest takes it

GREENHOUSE = Mapping(time_column="时间", columns={"air_temperature": ("空气温度(℃)", "Cel"),
                                                "air_humidity": ("空气湿度(%RH)", "%RH"),
                                                "co2": ("CO2(ppm)", "ppm")})
HOBO = Mapping(time_column="Date Time, GMT+08:00", columns={"air_temperature": ("Temp, °C", "°C"),
                                                            "air_humidity": ("RH, %", "%RH")})
SOIL = Mapping(time_column=0, header=False, columns={"soil_moisture": (1, "%"), "soil_temperature": (2, "Cel"),
                                                     "soil_ec": (3, "uS/cm")})
TOA5 = Mapping(time_column="TIMESTAMP", columns={"air_temperature": ("AirT_Avg", "Deg C"), "air_humidity": ("RH", "%"),
                                                 "co2": "CO2_Avg", "soil_moisture": ("VWC_Avg", "m^3/m^3"),
                                                 "soil_temperature": ("SoilT_Avg", "Deg C")})

T, H, C = "空气温度(℃)", "空气湿度(%RH)", "CO2(ppm)"
GREENHOUSE_REJECTED = [
    {"line": 6, "column": H, "metric": "air_humidity", "reason": "101.3 %RH is outside 0..100"},
    {"line": 7, "column": T, "metric": "air_temperature", "reason": "saturated or error value 65535"},
    {"line": 8, "column": H, "metric": "air_humidity", "reason": "empty cell"},
    {"line": 13, "column": "时间", "metric": None, "reason": "not a date and time: '2026/13/28 11:50:00'"},
    {"line": 14, "column": C, "metric": "co2", "reason": "saturated or error value -9999"},
]
# Line 5 repeats line 4's time with other values: conflicts, not plain repeats (the first is kept).
GREENHOUSE_CONFLICTS = [{"line": 5, "column": col, "metric": metric, "first_line": 4, "value": new, "first_value": old}
                        for col, metric, old, new in ((T, "air_temperature", 13.6, 13.7), (H, "air_humidity", 83.0, 82.8),
                                                      (C, "co2", 441.0, 440.0))]


def load(name):
    return (LOGGERS / name).read_bytes()


def utc(*args):
    """A Shanghai wall-clock time as the naive UTC datetime readings are stored with."""
    return dt.datetime(*args) - dt.timedelta(hours=8)


def stored(device, metric):
    return {r.ts: r.value for r in Reading.select().where((Reading.device == device) & (Reading.metric == metric))}


def test_the_files_are_what_the_loggers_write():
    gbk = load("greenhouse_controller_gbk.csv")
    assert gbk.startswith("时间,空气温度(℃)".encode("gbk")) and b"\r\n" in gbk
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert load("hobo_mx2301_gmt8.csv").startswith(b"\xef\xbb\xbf\"Plot Title:")
    soil = load("soil_logger_semicolon_noheader.csv")
    assert b";" in soil and b"\r" not in soil
    assert load("campbell_cr1000x_toa5.csv").startswith(b'"TOA5",')


def test_chinese_greenhouse_controller_export(greenhouse):
    """GBK, CRLF, header row; a repeated time, a time going back, a gap, 101.3 %RH, 65535 and -9999, an empty
    cell, an ISO 8601 row among 2026/11/28 rows, a row without seconds, month 13, two trailing empty lines."""
    _plot, device, _token = greenhouse
    report = import_csv(device, load("greenhouse_controller_gbk.csv"), GREENHOUSE, now=NOW)

    assert (report.encoding, report.delimiter, report.header_line, report.first_data_line) == ("gb18030", ",", 1, 2)
    assert report.time_column == "时间" and report.columns == {"air_temperature": T, "air_humidity": H, "co2": C}
    assert report.rows_read == 13  # lines 2-14; the empty lines 15-16 are not rows
    assert report.rejected == GREENHOUSE_REJECTED and report.rejected_count == 5
    assert report.repeated == [] and report.conflicts == GREENHOUSE_CONFLICTS and report.conflict_count == 3
    assert report.backwards == [{"line": 10, "time": "2026/11/28 08:55:00", "previous_line": 9,
                                 "previous_time": "2026-11-28T09:00:00"}]
    # 13 rows x 3 metrics = 39; line 13 (3 readings), 4 bad cells and line 5's 3 conflicts are not stored.
    assert (report.imported, report.duplicates) == (29, 0)
    assert Reading.select().where(Reading.device == device).count() == 29

    temperature = stored(device, "air_temperature")
    humidity = stored(device, "air_humidity")
    co2 = stored(device, "co2")
    assert temperature[utc(2026, 11, 28, 8, 20)] == 13.6  # line 4 kept; line 5 (13.7, same time) is a duplicate
    assert temperature[utc(2026, 11, 28, 9, 0)] == 17.5  # ISO 8601 row
    assert temperature[utc(2026, 11, 28, 8, 55)] == 17.2  # went back in time: stored all the same
    assert temperature[utc(2026, 11, 28, 11, 40)] == 21.6  # "2026/11/28 11:40", no seconds
    assert utc(2026, 11, 28, 8, 40) not in temperature  # 65535
    assert utc(2026, 11, 28, 8, 30) not in humidity  # 101.3 %RH: not clipped to 100, not stored
    assert temperature[utc(2026, 11, 28, 8, 30)] == 14.8 and co2[utc(2026, 11, 28, 8, 30)] == 436  # same line, fine
    assert utc(2026, 11, 28, 8, 50) not in humidity and co2[utc(2026, 11, 28, 8, 50)] == 425  # empty is not 0
    assert utc(2026, 11, 28, 12, 0) not in co2 and temperature[utc(2026, 11, 28, 12, 0)] == 22.0
    assert len(temperature) == 10 and len(humidity) == 9 and len(co2) == 10
    assert all(r.credential_id is None for r in Reading.select())

    device = Device.get_by_id(device.id)
    assert device.rejected_count == 5 and device.last_rejection == "saturated or error value -9999"
    day = Rollup.get((Rollup.device == device) & (Rollup.metric == "air_temperature") & (Rollup.period == "day"))
    assert (day.count, day.minimum, day.maximum) == (10, 12.4, 22.0)


def test_hobo_export_with_a_preamble(greenhouse):
    """HOBOware: UTF-8 with BOM, a plot title before the header, "Date Time, GMT+08:00", long column names with
    serial numbers, US times with AM/PM and two-digit years, HOBO's -888.88, an event row without readings."""
    _plot, device, _token = greenhouse
    report = import_csv(device, load("hobo_mx2301_gmt8.csv"), HOBO, now=NOW)

    temp = "Temp, °C (LGR S/N: 21034567, SEN S/N: 21034567)"
    rh = "RH, % (LGR S/N: 21034567, SEN S/N: 21034567)"
    assert (report.encoding, report.header_line, report.first_data_line, report.rows_read) == ("utf-8", 2, 3, 9)
    assert report.columns == {"air_temperature": temp, "air_humidity": rh}
    assert report.rejected == [
        {"line": 6, "column": rh, "metric": "air_humidity", "reason": "100.42 %RH is outside 0..100"},
        {"line": 7, "column": temp, "metric": "air_temperature", "reason": "-888.88 Cel is outside -40..70"},
        {"line": 8, "column": temp, "metric": "air_temperature", "reason": "empty cell"},
        {"line": 8, "column": rh, "metric": "air_humidity", "reason": "empty cell"},
    ]
    assert (report.imported, report.duplicates, report.repeated) == (14, 0, [])
    temperature = stored(device, "air_temperature")
    assert temperature[dt.datetime(2026, 11, 27, 14, 0)] == 9.214  # 11/27/26 10:00:00 PM at GMT+08:00
    assert temperature[dt.datetime(2026, 11, 27, 23, 15)] == 6.102  # after an 8-hour gap
    assert temperature[dt.datetime(2026, 11, 27, 23, 30)] == 6.35  # "11/28/2026 7:30 AM", another format
    assert dt.datetime(2026, 11, 27, 23, 2, 13) not in temperature


def test_a_time_zone_that_contradicts_the_header_is_refused(greenhouse):
    _plot, device, _token = greenhouse
    for zone in ("UTC", "Europe/Berlin", "UTC-05:00"):
        with pytest.raises(CsvImportError) as caught:
            import_csv(device, load("hobo_mx2301_gmt8.csv"), Mapping(**{**HOBO.__dict__, "timezone": zone}), now=NOW)
        assert caught.value.code == "offset_mismatch" and set(caught.value.fields) == {"timezone"}
    assert Reading.select().count() == 0
    report = import_csv(device, load("hobo_mx2301_gmt8.csv"), Mapping(**{**HOBO.__dict__, "timezone": "UTC+08:00"}),
                        now=NOW)
    assert report.imported == 14


@pytest.mark.parametrize("header", [False, None])
def test_headerless_semicolon_file_with_day_first_dates(greenhouse, header):
    """No header, semicolons, 26.11.2026 times, decimal commas, LF; 65535 twice on one line, a line that goes
    back to 07:00 (already on line 2), "ERR", hour 25, an ISO row, an empty cell, three trailing empty lines."""
    _plot, device, _token = greenhouse
    mapping = Mapping(**{**SOIL.__dict__, "header": header})
    report = import_csv(device, load("soil_logger_semicolon_noheader.csv"), mapping, now=NOW)

    assert (report.delimiter, report.header_line, report.first_data_line, report.rows_read) == (";", None, 1, 9)
    assert report.rejected == [
        {"line": 3, "column": 1, "metric": "soil_moisture", "reason": "saturated or error value 65535"},
        {"line": 3, "column": 3, "metric": "soil_ec", "reason": "saturated or error value 65535"},
        {"line": 6, "column": 3, "metric": "soil_ec", "reason": "not a number: 'ERR'"},
        {"line": 7, "column": 0, "metric": None, "reason": "not a date and time: '26.11.2026 25:00'"},
        {"line": 9, "column": 2, "metric": "soil_temperature", "reason": "empty cell"},
    ]
    # Line 4 repeats 07:00 (line 2): the same soil temperature, another moisture and EC.
    assert report.repeated == [{"line": 4, "column": 2, "metric": "soil_temperature", "first_line": 2}]
    assert report.conflicts == [
        {"line": 4, "column": 1, "metric": "soil_moisture", "first_line": 2, "value": 31.0, "first_value": 31.1},
        {"line": 4, "column": 3, "metric": "soil_ec", "first_line": 2, "value": 408.0, "first_value": 409.0}]
    assert (report.imported, report.duplicates, report.conflict_count) == (17, 1, 2)
    moisture, ec = stored(device, "soil_moisture"), stored(device, "soil_ec")
    assert moisture[utc(2026, 11, 26, 6)] == 31.2 and moisture[utc(2026, 11, 26, 7)] == 31.1  # line 2, not line 4
    assert moisture[utc(2026, 11, 26, 12)] == 30.4  # the ISO 8601 row
    assert ec[utc(2026, 11, 26, 6)] == pytest.approx(0.412)  # 412 uS/cm in mS/cm
    assert stored(device, "soil_temperature")[utc(2026, 11, 26, 8)] == 11.7  # 65535 rejected only its own cells


def test_campbell_toa5_units_rows_are_not_data(greenhouse):
    _plot, device, _token = greenhouse
    report = import_csv(device, load("campbell_cr1000x_toa5.csv"), TOA5, now=NOW)

    assert (report.header_line, report.first_data_line, report.rows_read) == (2, 5, 5)
    assert report.rejected == [
        {"line": 7, "column": "AirT_Avg", "metric": "air_temperature", "reason": "not a number: 'NAN'"},
        {"line": 8, "column": "SoilT_Avg", "metric": "soil_temperature", "reason": "-7999 Cel is outside -20..70"},
    ]
    assert report.imported == 23
    assert stored(device, "soil_moisture")[utc(2026, 11, 27, 1)] == pytest.approx(31.2)  # 0.312 m³/m³ -> %


def test_columns_by_number_find_the_header_after_a_preamble(greenhouse):
    _plot, device, _token = greenhouse
    mapping = Mapping(time_column=1, columns={"air_temperature": (2, "Cel"), "air_humidity": (3, "%RH")})
    report = import_csv(device, load("hobo_mx2301_gmt8.csv"), mapping, now=NOW)
    assert (report.header_line, report.first_data_line, report.rows_read, report.imported) == (2, 3, 9, 14)
    assert report.time_column == "Date Time, GMT+08:00"
    assert report.rejected[0]["column"] == "RH, % (LGR S/N: 21034567, SEN S/N: 21034567)"


def test_a_first_row_with_numbers_is_data_even_when_its_time_is_bad(greenhouse):
    _plot, device, _token = greenhouse
    data = b"2026/13/01 08:00,400\r\n2026/11/28 08:00,410\r\n"
    report = import_csv(device, data, Mapping(time_column=0, columns={"co2": 1}), now=NOW)
    assert (report.header_line, report.first_data_line, report.rows_read, report.imported) == (None, 1, 2, 1)
    assert report.rejected == [{"line": 1, "column": 0, "metric": None,
                                "reason": "not a date and time: '2026/13/01 08:00'"}]
    # Told there is a header, the first line is the header.
    report = import_csv(device, data, Mapping(time_column=0, columns={"co2": 1}, header=True), now=NOW)
    assert (report.header_line, report.rows_read, report.duplicates, report.rejected) == (1, 1, 1, [])


def test_importing_the_same_file_again_stores_nothing_new(greenhouse):
    _plot, device, _token = greenhouse
    data = load("greenhouse_controller_gbk.csv")
    import_csv(device, data, GREENHOUSE, now=NOW)
    rollups = {(r.metric, r.period, r.start): r.count for r in Rollup.select()}

    again = import_csv(device, data, GREENHOUSE, now=NOW)
    assert (again.imported, again.duplicates) == (0, 29)  # stored before; line 5 still conflicts with line 4
    assert again.rejected == GREENHOUSE_REJECTED and again.conflicts == GREENHOUSE_CONFLICTS
    assert Reading.select().count() == 29
    assert {(r.metric, r.period, r.start): r.count for r in Rollup.select()} == rollups


def test_chunks_keep_line_numbers(greenhouse, monkeypatch):
    """Readings go to ingest in chunks that never split a row; rejections and repeats still name their lines."""
    _plot, device, _token = greenhouse
    calls = []
    real = service.ingest

    def spy(device, credential, items, **kwargs):
        calls.append(len(items))
        return real(device, credential, items, **kwargs)

    monkeypatch.setattr(service, "ingest", spy)
    monkeypatch.setattr(csv_import, "CHUNK", 4)
    report = import_csv(device, load("greenhouse_controller_gbk.csv"), GREENHOUSE, now=NOW)
    # One row per call (lines 4 and 5, the repeat, in different calls), lines 13 (1 rejection) and 14 together.
    assert calls == [3] * 11 + [4]
    assert report.rejected == GREENHOUSE_REJECTED and report.conflicts == GREENHOUSE_CONFLICTS
    assert (report.imported, report.duplicates) == (29, 0)


def test_ten_thousand_readings_per_ingest_call(greenhouse, monkeypatch):
    _plot, device, _token = greenhouse
    calls = []
    real = service.ingest
    monkeypatch.setattr(service, "ingest", lambda d, c, items, **kwargs: calls.append(len(items)) or real(
        d, c, items, **kwargs))
    start = dt.datetime(2026, 11, 20)
    lines = ["time,co2"] + [f"{start + dt.timedelta(minutes=i):%Y-%m-%d %H:%M},{400 + i % 50}" for i in range(10_001)]
    report = import_csv(device, "\n".join(lines).encode(), Mapping(time_column="time", columns={"co2": "co2"}),
                        now=NOW)
    assert calls == [10_000, 1]
    assert (report.rows_read, report.imported, report.rejected) == (10_001, 10_001, [])


def test_day_and_month_order_comes_from_the_file_or_is_refused(greenhouse):
    _plot, device, _token = greenhouse
    mapping = Mapping(time_column="Time", columns={"co2": "CO2"})
    data = "Time,CO2\r\n03/11/2026 08:00,410\r\n13/11/2026 08:00,420\r\n".encode()
    report = import_csv(device, data, mapping, now=NOW)  # 13/11 can only be day first: so is 03/11
    assert report.rejected == [] and set(stored(device, "co2")) == {utc(2026, 11, 3, 8), utc(2026, 11, 13, 8)}

    report = import_csv(device, b"Time,CO2\n03/11/2026 09:00,410\n04/11/2026 09:00,411\n", mapping, now=NOW)
    assert [(r["line"], r["reason"]) for r in report.rejected] == [
        (2, "'03/11/2026 09:00': the order of day and month is ambiguous; give the time format (e.g. %d/%m/%Y %H:%M)"),
        (3, "'04/11/2026 09:00': the order of day and month is ambiguous; give the time format (e.g. %d/%m/%Y %H:%M)")]
    report = import_csv(device, b"Time,CO2\n03/11/2026 09:00,410\n",
                        Mapping(time_column="Time", columns={"co2": "CO2"}, time_format="%d/%m/%Y %H:%M"), now=NOW)
    assert report.imported == 1 and stored(device, "co2")[utc(2026, 11, 3, 9)] == 410


@pytest.mark.parametrize("text, expected", [
    ("2026-11-28T08:00:00", utc(2026, 11, 28, 8)),
    ("2026-11-28T08:00:00Z", dt.datetime(2026, 11, 28, 8)),
    ("2026-11-28 08:00:00+08:00", utc(2026, 11, 28, 8)),
    ("2026/11/28 08:00:00", utc(2026, 11, 28, 8)),
    ("2026/11/28 8:00", utc(2026, 11, 28, 8)),
    ("2026年11月28日 08:00", utc(2026, 11, 28, 8)),
    ("28.11.2026 08:00", utc(2026, 11, 28, 8)),
    ("28.11.2026 08:00:30", utc(2026, 11, 28, 8, 0, 30)),
    ("11/28/2026 8:00 AM", utc(2026, 11, 28, 8)),
    ("11/28/2026 12:15 AM", utc(2026, 11, 28, 0, 15)),
    ("11/28/26 08:00:00 PM", utc(2026, 11, 28, 20)),
    ("1796342400", dt.datetime(2026, 12, 4, 0, 0)),
])
def test_auto_time_formats(text, expected):
    parse = csv_import._time_parser("auto", csv_import._zone("Asia/Shanghai"), "Asia/Shanghai")
    seconds, problem = parse(text)
    assert problem is None
    assert dt.datetime.fromtimestamp(seconds, dt.timezone.utc).replace(tzinfo=None) == expected


@pytest.mark.parametrize("text", ["2026/11/28 24:00", "13:00 PM", "28.11.2026 8", "yesterday", "45623.5",
                                  "2026-02-30 08:00", "1_796_342_400"])
def test_times_that_are_not_read(text):
    parse = csv_import._time_parser("auto", csv_import._zone("Asia/Shanghai"), "Asia/Shanghai")
    assert parse(text) == (None, f"not a date and time: {text!r}")


def test_clock_changes_are_not_guessed():
    parse = csv_import._time_parser("auto", csv_import._zone("Europe/Berlin"), "Europe/Berlin")
    assert "happens twice" in parse("2026-10-25 02:30")[1]
    assert "does not exist" in parse("2026-03-29 02:30")[1]


@pytest.mark.parametrize("text, decimal, delimiter, value", [
    ("12.5", None, ",", 12.5), ("-3", None, ",", -3.0), ("1e3", None, ",", 1000.0),
    ("12,5", None, ";", 12.5), ("12,5", None, ",", None), ("12.5", ",", ";", None), ("12,5", ",", ";", 12.5),
    ("1.234,5", None, ";", None), ("nan", None, ",", None), ("inf", None, ",", None), ("1_000", None, ",", None),
    ("23.5 °C", None, ",", None), ("0x10", None, ",", None),
])
def test_numbers_are_read_strictly(text, decimal, delimiter, value):
    assert csv_import._number_reader(decimal, delimiter)(text) == value


@pytest.mark.parametrize("data, mapping, field, code", [
    (b"x" * (csv_import.MAX_BYTES + 1), GREENHOUSE, "file", "too_large"),
    (b"", GREENHOUSE, "file", "empty"),
    (b"\r\n\r\n", GREENHOUSE, "file", "empty"),
    (b"\x00\x01\x02\xff\xfe\x00" * 20, GREENHOUSE, "file", "not_text"),
    (b"\x81\x20\xff,\xfe\n", GREENHOUSE, "file", "not_text"),
    ("Time,空气温度(℃),空气湿度(%RH),CO2(ppm)\n2026/11/28 08:00,12,80,400\n".encode(), GREENHOUSE, "time_column",
     "columns_not_found"),
    ("时间,空气温度(℃)\n2026/11/28 08:00,12\n".encode(), GREENHOUSE, "columns", "columns_not_found"),
    (b"t,v\n", Mapping(time_column="t", columns={"light": "v"}), "columns", "unknown_metric"),
    (b"t,v\n", Mapping(time_column="t", columns={"rainfall": "v"}), "columns", "unknown_metric"),
    (b"t,v\n", Mapping(time_column="t", columns={"air_temperature": ("v", "mm")}), "columns", "bad_unit"),
    (b"t,v\n", Mapping(time_column="t", columns={}), "columns", "no_columns"),
    (b"t,v\n", Mapping(time_column="t", columns={"co2": "t"}), "columns", "column_twice"),
    (b"t,v\n", Mapping(time_column="t", columns={"co2": "v"}, timezone="Mars/Olympus"), "timezone", "bad_timezone"),
    (b"t,v\n", Mapping(time_column="t", columns={"co2": "v"}, header=False), "header", "names_without_header"),
    (b"t,v\n", Mapping(time_column="t", columns={"co2": "v"}, time_format="dd.mm.yyyy"), "time_format",
     "bad_time_format"),
    (b"t,v\n", Mapping(time_column="t", columns={"co2": "v"}, delimiter="|"), "delimiter", "bad_delimiter"),
    (b"t,v\n", Mapping(time_column="t", columns={"co2": "v"}, encoding="klingon"), "encoding", "bad_encoding"),
    (b"2026-11-28 08:00,1\n", Mapping(time_column=0, columns={"co2": 5}), "columns", "no_such_column"),
    (b"a,b\nc,d\n", Mapping(time_column=0, columns={"co2": 1}), "time_column", "no_times"),
])
def test_files_and_mappings_that_cannot_be_imported(greenhouse, data, mapping, field, code):
    _plot, device, _token = greenhouse
    with pytest.raises(CsvImportError) as caught:
        import_csv(device, data, mapping, now=NOW)
    assert caught.value.code == code and set(caught.value.fields) == {field}, caught.value.message
    assert Reading.select().count() == 0 and Device.get_by_id(device.id).rejected_count == 0


def test_a_broken_line_late_in_the_file_stores_nothing(greenhouse):
    _plot, device, _token = greenhouse
    rows = [f"2026-11-28 08:{m:02d},{400 + m}" for m in range(50)] + ['2026-11-28 09:00,"' + "x" * 200_000 + '"']
    with pytest.raises(CsvImportError) as caught:
        import_csv(device, ("t,co2\n" + "\n".join(rows)).encode(), Mapping(time_column="t", columns={"co2": "co2"},
                                                                          time_format="%Y-%m-%d %H:%M"), now=NOW)
    assert caught.value.code == "bad_csv" and "Line 52" in caught.value.message
    assert Reading.select().count() == 0


def test_missing_columns_are_named_in_the_error(greenhouse):
    _plot, device, _token = greenhouse
    mapping = Mapping(time_column="时间", columns={"air_temperature": "温度", "co2": "CO2(ppm)"})
    with pytest.raises(CsvImportError) as caught:
        import_csv(device, load("greenhouse_controller_gbk.csv"), mapping, now=NOW)
    assert "'温度'" in caught.value.message and "空气温度(℃)" in caught.value.message


def test_utf16_tab_separated_and_short_rows(greenhouse):
    """Excel's "Unicode text": UTF-16 with BOM and tabs; a truncated last line (power lost while writing)."""
    _plot, device, _token = greenhouse
    text = "时间\tCO2\t土壤温度\r\n2026-11-28 08:00\t450\t12.5\r\n2026-11-28 08:10\t455\r\n"
    mapping = Mapping(time_column="时间", columns={"co2": "CO2", "soil_temperature": ("土壤温度", "℃")})
    report = import_csv(device, text.encode("utf-16"), mapping, now=NOW)
    assert (report.encoding, report.delimiter, report.imported) == ("utf-16", "\t", 3)
    assert report.rejected == [{"line": 3, "column": "土壤温度", "metric": "soil_temperature",
                                "reason": "missing cell (the line has 2 fields)"}]


def test_future_times_and_lost_clocks_are_refused_old_history_is_not(greenhouse):
    """A file is history: 2024 is taken although ingest's window for live devices is 400 days. A logger that lost
    its clock restarts at 2000-01-01 or 1970 (epoch 0): those times are before the floor (2001-01-01 UTC)."""
    _plot, device, _token = greenhouse
    data = (b"t,co2\n2026-11-28 08:00,450\n2026-11-30 08:00,451\n2024-01-01 08:00,452\n2000-01-01 00:15,453\n"
            b"1970-01-01 08:30,454\n")
    report = import_csv(device, data, Mapping(time_column="t", columns={"co2": "co2"}), now=NOW)
    assert [(r["line"], r["reason"]) for r in report.rejected] == [(3, "timestamp in the future"),
                                                                   (5, "timestamp before 2001-01-01"),
                                                                   (6, "timestamp before 2001-01-01")]
    assert stored(device, "co2") == {utc(2026, 11, 28, 8): 450, utc(2024, 1, 1, 8): 452}


def test_peek_shows_the_first_rows():
    peek = csv_import.peek(load("greenhouse_controller_gbk.csv"), rows=2)
    assert (peek.encoding, peek.delimiter) == ("gb18030", ",")
    assert peek.rows == [(1, ["时间", T, H, C]), (2, ["2026/11/28 08:00:00", "12.4", "86.5", "452"])]


# ---------------------------------------------------------------- the command


@pytest.fixture
def fixed_now(monkeypatch):
    """The command judges times by the clock; the files' times are judged as on the day they were written."""
    monkeypatch.setattr(service, "utcnow", lambda: NOW)


def test_cli_imports_a_file_and_again_nothing_new(app, greenhouse, fixed_now):
    runner = app.test_cli_runner()
    args = ["import-csv", "gh1-station", str(LOGGERS / "greenhouse_controller_gbk.csv"), "--time-column", "时间",
            "--column", "air_temperature=空气温度(℃):Cel", "--column", "air_humidity=空气湿度(%RH):%RH",
            "--column", "co2=CO2(ppm)", "--max-rejected", "15"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("gh1-station: 13 rows read (gb18030, header on line 1, data from line 2); "
                        "29 readings imported, 0 duplicates, 3 conflicting, 5 rejected")
    assert "line 5, 空气温度(℃): same time as line 4 but 13.7 instead of 13.6; kept line 4's" in lines
    assert "line 10: time goes back to 2026/11/28 08:55:00 (line 9: 2026-11-28T09:00:00)" in lines
    assert "line 6, 空气湿度(%RH): 101.3 %RH is outside 0..100" in lines
    assert "line 13, 时间: not a date and time: '2026/13/28 11:50:00'" in lines
    assert Reading.select().count() == 29

    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert "0 readings imported, 29 duplicates, 3 conflicting, 5 rejected" in again.output
    assert Reading.select().count() == 29


def test_cli_headerless_file_with_an_explicit_format(app, greenhouse, fixed_now):
    result = app.test_cli_runner().invoke(args=[
        "import-csv", "gh1-station", str(LOGGERS / "soil_logger_semicolon_noheader.csv"), "--no-header",
        "--delimiter", "semicolon", "--time-column", "0", "--format", "%d.%m.%Y %H:%M", "--tz", "Asia/Shanghai",
        "--column", "soil_moisture=1:%", "--column", "soil_temperature=2:Cel", "--column", "soil_ec=3:uS/cm",
        "--max-rejected", "25"])
    assert result.exit_code == 0, result.output
    assert ("9 rows read (utf-8, no header, data from line 1); 14 readings imported, 1 duplicates, 2 conflicting, "
            "6 rejected") in result.output
    # With an explicit format, the ISO row on line 8 is refused like hour 25 on line 7.
    assert "line 7, 0: '26.11.2026 25:00' does not match the time format '%d.%m.%Y %H:%M'" in result.output
    assert "line 8, 0: '2026-11-26 12:00:00' does not match the time format '%d.%m.%Y %H:%M'" in result.output


@pytest.mark.parametrize("extra, message", [
    (["--column", "co2"], "is not METRIC=COL[:UNIT]"),
    (["--column", "co2=CO2(ppm)", "--tz", "Nowhere/Land"], "Unknown time zone 'Nowhere/Land'"),
    (["--column", "co2=CO2(ppm):K"], "The unit 'K' does not fit co2"),
])
def test_cli_reports_what_is_wrong(app, greenhouse, extra, message):
    result = app.test_cli_runner().invoke(args=[
        "import-csv", "gh1-station", str(LOGGERS / "greenhouse_controller_gbk.csv"), "--time-column", "时间"] + extra)
    assert result.exit_code != 0 and message in result.output
    assert Reading.select().count() == 0


def test_cli_unknown_device(app, greenhouse):
    result = app.test_cli_runner().invoke(args=[
        "import-csv", "nope", str(LOGGERS / "greenhouse_controller_gbk.csv"), "--time-column", "时间",
        "--column", "co2=CO2(ppm)"])
    assert result.exit_code == 1 and "no device with uid nope" in result.output


# ---------------------------------------------------------------- real exports of history


def hobo_greenhouse_export(start, days):
    """A HOBO MX2301 greenhouse logger read out with HOBOware after ``days`` days of 15-minute logging: UTF-8 with
    BOM, "Plot Title" preamble, "Date Time, GMT+08:00" header, US 12-hour times, CRLF. Returns (bytes, rows)."""
    lines = ['"Plot Title: 3号大棚 MX2301"',
             '"#","Date Time, GMT+08:00","Temp, °C (LGR S/N: 21034599, SEN S/N: 21034599)",'
             '"RH, % (LGR S/N: 21034599, SEN S/N: 21034599)","Logged (LGR S/N: 21034599)"']
    rows = days * 96
    for i in range(rows):
        t = start + dt.timedelta(minutes=15 * i)
        lines.append(f"{i + 1},{t:%m/%d/%y %I:%M:%S %p},{15 + (i % 96) / 8:.3f},{90 - (i % 96) / 3:.2f},")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"), rows


def test_a_years_history_from_a_greenhouse_logger_is_imported_and_kept_as_rollups(app, greenhouse, monkeypatch):
    """A HOBO greenhouse logger's 15-minute export over 450 days (43,200 rows). Every row used to be refused as
    "too far in the past" (the 400-day window for live devices). Now all is stored; what is older than the raw
    retention is counted in the report, and after the nightly clean-up its hourly and daily rollups remain."""
    _plot, device, _token = greenhouse
    start = dt.datetime(2025, 9, 4)  # Shanghai midnight; the export ends on 2026-11-27, two days before NOW
    data, rows = hobo_greenhouse_export(start, 450)
    report = import_csv(device, data, HOBO, now=NOW, retention_days=400)

    assert (report.rows_read, report.rejected_count, report.imported) == (rows, 0, 2 * rows)
    assert report.backwards == [] and report.conflicts == []
    cutoff = NOW - dt.timedelta(days=400)
    old = Reading.select().where((Reading.device == device) & (Reading.ts < cutoff)).count()
    assert old > 0 and report.older_than_retention == old

    monkeypatch.setattr(service, "utcnow", lambda: NOW)
    assert service.purge_raw(400) == old  # the nightly clean-up
    assert Reading.select().where(Reading.device == device).count() == 2 * rows - old
    first_day = Rollup.get((Rollup.device == device) & (Rollup.metric == "air_temperature")
                           & (Rollup.period == "day") & (Rollup.start == utc(2025, 9, 4)))
    assert (first_day.count, first_day.minimum, first_day.maximum) == (96, 15.0, pytest.approx(15 + 95 / 8))
    hours = Rollup.select().where((Rollup.device == device) & (Rollup.metric == "air_humidity")
                                  & (Rollup.period == "hour") & (Rollup.start < cutoff))
    assert hours.count() == old // 2 // 4 and all(h.count == 4 for h in hours)


def soil_station_export(start, days, month_first=()):
    """An hourly soil station export opened and saved again in Excel (Chinese Windows): UTF-8 with BOM, CRLF,
    DD/MM/YYYY HH:MM. Rows whose day falls in ``month_first`` [(year, month)], days 1 to 12, are written
    MM/DD/YYYY, as when someone pasted weeks from another export. Returns (bytes, [(true local time, line)])."""
    lines = ["日期时间,土壤含水量(%),土壤温度(℃),电导率(uS/cm)"]
    times = []
    for i in range(days * 24):
        t = start + dt.timedelta(hours=i)
        swapped = (t.year, t.month) in month_first and t.day <= 12
        stamp = f"{t:%m/%d/%Y %H:%M}" if swapped else f"{t:%d/%m/%Y %H:%M}"
        lines.append(f"{stamp},{30 + (i % 24) / 10:.1f},{12 + (i % 24) / 4:.2f},{400 + i % 24}")
        times.append((t, len(lines), swapped))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"), times


SOIL_STATION = Mapping(time_column="日期时间", columns={"soil_moisture": "土壤含水量(%)",
                                                     "soil_temperature": "土壤温度(℃)",
                                                     "soil_ec": ("电导率(uS/cm)", "uS/cm")})


def test_weeks_written_month_first_in_a_day_first_file_are_refused_by_line(greenhouse):
    """Two years of an hourly soil station, DD/MM/YYYY, where days 1-12 of four months were pasted in MM/DD/YYYY
    (3,168 readings on 11 ambiguous days a month). Those dates all read as valid day/month dates months away: they used to be stored on the
    wrong days without a word. Now each of those lines is refused, saying why, and nothing is misdated."""
    _plot, device, _token = greenhouse
    swapped_months = [(2025, 3), (2025, 7), (2025, 11), (2026, 4)]
    data, times = soil_station_export(dt.datetime(2024, 11, 29), 730, swapped_months)
    report = import_csv(device, data, SOIL_STATION, now=NOW)

    bad = [(t, line) for t, line, swapped in times if swapped and t.day != t.month]
    assert len(bad) * 3 == 3_168  # 11 days a month (03/03 reads the same either way) x 24 h x 4 months x 3
    assert [r["line"] for r in report.rejected] == [line for _t, line in bad]
    first = report.rejected[0]
    assert first["line"] == bad[0][1] and first["column"] == "日期时间" and (
        first["reason"] == "'03/01/2025 00:00' read day/month like the rest of the column is 2025-01-03 00:00, out of "
        f"sequence after line {bad[0][1] - 1}; read month/day (2025-03-01 00:00) it follows on: the file mixes date "
        "orders")
    expected = {utc(*t.timetuple()[:5]) for t, _line, swapped in times if not swapped or t.day == t.month}
    assert set(stored(device, "soil_moisture")) == expected  # every stored time is the true one
    assert report.imported == 3 * len(expected) and report.backwards == []


def test_a_column_split_between_date_orders_is_refused_naming_lines(greenhouse):
    """A soil station export saved in Excel twice, once with a day-first and once with a month-first locale:
    as many 13/11 dates as 11/14 ones. Refused as a whole, naming the lines of each kind."""
    _plot, device, _token = greenhouse
    data = ("\ufeff日期时间,土壤含水量(%)\r\n13/11/2026 08:00,31.2\r\n14/11/2026 08:00,31.0\r\n"
            "11/15/2026 08:00,30.8\r\n11/16/2026 08:00,30.7\r\n").encode("utf-8")
    with pytest.raises(CsvImportError) as e:
        import_csv(device, data, Mapping(time_column="日期时间", columns={"soil_moisture": "土壤含水量(%)"}), now=NOW)
    assert e.value.code == "mixed_date_order" and "(lines 2, 3)" in e.value.message and "(lines 4, 5)" in e.value.message
    assert Reading.select().count() == 0


def test_a_minority_of_month_first_dates_is_refused_by_line(greenhouse):
    """A day-first Excel export with one pasted month-first row (11/13/2026): that row is refused, not guessed."""
    _plot, device, _token = greenhouse
    data = ("\ufeff日期时间,土壤含水量(%)\r\n12/11/2026 08:00,31.2\r\n13/11/2026 08:00,31.0\r\n"
            "11/14/2026 08:00,30.8\r\n15/11/2026 08:00,30.7\r\n").encode("utf-8")
    report = import_csv(device, data, Mapping(time_column="日期时间", columns={"soil_moisture": "土壤含水量(%)"}),
                        now=NOW)
    assert [(r["line"], r["reason"]) for r in report.rejected] == [
        (4, "'11/14/2026 08:00' is written month/day, but the rest of the column is day/month: the file mixes date "
            "orders")]
    assert set(stored(device, "soil_moisture")) == {utc(2026, 11, 12, 8), utc(2026, 11, 13, 8), utc(2026, 11, 15, 8)}


def test_a_clock_set_back_is_reported_by_line(greenhouse):
    """A Campbell CR1000X TOA5 hourly table whose clock was synchronised one hour back at 2026-11-27 04:00: the
    next record repeats 03:00 with other values, and times go back. Each backwards step is reported by line."""
    _plot, device, _token = greenhouse
    head = ('"TOA5","GH3_CR1000X","CR1000X","4521","CR1000X.Std.05.02","CPU:greenhouse3.CR1X","27261","Hourly"\r\n'
            '"TIMESTAMP","RECORD","AirT_Avg","RH"\r\n"TS","RN","Deg C","%"\r\n"","","Avg","Smp"\r\n')
    stamps = ["01:00", "02:00", "03:00", "04:00", "03:00", "04:00", "05:00"]
    body = "".join(f'"2026-11-27 {s}:00",{812 + i},{10 + i / 10:.2f},{88 - i}\r\n' for i, s in enumerate(stamps))
    mapping = Mapping(time_column="TIMESTAMP", columns={"air_temperature": ("AirT_Avg", "Deg C"), "air_humidity": "RH"})
    report = import_csv(device, (head + body).encode(), mapping, now=NOW)
    assert report.backwards == [{"line": 9, "time": "2026-11-27 03:00:00", "previous_line": 8,
                                 "previous_time": "2026-11-27 04:00:00"}] and report.backwards_count == 1
    assert [(c["line"], c["first_line"], c["metric"]) for c in report.conflicts] == [
        (9, 7, "air_temperature"), (9, 7, "air_humidity"), (10, 8, "air_temperature"), (10, 8, "air_humidity")]
    assert report.imported == 10


def test_a_header_name_used_twice_is_refused_naming_both_columns(greenhouse):
    """A greenhouse controller export (GBK) titling both the air and the soil temperature "温度": mapping "温度"
    used to take the first silently. Refused, naming both positions; nothing stored."""
    _plot, device, _token = greenhouse
    data = ("时间,温度,湿度,温度,含水量\r\n2026/11/28 08:00:00,12.4,86.5,14.1,31.2\r\n"
            "2026/11/28 08:10:00,12.9,85.1,14.1,31.1\r\n").encode("gbk")
    mapping = Mapping(time_column="时间", columns={"soil_temperature": "温度", "soil_moisture": "含水量"})
    with pytest.raises(CsvImportError) as e:
        import_csv(device, data, mapping, now=NOW)
    assert e.value.code == "duplicate_header" and e.value.fields == {"columns": e.value.message}
    assert "column 1 ('温度') and column 3 ('温度')" in e.value.message
    assert Reading.select().count() == 0
    # By number, the file is fine.
    report = import_csv(device, data, Mapping(time_column="时间", columns={"soil_temperature": 3,
                                                                        "soil_moisture": "含水量"}), now=NOW)
    assert report.imported == 4 and stored(device, "soil_temperature")[utc(2026, 11, 28, 8)] == 14.1


def test_cli_fails_when_nothing_is_stored_or_too_much_is_rejected(app, greenhouse, fixed_now, tmp_path):
    """An hourly soil station export whose logger lost its clock (every time 2000-01-01, the reset date): nothing
    stored, exit 1. The same station with one row of sensor errors in 10: 10% > the default 5%, exit 1 (the rest stays
    stored); with --max-rejected 20, exit 0."""
    runner = app.test_cli_runner()
    reset = "".join(f"01.01.2000 {h:02d}:00;31,{h};12,0;410\n" for h in range(10))
    path = tmp_path / "soil_reset.csv"
    path.write_bytes(reset.encode())
    args = ["import-csv", "gh1-station", str(path), "--no-header", "--time-column", "0", "--tz", "Asia/Shanghai",
            "--column", "soil_moisture=1:%", "--column", "soil_temperature=2:Cel", "--column", "soil_ec=3:uS/cm"]
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and "nothing of the file is stored" in result.output
    assert "line 1, 1: timestamp before 2001-01-01" in result.output

    rows = "".join(f"26.11.2026 {h:02d}:00;" + ("65535;65535;65535" if h == 5 else "31,2;12,0;410") + "\n"
                   for h in range(10))
    path.write_bytes(rows.encode())
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and "10.0% of the readings were rejected (more than --max-rejected 5%)" in result.output
    assert Reading.select().count() == 27
    again = runner.invoke(args=args + ["--max-rejected", "20"])
    assert again.exit_code == 0, again.output
    assert "0 readings imported, 27 duplicates" in again.output
