"""Issue 13: the crashes, hangs and silent passes of an adversarial run, one test per case.

Each test states the outcome a careless or hostile input must get: a rejection of that value or row with its reason,
or an `Error:` for that file while the other files are still checked; never a traceback, an uncounted row, or a value
below a limit reported compliant. (Time is measured in benchmarks/bench_hostile.py, not here.)
"""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.conditions import exact_float
from engine.records import marks_only
from engine.runner import evaluate_records
from tests.conftest import scaled
from tests.test_loading import (AS_OF, BOILER_HEADER, EFF, boiler, cli, load, only_record, value_rejections,
                                with_id, write_csv, write_xlsx)


@pytest.fixture(autouse=True, scope="module")
def _both_readers(both_readers):
    """Every table here is read column-wise and row by row, and the two must agree."""


def states(ruleset, records, rule_id, engine="column"):
    results, _ = evaluate_records(ruleset, records, AS_OF, engine=engine)
    return {r.subject.id: r.status for r in results if r.rule_id == rule_id}


def report_of(proc) -> dict:
    return json.loads(proc.stdout)


def json_boiler(tmp_path, ruleset, efficiency: str):
    """The standard boiler as a JSON file whose efficiency is given by `efficiency`, raw JSON text after its key
    (a number of 5,000 digits, or `70, "热效率（%）": 85` for a key given twice)."""
    row = dict(zip(BOILER_HEADER, boiler()))
    del row["热效率（%）"]
    path = tmp_path / "b.json"
    path.write_text(json.dumps([row], ensure_ascii=False)[:-2] + f', "热效率（%）": {efficiency}}}]', encoding="utf-8")
    return load(path, ruleset)


COAL_HEADER = ["样品编号", "销售单位", "市州", "全硫（mg/kg）", "灰分（%）", "抽检日期"]


# ---------------------------------------------------------------- 1. small numbers reach the engine

@pytest.mark.parametrize("engine", ["column", "durable"])
def test_sulfur_in_mg_per_kg_becomes_a_tiny_percentage_both_engines_read(tmp_path, ruleset, engine):
    """0.5 mg/kg is 0.00005 %: Python writes 5e-05, which durable_rules 2.0.28 cannot parse (error 204)."""
    path = write_csv(tmp_path / "coal.csv", [COAL_HEADER, ["S1", "某煤场", "兰州市", "0.5", "10", "2021-01-01"],
                                             ["S2", "某煤场", "兰州市", "12000", "10", "2021-01-01"]])
    loaded = load(path, ruleset)
    assert [r.values["sulfur_pct"] for r in loaded.records] == [0.00005, 1.2]
    found = states(ruleset, loaded.records, "COAL-001", engine)
    assert found == {"S1": "compliant", "S2": "violation"}


def test_a_tiny_value_does_not_stop_the_other_files(tmp_path):
    tiny = write_csv(tmp_path / "tiny.csv", [BOILER_HEADER, with_id(1, 额定蒸发量="0.00005", 热效率="70")])
    good = write_csv(tmp_path / "good.csv", [BOILER_HEADER, with_id(2, 热效率="70")])
    for engine in ("column", "durable"):
        proc = cli("check", tiny, good, "--as-of", AS_OF.isoformat(), "--format", "json", "--engine", engine)
        assert proc.returncode == 1, proc.stderr  # violations found, no error
        ids = {f["subject"]["id"] for f in report_of(proc)["findings"] if f["status"] == "violation"}
        assert ids == {"GL-1", "GL-2"}


# ---------------------------------------------------------------- 2. values compared as written

@pytest.mark.parametrize("raw, fuel, rule, expected", [
    ("79.9999999", "燃煤", "BOILER-001", "violation"),
    ("79.99999999999999999", "燃煤", "BOILER-001", "violation"),
    ("80.00000000000000001", "燃煤", "BOILER-001", "compliant"),
    ("80", "燃煤", "BOILER-001", "compliant"),
    ("91.9999995", "燃气", "BOILER-002", "violation"),
    ("91.99999999999999999", "燃气", "BOILER-002", "violation"),
    ("92.0", "燃气", "BOILER-002", "compliant"),
])
@pytest.mark.parametrize("engine", ["column", "durable"])
def test_a_value_just_below_a_limit_is_below_it(tmp_path, ruleset, raw, fuel, rule, expected, engine):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("热效率（%）", raw), ("燃料种类", fuel))]),
                  ruleset)
    assert states(ruleset, loaded.records, rule, engine) == {"GL-1": expected}


