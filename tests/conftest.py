"""Shared fixtures: the bundled rule set, loaded once per test session, and a copy of the headline rules."""

import shutil
from pathlib import Path

import pytest

from engine.rules import rule_files
from engine.runner import load_rules

ROOT = Path(__file__).resolve().parents[1]
CORE_RULES = ("BOILER-001", "BOILER-002", "BOILER-003", "COAL-001", "PREF-001", "PREF-002", "PREF-003",
              "PROJ-001", "PROJ-002")


def copy_core_rules(target: Path) -> Path:
    """rules/ with its data folders and top-level files, and only the CORE_RULES rule files (so that tests of the
    headline rules do not change when more rules are added)."""
    rules = ROOT / "rules"
    rule_paths = {p.stem: p for p in rule_files(rules)}
    target.mkdir(parents=True, exist_ok=True)
    for item in rules.iterdir():
        if item.is_file():
            shutil.copy(item, target / item.name)
        elif item.is_dir() and not any(item == p.parent for p in rule_paths.values()):
            shutil.copytree(item, target / item.name)
    for rule_id in CORE_RULES:
        source = rule_paths[rule_id]
        (target / source.parent.name).mkdir(exist_ok=True)
        shutil.copy(source, target / source.parent.name / source.name)
    return target


@pytest.fixture(scope="session")
def ruleset():
    return load_rules()
