"""Issue 10: annual targets (issued table or derived), the annual assessment, early warning and their outputs."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from engine import annual_targets as A
from engine import assessment, warning
from engine.errors import ConfigError, ParameterError
from engine.runner import check, regions_of

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_PARAMS = ROOT / "inputs" / "samples" / "params"
HEADER = ["市州", "年度", "单位GDP能耗累计降幅（%）", "能源消费总量（万吨标准煤）", "化学需氧量排放量（吨）", "氨氮排放量（吨）",
          "二氧化硫排放量（吨）", "氮氧化物排放量（吨）", "环境质量改善目标是否完成"]
TABLE_HEADER = ["市州", "年度", "指标", "年度目标值", "单位", "下达文件", "文号", "印发日期"]
DOC = ["关于下达2018年度能耗双控目标的通知", "甘发改环资〔2018〕7号", "2018-03-01"]
AS_OF = dt.date(2026, 12, 1)


def _csv(path: Path, header, rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _settings(ruleset, params_dir=None, method="linear"):
    return A.settings(params_dir, method, regions_of(ruleset))


def _lanzhou_2018(tmp_path, consumption=2750, intensity=11.0):
    return _csv(tmp_path / "prefectures.csv", HEADER,
                [["兰州市", 2018, intensity, consumption, 39000, 7000, 61000, 71000, "是"]])


# ------------------------------------------------------------------------------------------ derivation at the boundaries

@pytest.mark.parametrize("method", A.METHODS)
def test_derived_targets_start_at_2015_and_end_at_the_five_year_target(method):
    assert A.derive_reduction(20, 2015, method) == 0
    assert A.derive_reduction(20, 2020, method) == 20
    assert A.derive_cap(2405, 2899, 2015, method) == 2405
    assert A.derive_cap(2405, 2899, 2020, method) == 2899
    assert A.derive_cap(43411.92, 36900.13, 2020, method) == 36900.13
    assert A.derive_cap(2239.02, 2239.02, 2018, method) == 2239.02  # a reduction ratio of 0: flat path


def test_linear_derivation_is_the_time_share_of_the_five_year_target():
    assert A.derive_reduction(20, 2016, "linear") == 4
    assert A.derive_reduction(20, 2018, "linear") == 12
    assert A.derive_cap(2405, 2899, 2018, "linear") == 2701.4  # 2405 + 494 × 3/5


def test_geometric_derivation_has_the_same_rate_every_year():
    # intensity: 1 − 0.8^(3/5) = 12.53 %; consumption: 2405 × (2899/2405)^(3/5)
    assert A.derive_reduction(20, 2018, "geometric") == 12.53
    assert A.derive_cap(2405, 2899, 2018, "geometric") == round(2405 * (2899 / 2405) ** 0.6, 2)
    yearly = [1 - (1 - A.derive_reduction(20, y, "geometric") / 100) / (1 - A.derive_reduction(20, y - 1, "geometric") / 100)
              for y in range(2016, 2021)]
    assert max(yearly) - min(yearly) < 0.0002  # one rate, up to rounding to 0.01 %


def test_2020_uses_the_annex_and_is_never_derived(ruleset):
    target = A.derived_target(ruleset.params, "consumption", "兰州", 2020, "geometric")
    assert target.basis == A.ANNEX and target.value == 2899 and "附件1" in target.source
    assert A.derived_target(ruleset.params, "consumption", "甘肃矿区", 2018, "linear") is None  # not in Annex 1
    assert A.derived_target(ruleset.params, "so2", "甘肃矿区", 2018, "linear") is not None


# ------------------------------------------------------------------------------------------ a 2018 record

def test_2018_record_without_issued_target_gives_a_result_and_a_gap_naming_the_derivation(ruleset, tmp_path):
    path = _lanzhou_2018(tmp_path)
    report = check([path], ruleset, AS_OF, annual=_settings(ruleset, method="geometric")).report
    findings = {f.rule_id: f for f in report.findings}
    assert {"PREF-021", "PREF-022"} <= set(findings)
    assert not {"PREF-011", "PREF-012"} & set(findings)
    for rule_id in ("PREF-021", "PREF-022"):
        f = findings[rule_id]
        assert f.status == "gap" and f.force == "target" and f.letter == "none"
        assert not f.consequences and not f.measures
        assert "推算" in f.message and "几何" in f.message and "不是下达的目标" in f.message
    assert not any(f.status == "violation" for f in report.findings)
    records, _ = assessment.read_records([path], ruleset)
    rows = assessment.assess(records, ruleset.params, _settings(ruleset, method="geometric"), assessment.load_config())
    energy = {r.indicator: r for r in rows}
    assert energy["consumption"].basis == A.DERIVED and energy["consumption"].grade == assessment.MISSED
    assert energy["intensity"].target == 12.53 and "几何" in energy["intensity"].source
    assert "（按推算目标）" in assessment.table_rows(rows)[0][8]


def test_2018_record_with_issued_target_is_a_binding_violation_citing_the_document(ruleset, tmp_path):
    params = tmp_path / "params"
    params.mkdir()
    _csv(params / "annual_targets.csv", TABLE_HEADER, [["兰州", 2018, "能源消费总量", 2650, "万吨标准煤", *DOC],
                                                       ["兰州", 2018, "能耗强度", 12, "%", *DOC]])
    path = _lanzhou_2018(tmp_path)
    report = check([path], ruleset, AS_OF, annual=_settings(ruleset, params)).report
    findings = {f.rule_id: f for f in report.findings}
    assert {"PREF-011", "PREF-012"} <= set(findings)
    assert not {"PREF-021", "PREF-022"} & set(findings)  # issued targets replace the derived ones
    f = findings["PREF-012"]
    assert f.status == "violation" and f.force == "binding" and f.period == 2018
    assert "甘发改环资〔2018〕7号" in f.message and "关于下达2018年度能耗双控目标的通知" in f.message
    assert f.measures == ("hold_high_energy_projects",)
    assert any("约谈" in c.quote for c in f.consequences)
    assert report.manifest["annual_targets"]["issued_rows"] == 2


def test_measure_of_an_issued_annual_target_lapses_when_a_later_assessment_is_met(ruleset, tmp_path):
    params = tmp_path / "params"
    params.mkdir()
    _csv(params / "annual_targets.csv", TABLE_HEADER, [
        ["兰州", 2018, "能源消费总量", 2650, "万吨标准煤", *DOC],
        ["兰州", 2019, "能源消费总量", 2850, "万吨标准煤", "关于下达2019年度能耗双控目标的通知", "甘发改环资〔2019〕3号", "2019-03-01"]])
    path = _csv(tmp_path / "p.csv", HEADER, [["兰州市", 2018, 11, 2750, 39000, 7000, 61000, 71000, "是"],
                                             ["兰州市", 2019, 15, 2800, 38000, 6900, 59000, 69000, "是"]])
    report = check([path], ruleset, AS_OF, annual=_settings(ruleset, params)).report
    f = next(f for f in report.findings if f.rule_id == "PREF-012")
    assert f.period == 2018 and not f.measures and any("2019年度考核已完成目标" in x for x in f.lapsed)


# ------------------------------------------------------------------------------------------ the issued table

def _load(tmp_path, rows, regions):
    return A.load_issued(_csv(tmp_path / "annual_targets.csv", TABLE_HEADER, rows), regions)


def test_issued_table_reads_names_indicators_and_dates(ruleset, tmp_path):
    table = _load(tmp_path, [["兰州市", "2018", "能源消费总量", "2,650", "", *DOC[:2], "2018年3月1日"],
                             ["甘南州", 2019, "单位GDP能耗降幅", "9.5%", "%", *DOC]], regions_of(ruleset))
    assert table.get("兰州", 2018, "consumption").value == 2650
    assert table.get("甘南", 2019, "intensity").issued_on == dt.date(2018, 3, 1)
    assert "甘发改环资〔2018〕7号" in table.get("兰州", 2018, "consumption").source()


@pytest.mark.parametrize("row, field, words", [
    (["兰州", 2018, "能源消费总量", 2650, "万吨标准煤", "", DOC[1], DOC[2]], "下达文件", "为空"),
    (["兰州", 2018, "能源消费总量", 2650, "万吨标准煤", DOC[0], "", DOC[2]], "文号", "为空"),
    (["兰州", 2018, "能源消费总量", 2650, "万吨标准煤", DOC[0], DOC[1], "三月"], "印发日期", "不是日期"),
    (["兰洲市", 2018, "能源消费总量", 2650, "万吨标准煤", *DOC], "市州", "不是甘肃省的市州"),
    (["兰州", 2020, "能源消费总量", 2650, "万吨标准煤", *DOC], "年度", "2016—2019"),
    (["兰州", 2018, "碳排放", 2650, "万吨标准煤", *DOC], "指标", "不是考核指标"),
    (["兰州", 2018, "能源消费总量", "很多", "万吨标准煤", *DOC], "年度目标值", "不是数值"),
    (["兰州", 2018, "能源消费总量", 2650, "吨", *DOC], "单位", "不是能源消费总量的单位"),
    (["全省", 2018, "能源消费总量", 8000, "万吨标准煤", *DOC], "市州", "全省"),
])
def test_a_bad_row_names_file_row_field_and_fix(ruleset, tmp_path, row, field, words):
    good = ["兰州", 2018, "能耗强度", 12, "%", *DOC]
    with pytest.raises(ParameterError) as info:
        _load(tmp_path, [good, row], regions_of(ruleset))
    text = str(info.value)
    assert "annual_targets.csv" in text and "第3行" in text and f"字段“{field}”" in text and words in text
    assert "处理办法：" in text


def test_duplicate_rows_and_incomplete_pollutants_are_refused(ruleset, tmp_path):
    row = ["兰州", 2018, "能耗强度", 12, "%", *DOC]
    with pytest.raises(ParameterError, match="已在第2行给出"):
        _load(tmp_path, [row, row], regions_of(ruleset))
    with pytest.raises(ParameterError, match="缺氨氮排放量"):
        _load(tmp_path, [["兰州", 2018, p, 100, "吨", *DOC] for p in ("化学需氧量", "二氧化硫", "氮氧化物")],
              regions_of(ruleset))


def test_missing_column_and_missing_table(ruleset, tmp_path):
    path = _csv(tmp_path / "annual_targets.csv", TABLE_HEADER[:-1], [])
    with pytest.raises(ParameterError, match="缺少“印发日期”列"):
        A.load_issued(path, regions_of(ruleset))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ParameterError, match="template annual_targets"):
        _settings(ruleset, empty)


def test_template_reads_back_as_an_empty_table(ruleset, tmp_path):
    path = tmp_path / "annual_targets.csv"
    path.write_text(A.template_csv(), encoding="utf-8")
    assert len(A.load_issued(path, regions_of(ruleset))) == 0
    A.template_xlsx(tmp_path / "annual_targets.xlsx")
    assert len(A.load_issued(tmp_path / "annual_targets.xlsx", regions_of(ruleset))) == 0


def test_sample_issued_table_is_valid(ruleset):
    settings = _settings(ruleset, SAMPLE_PARAMS)
    assert len(settings.issued) > 0 and all("示例" in r.document for r in settings.issued.rows)


# ------------------------------------------------------------------------------------------ grades and config

def test_grades_by_cut_offs():
    grades = assessment.load_config()["grades"]
    assert assessment.grade("intensity", 13.3, 12, grades) == assessment.EXCEEDED  # 110.8 %
    assert assessment.grade("intensity", 12, 12, grades) == assessment.MET
    assert assessment.grade("intensity", 11.9, 12, grades) == assessment.MISSED  # default: no 基本完成 band
    assert assessment.grade("consumption", 2650, 2650, grades) == assessment.MET
    assert assessment.grade("consumption", 2651, 2650, grades) == assessment.MISSED
    banded = dict(grades, basic_min=0.95)
    assert assessment.grade("intensity", 11.5, 12, banded) == assessment.BASIC


def test_config_is_validated(tmp_path):
    bad = tmp_path / "a.yaml"
    bad.write_text("grades: {met_min: 1.2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="basic_min ≤ met_min ≤ exceeded_min"):
        assessment.load_config(bad)
    bad.write_text("warning: {cap: {red_above: 是}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="应是数值"):
        assessment.load_config(bad)


# ------------------------------------------------------------------------------------------ early warning

QUARTER_HEADER = ["市州", "年度", "统计周期", "期次（月份或季度）", "是否自年初累计", "能源消费量（万吨标准煤）",
                  "单位GDP能耗同比降幅（%）"]


def test_warning_level_changes_as_quarterly_data_arrive(ruleset, tmp_path):
    # 庆阳 2019, derived linear target 367.6 万吨; required intensity reduction 2.82 %
    quarters = [[88, 3.0], [186, 2.0], [290, 0.5], [412, -0.4]]
    settings, config = _settings(ruleset), assessment.load_config()
    seen = []
    for n in range(1, 5):
        path = _csv(tmp_path / f"q{n}.csv", QUARTER_HEADER,
                    [["庆阳市", 2019, "季度", q, "是", *quarters[q - 1]] for q in range(1, n + 1)])
        records, _ = assessment.read_records([path], ruleset)
        found, problems = warning.within_year(records, ruleset.params, settings, config)
        assert not problems
        latest = [w for w in found if w.elapsed == 3 * n]
        seen.append(min(w.level for w in latest))
        consumption = next(w for w in latest if w.indicator == "consumption")
        assert consumption.basis == A.DERIVED
        assert consumption.projected == round(quarters[n - 1][0] * 12 / (3 * n), 2)
    assert seen == [warning.GREEN, warning.YELLOW, warning.RED, warning.RED]
    _rows, columns, cells = warning.grid(found)
    assert columns == ["2019年第一季度", "2019年第二季度", "2019年第三季度", "2019年第四季度"]
    assert [cells[("庆阳市", c)] for c in columns] == seen


def test_gap_per_remaining_month_and_single_period_records(ruleset, tmp_path):
    path = _csv(tmp_path / "m.csv", QUARTER_HEADER, [["陇南市", 2019, "月", m, "否", 20, ""] for m in (1, 2, 4)])
    records, _ = assessment.read_records([path], ruleset)
    found, problems = warning.within_year(records, ruleset.params, _settings(ruleset), assessment.load_config())
    assert [w.elapsed for w in found] == [1, 2]  # month 3 missing: month 4 cannot be cumulated
    assert problems and "不连续" in problems[0]
    w = found[-1]  # 40 in two months → 240 projected against 186 + 30 × 4/5 = 210
    assert w.target == 210 and w.projected == 240 and w.per_month == 3.0 and w.level == warning.RED
    assert "每月需比当前进度少用3万吨标准煤" in w.advice()


def test_cap_and_reduction_levels_at_the_cut_offs():
    cfg = assessment.load_config()["warning"]
    assert warning.cap_level(1.0, cfg["cap"]) == warning.GREEN
    assert warning.cap_level(1.0001, cfg["cap"]) == warning.YELLOW
    assert warning.cap_level(1.05, cfg["cap"]) == warning.YELLOW
    assert warning.cap_level(1.0501, cfg["cap"]) == warning.RED
    assert warning.reduction_level(1.0, cfg["reduction"]) == warning.GREEN
    assert warning.reduction_level(0.0, cfg["reduction"]) == warning.YELLOW
    assert warning.reduction_level(-0.01, cfg["reduction"]) == warning.RED


# ------------------------------------------------------------------------------------------ outputs

def test_assess_writes_table_charts_and_the_warning_notice(tmp_path):
    from click.testing import CliRunner
    from engine.cli import cli
    samples = ROOT / "inputs" / "samples"
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["assess", str(samples / "prefectures_2016_2020.csv"),
                                      str(samples / "prefecture_periods_2019.csv"), "--params", str(SAMPLE_PARAMS),
                                      "--out", str(out), "--format", "html", "--format", "md", "--format", "docx",
                                      "--issued-on", "2020-01-20"])
    assert result.exit_code == 0, result.output
    import openpyxl
    sheet = openpyxl.load_workbook(out / "考核结果.xlsx").active
    assert [c.value for c in sheet[2]] == list(assessment.TABLE_HEADER)
    html = (out / "考核结果.html").read_text(encoding="utf-8")
    assert "推算（非下达）" in html and "省上下达" in html and "不是下达的目标" in html
    assert (out / "charts" / "预警等级_按季度.svg").read_text(encoding="utf-8").startswith("<?xml")
    assert (out / "charts" / "目标路径_兰州市.svg").exists()
    notice = next((out / "预警通报-md").glob("early_warning_*.md")).read_text(encoding="utf-8")
    assert "及时公布各地区、重点行业、重点单位节能减排目标完成情况，发布预警信息" in notice
    assert "不是考核结论" in notice and "推算" in notice
    for word in ("问责", "约谈", "缓批限批", "环评审批"):
        assert word not in notice
    assert next((out / "预警通报-docx").glob("early_warning_*.docx")).stat().st_size > 0
