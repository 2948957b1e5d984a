"""Reading inspectors' and enterprises' spreadsheets: one test per behaviour of the loader.

Every fixture is generated at run time under tmp_path (csv / openpyxl / json, encodings via str.encode). Each test
asserts the exact value read, the exact rejection reason (a fragment of it) and the accounting: for every table,
rows == evaluated + rejected, `rejected` counts only the rejections of scope "row", and the records are the
evaluated rows.

Tests marked xfail(strict=True) state the right behaviour of something the engine does wrong today; the reason
says what happens instead.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

import engine.csv_reader
import engine.json_reader
from engine.errors import ConfigError, InputError
from engine.findings import SCOPE_ZH
from engine.records import load_file
from engine.report_writers import REJECT_COLUMNS, REJECT_COLUMNS_ZH
from engine.runner import check as run_check, evaluate_records, regions_of
from engine.template import header_of, template_xlsx
from tests.conftest import cli_run


@pytest.fixture(autouse=True, scope="module")
def _both_readers(both_readers):
    """Every table read in this module goes through the column-wise and the row-by-row reader, which must agree.
    (This is the loader's differential test: the records, rejection reasons and their order must be identical.)"""


ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2021, 12, 31)
NOTE_ROW = "说明行或合计行"

BOILER_HEADER = ["使用单位", "锅炉编号", "市州", "燃料种类", "测试类型", "出厂日期", "测试日期", "额定蒸发量（t/h）",
                 "热效率（%）"]
BOILER_ROW = ["兰州某热力有限公司", "GL-1", "兰州市", "燃煤", "验收", "2021-03-15", "2021-10-20", "20", "78.6"]
BOILER_VALUES = {"unit_name": "兰州某热力有限公司", "boiler_id": "GL-1", "region": "兰州", "fuel": "coal",
                 "test_type": "acceptance", "manufactured_on": dt.date(2021, 3, 15),
                 "tested_on": dt.date(2021, 10, 20), "capacity_t_h": 20.0, "efficiency_pct": 78.6}
EFF = BOILER_HEADER.index("热效率（%）")

PREF_HEADER = ["市州", "年度", "单位GDP能耗累计降幅（%）", "能源消费总量（万吨标准煤）", "化学需氧量排放量（吨）",
               "氨氮排放量（吨）", "二氧化硫排放量（吨）", "氮氧化物排放量（吨）", "环境质量改善目标是否完成"]
PREF_ROW = ["兰州市", "2020", "19.2", "2950", "36000", "6700", "55000", "66000", "是"]
PREF_VALUES = {"prefecture": "兰州", "year": 2020, "intensity_reduction_pct": 19.2,
               "energy_consumption_10k_tce": 2950.0, "cod_t": 36000.0, "nh3n_t": 6700.0, "so2_t": 55000.0,
               "nox_t": 66000.0, "env_quality_target_met": True}

COAL_HEADER = ["样品编号", "销售单位", "市州", "灰分（Ad）", "全硫（%）", "抽检日期"]
COAL_ROW = ["S-1", "兰州某煤炭经营部", "兰州市", "25.1", "0.5", "2021-05-01"]

PROJECT_HEADER = ["项目代码", "项目名称", "建设单位", "所在市州", "是否高耗能项目", "是否新增排放重点污染物", "审批状态"]
PROJECT_ROW = ["2021-620100-01", "某化工项目", "某化工有限公司", "兰州市", "是", "否", "待审批"]


# ------------------------------------------------------------------------------------------------ helpers