def test_json_numbers_are_read_as_written(tmp_path, ruleset):
    loaded = json_boiler(tmp_path, ruleset, "79.99999999999999999")
    assert only_record(loaded).values["efficiency_pct"] < 80
    assert states(ruleset, loaded.records, "BOILER-001") == {"GL-1": "violation"}


def test_xlsx_percent_cell_keeps_its_digits(tmp_path, ruleset):
    def percent(workbook):
        workbook.worksheets[0].cell(row=2, column=EFF + 1).number_format = "0.0%"

    row = boiler()
    row[EFF] = 0.7999996
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": [BOILER_HEADER, row]}, setup=percent), ruleset)
    assert only_record(loaded).values["efficiency_pct"] == pytest.approx(79.99996, abs=1e-12)
    assert states(ruleset, loaded.records, "BOILER-001") == {"GL-1": "violation"}


def test_a_lone_value_of_one_is_not_guessed_to_be_100_percent(tmp_path, ruleset):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("热效率（%）", "1"))]), ruleset)
    assert "efficiency_pct" not in only_record(loaded).values
    [rejection] = value_rejections(loaded)
    assert rejection.column == "热效率" and "可能是小数（即 100%），也可能是百分数（即 1%）" in rejection.reason
    assert states(ruleset, loaded.records, "BOILER-001") == {"GL-1": "indeterminate"}


def test_a_column_of_fractions_is_still_converted(tmp_path, ruleset):
    rows = [BOILER_HEADER, with_id(1, 热效率="0.786"), with_id(2, 热效率="0.812")]
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    assert [r.values["efficiency_pct"] for r in loaded.records] == [78.6, 81.2]


SHORT_DECIMALS = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6,
                             allow_nan=False, allow_infinity=False)
LONG_DECIMALS = st.builds(lambda whole, digits: Decimal(f"{whole}.{digits}"),
                          st.integers(min_value=0, max_value=10 ** 6), st.text("0123456789", min_size=1, max_size=30))


@settings(max_examples=scaled(500), deadline=None)
@given(value=st.one_of(LONG_DECIMALS, SHORT_DECIMALS), limit=SHORT_DECIMALS)
def test_exact_float_compares_as_the_written_decimal(value, limit):
    """For any written value and any limit of up to 15 significant digits, the float the reader stores is on the
    same side of the limit as the written decimal (or equal to it exactly when they are equal)."""
    stored, bound = exact_float(value), float(limit)
    assert (stored < bound) == (value < limit)
    assert (stored == bound) == (value == limit)
    assert (stored > bound) == (value > limit)


# ---------------------------------------------------------------- 3. bounded work

def test_a_huge_title_cell_is_skipped_as_a_title(tmp_path, ruleset):
    title = "锅炉能效测试汇总表" + "说明" * 25_000
    loaded = load(write_csv(tmp_path / "b.csv", [[title], BOILER_HEADER, boiler()]), ruleset)
    assert only_record(loaded).values["efficiency_pct"] == 78.6
    assert "表头在第2行" in " ".join(loaded.tables[0].notes)


def test_a_first_line_longer_than_the_sniffed_prefix(tmp_path, ruleset):
    title = "标题" + "热" * 300_000  # longer than the 256 KiB the CSV reader sniffs
    loaded = load(write_csv(tmp_path / "b.csv", [[title], BOILER_HEADER, boiler()]), ruleset)
    assert only_record(loaded).id == "GL-1"


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def test_yaml_alias_bomb_in_letters_config_is_refused(tmp_path):
    config = tmp_path / "letters.yaml"
    config.write_text(BOMB, encoding="utf-8")
    proc = cli("letters", "inputs/samples/boilers.csv", "--as-of", AS_OF.isoformat(), "--config", config,
               "--out", tmp_path / "out")
    assert proc.returncode != 0 and "第2行有 YAML 别名 *a" in proc.stderr, proc.stderr


def test_yaml_alias_bomb_in_a_rule_pack_is_refused(tmp_path):
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree("rules", rules)
    (rules / "boilers" / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    proc = cli("check", "inputs/samples/boilers.csv", "--as-of", AS_OF.isoformat(), "--rules", rules)
    assert proc.returncode == 3 and "bomb.yaml" in proc.stderr and "别名" in proc.stderr, proc.stderr


# ---------------------------------------------------------------- 4. one bad value or path stops nothing else

@pytest.mark.parametrize("raw, reason", [
    ("1e999999999", "太大，不可能是实测值"),
    ("-1e999999999", "太大，不可能是实测值"),
    ("1e-999999999", "太小，不可能是实测值"),
    ("1" * 80, "不是数值"),
])
def test_absurd_magnitudes_are_rejected_values(tmp_path, ruleset, raw, reason):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler(("额定蒸发量（t/h）", raw))]), ruleset)
    assert "capacity_t_h" not in only_record(loaded).values
    [rejection] = value_rejections(loaded)
    assert reason in rejection.reason and len(rejection.reason) < 200


