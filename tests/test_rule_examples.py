"""Every example written in every rule file gives its expected state through both executors (column and durable_rules)."""

import pytest

from engine.examples import run_example
from engine.rules import rule_files
from engine.runner import load_rules
from tests.conftest import ROOT, yaml_file

RULESET = load_rules()
CASES = [(rule, example) for rule in RULESET.rules for example in rule.examples]


@pytest.mark.parametrize("engine", ["column", "durable"])
@pytest.mark.parametrize("rule,example", CASES, ids=[f"{r.id}:{e.name}" for r, e in CASES])
def test_example_gives_expected_state(rule, example, engine):
    outcome = run_example(RULESET, rule, example, engine)
    assert outcome.got == example.expect, outcome.detail


def test_every_rule_file_is_loaded_with_all_its_examples():
    files = rule_files(ROOT / "rules")
    assert sorted(p.stem for p in files) == sorted(r.id for r in RULESET.rules)
    written = sum(len(yaml_file(p)["examples"]) for p in files)
    assert written == len(CASES)


def test_every_rule_shows_violation_compliant_and_indeterminate():
    for rule in RULESET.rules:
        short = "violation" if rule.force == "binding" else "gap"  # target and aspirational rules report a gap
        assert {short, "compliant", "indeterminate"} <= {e.expect for e in rule.examples}, rule.id


def test_a_wrong_expectation_is_reported_as_a_failure():
    rule = RULESET.by_id("COAL-001")
    example = next(e for e in rule.examples if e.expect == "violation")
    wrong = type(example)(name=example.name, record=example.record, expect="compliant")
    outcome = run_example(RULESET, rule, wrong)
    assert not outcome.passed and outcome.got == "violation"
