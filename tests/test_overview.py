"""The regulator's overview on the sample records: prefectures, annual results, measures with their basis, issuing
authorities from the planned letters, two Chinese SVG charts, Chinese text only, and the same tables in XLSX."""

import datetime as dt
import html
import re

import openpyxl
import pytest

from engine import overview as O
from engine.letter_config import load_letter_config
from engine.runner import check, sample_paths

AS_OF = dt.date(2026, 12, 1)
ANNUAL_SAMPLES = ("prefectures_2016_2020.csv", "prefecture_periods_2019.csv")  # issue 10's; these tests pin 2020


def samples_2020() -> list:
    return [p for p in sample_paths() if p.name not in ANNUAL_SAMPLES]
ABBREVIATIONS = {"GDP"}  # written so in the Chinese names of indicators (单位GDP能耗)


@pytest.fixture(scope="module")
def written(tmp_path_factory, ruleset):
    result = check(samples_2020(), ruleset, AS_OF)
    letters = O.planned_letters(result.report.findings, ruleset, load_letter_config(None), AS_OF)
    built = O.build(result.report, ruleset, result.held, AS_OF, letters)
    html_path, xlsx_path = O.write_overview(built, tmp_path_factory.mktemp("overview"))
    return built, letters, html_path.read_text(encoding="utf-8"), openpyxl.load_workbook(xlsx_path)


def visible_text(page: str) -> str:
    """The words a reader sees: without the SVG charts, the style sheet, tags and attributes."""
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def rows(table) -> list:
    return [list(r) for r in table.rows]


def test_prefecture_totals(written):
    built, _, page, _ = written
    by_region = {r[0]: r[1:] for r in built.tables["regions"].rows}
    assert {"兰州市", "嘉峪关市", "金昌市", "天水市", "定西市", "甘南藏族自治州", "甘肃省"} <= set(by_region)
    assert by_region["兰州市"][0] == 6 and by_region["甘南藏族自治州"][:2] == [0, 0]
    names = [r[0] for r in built.tables["regions"].rows]
    assert names.index("兰州市") < names.index("嘉峪关市") < names.index("甘南藏族自治州")  # Annex 1 order
    for row in built.tables["regions"].rows:
        assert row[4] == sum(row[1:4])
    assert sum(r[1] for r in built.tables["regions"].rows) == built.totals["violation"] == 46


def test_measures_in_force_with_their_basis(written):
    built, _, page, _ = written
    measures = {(r[0], r[2]): r for r in built.tables["measures"].rows}
    assert set(measures) == {("兰州市", "高耗能项目缓批限批"), ("嘉峪关市", "暂停新增排放重点污染物建设项目的环评审批"),
                             ("金昌某冶炼有限公司", "暂停审批或核准该单位新建扩建高耗能项目")}
    assert measures[("兰州市", "高耗能项目缓批限批")][1:] == ["市州", "高耗能项目缓批限批", "2020年度",
                                                          "PREF-002 市州能源消费总量超过2020年控制目标"]
    assert measures[("嘉峪关市", "暂停新增排放重点污染物建设项目的环评审批")][4].startswith("PREF-003")
    unit = measures[("金昌某冶炼有限公司", "暂停审批或核准该单位新建扩建高耗能项目")]
    assert unit[1] == "单位" and unit[3] == "2020年度" and unit[4].startswith("KEYUNIT-001")
    assert built.tables["lapsed"].rows == []
    text = visible_text(page)
    for who, what in (("兰州市", "缓批限批"), ("嘉峪关市", "环评审批"), ("金昌某冶炼有限公司", "暂停审批或核准")):
        assert re.search(f"{who}.{{0,80}}{what}.{{0,40}}2020年度", text, re.S), (who, what)


def test_lapsed_measures_are_listed_with_the_reason(ruleset, tmp_path):
    csv = ("市州,年度,单位GDP能耗累计降幅（%）,能源消费总量（万吨标准煤）,考核处理措施解除日期\n"
           "兰州市,2020,21,2950,2026-06-30\n")
    (tmp_path / "prefectures.csv").write_text(csv, encoding="utf-8")
    result = check([tmp_path / "prefectures.csv"], ruleset, AS_OF)
    built = O.build(result.report, ruleset, result.held, AS_OF, [])
    assert built.tables["measures"].rows == []
    (row,) = built.tables["lapsed"].rows
    assert row[:3] == ["兰州市人民政府", "高耗能项目缓批限批", "2020年度"] and "2026年6月30日" in row[3]


def test_annual_table_has_met_missed_and_undecided_targets(written):
    built, _, page, _ = written
    table = built.tables["annual"]
    assert table.header == ("市州", "年度", "指标", "目标", "实际", "差距", "结果", "规则编号")
    found = {(r[0], r[2]): r for r in table.rows}
    assert found[("兰州市", "单位GDP能耗累计降幅（比2015年）")][3:7] == ["不低于20%", "19.2%", "0.8个百分点", "未完成"]
    assert found[("兰州市", "能源消费总量")][3:7] == ["不超过2899万吨标准煤", "2950万吨标准煤", "51万吨标准煤", "未完成"]
    assert found[("嘉峪关市", "能源消费总量")][4:7] == ["1320万吨标准煤", "", "完成"]  # compliant: re-evaluated
    assert found[("嘉峪关市", "二氧化硫排放量")][5:7] == ["5971.21吨", "未完成"]
    assert found[("嘉峪关市", "环境质量改善目标是否完成")][3:7] == ["应为是", "否", "", "未完成"]
    assert found[("甘南藏族自治州", "能源消费总量")][4:7] == ["—", "", "无法判定"]
    assert {r[1] for r in table.rows} == {2020}
    assert len(table.rows) == 6 * 11  # six prefectures, eleven indicators each, no indicator twice
    assert "5971.21吨" in visible_text(page)