def test_a_json_integer_of_5000_digits_is_a_rejected_value(tmp_path, ruleset):
    loaded = json_boiler(tmp_path, ruleset, "9" * 5000)
    assert "efficiency_pct" not in only_record(loaded).values
    [rejection] = value_rejections(loaded)
    assert "超出可能的范围" in rejection.reason


def test_a_symbolic_link_loop_is_an_error_for_that_path_only(tmp_path):
    os.symlink(tmp_path / "loop2", tmp_path / "loop1")
    os.symlink(tmp_path / "loop1", tmp_path / "loop2")
    good = write_csv(tmp_path / "good.csv", [BOILER_HEADER, with_id(1, 热效率="70")])
    proc = cli("check", tmp_path / "loop1", good, "--as-of", AS_OF.isoformat(), "--format", "json")
    assert proc.returncode == 3
    assert "loop1：无法打开该路径：其符号链接形成循环" in proc.stderr
    report = report_of(proc)
    assert {f["subject"]["id"] for f in report["findings"]} == {"GL-1"}
    assert report["manifest"]["failed_inputs"][0]["path"].endswith("loop1")


def test_an_out_folder_that_cannot_be_made_is_an_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    proc = cli("letters", "inputs/samples/boilers.csv", "--as-of", AS_OF.isoformat(), "--out", blocker / "sub")
    assert proc.returncode == 2 and "无法使用文件夹" in proc.stderr, proc.stderr


def test_an_out_folder_holding_a_link_is_refused_and_nothing_is_written_through_it(tmp_path):
    out = tmp_path / "out"
    first = cli("letters", "inputs/samples/boilers.csv", "--as-of", AS_OF.isoformat(), "--out", out)
    assert first.returncode == 0, first.stderr
    letter = sorted(out.glob("*.html"))[0]
    target = tmp_path / "elsewhere.html"
    letter.unlink()
    letter.symlink_to(target)
    again = cli("letters", "inputs/samples/boilers.csv", "--as-of", AS_OF.isoformat(), "--out", out, "--overwrite")
    assert again.returncode == 2 and "中有符号链接" in again.stderr
    assert not target.exists()


# ---------------------------------------------------------------- 5. every item and non-blank row is counted

def test_json_items_without_values_are_counted_and_rejected(tmp_path, ruleset):
    good = dict(zip(BOILER_HEADER, boiler()))
    path = tmp_path / "b.json"
    path.write_text(json.dumps([None, {}, "—", {"锅炉编号": None}, good], ensure_ascii=False), encoding="utf-8")
    loaded = load(path, ruleset)
    assert (loaded.rows, len(loaded.records), loaded.tables[0].rejected) == (5, 1, 4)
    reasons = [r.reason for r in loaded.rejected]
    assert reasons[0].startswith("不是 JSON 对象") and reasons[1] == "JSON 对象中没有任何值：无可检查"
    assert [r.row for r in loaded.rejected] == [2, 3, 4, 5]


def test_rows_of_only_no_data_marks_are_counted_and_rejected(tmp_path, ruleset):
    width = len(BOILER_HEADER)
    rows = [BOILER_HEADER, ["无"] * width, [""] * width, ["—"] * width, boiler()]
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    assert (loaded.rows, len(loaded.records), loaded.tables[0].rejected) == (3, 1, 2)  # the blank row is no row
    assert [(r.row, r.reason) for r in loaded.rejected] == [(2, marks_only()), (4, marks_only())]


# ---------------------------------------------------------------- 6. conflicting values

def test_a_json_key_given_twice_with_different_values_is_rejected_naming_both(tmp_path, ruleset):
    loaded = json_boiler(tmp_path, ruleset, '70, "热效率（%）": 85')
    assert "efficiency_pct" not in only_record(loaded).values
    [rejection] = value_rejections(loaded)
    assert "出现 2 次，值各不相同：70 / 85" in rejection.reason


def test_a_json_key_given_twice_with_the_same_value_is_read(tmp_path, ruleset):
    assert only_record(json_boiler(tmp_path, ruleset, '70, "热效率（%）": 70')).values["efficiency_pct"] == 70