def csv_text(rows, delimiter=",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def write_csv(path: Path, rows, encoding="utf-8", delimiter=",") -> Path:
    path.write_bytes(csv_text(rows, delimiter).encode(encoding))
    return path


def boiler(*changes, **by_header) -> list:
    """The standard boiler row with some cells changed: boiler(('锅炉编号', 'GL-2'), ...) or 热效率=..."""
    row = list(BOILER_ROW)
    for header, value in list(changes) + list(by_header.items()):
        row[BOILER_HEADER.index(header)] = value
    return row


def column(name: str) -> int:
    """The position of a boiler header, by its name without the unit: column('热效率') -> 8."""
    return next(n for n, h in enumerate(BOILER_HEADER) if h == name or h.startswith(name + "（"))


def with_id(n, **changes) -> list:
    row = boiler(("锅炉编号", f"GL-{n}"))
    for name, value in changes.items():
        row[column(name)] = value
    return row


def write_xlsx(path: Path, sheets: dict, setup=None) -> Path:
    """sheets: name -> list of rows; setup(workbook) may merge, hide or format before saving."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    if setup:
        setup(workbook)
    workbook.save(path)
    return path


def assert_accounting(loaded):
    """rows == evaluated + rejected per table; `rejected` = row-scope rejections; records = evaluated rows."""
    for table in loaded.tables:
        assert table.rows == table.evaluated + table.rejected, table
        row_rejections = [r for r in loaded.rejected if r.file == table.path and r.scope == "row"]
        assert table.rejected == len(row_rejections), (table, row_rejections)
        records = [r for r in loaded.records if r.source.file == table.path]
        assert len(records) == table.evaluated, table
    assert len(loaded.records) == sum(t.evaluated for t in loaded.tables)
    assert {r.scope for r in loaded.rejected} <= {"row", "value"}
    assert {r.file for r in loaded.rejected} <= {t.path for t in loaded.tables}


def load(path, ruleset, kind=None, sheet=None):
    loaded = load_file(Path(path), ruleset.schemas, regions_of(ruleset), kind=kind, sheet=sheet)
    assert_accounting(loaded)
    return loaded


def only_record(loaded):
    assert len(loaded.records) == 1, [r.values for r in loaded.records]
    return loaded.records[0]


def value_rejections(loaded):
    return [r for r in loaded.rejected if r.scope == "value"]


def statuses(ruleset, records, rule_id):
    results, _ = evaluate_records(ruleset, records, AS_OF)
    return {r.subject.id: r.status for r in results if r.rule_id == rule_id}


def cli(*args, timeout=120) -> subprocess.CompletedProcess:
    """`ecocheck ARGS` in this process (engine.cli.main under click's test isolation): never a traceback or an
    internal error. (`timeout` is kept for the callers; in-process runs are not timed out.)"""
    proc = cli_run(*args)
    assert "internal error" not in proc.stderr, proc.stderr
    return proc


def read_bom_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


# ------------------------------------------------------------------------------------------------ encodings

CHINESE_ROWS = [BOILER_HEADER, BOILER_ROW,
                with_id(2, 使用单位="甘南某宾馆（锅炉房）", 市州="甘南藏族自治州", 燃料种类="天然气", 测试类型="定型",
                        出厂日期="2022年5月1日", 测试日期="2022/11/3")]


@pytest.mark.parametrize("encoding, note", [
    ("utf-8", None),
    ("utf-8-sig", None),
    ("gbk", "按 GB18030/GBK 编码读取（不是 UTF-8）"),
    ("gb18030", "按 GB18030/GBK 编码读取（不是 UTF-8）"),
])
def test_encodings_give_identical_records(tmp_path, ruleset, encoding, note):
    reference = load(write_csv(tmp_path / "ref.csv", CHINESE_ROWS), ruleset)
    path = write_csv(tmp_path / f"boilers_{encoding}.csv", CHINESE_ROWS, encoding=encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    loaded = load(path, ruleset)
    assert [(r.id, r.values, r.source.row) for r in loaded.records] == \
           [(r.id, r.values, r.source.row) for r in reference.records]
    assert loaded.records[0].values == BOILER_VALUES
    assert loaded.records[1].values["unit_name"] == "甘南某宾馆（锅炉房）"
    assert loaded.records[1].values["region"] == "甘南"
    assert loaded.records[1].values["fuel"] == "gas"
    table = loaded.tables[0]
    assert (table.rows, table.evaluated, table.rejected) == (2, 2, 0)
    assert table.unknown_columns == []
    assert loaded.rejected == []
    if note:
        assert note in table.notes
    else:
        assert not any("GB18030" in n for n in table.notes)


def test_gb18030_four_byte_character_is_read(tmp_path, ruleset):
    name = "𠮷祥热力有限公司"  # 𠮷 is not in GBK: four bytes in GB18030
    path = write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("使用单位", name))], encoding="gb18030")
    assert only_record(load(path, ruleset)).values["unit_name"] == name


@pytest.mark.parametrize("delimiter, note", [
    (",", None),
    ("\t", "列以 TAB 分隔"),
    (";", "列以 ';' 分隔"),
])
def test_delimiters(tmp_path, ruleset, delimiter, note):
    path = write_csv(tmp_path / "b.csv", CHINESE_ROWS, delimiter=delimiter)
    loaded = load(path, ruleset)
    assert loaded.records[0].values == BOILER_VALUES
    assert [r.id for r in loaded.records] == ["GL-1", "GL-2"]
    table = loaded.tables[0]
    assert (table.rows, table.evaluated, table.rejected) == (2, 2, 0)
    assert not any("分隔" in n for n in table.notes) if note is None else note in table.notes


@pytest.mark.parametrize("cell", [";", ";;", " ; "])  # (a row of only a TAB is blank: whitespace)
def test_a_one_column_file_keeps_a_row_of_only_a_delimiter_character(tmp_path, ruleset, cell):
    """A file of one column (样品编号) with a row holding only ";" (found by the fuzz test): no delimiter separates two
    cells with text anywhere, so the file is read with commas and the row is a cell that is counted, not a blank row
    of a semicolon file left out of the count."""
    path = tmp_path / "c.csv"
    path.write_bytes(f"样品编号\r\n{cell}\r\n".encode("utf-8"))
    loaded = load(path, ruleset, kind="coal_sample")
    table = loaded.tables[0]
    assert table.rows == 1 and table.rows == table.evaluated + table.rejected
    assert not any("分隔" in n for n in table.notes)


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_a_header_with_a_comma_does_not_make_a_tab_or_semicolon_file_a_comma_file(tmp_path, ruleset, delimiter):
    """The coal samples' sulfur header is written 全硫St,d（%）: a tab- or semicolon-separated export with one more comma
    in a cell (1,234) has one comma on every line, as many as csv's Sniffer needs to call it a comma file (found by
    the fuzz test, seed 9076 of coal_sample). The delimiter that gives the most cells wins."""
    header = ["样品编号", "销售单位", "市州", "灰分Ad（%）", "全硫St,d（%）", "抽检日期"]
    rows = [["S-1", "兰州某煤炭经营部,一部", "兰州市", "25.1", "0.5", "2021-05-01"],
            ["S-2", "天水某经营部", "天水市", "12.0", "1,2", "2021-05-02"]]  # (one comma a line, as in the header)
    path = tmp_path / "c.csv"
    path.write_bytes(("\r\n".join(delimiter.join(row) for row in [header] + rows) + "\r\n").encode("gb18030"))
    loaded = load(path, ruleset)
    assert [t.kind for t in loaded.tables] == ["coal_sample"]
    first, second = loaded.records
    assert (first.id, first.values["ash_pct"], first.values["sulfur_pct"]) == ("S-1", 25.1, 0.5)
    assert first.values["seller"] == "兰州某煤炭经营部,一部" and "sulfur_pct" not in second.values  # (1,2: no number)
    assert loaded.tables[0].unknown_columns == []


def test_semicolon_file_with_thousand_separators(tmp_path, ruleset):
    rows = [PREF_HEADER, ["兰州市", "2020", "19.2", "2,950", "36,000", "6,700", "55,000", "66,000", "是"],
            ["天水市", "2020", "13.5", "310", "19,000", "2,500", "11,000", "17,500", "是"]]
    loaded = load(write_csv(tmp_path / "p.csv", rows, delimiter=";"), ruleset)
    assert loaded.records[0].values == PREF_VALUES
    assert loaded.records[1].values["cod_t"] == 19000.0
    assert loaded.rejected == []


def test_gbk_with_chinese_only_after_the_sniffed_prefix(tmp_path, ruleset):
    header = ["operator", "boiler id", "prefecture", "fuel type", "test type", "manufacture date", "test date",
              "rated capacity", "efficiency"]
    rows = [header] + [[f"Lanzhou Heating Co {n}", f"GL-{n}", "Lanzhou", "coal", "acceptance", "2021-03-15",
                        "2021-10-20", "20", "85.0"] for n in range(3500)]
    rows.append(["兰州某热力有限公司", "GL-X", "兰州市", "燃煤", "验收", "2021-03-15", "2021-10-20", "20", "85.0"])
    path = write_csv(tmp_path / "b.csv", rows, encoding="gbk")
    assert path.stat().st_size > engine.csv_reader.SNIFF_BYTES
    loaded = load(path, ruleset)
    assert len(loaded.records) == 3501
    assert loaded.records[-1].values["unit_name"] == "兰州某热力有限公司"


def test_blank_lines_skipped_row_numbers_kept(tmp_path, ruleset):
    path = tmp_path / "b.csv"
    path.write_text(csv_text([BOILER_HEADER, with_id(1)]) + "\r\n,,,,,,,,\r\n" + csv_text([with_id(2)]),
                    encoding="utf-8")
    loaded = load(path, ruleset)
    assert [(r.id, r.source.row) for r in loaded.records] == [("GL-1", 2), ("GL-2", 5)]
    assert (loaded.tables[0].rows, loaded.tables[0].evaluated, loaded.tables[0].rejected) == (2, 2, 0)


def test_utf16_text_is_a_clear_input_error(tmp_path, ruleset):
    path = tmp_path / "unicode.txt"  # Excel's "Unicode Text" export
    path.write_bytes(csv_text([BOILER_HEADER, BOILER_ROW], "\t").encode("utf-16"))
    with pytest.raises(InputError, match="无法识别文字编码"):
        load(path, ruleset)


def test_csv_title_row_padded_with_delimiters(tmp_path, ruleset):
    rows = [["2021年锅炉能效测试汇总表"] + [""] * 8, [""] * 9, BOILER_HEADER, BOILER_ROW]
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    record = only_record(loaded)
    assert record.values == BOILER_VALUES and record.source.row == 4
    assert "表头在第3行；上面的 2 行作为标题跳过" in loaded.tables[0].notes


def test_csv_title_line_without_padding(tmp_path, ruleset):
    path = tmp_path / "b.csv"
    path.write_text("2021年锅炉能效测试汇总表\r\n" + csv_text([BOILER_HEADER, BOILER_ROW]), encoding="utf-8")
    loaded = load(path, ruleset)
    record = only_record(loaded)
    assert record.values == BOILER_VALUES and record.source.row == 3


def test_undecodable_bytes_are_an_input_error(tmp_path, ruleset):
    path = tmp_path / "b.csv"
    path.write_bytes(csv_text([BOILER_HEADER, BOILER_ROW]).encode("utf-8") + b"\xff\xfe\x80\x81,\xff\n")
    with pytest.raises(InputError):
        load(path, ruleset)


# ------------------------------------------------------------------------------------------------ XLSX layout

XLSX_ROW = ["兰州某热力有限公司", "GL-1", "兰州市", "燃煤", "验收", dt.datetime(2021, 3, 15),
            dt.datetime(2021, 10, 20), 20, 78.6]


def test_xlsx_merged_title_rows_above_header(tmp_path, ruleset):
    def setup(wb):
        wb["锅炉"].merge_cells("A1:I1")
    rows = [["2021年锅炉能效测试汇总表"], ["填报单位：兰州市市场监督管理局", None, None, None, None, None, None, "单位：t/h"],
            BOILER_HEADER, XLSX_ROW]
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}, setup), ruleset)
    record = only_record(loaded)
    assert record.values == BOILER_VALUES
    assert record.source.row == 4
    table = loaded.tables[0]
    assert "表头在第3行；上面的 2 行作为标题跳过" in table.notes
    assert (table.rows, table.evaluated, table.rejected) == (1, 1, 0)


COAL_TWO_ROW = [["样品编号", "销售单位", "市州", "煤质指标", None, "抽检日期"],
                [None, None, None, "灰分Ad", "全硫St,d", None],
                ["S-1", "兰州某煤炭经营部", "兰州市", 25.1, 0.9, dt.datetime(2021, 5, 1)]]
COAL_VALUES = {"sample_id": "S-1", "seller": "兰州某煤炭经营部", "region": "兰州", "ash_pct": 25.1, "sulfur_pct": 0.9,
               "sampled_on": dt.date(2021, 5, 1)}


def test_xlsx_merged_parent_header_over_sub_headers(tmp_path, ruleset):
    """煤质指标 merged over 灰分Ad / 全硫St,d; the other header cells merged down over both header rows."""
    def setup(wb):
        sheet = wb["煤样"]
        sheet.merge_cells("D1:E1")
        for column in "ABCF":
            sheet.merge_cells(f"{column}1:{column}2")
    loaded = load(write_xlsx(tmp_path / "c.xlsx", {"煤样": COAL_TWO_ROW}, setup), ruleset)
    record = only_record(loaded)
    assert loaded.kind == "coal_sample"
    assert record.values == COAL_VALUES
    assert record.source.row == 3
    assert loaded.rejected == []


def test_xlsx_merged_parent_header_without_vertical_merges(tmp_path, ruleset):
    def setup(wb):
        wb["煤样"].merge_cells("D1:E1")
    loaded = load(write_xlsx(tmp_path / "c.xlsx", {"煤样": COAL_TWO_ROW}, setup), ruleset)
    assert loaded.kind == "coal_sample"
    assert only_record(loaded).values == COAL_VALUES
    assert loaded.rejected == []


def test_xlsx_unit_row_under_header(tmp_path, ruleset):
    header = ["使用单位", "锅炉编号", "市州", "燃料种类", "测试类型", "出厂日期", "测试日期", "额定蒸发量", "热效率"]
    units = [None, None, None, None, None, None, None, "t/h", "%"]
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": [header, units, XLSX_ROW]}), ruleset)
    record = only_record(loaded)
    assert record.values == BOILER_VALUES
    assert record.source.row == 3
    table = loaded.tables[0]
    assert "第2行读作各列的单位" in table.notes
    assert (table.rows, table.evaluated, table.rejected) == (1, 1, 0)


def test_a_row_under_the_header_holding_a_number_is_data_not_units(tmp_path, ruleset):
    """A plain number (78.6) is a value, never a unit: the row is a record without an id, counted and rejected, where
    it was once read as the units of the columns and left out of the count. A row of units still is one."""
    header = ["使用单位", "锅炉编号", "市州", "燃料种类", "测试类型", "出厂日期", "测试日期", "额定蒸发量", "热效率"]
    loaded = load(write_csv(tmp_path / "b.csv", [header, ["", "", "", "", "", "", "", "t/h", "78.6"], BOILER_ROW]),
                  ruleset)
    table = loaded.tables[0]
    assert not any("单位" in note for note in table.notes)
    assert (table.rows, table.evaluated, table.rejected) == (2, 1, 1)
    assert [r.row for r in loaded.rejected if r.scope == "row"] == [2]
    units = load(write_csv(tmp_path / "u.csv", [header, ["", "", "", "", "", "", "", "t/h", "%"], BOILER_ROW]), ruleset)
    assert "第2行读作各列的单位" in units.tables[0].notes
    assert (units.tables[0].rows, units.tables[0].evaluated, units.tables[0].rejected) == (1, 1, 0)


def test_a_json_record_that_looks_like_units_is_a_record(tmp_path, ruleset):
    """Every item of a JSON list is a record (units go in the keys): one whose values read as units and that has no
    id is counted and rejected, not taken for a row of units (a fuzzed file, seed 27039817)."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"实际排放量（吨）": "T", "统一社会信用代码": "暂无", "备注": "%"}], ensure_ascii=False),
                    encoding="utf-8")
    loaded = load(path, ruleset, kind="discharge_permit")
    table = loaded.tables[0]
    assert (table.rows, table.evaluated, table.rejected) == (1, 0, 1) and table.notes == []


