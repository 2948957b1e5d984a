"""Shared fixtures: the bundled rule set, loaded once per test session."""

from pathlib import Path

import pytest

from engine.runner import load_rules

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def ruleset():
    return load_rules()