def test_twin_columns_are_read_together(tmp_path, ruleset):
    header = BOILER_HEADER + ["热效率（%）"]
    rows = [header, with_id(1, 热效率="") + ["70"], with_id(2, 热效率="85") + ["70"], with_id(3, 热效率="70.0") + ["70"]]
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    values = {r.id: r.values.get("efficiency_pct") for r in loaded.records}
    assert values == {"GL-1": 70, "GL-2": None, "GL-3": 70}
    [rejection] = value_rejections(loaded)
    assert rejection.row == 3 and rejection.value == "85 / 70"
    assert f"第{EFF + 1}列（热效率（%））为“85”，第{len(BOILER_HEADER) + 1}列（热效率（%））为“70”" in rejection.reason
    assert states(ruleset, loaded.records, "BOILER-001") == {"GL-1": "violation", "GL-2": "indeterminate",
                                                              "GL-3": "violation"}
    assert loaded.tables[0].unknown_columns == []


# ---------------------------------------------------------------- 8. implausible values

@pytest.mark.parametrize("header, raw, reason", [
    ("出厂日期", "2099-01-01", "晚于今天"),
    ("出厂日期", "0001-01-01", "不是可信的日期"),
    ("测试日期", "2021-01-01 25:99", "中的时刻不存在"),
    ("出厂日期", "20211", "数字只在 1990-01-01 至 2099-12-31 之间才按 Excel 日期序号读取"),
    ("出厂日期", "-1", "不是日期"),
])
def test_implausible_dates_are_rejected(tmp_path, ruleset, header, raw, reason):
    loaded = load(write_csv(tmp_path / "b.csv", [BOILER_HEADER, boiler((header, raw))]), ruleset)
    [rejection] = value_rejections(loaded)
    assert rejection.column == header and reason in rejection.reason


def test_a_date_cell_of_minus_one_in_xlsx_is_rejected(tmp_path, ruleset):
    def as_date(workbook):
        workbook.worksheets[0].cell(row=2, column=BOILER_HEADER.index("出厂日期") + 1).number_format = "yyyy-mm-dd"

    row = boiler()
    row[BOILER_HEADER.index("出厂日期")] = -1
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": [BOILER_HEADER, row]}, setup=as_date), ruleset)
    assert "manufactured_on" not in only_record(loaded).values
    assert value_rejections(loaded)[0].column == "出厂日期"


def test_a_zero_width_character_does_not_hide_a_duplicate_id(tmp_path):
    rows = [BOILER_HEADER, boiler(), boiler(("锅炉编号", "GL\u200b-1"))]
    path = write_csv(tmp_path / "b.csv", rows)
    proc = cli("check", path, "--as-of", AS_OF.isoformat(), "--format", "json")
    [duplicate] = report_of(proc)["duplicates"]
    assert duplicate["id"] == "GL\u200b-1" and duplicate["first"][1] == 2 and duplicate["again"][1] == 3


def test_a_date_of_today_is_accepted_and_tomorrow_is_not(tmp_path, ruleset):
    today = dt.date.today()
    rows = [BOILER_HEADER, with_id(1), with_id(2)]
    rows[1][BOILER_HEADER.index("测试日期")] = today.isoformat()
    rows[2][BOILER_HEADER.index("测试日期")] = (today + dt.timedelta(days=1)).isoformat()
    loaded = load(write_csv(tmp_path / "b.csv", rows), ruleset)
    assert loaded.records[0].values["tested_on"] == today and "tested_on" not in loaded.records[1].values


def test_xlsx_workbook_is_still_read(tmp_path, ruleset):
    """(A guard that the XLSX cases above used the real reader: a plain workbook gives its record.)"""
    loaded = load(write_xlsx(tmp_path / "b.xlsx", {"锅炉": [BOILER_HEADER, boiler()]}), ruleset)
    assert only_record(loaded).values["efficiency_pct"] == 78.6
    assert isinstance(openpyxl.load_workbook(tmp_path / "b.xlsx").worksheets[0].title, str)


def test_nesting_depth_is_measured_without_recursion():
    """One measure of nesting for YAML rules and JSON records: past the limit at any branch, not before."""
    from engine.nesting import deeper_than

    value = []
    for _ in range(100_000):  # deeper than Python's recursion limit
        value = [value]
    assert deeper_than(value, 50)
    assert not deeper_than({"a": [1, {"b": 2}], "c": 3}, 3) and deeper_than({"a": [1, {"b": [2]}]}, 3)
    assert not deeper_than([], 0) and deeper_than([[]], 0)


def test_a_file_without_repeated_ids_has_an_empty_list_of_duplicates(tmp_path):
    path = write_csv(tmp_path / "b.csv", [BOILER_HEADER, with_id(1), with_id(2)])
    report = report_of(cli("check", path, "--as-of", AS_OF.isoformat(), "--format", "json"))
    assert report["duplicates"] == [] and report["summary"]["duplicate_ids"] == 0