def test_xlsx_unit_row_with_conversion(tmp_path, ruleset):
    header = ["市州", "年度", "单位GDP能耗累计降幅", "能源消费总量", "化学需氧量排放量", "氨氮排放量", "二氧化硫排放量",
              "氮氧化物排放量", "环境质量改善目标是否完成"]
    units = [None, None, "%", "万吨标准煤", "万吨", "吨", "吨", "吨", None]
    row = ["兰州市", 2020, 19.2, 2950, 3.6, 6700, 55000, 66000, "是"]
    loaded = load(write_xlsx(tmp_path / "p.xlsx", {"考核": [header, units, row]}), ruleset)
    assert only_record(loaded).values == PREF_VALUES
    notes = loaded.tables[0].notes
    assert "第2行读作各列的单位" in notes
    assert "化学需氧量排放量：由 万吨 换算为 吨（×10000）" in notes


def test_xlsx_unit_row_with_a_unit_of_an_unused_column(tmp_path, ruleset):
    header = ["市州", "年度", "地区生产总值", "单位GDP能耗累计降幅", "能源消费总量", "化学需氧量排放量", "氨氮排放量",
              "二氧化硫排放量", "氮氧化物排放量", "环境质量改善目标是否完成"]
    units = [None, None, "亿元", "%", "万吨标准煤", "万吨", "万吨", "万吨", "万吨", None]
    row = ["兰州市", 2020, 2800, 19.2, 2950, 3.6, 0.67, 5.5, 6.6, "是"]
    loaded = load(write_xlsx(tmp_path / "p.xlsx", {"考核": [header, units, row]}), ruleset)
    record = only_record(loaded)
    # converted, or set aside with a reason: never a value 10000 times too small
    assert record.values.get("cod_t") in (36000.0, None)
    assert record.values.get("nh3n_t") in (6700.0, None)
    assert [r for r in loaded.rejected if r.scope == "row"] == []


def test_xlsx_note_and_total_rows_are_rejected_and_counted(tmp_path, ruleset):
    rows = [BOILER_HEADER, XLSX_ROW, ["合计", None, None, None, None, None, None, 20, None],
            ["注：热效率为正平衡测试结果。"], ["资料来源：省特种设备检验检测研究院"]]
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}), ruleset)
    assert only_record(loaded).values == BOILER_VALUES
    table = loaded.tables[0]
    assert (table.rows, table.evaluated, table.rejected) == (4, 1, 3)
    assert [(r.row, r.value, r.scope) for r in loaded.rejected] == [
        (3, "合计", "row"), (4, "注：热效率为正平衡测试结果。", "row"), (5, "资料来源：省特种设备检验检测研究院", "row")]
    assert all(NOTE_ROW in r.reason for r in loaded.rejected)


def test_csv_note_and_total_rows(tmp_path, ruleset):
    rows = [BOILER_HEADER, BOILER_ROW, ["", "合计", "", "", "", "", "", "20", ""], ["注：测试依据GB/T 10180"] + [""] * 8]
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    assert only_record(loaded).values == BOILER_VALUES
    assert (loaded.tables[0].rows, loaded.tables[0].evaluated, loaded.tables[0].rejected) == (3, 1, 2)
    assert [(r.row, r.scope) for r in loaded.rejected] == [(3, "row"), (4, "row")]
    assert all(NOTE_ROW in r.reason for r in loaded.rejected)


def test_xlsx_merged_note_row_is_a_note(tmp_path, ruleset):
    def setup(wb):
        wb["锅炉"].merge_cells("A3:I3")
    rows = [BOILER_HEADER, XLSX_ROW, ["注：热效率为正平衡测试结果。"]]
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}, setup), ruleset)
    assert only_record(loaded).id == "GL-1"
    assert [(r.row, r.scope) for r in loaded.rejected] == [(3, "row")]
    assert NOTE_ROW in loaded.rejected[0].reason


def test_xlsx_merged_data_cells_near_the_top(tmp_path, ruleset):
    def setup(wb):
        wb["锅炉"].merge_cells("A2:A4")  # one operator for three boilers
    rows = [BOILER_HEADER] + [with_id(n) for n in range(1, 4)]
    for row in rows[2:]:
        row[0] = None
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}, setup), ruleset)
    assert [r.values.get("unit_name") for r in loaded.records] == ["兰州某热力有限公司"] * 3


def test_xlsx_merged_data_cells_further_down(tmp_path, ruleset):
    def setup(wb):
        wb["锅炉"].merge_cells("A2:A4")
        wb["锅炉"].merge_cells("A23:A25")
    rows = [BOILER_HEADER] + [with_id(n) for n in range(1, 25)]
    for n in (3, 4, 24, 25):
        rows[n - 1][0] = None
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}, setup), ruleset)
    assert [r.values.get("unit_name") for r in loaded.records] == ["兰州某热力有限公司"] * 24


def test_xlsx_formula_without_cached_value_is_not_lost_silently(tmp_path, ruleset):
    rows = [BOILER_HEADER, with_id(1, 热效率="=70+8.6")]
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}), ruleset)
    record = only_record(loaded)
    assert "efficiency_pct" not in record.values
    assert statuses(ruleset, loaded.records, "BOILER-001") == {"GL-1": "indeterminate"}
    told = [r for r in loaded.rejected if r.row == 2 and r.column == "热效率"] or \
        [n for n in loaded.tables[0].notes if "formula" in n.lower() or "公式" in n]
    assert told


OTHER_SHEET = [["说明"], ["本表由兰州市市场监督管理局填报"]]
COAL_SHEET = [["样品编号", "销售单位", "市州", "灰分（Ad）", "全硫（St,d）", "抽检日期"],
              ["S-1", "兰州某煤炭经营部", "兰州市", 25.1, 0.9, dt.datetime(2021, 5, 1)]]


def test_xlsx_two_kinds_in_one_workbook(tmp_path, ruleset):
    path = write_xlsx(tmp_path / "w.xlsx", {"锅炉": [BOILER_HEADER, XLSX_ROW], "汇总": OTHER_SHEET,
                                            "煤样": [COAL_HEADER, ["S-1", "兰州某煤炭经营部", "兰州市", 25.1, 0.9,
                                                                   dt.datetime(2021, 5, 1)]]})
    loaded = load(path, ruleset)
    assert [(t.path, t.kind, t.rows, t.evaluated, t.rejected) for t in loaded.tables] == [
        (f"{path}[锅炉]", "boiler", 1, 1, 0), (f"{path}[煤样]", "coal_sample", 1, 1, 0)]
    assert [r.kind for r in loaded.records] == ["boiler", "coal_sample"]
    assert loaded.records[0].values == BOILER_VALUES
    assert loaded.records[1].values == COAL_VALUES
    assert "跳过了不符合任何记录类型的工作表：汇总" in loaded.tables[0].notes


def test_xlsx_instruction_sheets_are_skipped_by_name(tmp_path, ruleset):
    path = write_xlsx(tmp_path / "w.xlsx", {"锅炉": [BOILER_HEADER, XLSX_ROW],
                                            "填表说明": [["使用单位", "锅炉编号"], ["填写全称", "注册代码"]]})
    loaded = load(path, ruleset)
    assert [t.kind for t in loaded.tables] == ["boiler"] and loaded.rejected == []
    assert "跳过填表说明、选项列表或隐藏的工作表：填表说明" in loaded.tables[0].notes


def test_xlsx_sheet_chooses_one(tmp_path, ruleset):
    path = write_xlsx(tmp_path / "w.xlsx", {"锅炉": [BOILER_HEADER, XLSX_ROW],
                                            "煤样": [COAL_HEADER, ["S-1", "兰州某煤炭经营部", "兰州市", 25.1, 0.9,
                                                                   dt.datetime(2021, 5, 1)]]})
    loaded = load(path, ruleset, sheet="煤样")
    assert [(t.path, t.kind, t.rows) for t in loaded.tables] == [(str(path), "coal_sample", 1)]
    assert only_record(loaded).values == COAL_VALUES
    with pytest.raises(InputError, match="没有名为“燃气”的工作表"):
        load(path, ruleset, sheet="燃气")


def test_xlsx_no_sheet_matches(tmp_path, ruleset):
    path = write_xlsx(tmp_path / "w.xlsx", {"汇总": OTHER_SHEET})
    with pytest.raises(InputError, match="不是 ecocheck 认识的记录类型"):
        load(path, ruleset)


def test_sulfur_header_with_basis_in_brackets(tmp_path, ruleset):
    path = write_xlsx(tmp_path / "c.xlsx", {"煤样": COAL_SHEET})
    loaded = load(path, ruleset)
    assert only_record(loaded).values == COAL_VALUES
    assert loaded.rejected == []


