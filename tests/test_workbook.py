"""The findings workbook: sheets, Chinese headers, frozen header and filters, values with units, gaps, no formulas,
and counts that add up."""

import datetime as dt

import openpyxl
import pytest

from engine.runner import check, sample_paths
from engine.workbook import SHEETS, write_workbook
from tests.conftest import cli_run

AS_OF = dt.date(2026, 12, 1)
HEADER = "使用单位,锅炉编号,市州,燃料种类,测试类型,制造单位,出厂日期,测试日期,额定蒸发量（t/h）,热效率（%）,是否在集中供热供气管网覆盖范围内,是否在用"
BAD_BOILERS = "\n".join([
    HEADER,
    '"=HYPERLINK(""http://x.example/"",""点击"")",GL-1,兰州市,燃煤,验收,"+SUM(1,2)",2021-03-15,2021-10-20,20,78.6,否,是',
    "白银某化工有限公司,GL-2,白银市,燃煤,运行,,2010-06-01,2021-01-15,35,72.4,是,是",
    "某单位,GL-3,@不存在市,燃煤,运行,,2010-06-01,2021-01-15,35,85,否,是",
]) + "\n"


@pytest.fixture(scope="module")
def sample_book(tmp_path_factory, ruleset):
    report = check(sample_paths(), ruleset, AS_OF).report
    path = write_workbook(report, tmp_path_factory.mktemp("wb") / "findings.xlsx")
    return report, openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def bad_book(tmp_path_factory, ruleset):
    folder = tmp_path_factory.mktemp("bad")
    (folder / "boilers.csv").write_text(BAD_BOILERS, encoding="utf-8")
    report = check([folder / "boilers.csv"], ruleset, AS_OF).report
    return report, openpyxl.load_workbook(write_workbook(report, folder / "out.xlsx"))


def rows_of(sheet) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_sheets_headers_frozen_and_filtered(sample_book):
    _, book = sample_book
    assert book.sheetnames == list(SHEETS) == ["发现事项", "拒收记录", "汇总"]
    headers = [c.value for c in book["发现事项"][1]]
    assert headers[:13] == ["规则编号", "单位/对象", "所在地区", "规则标题", "条款", "指标", "实测值（含单位）", "限值",
                            "差距", "结果", "效力", "来源文件", "行号"]
    assert [c.value for c in book["拒收记录"][1]] == ["来源文件", "行号", "列", "值", "原因", "范围"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}{sheet.max_row}"
        assert sheet[1][0].font.b
        assert all(sheet.column_dimensions[c].width >= 7 for c in "ABCDEF")


def test_a_known_finding_with_value_unit_and_gap_in_percentage_points(sample_book):
    report, book = sample_book
    rows = rows_of(book["发现事项"])
    assert len(rows) == len(report.findings)
    boiler = next(r for r in rows if r["规则编号"] == "BOILER-001" and r["行号"] == 2)
    assert boiler["实测值（含单位）"] == "78.6%"  # never observed=efficiency_pct=78.6
    assert boiler["限值"] == "不低于80%"
    assert boiler["差距"] == "1.4个百分点"
    assert boiler["结果"] == "违反" and boiler["效力"] == "约束性"
    assert boiler["条款"] == "《甘肃省“十三五”节能减排综合工作方案》第三部分第（十三）条"
    assert boiler["所在地区"] == "兰州市" and boiler["来源文件"].endswith("boilers.csv")
    target = next(r for r in rows if r["规则编号"] == "BOILER-003")
    assert (target["结果"], target["效力"], target["差距"]) == ("未达目标（差距）", "目标类", "7.6个百分点")
    consumption = next(r for r in rows if r["规则编号"] == "PREF-002" and r["所在地区"] == "兰州市")
    assert (consumption["实测值（含单位）"], consumption["限值"], consumption["差距"]) == (
        "2950万吨标准煤", "不超过2899万吨标准煤", "51万吨标准煤")
    missing = next(r for r in rows if r["规则编号"] == "PREF-002" and r["结果"] == "无法判定")
    assert missing["实测值（含单位）"] == "—" and not missing["差距"]
    assert {r["结果"] for r in rows} == {"违反", "未达目标（差距）", "无法判定"}


def test_counts_add_up(sample_book):
    report, book = sample_book
    summary = rows_of(book["汇总"])
    total = next(r for r in summary if r["分类"] == "合计")
    assert total["违反"] == report.counts["violation"] and total["符合"] == report.counts["compliant"]
    assert total["读取行数"] == total["评估行数"] + total["拒收行数"] > 0
    files = [r for r in summary if r["分类"] == "文件"]
    assert len(files) == len(report.manifest["inputs"])
    for row in files:
        assert row["读取行数"] == row["评估行数"] + row["拒收行数"], row
    assert sum(r["拒收行数"] for r in files) == total["拒收行数"] == report.summary()["rejected_rows"]
    findings = rows_of(book["发现事项"])
    for state, column in (("违反", "违反"), ("未达目标（差距）", "未达目标（差距）"), ("无法判定", "无法判定")):
        in_sheet = sum(1 for r in findings if r["结果"] == state)
        assert sum(r[column] for r in summary if r["分类"] == "规则") == in_sheet == total[column]
        assert sum(r[column] for r in summary if r["分类"] == "地区") == in_sheet
        assert sum(r[column] for r in files) == in_sheet
    rule = next(r for r in summary if r["分类"] == "规则")
    assert rule["符合"] in ("", None)  # not known per rule unless every result was kept


def test_formula_injection_neutralised_and_rejects_listed(bad_book):
    report, book = bad_book
    findings = rows_of(book["发现事项"])
    cells = [c for row in book["发现事项"].iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    injected = next(r for r in findings if r["行号"] == 2)
    assert injected["单位/对象"].startswith("'=HYPERLINK(")
    assert "（义务人：+SUM(1,2)）" in injected["单位/对象"]  # the manufacturer, inside the text: harmless
    rejects = rows_of(book["拒收记录"])
    assert rejects and any(r["行号"] == 4 and r["值"] == "'@不存在市" for r in rejects), rejects
    assert {r["范围"] for r in rejects} <= {"整行未评估", "该值未采用，其余字段已评估"}
    total = next(r for r in rows_of(book["汇总"]) if r["分类"] == "合计")
    assert (total["读取行数"], total["评估行数"]) == (3, 3 - total["拒收行数"])


def test_all_results_fill_every_state_per_rule(tmp_path, ruleset):
    report = check(sample_paths(), ruleset, AS_OF, keep_results=True).report
    book = openpyxl.load_workbook(write_workbook(report, tmp_path / "all.xlsx"))
    rules = [r for r in rows_of(book["汇总"]) if r["分类"] == "规则"]
    assert sum(r["符合"] for r in rules) == report.counts["compliant"]
    assert sum(r["不适用"] for r in rules) == report.counts["not_applicable"]


def test_check_format_xlsx_needs_an_output_file(tmp_path):
    run = lambda *a: cli_run("check", *a)  # noqa: E731
    proc = run("inputs/samples/boilers.csv", "--as-of", "2026-12-01", "--format", "xlsx")
    assert proc.returncode == 2 and "--output" in proc.stderr
    out = tmp_path / "f.xlsx"
    proc = run("inputs/samples/boilers.csv", "--as-of", "2026-12-01", "--format", "xlsx", "--output", str(out))
    assert proc.returncode == 1, proc.stderr  # violations found
    assert openpyxl.load_workbook(out).sheetnames == list(SHEETS)
