"""Limits from external standards (rules/parameters/external_limits.csv): until the user confirms one, a rule reading it
is indeterminate with the reason and never a violation; confirmed (in --params DIR/external_limits.csv), it decides."""

import csv
import json

import pytest

from engine import external_limits
from engine.errors import ParameterError
from engine.examples import example_records
from engine.runner import evaluate_records, regions_of
from tests.conftest import ROOT, cli_run

AS_OF = __import__("datetime").date(2021, 12, 31)
HEADER = "限值,数值,单位,是否确认,确认依据\n"


def _states(ruleset, rule_id, rows, engine="column"):
    rule = ruleset.by_id(rule_id)
    records = []
    for n, row in enumerate(rows, start=2):
        records += example_records(ruleset, rule.kind, row, "t.csv", n, regions_of(ruleset))
    results, findings = evaluate_records(ruleset, records, AS_OF, [rule], engine)
    return [r.status for r in sorted(results, key=lambda r: r.source.row)], findings


def _checks(temperature, mode="制冷"):
    return {"check_id": f"JC-{temperature}", "unit_name": "某商贸有限公司", "building_name": "某购物中心",
            "region": "兰州市", "checked_on": "2019-07-15", "mode": mode, "set_temperature_c": temperature}


def test_the_shipped_limits_are_unconfirmed_and_every_rule_reading_one_says_so(ruleset):
    rows = list(csv.DictReader((ROOT / "rules" / "parameters" / "external_limits.csv").read_text(encoding="utf-8")
                               .splitlines()))
    assert rows and all(r["confirmed"] == "false" and r["external"] == "true" and r["source_standard"] for r in rows)
    table = ruleset.params.table("external_limits")
    assert table.value("value", "aircon_cooling_min_c") is None  # the reference value is not handed to a rule
    readers = {r.id for r in ruleset.rules if r.pending}
    assert {"AIRCON-001", "AIRCON-002", "PROC-001", "PROC-002", "CLIM-061", "FUME-001"} <= readers
    assert all("外部标准限值未经确认" in reason for r in ruleset.rules for reason in r.pending)
    assert not ruleset.by_id("BOILER-001").pending


@pytest.mark.parametrize("engine", ["column", "durable"])
def test_an_unconfirmed_limit_never_gives_a_violation_and_a_confirmed_one_does(ruleset, engine):
    temperatures = [10, 18.5, 22, 24, 25.9, 26, 27, 30]
    states, findings = _states(ruleset, "AIRCON-001", [_checks(t) for t in temperatures], engine)
    assert states == ["indeterminate"] * len(temperatures)
    assert all("外部标准限值未经确认" in f.message and "建科〔2007〕241号" in f.message for f in findings)
    confirmed = external_limits.apply(ruleset, {"aircon_cooling_min_c": 26})
    states, _ = _states(confirmed, "AIRCON-001", [_checks(t) for t in temperatures], engine)
    assert states == ["violation"] * 5 + ["compliant"] * 3
    assert confirmed.fingerprint != ruleset.fingerprint
    assert ruleset.params.table("external_limits").value("value", "aircon_cooling_min_c") is None  # unchanged


def test_a_confirmed_value_is_the_one_applied_not_the_reference(ruleset):
    confirmed = external_limits.apply(ruleset, {"aircon_cooling_min_c": 25})
    states, findings = _states(confirmed, "AIRCON-001", [_checks(24), _checks(25)])
    assert states == ["violation", "compliant"]
    assert "24℃ < 25℃" in findings[0].message


def test_a_missing_field_and_an_unconfirmed_limit_are_both_named(ruleset):
    row = _checks(24)
    del row["set_temperature_c"]
    _, findings = _states(ruleset, "AIRCON-001", [row])
    assert "空调温度设置值：未填写" in findings[0].message and "外部标准限值未经确认" in findings[0].message


def test_a_limit_with_no_reference_value_says_so(ruleset):
    rule = ruleset.by_id("CLIM-061")
    assert any("无参考值" in reason for reason in rule.pending)