def test_cli_sheet_option(tmp_path):
    path = write_xlsx(tmp_path / "w.xlsx", {"锅炉": [BOILER_HEADER, XLSX_ROW],
                                            "煤样": [COAL_HEADER, ["S-1", "兰州某煤炭经营部", "兰州市", 25.1, 0.9,
                                                                   dt.datetime(2021, 5, 1)]]})
    proc = cli("check", path, "--as-of", AS_OF, "--format", "json", "--sheet", "锅炉", "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    inputs = json.loads(proc.stdout)["manifest"]["inputs"]
    assert [(i["path"], i["kind"], i["rows"], i["evaluated"], i["rejected"]) for i in inputs] == [
        (str(path), "boiler", 1, 1, 0)]


def test_xlsx_hidden_duplicate_column_is_ignored(tmp_path, ruleset):
    header = ["热效率（%）"] + BOILER_HEADER  # column A: a hidden, outdated efficiency
    row = [50.0] + XLSX_ROW

    def setup(wb):
        wb["锅炉"].column_dimensions["A"].hidden = True
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": [header, row]}, setup), ruleset)
    assert only_record(loaded).values == BOILER_VALUES
    table = loaded.tables[0]
    assert table.unknown_columns == []
    assert not any("隐藏" in n for n in table.notes)
    assert loaded.rejected == []


def test_xlsx_hidden_column_only_one_for_its_field(tmp_path, ruleset):
    def setup(wb):
        wb["锅炉"].column_dimensions["F"].hidden = True  # 出厂日期
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": [BOILER_HEADER, XLSX_ROW]}, setup), ruleset)
    assert only_record(loaded).values == BOILER_VALUES
    assert "读取了隐藏的列：出厂日期" in loaded.tables[0].notes


def test_xlsx_two_adjacent_hidden_columns(tmp_path, ruleset):
    def setup(wb):
        sheet = wb["锅炉"]
        sheet.column_dimensions.group("F", "G", hidden=True)  # 出厂日期, 测试日期 as one <col min=6 max=7>
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": [BOILER_HEADER, XLSX_ROW]}, setup), ruleset)
    assert only_record(loaded).values == BOILER_VALUES
    assert "读取了隐藏的列：出厂日期、测试日期" in loaded.tables[0].notes


def test_xlsx_percent_formatted_cells(tmp_path, ruleset):
    rows = [BOILER_HEADER, with_id(1), with_id(2)]
    rows[1][EFF], rows[2][EFF] = 0.853, 0.81

    def setup(wb):
        for cell in ("I2", "I3"):
            wb["锅炉"][cell].number_format = "0.0%"
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}, setup), ruleset)
    assert [r.values["efficiency_pct"] for r in loaded.records] == [85.3, 81.0]
    assert not any("小数" in n for n in loaded.tables[0].notes)
    assert loaded.rejected == []


def test_xlsx_date_cells_and_serial_numbers(tmp_path, ruleset):
    rows = [BOILER_HEADER, with_id(1), with_id(2)]
    rows[1][5], rows[1][6] = dt.datetime(2017, 1, 1), dt.date(2020, 1, 1)
    rows[2][5], rows[2][6] = 42736, 43831  # serials without a date format
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}), ruleset)
    for record in loaded.records:
        assert record.values["manufactured_on"] == dt.date(2017, 1, 1)
        assert record.values["tested_on"] == dt.date(2020, 1, 1)


def test_xlsx_numeric_id_cell_is_text_without_decimals(tmp_path, ruleset):
    rows = [BOILER_HEADER, ["兰州某热力有限公司", 1001, "兰州市", "燃煤", "验收", dt.datetime(2021, 3, 15), None, 20, 78.6],
            ["兰州某热力有限公司", 1002.0, "兰州市", "燃煤", "验收", dt.datetime(2021, 3, 15), None, 20, 78.6]]
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}), ruleset)
    assert [r.id for r in loaded.records] == ["1001", "1002"]


def test_csv_id_keeps_leading_zeros(tmp_path, ruleset):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("锅炉编号", "007"))]), ruleset)
    assert only_record(loaded).id == "007"


# ------------------------------------------------------------------------------------------------ headers

@pytest.mark.parametrize("header", ["热效率（%）", "热效率(%)", "热效率（％）", "热 效 率\n（%）", " 热效率 ", "锅炉热效率（%）",
                                    "热效率", "热效率（ % ）", "ＥＦＦＩＣＩＥＮＣＹ"])
def test_efficiency_header_spellings(tmp_path, ruleset, header):
    path = write_csv(tmp_path / "b.csv", [BOILER_HEADER[:EFF] + [header], BOILER_ROW])
    loaded = load(path, ruleset)
    assert only_record(loaded).values == BOILER_VALUES
    assert loaded.tables[0].unknown_columns == []
    assert loaded.rejected == []


@pytest.mark.parametrize("header", ["使 用 单 位", "使用\n单位", "　使用单位　"])
def test_header_spaces_line_breaks_full_width_spaces(tmp_path, ruleset, header):
    path = write_csv(tmp_path / "b.csv", [[header] + BOILER_HEADER[1:], BOILER_ROW])
    assert only_record(load(path, ruleset)).values == BOILER_VALUES


def test_unknown_column_reported_once_not_an_error(tmp_path, ruleset, monkeypatch):
    monkeypatch.setattr(engine.csv_reader, "CHUNK_ROWS", 2)
    rows = [BOILER_HEADER + ["备注信息"]] + [with_id(n) + [f"第{n}台"] for n in range(1, 6)]
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    assert len(loaded.tables) == 1
    assert loaded.tables[0].unknown_columns == ["备注信息"]
    assert [r.id for r in loaded.records] == [f"GL-{n}" for n in range(1, 6)]
    assert loaded.rejected == []
    assert "备注信息" not in loaded.records[0].values.values()


# ------------------------------------------------------------------------------------------------ values

def efficiency_of(tmp_path, ruleset, raw):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("热效率（%）", raw))]), ruleset)
    return only_record(loaded), loaded


@pytest.mark.parametrize("raw, expected", [
    ("85.3%", 85.3), ("85.3 %", 85.3), ("８５．３", 85.3), ("８５．３％", 85.3), (" 85.3 ", 85.3), ("85", 85.0),
    ("85.30", 85.3),
])
def test_efficiency_values(tmp_path, ruleset, raw, expected):
    record, loaded = efficiency_of(tmp_path, ruleset, raw)
    assert record.values["efficiency_pct"] == expected
    assert loaded.rejected == []


@pytest.mark.parametrize("raw, reason", [
    ("八十五", "“八十五”不是数值（单位 %）"),
    ("85.3.1", "不是数值（单位 %）"),
    ("185", "“185”超出可能的范围 0–100 %"),
    ("-5", "超出可能的范围"),
    ("=1+2", "不是数值"),
])
def test_unreadable_number_rejected_as_value(tmp_path, ruleset, raw, reason):
    record, loaded = efficiency_of(tmp_path, ruleset, raw)
    assert "efficiency_pct" not in record.values
    assert reason in record.problems["efficiency_pct"]
    [rejection] = loaded.rejected
    assert (rejection.scope, rejection.row, rejection.column, rejection.value) == ("value", 2, "热效率", raw)
    assert reason in rejection.reason
    assert loaded.tables[0].rejected == 0 and loaded.tables[0].evaluated == 1


HUGE = "numbers of 1e22 or more crash engine.conditions.rounded (decimal.InvalidOperation from round(Decimal, 6) " \
       "at 28-digit precision) instead of being rejected: load_file raises a non-ecocheck error"


@pytest.mark.parametrize("raw", ["1e22", "1e308", "10000000000000000000000",
                                 pytest.param("９" * 23, id="23-full-width-nines")])
def test_huge_number_is_rejected_not_a_crash(tmp_path, ruleset, raw):
    record, loaded = efficiency_of(tmp_path, ruleset, raw)
    assert "efficiency_pct" not in record.values
    [rejection] = loaded.rejected
    assert rejection.scope == "value" and "超出可能的范围 0–100" in rejection.reason


def test_huge_number_in_xlsx_is_rejected_not_a_crash(tmp_path, ruleset):
    rows = [BOILER_HEADER, XLSX_ROW[:7] + [1e300, 78.6]]
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": rows}), ruleset)
    record = only_record(loaded)
    assert record.values.get("capacity_t_h") in (None, 1e300)
    assert record.values["efficiency_pct"] == 78.6


def test_huge_number_does_not_stop_the_run(tmp_path):
    good = write_csv(tmp_path / "good.csv", [BOILER_HEADER, with_id(1, 热效率="70.0")])
    huge = write_csv(tmp_path / "huge.csv", [BOILER_HEADER, with_id(2, 额定蒸发量="1e30")])
    proc = cli("check", good, huge, "--as-of", AS_OF, "--format", "json")
    report = json.loads(proc.stdout)
    assert [i["path"] for i in report["manifest"]["inputs"]] == [str(good), str(huge)]
    assert any(f["subject"]["id"] == "GL-1" and f["status"] == "violation" for f in report["findings"])


@pytest.mark.parametrize("raw", ["85,3", "1,2345", "8,53.0", "85.3.0%"])
def test_decimal_comma_is_not_misread(tmp_path, ruleset, raw):
    record, loaded = efficiency_of(tmp_path, ruleset, raw)
    assert "efficiency_pct" not in record.values
    [rejection] = loaded.rejected
    assert rejection.scope == "value" and "不是数值（单位 %）" in rejection.reason


@pytest.mark.parametrize("raw", ["1,234.5", "1234.5", "１，２３４．５"])
def test_thousand_separators_in_tonnes(tmp_path, ruleset, raw):
    row = list(PREF_ROW)
    row[PREF_HEADER.index("化学需氧量排放量（吨）")] = raw
    loaded = load(write_csv(tmp_path / "p.csv", [PREF_HEADER, row]), ruleset)
    assert only_record(loaded).values["cod_t"] == 1234.5
    assert loaded.rejected == []