def test_issuing_authorities_come_from_the_planned_letters(written):
    built, letters, _, _ = written
    table = built.tables["authorities"]
    assert table.header[0] == "发文机关" and table.header[-1] == "合计"
    per_authority = {r[0]: r[-1] for r in table.rows}
    for letter in letters:
        assert set(letter.authorities) <= set(per_authority)
    assert sum(per_authority.values()) == sum(len(letter.authorities) for letter in letters)
    assert built.letters == len(letters) > 0


def test_rules_and_worst_offenders(written):
    built, _, _, _ = written
    ranked = [r[2] for r in built.tables["rules"].rows]
    assert ranked == sorted(ranked, reverse=True)
    offenders = built.tables["offenders"].rows
    assert offenders[0][0] == "金昌某冶炼有限公司" and offenders[0][2] == 4
    assert not any(name.endswith("人民政府") for name, *_ in offenders)


def test_two_chinese_svg_charts_and_a4_print(written):
    _, _, page, _ = written
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) == 2
    assert "各市州违反约束性条款事项数" in svgs[0] and ">兰州市<" in re.sub(r"\s+", "", svgs[0]).replace("<!--", "<")
    assert "能源消费总量与附件1控制目标" in svgs[1] and "控制目标" in svgs[1] and "数据缺失" in svgs[1]
    assert all("Noto Sans CJK SC" in svg for svg in svgs)
    assert "@page { size: A4;" in page and "<script" not in page


def test_no_english_words_outside_the_charts(written):
    _, _, page, _ = written
    text = re.sub(r"\b[A-Z]+(?:-[A-Z]+)?-\d{3}\b", " ", visible_text(page))  # rule ids are codes, not words
    assert set(re.findall(r"[A-Za-z]{2,}", text)) <= ABBREVIATIONS, set(re.findall(r"[A-Za-z]{2,}", text))
    assert "节能减排条款合规检查总览" in text and "评估基准日：2026年12月1日" in text


def test_the_workbook_has_the_same_tables(written):
    built, _, _, book = written
    assert book.sheetnames == [t.sheet for t in built.tables.values()]
    for table in built.tables.values():
        sheet = book[table.sheet]
        got = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert tuple(got[0]) == table.header
        assert len(got) - 1 == len(table.rows)
        assert sheet.freeze_panes == "A2"
    annual = [list(r) for r in book["年度考核结果"].iter_rows(values_only=True)]
    assert ["兰州市", 2020, "能源消费总量", "不超过2899万吨标准煤", "2950万吨标准煤", "51万吨标准煤", "未完成", "PREF-002"] in annual


def test_autoescaped(ruleset, tmp_path):
    csv = ("使用单位,锅炉编号,市州,燃料种类,测试类型,制造单位,出厂日期,测试日期,额定蒸发量（t/h）,热效率（%）,"
           "是否在集中供热供气管网覆盖范围内,是否在用\n"
           "<script>x</script>,GL-1,兰州市,燃煤,验收,,2021-03-15,2021-10-20,20,78.6,否,是\n"
           "<b>某单位</b>,GL-2,兰州市,燃煤,运行,,2010-06-01,2021-01-15,35,60,是,是\n")
    (tmp_path / "b.csv").write_text(csv, encoding="utf-8")
    result = check([tmp_path / "b.csv"], ruleset, AS_OF)
    built = O.build(result.report, ruleset, result.held, AS_OF, [])
    page = O.write_overview(built, tmp_path / "out")[0].read_text(encoding="utf-8")
    assert "<b>某单位</b>" not in page and "&lt;b&gt;某单位&lt;/b&gt;" in page
    assert "<script>" not in page


def test_charts_are_remembered_by_their_data_only():
    # the SVG of a chart is remembered per process (engine.charts, engine.assessment_charts): the same data gives the
    # same text without drawing again; any other number, name or title gives a chart of its own
    from engine import assessment_charts, charts
    counts = [("兰州市", 3), ("天水市", 0)]
    first = charts.violations_by_region(counts)
    assert charts.violations_by_region(list(counts)) is first  # from memory: the very same text
    other = charts.violations_by_region([("兰州市", 4), ("天水市", 0)])
    assert other != first
    assert charts.violations_by_region(counts, title="另一个标题") != first
    rows = [("兰州市", 100.0, 120.0), ("天水市", 80.0, None)]
    assert charts.target_vs_actual(rows, "万吨标准煤") is charts.target_vs_actual(list(rows), "万吨标准煤")
    assert charts.target_vs_actual(rows, "万吨标准煤") != charts.target_vs_actual([rows[0]], "万吨标准煤")
    years = (2015, 2016, 2017, 2018, 2019, 2020)
    panel = ("兰州市 能源消费总量", "万吨标准煤", (1.0, 2.0, 3.0, 4.0, 5.0, 6.0), (), ((2015, 1.0), (2016, 2.5)))
    svg = assessment_charts._paths_svg(years, (panel, None), "线性")
    assert assessment_charts._paths_svg(years, (panel, None), "线性") is svg
    changed = panel[:4] + (((2015, 1.0), (2016, 2.6)),)
    assert assessment_charts._paths_svg(years, (changed, None), "线性") != svg
