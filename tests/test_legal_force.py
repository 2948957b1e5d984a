"""Legal force, bound party, acting authority and quoted consequences: shown by `rules list`, enforced by validate."""

from __future__ import annotations

import re

import pytest
from conftest import copy_core_rules
from engine.cli import main
from engine.legal_force import BINDING_PARTIES, FORCES, PARTIES


class _Run:
    def __init__(self, exit_code: int, output: str):
        self.exit_code, self.output = exit_code, output


@pytest.fixture
def _invoke(capsys):
    """The CLI in-process, as a user runs it: exit code and everything printed (errors included)."""
    def invoke(*args):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        captured = capsys.readouterr()
        return _Run(code, captured.out + captured.err)
    return invoke


def _edit(path, old: str, new: str):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def rules_dir(tmp_path):
    return copy_core_rules(tmp_path / "rules")


def test_rules_list_shows_force_binds_and_acting_for_every_rule(ruleset, _invoke):
    result = _invoke("rules", "list")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(ruleset.rules)
    for rule, line in zip(ruleset.rules, lines):
        assert line.startswith(rule.id)
        assert rule.force in line and rule.binds in line and "、".join(rule.acting) in line


def test_every_rule_has_a_legal_force_its_party_allows(ruleset):
    for rule in ruleset.rules:
        assert rule.force in FORCES and rule.binds in PARTIES and rule.acting, rule.id
        if rule.force == "binding":
            assert rule.binds in BINDING_PARTIES, rule.id
        assert "法律效力" in rule.interpretation, rule.id  # the reason for the force is written down


@pytest.mark.parametrize("old, new, field, words", [
    ("force: binding\n", "", "force", "force“None”不是"),
    ("binds: manufacturer\n", "binds: province\n", "binds", "binding 规则约束的是"),
    ("acting: [省质监局, 省发展改革委, 省工信委, 省环保厅]\n", "acting: [省公安厅]\n", "acting",
     "“省公安厅”未见于"),
    ("acting: [省质监局, 省发展改革委, 省工信委, 省环保厅]\n", "", "acting", "要写明负责实施的机关"),
    ("effective: 2021-01-01", "effective: 2020-01-01", "deadline.effective", "自 2021-01-01 起生效"),
])
def test_validate_refuses_a_rule_without_its_legal_keys(rules_dir, old, new, field, words, _invoke):
    _edit(rules_dir / "boilers" / "BOILER-001.yaml", old, new)
    result = _invoke("rules", "validate", str(rules_dir))
    assert result.exit_code == 3, result.output
    assert "BOILER-001" in result.output and field in result.output and words in result.output, result.output


def test_validate_refuses_an_unquoted_consequence(rules_dir, _invoke):
    path = rules_dir / "prefectures" / "PREF-001.yaml"
    _edit(path, "  consequences:\n", "  consequences:\n    - 纳入重点监管名单\n")
    result = _invoke("rules", "validate", str(rules_dir))
    assert result.exit_code == 3
    assert "PREF-001" in result.output and "finding.consequences[0]" in result.output
    assert "没有所依据的原文" in result.output


def test_validate_refuses_a_quote_not_in_the_article(rules_dir, _invoke):
    path = rules_dir / "prefectures" / "PREF-002.yaml"
    _edit(path, "    - text: 实行高耗能项目缓批限批\n      quote: 实行高耗能项目缓批限批\n",
          "    - text: 暂停高耗能项目审批\n      quote: 暂停高耗能项目审批\n")
    result = _invoke("rules", "validate", str(rules_dir))
    assert result.exit_code == 3
    assert "finding.consequences[1].quote" in result.output and "引文不在 十.（四十一） 的原文中" in result.output


def test_a_target_rule_goes_into_no_notice(rules_dir, _invoke):
    path = rules_dir / "boilers" / "BOILER-003.yaml"
    _edit(path, "  letter: none", "  letter: facility_rectification")
    result = _invoke("rules", "validate", str(rules_dir))
    assert result.exit_code == 3 and "target 规则不进入任何通知书" in result.output


def test_a_target_rule_reports_a_gap_not_a_violation(rules_dir, _invoke):
    path = rules_dir / "boilers" / "BOILER-003.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"expect: gap", "expect: violation", text, count=1), encoding="utf-8")
    result = _invoke("rules", "validate", str(rules_dir))
    assert result.exit_code == 3 and "写 expect: gap" in result.output