@pytest.mark.parametrize("raw", ["—", "——", "-", "/", "未检测", "无", "", "   ", "N/A", "不详"])
def test_missing_marks_are_missing_and_indeterminate(tmp_path, ruleset, raw):
    record, loaded = efficiency_of(tmp_path, ruleset, raw)
    assert "efficiency_pct" not in record.values
    assert loaded.rejected == []
    # a coal boiler made in 2021, acceptance test: BOILER-001 applies and cannot be judged without the efficiency
    assert statuses(ruleset, loaded.records, "BOILER-001") == {"GL-1": "indeterminate"}


def test_present_efficiency_is_judged(tmp_path, ruleset):
    record, loaded = efficiency_of(tmp_path, ruleset, "78.6")
    assert statuses(ruleset, loaded.records, "BOILER-001") == {"GL-1": "violation"}
    record, loaded = efficiency_of(tmp_path, ruleset, "80.0")
    assert statuses(ruleset, loaded.records, "BOILER-001") == {"GL-1": "compliant"}


def test_rejected_value_is_indeterminate_never_compliant(tmp_path, ruleset):
    record, loaded = efficiency_of(tmp_path, ruleset, "约80")
    assert loaded.rejected[0].scope == "value"
    assert statuses(ruleset, loaded.records, "BOILER-001") == {"GL-1": "indeterminate"}


@pytest.mark.parametrize("raw, expected", [
    ("是", True), ("否", False), ("Y", True), ("N", False), ("y", True), ("n", False), ("√", True), ("×", False),
    ("yes", True), ("No", False), ("TRUE", True), ("0", False), ("1", True), ("Ｙ", True),
])
def test_booleans(tmp_path, ruleset, raw, expected):
    row = list(PROJECT_ROW)
    row[4] = raw
    loaded = load(write_csv(tmp_path / "p.csv", [PROJECT_HEADER, row]), ruleset)
    record = only_record(loaded)
    assert record.values["high_energy"] is expected
    assert record.values["emits_key_pollutants"] is False
    assert loaded.rejected == []


def test_boolean_unreadable(tmp_path, ruleset):
    row = list(PROJECT_ROW)
    row[4] = "待定"
    loaded = load(write_csv(tmp_path / "p.csv", [PROJECT_HEADER, row]), ruleset)
    assert "high_energy" not in only_record(loaded).values
    [rejection] = loaded.rejected
    assert (rejection.scope, rejection.value) == ("value", "待定")
    assert "“待定”不是“是”或“否”" == rejection.reason


@pytest.mark.parametrize("raw", ["2017-01-01", "2017/1/1", "2017年1月1日", "2017.1.1", "2017年01月01日", "20170101",
                                 "42736", "42736.0", "2017-01-01T00:00:00", "２０１７－０１－０１", "2017年1月1",
                                 "2017-01-01 00:00:00", "2017/1/1 0:00"])
def test_dates(tmp_path, ruleset, raw):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("出厂日期", raw))]), ruleset)
    assert only_record(loaded).values["manufactured_on"] == dt.date(2017, 1, 1)
    assert loaded.rejected == []


def test_excel_serial_in_csv(tmp_path, ruleset):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("测试日期", "43831"))]), ruleset)
    assert only_record(loaded).values["tested_on"] == dt.date(2020, 1, 1)


@pytest.mark.parametrize("raw, reason", [
    ("2017-02-30", "“2017-02-30”不是日历上有的日期"),
    ("去年", "“去年”不是日期（请写成 2017-01-01、2017/1/1 或 2017年1月1日）"),
    ("2017-13-01", "不是日历上有的日期"),
])
def test_bad_dates_rejected_as_value(tmp_path, ruleset, raw, reason):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("出厂日期", raw))]), ruleset)
    record = only_record(loaded)
    assert "manufactured_on" not in record.values
    [rejection] = loaded.rejected
    assert rejection.scope == "value" and rejection.column == "出厂日期" and reason in rejection.reason
    # without its manufacture date BOILER-001 cannot say whether the boiler is "newly manufactured"
    assert statuses(ruleset, loaded.records, "BOILER-001") == {"GL-1": "indeterminate"}


def test_fraction_column_converted_with_note(tmp_path, ruleset):
    rows = [BOILER_HEADER, with_id(1), with_id(2), with_id(3)]
    rows[1][EFF], rows[2][EFF], rows[3][EFF] = "0.853", "0.81", "—"
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    assert [r.values.get("efficiency_pct") for r in loaded.records] == [85.3, 81.0, None]
    assert "热效率：各值都不大于 1，按小数读取并换算为 %" in loaded.tables[0].notes
    assert loaded.rejected == []


def test_mixed_fraction_column_rejects_the_fraction(tmp_path, ruleset):
    rows = [BOILER_HEADER, with_id(1), with_id(2)]
    rows[1][EFF], rows[2][EFF] = "0.853", "85.0"
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    first, second = loaded.records
    assert "efficiency_pct" not in first.values
    assert second.values["efficiency_pct"] == 85.0
    [rejection] = loaded.rejected
    assert (rejection.scope, rejection.row, rejection.column, rejection.value) == ("value", 2, "热效率", "0.853")
    assert "像是小数，而本列其他值是百分数" in rejection.reason
    assert "85.3" in rejection.reason
    table = loaded.tables[0]
    assert (table.rows, table.evaluated, table.rejected) == (2, 2, 0)


def test_sulfur_fraction_stays(tmp_path, ruleset):
    rows = [COAL_HEADER, COAL_ROW, ["S-2", "兰州某煤炭经营部", "兰州市", "20.3", "0.8", "2021-05-01"]]
    loaded = load(write_csv(tmp_path / "c.csv", rows), ruleset)
    assert [r.values["sulfur_pct"] for r in loaded.records] == [0.5, 0.8]
    assert not any("小数" in n for n in loaded.tables[0].notes)
    assert loaded.rejected == []


# ------------------------------------------------------------------------------------------------ units

def test_header_unit_converted(tmp_path, ruleset):
    header = list(PREF_HEADER)
    header[4] = "化学需氧量排放量（万吨）"
    row = list(PREF_ROW)
    row[4] = "3.6"
    loaded = load(write_csv(tmp_path / "p.csv", [header, row]), ruleset)
    assert only_record(loaded).values == PREF_VALUES
    assert "化学需氧量排放量：由 万吨 换算为 吨（×10000）" in loaded.tables[0].notes
    assert loaded.rejected == []


@pytest.mark.parametrize("written, factor", [
    ("化学需氧量排放量万吨", "×10000"), ("化学需氧量排放量/万吨", "×10000"), ("化学需氧量排放量 万吨", "×10000"),
    ("化学需氧量排放量KG", "×0.001"), ("化学需氧量排放量 (kg)", "×0.001"), ("化学需氧量排放量（千克）", "×0.001"),
    ("化学需氧量排放量吨", None), ("化学需氧量排放量", None),
])
def test_a_unit_written_after_the_header_is_read_with_or_without_brackets(tmp_path, ruleset, written, factor):
    # (header matching works out each header text's possible name/unit splits once, and only where the text ends as
    # a unit can: engine.headers._header_keys)
    header = list(PREF_HEADER)
    header[4] = written
    row = list(PREF_ROW)
    row[4] = {"×10000": "3.6", "×0.001": "36000000", None: "36000"}[factor]
    loaded = load(write_csv(tmp_path / "p.csv", [header, row]), ruleset)
    assert only_record(loaded).values == PREF_VALUES
    converted = [n for n in loaded.tables[0].notes if n.startswith("化学需氧量排放量：由")]
    assert converted == ([] if factor is None else [converted[0]]) and (factor is None or factor in converted[0])
    assert loaded.rejected == [] and loaded.tables[0].unknown_columns == []


@pytest.mark.parametrize("unit, fragment", [
    ("亿千瓦时", "表头中的单位“亿千瓦时”ecocheck 不认识；该字段的单位是 万吨标准煤"),
    ("万吨", "表头中的单位“万吨”不能换算成 万吨标准煤"),
])
def test_header_unit_refused(tmp_path, ruleset, unit, fragment):
    header = list(PREF_HEADER)
    header[3] = f"能源消费总量（{unit}）"
    rows = [header, PREF_ROW, ["天水市", "2020", "13.5", "310", "19000", "2500", "11000", "17500", "是"]]
    loaded = load(write_csv(tmp_path / "p.csv", rows), ruleset)
    assert len(loaded.records) == 2
    for record in loaded.records:
        assert "energy_consumption_10k_tce" not in record.values
        assert record.values["cod_t"] > 0
    assert [(r.row, r.value, r.scope) for r in loaded.rejected] == [(2, "2950", "value"), (3, "310", "value")]
    assert all(fragment in r.reason for r in loaded.rejected)
    table = loaded.tables[0]
    assert (table.rows, table.evaluated, table.rejected) == (2, 2, 0)


def test_ash_on_another_basis_is_set_aside(tmp_path, ruleset):
    header = ["样品编号", "销售单位", "市州", "灰分（Aad）", "全硫（%）", "抽检日期"]
    loaded = load(write_csv(tmp_path / "c.csv", [header, COAL_ROW]), ruleset)
    record = only_record(loaded)
    assert "ash_pct" not in record.values
    assert record.values["sulfur_pct"] == 0.5
    [rejection] = loaded.rejected
    assert (rejection.scope, rejection.value) == ("value", "25.1")
    assert "Aad" in rejection.reason
    # not compared as dry basis: the coal rule cannot be judged on ash
    results, _ = evaluate_records(ruleset, loaded.records, AS_OF)
    assert "compliant" not in {r.status for r in results if r.rule_id == "COAL-001"}


def test_ash_dry_basis_header_is_read(tmp_path, ruleset):
    loaded = load(write_csv(tmp_path / "c.csv", [COAL_HEADER, COAL_ROW]), ruleset)
    assert only_record(loaded).values == {**COAL_VALUES, "ash_pct": 25.1, "sulfur_pct": 0.5}
    assert loaded.rejected == []


