"""The self-assessment report (自查报告): every provision on the unit's records sorted into met, not met, gaps, unknown."""

from __future__ import annotations

import datetime as dt

import pytest

from engine import self_report
from engine.cli import main
from engine.runner import check, sample_paths

UNIT = "金昌某冶炼有限公司"


@pytest.fixture(scope="module")
def report(ruleset):
    result = check(sample_paths(), ruleset, dt.date(2026, 12, 1), keep_results=True)
    [unit] = self_report.build(result.report.results, list(result.report.findings), ruleset, dt.date(2026, 12, 1),
                               {UNIT})
    return unit, result.report


def test_every_applicable_provision_of_the_unit_is_in_exactly_one_section(report, ruleset):
    unit, run = report
    rules = {r.id: r for r in ruleset.rules}
    own = [r for r in run.results if (r.subject.recipient or r.subject.name) == UNIT and r.status != "not_applicable"
           and (rules[r.rule_id].binds in ("unit", "manufacturer") or rules[r.rule_id].binds == "approval_authority"
                and r.status == "violation")]
    sections = unit.met + unit.not_met + unit.gaps + unit.unknown + unit.measures
    assert sorted((i.rule_id, i.source) for i in sections) == \
        sorted((r.rule_id, f"{r.source.file.rsplit('/', 1)[-1]} 第{r.source.row}行") for r in own)
    assert unit.applicable == len(unit.met) + len(unit.not_met) + len(unit.gaps) + len(unit.unknown)


def test_sections_follow_the_legal_force(report, ruleset):
    unit, _ = report
    force = {r.id: r.force for r in ruleset.rules}
    assert unit.not_met and all(force[i.rule_id] == "binding" for i in unit.not_met)
    assert unit.gaps and all(force[i.rule_id] != "binding" for i in unit.gaps)  # a gap is never "not met"
    assert {i.rule_id for i in unit.measures} == {"PROJ-010"}  # its expansion project is held by the measure
    assert all(i.missing for i in unit.unknown)
    assert {"KEYUNIT-003", "KEYUNIT-007"} <= {i.rule_id for i in unit.not_met}
    assert "KEYUNIT-013" in {i.rule_id for i in unit.gaps}


def test_the_report_is_the_unit_speaking_not_an_authority(ruleset, tmp_path, capsys):
    out = tmp_path / "自查报告.md"
    paths = [str(p) for p in sample_paths() if p.stem in ("key_energy_units", "projects_buildings",
                                                            "enterprise_benchmarks")]
    with pytest.raises(SystemExit) as exc:
        main(["check", *paths, "--report", "self", "--output", str(out), "--as-of", "2026-12-01"])
    assert exc.value.code == 0, capsys.readouterr()
    text = out.read_text(encoding="utf-8")
    assert f"# {UNIT}节能减排有关规定自查报告" in text and "本单位" in text
    for word in ("责令", "通知书", "我委", "我局", "特此通知"):
        assert word not in text
    assert "不属于违反规定" in text and "缺少或无法识别" in text and "迎接检查前应做的准备" in text
    assert "相差4.6个百分点" in text  # the unit's gap to the 17% sector target, in percentage points


def test_self_report_needs_a_document_file(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "inputs/samples/boilers.csv", "--report", "self"])
    assert exc.value.code == 2 and ".html 或 .md" in capsys.readouterr().err
