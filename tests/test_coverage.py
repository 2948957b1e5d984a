"""The coverage matrix: every article of both documents is covered by a rule or has a reason, and COVERAGE.md is current."""

import shutil

import pytest

from engine import coverage
from engine.errors import RuleError
from engine.rules import load_ruleset
from engine.runner import load_rules
from tests.conftest import ROOT

RULESET = load_rules()
ROWS = coverage.matrix(RULESET)


def test_every_unit_has_a_rule_or_a_reason_and_no_covered_unit_keeps_one():
    assert coverage.problems(ROWS) == []


def test_the_matrix_lists_every_article_annex_and_climate_item():
    plan = [r.article for r in ROWS if r.document == "energy-plan"]
    assert len([a for a in plan if not a.startswith("附件")]) == 47 and plan[-6:] == [f"附件{n}" for n in range(1, 7)]
    climate = [r.article for r in ROWS if r.document == "climate-opinion"]
    assert "四.（一）.5" in climate and "四.（二）.6" in climate and "十.（三）" in climate
    assert "四.（一）" not in climate  # a section with numbered items is listed by its items


def test_committed_coverage_md_is_current():
    committed = (ROOT / "rules" / "COVERAGE.md").read_text(encoding="utf-8")
    assert committed == coverage.to_markdown(ROWS, RULESET), "run: ecocheck rules coverage --output rules/COVERAGE.md"
    assert "### 可判定条款句 Checkable provisions of energy-plan" in committed  # the provision view is in it too


def test_headline_provisions_are_covered_by_their_rules():
    by_unit = {(r.document, r.article): r.rules for r in ROWS}
    assert {"BOILER-001", "BOILER-002"} <= set(by_unit[("energy-plan", "三.（十三）")])
    assert "COAL-001" in by_unit[("energy-plan", "四.（十七）")]
    assert {"PREF-001", "PREF-002", "PREF-003", "PROJ-001", "PROJ-002"} <= set(by_unit[("energy-plan", "十.（四十一）")])
    assert {"PREF-001", "PREF-002"} <= set(by_unit[("energy-plan", "附件1")])


def _copy_rules(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


def test_a_rule_citing_an_article_that_does_not_exist_is_refused(tmp_path):
    rules_dir = _copy_rules(tmp_path)
    path = rules_dir / "coal" / "COAL-001.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("article: 四.（十七）", "article: 四.（四十八）"),
                    encoding="utf-8")
    with pytest.raises(RuleError, match=r"中没有条款“四.（四十八）”"):
        load_ruleset(rules_dir, ROOT / "inputs" / "schemas")


def test_a_coverage_reason_for_an_article_that_does_not_exist_is_refused(tmp_path):
    rules_dir = _copy_rules(tmp_path)
    (rules_dir / "coverage" / "zz-bad.yaml").write_text(
        "energy-plan:\n  三.（九十）: {category: aspirational, reason: x}\n", encoding="utf-8")
    with pytest.raises(RuleError, match="不是 .* 的条款、项或附件"):
        coverage.matrix(load_ruleset(rules_dir, ROOT / "inputs" / "schemas"))


def test_formats_agree(tmp_path):
    csv_text = coverage.to_csv(ROWS)
    assert csv_text.startswith("\ufeff") and csv_text.count("\r\n") == len(ROWS) + 1
    import json
    provisions = coverage.load_provisions(RULESET)
    data = json.loads(coverage.to_json(ROWS, provisions))
    assert len(data["articles"]) == len(ROWS) and len(data["provisions"]) == len(provisions)