# ------------------------------------------------------------------------------------------------ regions

@pytest.mark.parametrize("raw, key, official", [
    ("兰州", "兰州", "兰州市"), ("兰州市", "兰州", "兰州市"), ("兰州新区", "兰州", "兰州市"), (" 兰州市 ", "兰州", "兰州市"),
    ("甘南藏族自治州", "甘南", "甘南藏族自治州"), ("甘南州", "甘南", "甘南藏族自治州"),
    ("临夏回族自治州", "临夏", "临夏回族自治州"), ("临夏州", "临夏", "临夏回族自治州"), ("Jiuquan", "酒泉", "酒泉市"),
])
def test_region_names(tmp_path, ruleset, raw, key, official):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("市州", raw))]), ruleset)
    record = only_record(loaded)
    assert record.values["region"] == key
    assert (record.region_key, record.region) == (key, official)
    assert loaded.rejected == []


def test_unknown_region_rejected_with_suggestion(tmp_path, ruleset):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("市州", "嘉峪关区"))]), ruleset)
    record = only_record(loaded)
    assert "region" not in record.values
    [rejection] = loaded.rejected
    assert (rejection.scope, rejection.column, rejection.value) == ("value", "市州", "嘉峪关区")
    assert rejection.reason == "“嘉峪关区”不是甘肃省的市州；最接近的名称：嘉峪关"


def test_unknown_region_as_id_rejects_the_row(tmp_path, ruleset):
    row = list(PREF_ROW)
    row[0] = "嘉峪关区"
    loaded = load(write_csv(tmp_path / "p.csv", [PREF_HEADER, row, PREF_ROW]), ruleset)
    assert [r.id for r in loaded.records] == ["兰州/2020"]
    rows = [r for r in loaded.rejected if r.scope == "row"]
    assert len(rows) == 1 and rows[0].row == 2 and "最接近的名称：嘉峪关" in rows[0].reason
    assert (loaded.tables[0].rows, loaded.tables[0].evaluated, loaded.tables[0].rejected) == (2, 1, 1)


def test_empty_id_rejects_the_row(tmp_path, ruleset):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("锅炉编号", "")), with_id(2)]), ruleset)
    assert [r.id for r in loaded.records] == ["GL-2"]
    [rejection] = loaded.rejected
    assert (rejection.scope, rejection.row) == ("row", 2)
    assert "锅炉编号（boiler_id）为空" in rejection.reason


# ------------------------------------------------------------------------------------------------ duplicates

def test_duplicates_within_and_across_files(tmp_path, ruleset):
    a = write_csv(tmp_path / "a.csv", [BOILER_HEADER, with_id(1), with_id(2), with_id(1, 热效率="81.0")])
    b = write_csv(tmp_path / "b.csv", [BOILER_HEADER, with_id(1, 热效率="82.0")])
    result = run_check([a, b], ruleset, AS_OF, keep_results=True)
    report = result.report
    assert result.failed == []
    assert report.duplicates == [
        {"kind": "boiler", "id": "GL-1", "first": [str(a), 2], "again": [str(a), 4]},
        {"kind": "boiler", "id": "GL-1", "first": [str(a), 2], "again": [str(b), 2]},
    ]
    inputs = report.manifest["inputs"]
    assert [(i["path"], i["rows"], i["evaluated"], i["rejected"]) for i in inputs] == [
        (str(a), 3, 3, 0), (str(b), 1, 1, 0)]
    evaluated = {(r.source.file, r.source.row) for r in report.results if r.subject.id == "GL-1"}
    assert evaluated == {(str(a), 2), (str(a), 4), (str(b), 2)}
    assert report.summary()["duplicate_ids"] == 2


def test_same_file_twice_accounting(tmp_path, ruleset):
    path = write_csv(tmp_path / "a.csv", [BOILER_HEADER, with_id(1), with_id(2)])
    report = run_check([path, path], ruleset, AS_OF, keep_results=True).report
    evaluated = sum(i["evaluated"] for i in report.manifest["inputs"])
    per_rule = sum(1 for r in report.results if r.rule_id == "BOILER-001")
    assert per_rule == evaluated


# ------------------------------------------------------------------------------------------------ nothing lost (CLI)

def test_rejects_file_bom_columns_and_formula_escape(tmp_path):
    hostile = "=cmd|' /C calc'!A0"
    path = write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("热效率（%）", hostile)),
                                          with_id(2, 额定蒸发量="+SUM(1,2)", 测试日期="@NOW()", 市州="-1+1"),
                                          with_id(3, 锅炉编号="")])
    rejects = tmp_path / "out" / "rejects.csv"
    proc = cli("check", path, "--as-of", AS_OF, "--fail-on", "none", "--rejects", rejects)
    assert proc.returncode == 0, proc.stderr
    rows = read_bom_csv(rejects)
    assert tuple(rows[0]) == REJECT_COLUMNS_ZH == ("文件", "行号", "列", "值", "原因", "范围")
    body = [dict(zip(REJECT_COLUMNS, r)) for r in rows[1:]]
    assert {(r["row"], r["column"], r["value"], r["scope"]) for r in body} == {
        ("2", "热效率", "'" + hostile, SCOPE_ZH["value"]),
        ("3", "额定蒸发量", "'+SUM(1,2)", SCOPE_ZH["value"]),
        ("3", "测试日期", "'@NOW()", SCOPE_ZH["value"]),
        ("3", "市州", "'-1+1", SCOPE_ZH["value"]),
        ("4", "锅炉编号", "", SCOPE_ZH["row"]),
    }
    for r in body:
        assert r["file"] == str(path)
        assert not r["reason"].startswith(("=", "+", "-", "@"))
    assert "读取 3 = 评估 2 + 拒收 1" in proc.stdout


def _count_line(note: str) -> str:
    [line] = [line for line in note.splitlines() if line.startswith("  ……另有 ")]
    return line


def test_a_run_with_many_repeated_ids_notes_twenty_and_writes_them_all_where_it_says(tmp_path):
    """The note beside a report written to a file lists the first 20 repeated ids and counts the others; the whole
    list is in the --duplicates CSV (the same repeats as the JSON's duplicates), or in the JSON or table file."""
    rows = [BOILER_HEADER] + [with_id(n) for n in range(1, 26)] + [with_id(n, 热效率="81.0") for n in range(1, 26)]
    path = write_csv(tmp_path / "b.csv", rows)
    report_file, dups = tmp_path / "findings.json", tmp_path / "out" / "重复编号.csv"
    proc = cli("check", path, "--as-of", AS_OF, "--fail-on", "none", "--format", "json", "--output", report_file,
               "--duplicates", dups)
    assert proc.returncode == 0, proc.stderr
    listed = [line for line in proc.stderr.splitlines() if line.startswith("  重复编号 ")]
    assert len(listed) == 20 and listed[0].startswith("  重复编号 锅炉 GL-1：")
    assert f"  ……另有 5 处重复编号未在此列出（共 25 处，均已评估）；完整清单已写入 {dups}" in proc.stderr.splitlines()
    in_json = json.loads(report_file.read_text(encoding="utf-8"))["duplicates"]
    assert len(in_json) == 25
    body = read_bom_csv(dups)[1:]
    assert body == [["锅炉", d["id"], d["first"][0], str(d["first"][1]), d["again"][0], str(d["again"][1])]
                    for d in in_json]
    assert body[0] == ["锅炉", "GL-1", str(path), "2", str(path), "27"]

    json_only = cli("check", path, "--as-of", AS_OF, "--fail-on", "none", "--format", "json", "--output", report_file)
    assert _count_line(json_only.stderr).endswith(f"；完整清单见 {report_file}")
    on_stdout = cli("check", path, "--as-of", AS_OF, "--fail-on", "none", "--format", "json")
    assert _count_line(on_stdout.stderr).endswith("；完整清单见标准输出的 JSON（duplicates）")
    assert len(json.loads(on_stdout.stdout)["duplicates"]) == 25
    as_csv = cli("check", path, "--as-of", AS_OF, "--fail-on", "none", "--format", "csv", "--output",
                 tmp_path / "f.csv")
    assert _count_line(as_csv.stderr).endswith("；加 --duplicates 文件.csv 可写出完整清单")
    table = cli("check", path, "--as-of", AS_OF, "--fail-on", "none")  # the table on the terminal lists them all
    assert sum(line.startswith("  重复编号 ") for line in table.stdout.splitlines()) == 25 and "另有" not in table.stdout


def test_strict_turns_any_rejection_into_exit_3(tmp_path):
    clean = write_csv(tmp_path / "clean.csv", [BOILER_HEADER, with_id(1, 热效率="85.0")])
    value_only = write_csv(tmp_path / "value.csv", [BOILER_HEADER, with_id(1, 热效率="约85")])
    assert cli("check", clean, "--as-of", AS_OF, "--fail-on", "none", "--strict").returncode == 0
    assert cli("check", value_only, "--as-of", AS_OF, "--fail-on", "none").returncode == 0
    proc = cli("check", value_only, "--as-of", AS_OF, "--fail-on", "none", "--strict")
    assert proc.returncode == 3, proc.stderr


def test_unreadable_file_fails_alone(tmp_path):
    good = write_csv(tmp_path / "good.csv", [BOILER_HEADER, with_id(1, 热效率="70.0")])
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a workbook")
    proc = cli("check", good, bad, "--as-of", AS_OF, "--format", "json")
    assert proc.returncode == 3, proc.stderr
    assert f"错误：{bad}：不是可读的 XLSX 工作簿" in proc.stderr
    report = json.loads(proc.stdout)
    assert [(i["path"], i["rows"], i["evaluated"], i["rejected"]) for i in report["manifest"]["inputs"]] == [
        (str(good), 1, 1, 0)]
    assert [f["path"] for f in report["manifest"]["failed_inputs"]] == [str(bad)]
    assert any(f["rule_id"] == "BOILER-001" and f["status"] == "violation" for f in report["findings"])