def _confirm(tmp_path, body: str):
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "external_limits.csv").write_text(HEADER + body, encoding="utf-8")
    return folder


def test_check_uses_the_limits_confirmed_in_the_params_folder(tmp_path):
    sample = str(ROOT / "inputs" / "samples" / "building_temperatures.csv")
    before = cli_run("check", sample, "--as-of", "2021-12-31", "--format", "json")
    assert before.returncode == 0, before.stderr
    statuses = {f["rule_id"]: f["status"] for f in json.loads(before.stdout)["findings"]}
    assert statuses == {"AIRCON-001": "indeterminate", "AIRCON-002": "indeterminate"}
    folder = _confirm(tmp_path, "aircon_cooling_min_c,26,℃,是,建科〔2007〕241号第四条，已核对原文\n"
                                "aircon_heating_max_c,20,℃,否,\n")
    after = cli_run("check", sample, "--as-of", "2021-12-31", "--format", "json", "--params", str(folder))
    assert after.returncode == 1, after.stderr
    found = json.loads(after.stdout)["findings"]
    assert [(f["rule_id"], f["status"], f["subject"]["id"]) for f in found if f["status"] == "violation"] == \
           [("AIRCON-001", "violation", "JC-2019-0701")]
    assert any(f["rule_id"] == "AIRCON-002" and f["status"] == "indeterminate" for f in found)  # 否: not confirmed


@pytest.mark.parametrize("body, words", [
    ("aircon_cooling_min,26,℃,是,依据\n", "没有外部标准限值“aircon_cooling_min”"),
    ("aircon_cooling_min_c,二十六,℃,是,依据\n", "不是数值"),
    ("aircon_cooling_min_c,26,K,是,依据\n", "单位“K”与该限值的单位“℃”不同"),
    ("aircon_cooling_min_c,26,℃,是,\n", "确认依据为空"),
    ("aircon_cooling_min_c,26,℃,也许,依据\n", "不是 是 或 否"),
])
def test_a_confirmation_the_loader_cannot_use_stops_the_run_with_the_row_and_the_fix(tmp_path, body, words):
    folder = _confirm(tmp_path, body)
    result = cli_run("check", str(ROOT / "inputs" / "samples" / "building_temperatures.csv"), "--params", str(folder))
    assert result.returncode == 3
    assert result.stderr.startswith("错误：") and "external_limits.csv" in result.stderr and "第2行" in result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr


def test_read_confirmations_needs_its_columns(tmp_path, ruleset):
    path = tmp_path / "external_limits.csv"
    path.write_text("限值,数值\naircon_cooling_min_c,26\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="缺少列"):
        external_limits.read_confirmations(path, ruleset.params.table("external_limits"))


def test_a_letter_never_asks_a_unit_about_an_unconfirmed_limit(tmp_path):
    records = tmp_path / "checks.csv"
    records.write_text("检查记录编号,经营（管理）单位,建筑（商场）名称,所在市州,检查日期,空调运行模式,空调温度设置值（℃）\n"
                       "JC-1,某商贸有限公司,某购物中心,兰州市,2019-07-15,制冷,24\n"
                       "JC-2,某商贸有限公司,某购物中心,兰州市,2019-12-16,制热,23\n", encoding="utf-8")
    folder = _confirm(tmp_path, "aircon_cooling_min_c,26,℃,是,建科〔2007〕241号第四条，已核对原文\n")
    out = tmp_path / "letters"
    result = cli_run("letters", str(records), "--out", str(out), "--format", "md", "--as-of", "2021-12-31",
                     "--issued-on", "2021-12-31", "--params", str(folder))
    assert result.returncode == 0, result.stderr
    letters = list(out.rglob("facility_rectification_*.md"))
    assert len(letters) == 1
    text = letters[0].read_text(encoding="utf-8")
    assert "JC-1" in text and "空调温度设置值为24℃" in text and "JC-2" not in text and "外部标准限值" not in text
    record = next(out.rglob("检查记录.md")).read_text(encoding="utf-8")
    assert "外部标准限值未经使用者确认，不据此认定" in record