def test_manifest_rows_evaluated_rejected(tmp_path):
    path = write_csv(tmp_path / "b.csv", [BOILER_HEADER, with_id(1), with_id(2, 锅炉编号=""), with_id(3, 热效率="x"),
                                          ["合计"] + [""] * 8])
    proc = cli("check", path, "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    [entry] = report["manifest"]["inputs"]
    assert (entry["kind"], entry["rows"], entry["evaluated"], entry["rejected"]) == ("boiler", 4, 2, 2)
    assert len(entry["sha256"]) == 64
    assert report["summary"]["rejected_rows"] == 2
    assert report["summary"]["rejected_values"] == 1


# ------------------------------------------------------------------------------------------------ hostile input

def test_findings_csv_never_holds_a_formula(tmp_path):
    names = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-1+2", "@SUM(1)", "\t=1"]
    rows = [BOILER_HEADER] + [with_id(n, 使用单位=name, 热效率="70.0") for n, name in enumerate(names, 1)]
    rows.append(with_id(9, 锅炉编号="=9+9", 热效率="70.0"))
    path = write_csv(tmp_path / "b.csv", rows)
    out = tmp_path / "findings.csv"
    proc = cli("check", path, "--as-of", AS_OF, "--format", "csv", "--output", out)
    assert proc.returncode == 1, proc.stderr
    table = read_bom_csv(out)
    assert len(table) > len(rows) - 1
    subjects = {r[table[0].index("subject_id")] for r in table[1:]}
    assert "'=9+9" in subjects
    names_seen = {r[table[0].index("subject_name")] for r in table[1:]}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in names_seen and "'@SUM(1)" in names_seen
    for row in table[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_letters_hostile_facility_name(tmp_path, ruleset, fmt):
    from engine.letters import load_letter_config, render_letters
    name = "<script>alert(1)</script>../../x"
    (tmp_path / "in").mkdir()
    # the maker of a new boiler below 80% is the one a letter goes to: a hostile maker's name
    path = write_csv(tmp_path / "in" / "b.csv", [BOILER_HEADER + ["制造单位"], with_id(1, 热效率="70.0") + [name]])
    report = run_check([path], ruleset, AS_OF).report
    assert any(f.subject.recipient == name for f in report.findings)
    out = tmp_path / "deep" / "letters"
    written = render_letters(report.findings, report.manifest, load_letter_config(), out, fmt, AS_OF,
                             documents=ruleset.documents, schemas=ruleset.schemas, measures=ruleset.measures)
    assert len(written) == 3  # the letter, the index and the working record
    for letter in written:
        assert letter.resolve().parent == out.resolve()
        assert ".." not in letter.name and "/" not in letter.name
    everything = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert everything == {Path("in/b.csv")} | {p.resolve().relative_to(tmp_path.resolve()) for p in written}
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()
    texts = [p.read_text(encoding="utf-8") for p in written]
    assert all("<script>" not in text for text in texts)
    letter = next(t for p, t in zip(written, texts) if p.name.startswith("facility_rectification"))
    assert "&lt;script&gt;" in letter  # HTML autoescape; Markdown writes < > as entities (engine.safe_text)


def test_letters_cli_hostile_name(tmp_path):
    name = "<script>alert(1)</script>../../x"
    path = write_csv(tmp_path / "b.csv", [BOILER_HEADER + ["制造单位"], with_id(1, 使用单位=name, 热效率="70.0") + [name]])
    out = tmp_path / "letters"
    proc = cli("letters", path, "--out", out, "--as-of", AS_OF)
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in out.iterdir())
    assert {"index.html", "检查记录.html", "ecocheck-manifest.json", "overview.html", "overview.xlsx"} <= set(files)
    assert len(files) == 6
    assert all(p.parent == out for p in out.rglob("*"))
    assert not (tmp_path / "x").exists()
    for p in out.iterdir():
        if p.suffix == ".json":  # the run's manifest holds the name as data (a JSON string)
            assert json.loads(p.read_text(encoding="utf-8"))["letters"][0]["addressee"] == name
            continue
        if p.suffix != ".html":
            continue
        assert "<script>" not in p.read_text(encoding="utf-8")


def test_huge_json_fails_quickly(tmp_path, ruleset, monkeypatch):
    monkeypatch.setattr(engine.json_reader, "MAX_JSON_BYTES", 4096)
    records = [{"锅炉编号": f"GL-{n}", "使用单位": "某公司", "热效率": 80} for n in range(200)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    assert path.stat().st_size > 4096
    started = time.monotonic()
    with pytest.raises(InputError, match="JSON 文件超过") as info:
        load(path, ruleset)
    assert time.monotonic() - started < 5
    assert info.value.file == str(path)


def test_json_under_the_limit_is_read(tmp_path, ruleset):
    records = [dict(zip(BOILER_HEADER, BOILER_ROW)), {**dict(zip(BOILER_HEADER, BOILER_ROW)), "锅炉编号": "GL-2",
                                                      "热效率（%）": 85.3, "额定蒸发量（t/h）": 20}]
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"records": records}, ensure_ascii=False), encoding="utf-8")
    loaded = load(path, ruleset)
    assert loaded.records[0].values == BOILER_VALUES
    assert loaded.records[1].values["efficiency_pct"] == 85.3


@pytest.mark.parametrize("depth", [25, 200_000])
def test_deeply_nested_json_fails_quickly(tmp_path, ruleset, depth):
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(InputError, match="JSON 嵌套超过 20 层"):
        load(path, ruleset)
    assert time.monotonic() - started < 5


def test_deeply_nested_value_in_a_record(tmp_path, ruleset):
    nested = {"a": 1}
    for _ in range(30):
        nested = {"a": nested}
    path = tmp_path / "deep.json"
    path.write_text(json.dumps([{"锅炉编号": "GL-1", "热效率": nested}]), encoding="utf-8")
    with pytest.raises(InputError, match="嵌套超过"):
        load(path, ruleset)


def test_json_not_a_list(tmp_path, ruleset):
    path = tmp_path / "x.json"
    path.write_text('{"锅炉编号": "GL-1"}', encoding="utf-8")
    with pytest.raises(InputError, match="JSON 应是记录的列表"):
        load(path, ruleset)


def test_yaml_over_size_limit_is_refused(tmp_path, monkeypatch):
    import engine.yamlio
    from engine.yamlio import MAX_YAML_BYTES, load_yaml
    path = tmp_path / "letters.yaml"
    path.write_text("# padding\n" * (MAX_YAML_BYTES // 10 + 1) + "issuing_office: x\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ConfigError, match=f"超过允许的 {MAX_YAML_BYTES} 字节") as info:
        load_yaml(path, ConfigError)
    assert time.monotonic() - started < 2
    assert info.value.file == str(path)
    small = tmp_path / "small.yaml"
    small.write_text("issuing_office: 甘肃省\n", encoding="utf-8")
    assert load_yaml(small, ConfigError) == {"issuing_office": "甘肃省"}
    monkeypatch.setattr(engine.yamlio, "MAX_YAML_BYTES", 10)
    with pytest.raises(ConfigError, match="超过允许的 10 字节"):
        load_yaml(small, ConfigError)


def test_letters_config_over_size_limit_cli(tmp_path):
    from engine.yamlio import MAX_YAML_BYTES
    config = tmp_path / "letters.yaml"
    config.write_text("#" * (MAX_YAML_BYTES + 1) + "\n", encoding="utf-8")
    path = write_csv(tmp_path / "b.csv", [BOILER_HEADER, with_id(1, 热效率="70.0")])
    proc = cli("letters", path, "--out", tmp_path / "letters", "--as-of", AS_OF, "--config", config)
    assert proc.returncode == 3
    assert f"错误：{config}：文件有" in proc.stderr and "超过允许的" in proc.stderr


# ------------------------------------------------------------------------------------------------ template

def test_template_xlsx_layout(tmp_path, ruleset):
    out = tmp_path / "t" / "boiler.xlsx"
    proc = cli("template", "boiler", "--format", "xlsx", "--out", out)
    assert proc.returncode == 0, proc.stderr
    workbook = openpyxl.load_workbook(out)
    schema = ruleset.schemas["boiler"]
    assert workbook.sheetnames[0] == "锅炉" and "填表说明" in workbook.sheetnames
    sheet = workbook.worksheets[0]
    specs = list(schema.fields.values())
    assert [c.value for c in sheet[1]] == [s.label for s in specs]
    assert [c.value for c in sheet[2]] == [s.unit or None for s in specs]
    assert sheet["H2"].value == "%" and sheet["I2"].value == "t/h"
    lists = workbook["选项"]
    validated = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        column = str(validation.sqref).split(":")[0].rstrip("0123456789")
        assert str(validation.sqref) == f"{column}3:{column}5000"
        validated[column] = [c.value for c in lists[column] if c.value is not None]
    letters = {s.name: openpyxl.utils.get_column_letter(n) for n, s in enumerate(specs, 1)}
    choices = {s.name for s in specs if s.type in ("region", "enum", "bool")}
    assert set(validated) == {letters[name] for name in choices}
    assert {"region", "fuel", "test_type"} <= choices
    assert validated[letters["fuel"]] == ["燃煤", "燃气", "燃油", "生物质", "电", "其他"]
    assert validated[letters["test_type"]] == ["定型", "验收", "运行"]
    assert "兰州市" in validated[letters["region"]] and "甘南藏族自治州" in validated[letters["region"]]
    notes = workbook["填表说明"]
    assert [c.value for c in notes[1]] == ["列", "字段", "类型", "单位", "必填", "可选值"]
    assert [notes.cell(row=n, column=2).value for n in range(2, len(specs) + 2)] == [s.name for s in specs]


def test_template_bool_fields_have_yes_no_lists(tmp_path, ruleset):
    out = tmp_path / "project.xlsx"
    assert cli("template", "project", "--out", out).returncode == 0
    workbook = openpyxl.load_workbook(out)
    sheet, lists = workbook.worksheets[0], workbook["选项"]
    specs = list(ruleset.schemas["project"].fields.values())
    validated = {str(v.sqref).split(":")[0].rstrip("0123456789") for v in sheet.data_validations.dataValidation}
    for n, spec in enumerate(specs, 1):
        column = openpyxl.utils.get_column_letter(n)
        if spec.type == "bool":
            assert column in validated
            assert [c.value for c in lists[column] if c.value is not None] == ["是", "否"]
        elif spec.type in ("string", "number", "integer", "date"):
            assert column not in validated


FILL = {"string": lambda s: f"{s.name}-1", "integer": lambda s: 2020 if (s.min or 0) > 1000 else 12,
        "number": lambda s: 12.5, "date": lambda s: dt.datetime(2021, 3, 1), "bool": lambda s: "是",
        "region": lambda s: "兰州市"}


def expected_value(spec):
    if spec.type == "enum":
        return next(iter(spec.values))
    if spec.type == "date":
        return dt.date(2021, 3, 1)
    if spec.type == "bool":
        return True
    if spec.type == "region":
        return "兰州"
    return FILL[spec.type](spec)


def fill_template(path: Path, schema) -> dict:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    from engine.template import input_fields  # the template's columns: fields ecocheck computes are not in it
    specs = input_fields(schema)
    for n, spec in enumerate(specs, 1):
        value = next(iter(spec.values.values()))[0] if spec.type == "enum" else FILL[spec.type](spec)
        sheet.cell(row=3, column=n, value=value)
    workbook.save(path)
    return {spec.name: expected_value(spec) for spec in specs}


STABLE = ["boiler", "coal_sample", "prefecture_year", "project"]


@pytest.mark.parametrize("kind", STABLE)
def test_template_round_trip(tmp_path, ruleset, kind):
    path = tmp_path / f"{kind}.xlsx"
    template_xlsx(ruleset.schemas[kind], regions_of(ruleset), path)
    blank = load(path, ruleset)
    assert [(t.kind, t.rows, t.evaluated, t.rejected) for t in blank.tables] == [(kind, 0, 0, 0)]
    assert blank.rejected == []
    expected = fill_template(path, ruleset.schemas[kind])
    loaded = load(path, ruleset)
    assert [(t.kind, t.rows, t.evaluated, t.rejected) for t in loaded.tables] == [(kind, 1, 1, 0)]
    record = only_record(loaded)
    assert record.values == expected
    assert record.source.row == 3
    assert loaded.rejected == []


def test_template_round_trip_through_check(tmp_path, ruleset):
    path = tmp_path / "boiler.xlsx"
    assert cli("template", "boiler", "--out", path).returncode == 0
    workbook = openpyxl.load_workbook(path)
    values = ["兰州某热力公司", "T-1", "兰州市", "燃煤", dt.datetime(2021, 3, 1), "验收", dt.datetime(2021, 6, 1), 78.5, 10]
    for n, value in enumerate(values, 1):
        workbook.worksheets[0].cell(row=3, column=n, value=value)
    workbook.save(path)
    result = run_check([path], ruleset, AS_OF)
    assert result.failed == [] and result.report.rejected == []
    assert [(i["kind"], i["rows"], i["evaluated"], i["rejected"]) for i in result.report.manifest["inputs"]] == [
        ("boiler", 1, 1, 0)]
    [finding] = [f for f in result.report.findings if f.rule_id == "BOILER-001"]
    assert (finding.status, finding.subject.id, finding.source.row) == ("violation", "T-1", 3)
    assert str(finding.observed["efficiency_pct"]) == "78.5"


def test_template_csv(tmp_path, ruleset):
    out = tmp_path / "boiler.csv"
    proc = cli("template", "boiler", "--format", "csv", "--out", out)
    assert proc.returncode == 0, proc.stderr
    [header] = read_bom_csv(out)
    specs = list(ruleset.schemas["boiler"].fields.values())
    assert header == [header_of(s) for s in specs]
    assert "热效率（%）" in header and "额定蒸发量（t/h）" in header and "锅炉编号" in header
    with out.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(["兰州某热力公司", "T-1", "兰州市", "燃煤", "2021-03-01", "验收", "", "78.5", "10"])
    record = only_record(load(out, ruleset))
    assert record.values["efficiency_pct"] == 78.5 and record.values["capacity_t_h"] == 10.0


def test_template_unknown_kind_exit_2(tmp_path):
    proc = cli("template", "steam_engine", "--out", tmp_path / "x.xlsx")
    assert proc.returncode == 2
    assert "没有“steam_engine”这种记录类型" in proc.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_template_title_with_slash(tmp_path, ruleset):
    schema = dataclasses.replace(ruleset.schemas["boiler"], title={"zh": "锅炉/锅炉房:测试?"})
    path = tmp_path / "t.xlsx"
    template_xlsx(schema, regions_of(ruleset), path)
    assert openpyxl.load_workbook(path).sheetnames[0] != ""


def test_template_unit_row_with_units_the_converter_does_not_know(tmp_path, ruleset):
    base = ruleset.schemas["boiler"]
    fields = dict(base.fields)
    fields["capacity_t_h"] = dataclasses.replace(fields["capacity_t_h"], unit="mg/m³")
    schema = dataclasses.replace(base, fields=fields)
    path = tmp_path / "t.xlsx"
    template_xlsx(schema, regions_of(ruleset), path)
    loaded = load_file(path, {**ruleset.schemas, "boiler": schema}, regions_of(ruleset))
    assert_accounting(loaded)
    assert [(t.kind, t.rows) for t in loaded.tables] == [("boiler", 0)]
    assert loaded.rejected == []


# ------------------------------------------------------------------------------------------------ chunks

def fifty_rows():
    rows = [BOILER_HEADER]
    for n in range(1, 51):
        row = with_id(n, 热效率=f"{70 + n % 25}.{n % 10}")
        if n == 13:
            row[1] = ""  # no id: row rejected
        if n == 21:
            row[EFF] = "待测"  # value rejected
        if n == 34:
            row[2] = "嘉峪关区"
        rows.append(row)
    rows.append(["合计"] + [""] * 8)
    return rows


def snapshot(loaded):
    return ([(r.id, r.values, r.source.row, r.problems) for r in loaded.records], loaded.rejected,
            [(t.rows, t.evaluated, t.rejected, t.unknown_columns, t.notes) for t in loaded.tables])


def test_chunked_reading_gives_the_same_result(tmp_path, ruleset, monkeypatch):
    path = write_csv(tmp_path / "b.csv", fifty_rows())
    whole = load(path, ruleset)
    assert (whole.tables[0].rows, whole.tables[0].evaluated, whole.tables[0].rejected) == (51, 49, 2)
    assert len(value_rejections(whole)) == 2
    monkeypatch.setattr(engine.csv_reader, "CHUNK_ROWS", 7)
    chunked = load(path, ruleset)
    assert snapshot(chunked) == snapshot(whole)
    assert len(chunked.tables) == 1


def test_streamed_chunks_are_small(tmp_path, ruleset, monkeypatch):
    from engine.records import stream_file
    monkeypatch.setattr(engine.csv_reader, "CHUNK_ROWS", 7)
    path = write_csv(tmp_path / "b.csv", fifty_rows())
    sizes = [len(records) + sum(r.scope == "row" for r in rejected)
             for _, records, rejected in stream_file(path, ruleset.schemas, regions_of(ruleset))]
    assert len(sizes) == 8 and max(sizes) <= 7 and sum(sizes) == 51


def test_fraction_decision_does_not_depend_on_chunks(tmp_path, ruleset, monkeypatch):
    rows = [BOILER_HEADER] + [with_id(n, 热效率="85.0") for n in range(1, 21)]
    rows[15][EFF] = "0.853"
    path = write_csv(tmp_path / "b.csv", rows)
    whole = load(path, ruleset)
    assert [(r.row, r.value, r.scope) for r in whole.rejected] == [(16, "0.853", "value")]
    monkeypatch.setattr(engine.csv_reader, "CHUNK_ROWS", 7)
    assert snapshot(load(path, ruleset)) == snapshot(whole)


def test_file_blocks_read_ahead_are_the_files_bytes_in_order(tmp_path):
    """csv_reader._file_blocks reads each next block on another thread: the blocks are the file's bytes, in order, of
    the size asked (the last one shorter); stopping early leaves the file closed; a file gone before its read raises."""
    import os
    import threading

    data = os.urandom(10_000) + "甘肃省".encode() * 1_000
    path = tmp_path / "blocks.bin"
    path.write_bytes(data)
    blocks = list(engine.csv_reader._file_blocks(path, size=4096)())
    assert b"".join(blocks) == data and {len(b) for b in blocks[:-1]} == {4096} and 0 < len(blocks[-1]) <= 4096
    threads = threading.active_count()
    started = engine.csv_reader._file_blocks(path, size=4096)()
    assert next(started) == data[:4096]
    started.close()  # (the read ahead is waited for, the file closed, the thread ended)
    assert threading.active_count() == threads
    (tmp_path / "empty.bin").write_bytes(b"")
    assert list(engine.csv_reader._file_blocks(tmp_path / "empty.bin", size=4096)()) == []
    with pytest.raises(FileNotFoundError):
        list(engine.csv_reader._file_blocks(tmp_path / "gone.bin")())
