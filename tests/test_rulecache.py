"""The rule-set cache (engine.rulecache): the same rule set as a fresh load, a new entry whenever a file it is made
of changes, and an unreadable entry ignored."""

import os
import pickle

import pytest

from engine import rulecache
from engine.rules import load_ruleset
from engine.runner import DEFAULT_RULES, DEFAULT_SCHEMAS, load_rules
from tests.conftest import copy_core_rules


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ECOCHECK_CACHE_DIR", str(folder))
    monkeypatch.delenv("ECOCHECK_CACHE", raising=False)
    return folder


@pytest.fixture
def core(tmp_path):
    """A copy of the rules folder with the headline rules only: the tests of the cache's keys and entries load it
    several times (the whole rule set is loaded by the first test)."""
    return copy_core_rules(tmp_path / "core")


def _counting(calls):
    def load(rules_dir, schemas_dir):
        calls.append(rules_dir)
        return load_ruleset(rules_dir, schemas_dir)
    return load


def test_cached_rule_set_equals_a_fresh_load(cache):
    fresh = load_ruleset(DEFAULT_RULES, DEFAULT_SCHEMAS)
    first = load_rules()  # parsed and stored
    assert len(list(cache.glob("rules-*.pickle"))) == 1
    again = load_rules()  # read from the cache
    assert again is not first
    for loaded in (first, again):
        assert loaded.rules == fresh.rules and loaded.fingerprint == fresh.fingerprint
        assert loaded.schemas == fresh.schemas and loaded.measures == fresh.measures
        assert loaded.params.fingerprint_parts() == fresh.params.fingerprint_parts()


def test_a_changed_rule_file_is_loaded_again(cache, core):
    rules = core
    calls = []
    rulecache.cached(rules, DEFAULT_SCHEMAS, _counting(calls))
    rulecache.cached(rules, DEFAULT_SCHEMAS, _counting(calls))
    assert len(calls) == 1
    rule = next(p for p in sorted(rules.glob("*/*.yaml")) if "BOILER-001" in p.name)
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("title:", "title: ", 1), encoding="utf-8")  # one space more: the same meaning, other bytes
    os.utime(rule, ns=(rule.stat().st_atime_ns, rule.stat().st_mtime_ns))
    rulecache.cached(rules, DEFAULT_SCHEMAS, _counting(calls))
    assert len(calls) == 2
    (rules / "parameters" / "extra.txt").write_text("x", encoding="utf-8")  # any new file under the folder
    rulecache.cached(rules, DEFAULT_SCHEMAS, _counting(calls))
    assert len(calls) == 3


def test_an_unreadable_entry_is_ignored_and_replaced(cache, core):
    calls = []
    rulecache.cached(core, DEFAULT_SCHEMAS, _counting(calls))
    (entry,) = cache.glob("rules-*.pickle")
    entry.write_bytes(entry.read_bytes()[:1000])  # truncated
    loaded = rulecache.cached(core, DEFAULT_SCHEMAS, _counting(calls))
    assert len(calls) == 2 and len(loaded.rules) == 9
    entry.write_bytes(pickle.dumps(("another key", "not a rule set")))
    assert rulecache.cached(core, DEFAULT_SCHEMAS, _counting(calls)).rules == loaded.rules
    assert len(calls) == 3


def test_cache_off(cache, core, monkeypatch):
    monkeypatch.setenv("ECOCHECK_CACHE", "0")
    calls = []
    rulecache.cached(core, DEFAULT_SCHEMAS, _counting(calls))
    rulecache.cached(core, DEFAULT_SCHEMAS, _counting(calls))
    assert len(calls) == 2 and not cache.exists()


def test_an_invalid_rule_set_is_not_cached(cache, core):
    from engine.errors import RuleError

    rules = core
    rule = next(p for p in sorted(rules.glob("*/*.yaml")) if "BOILER-001" in p.name)
    rule.write_text("id: [", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(RuleError):
            load_rules(rules)
    assert not list(cache.glob("rules-*.pickle"))


def test_a_check_whose_rule_set_comes_from_the_cache_does_not_load_pyyaml(cache, core, tmp_path):
    """PyYAML is imported when a YAML file is first read (engine.yamlio): a check whose rules come from the cache reads
    none, and does not pay for the import; the check that fills the cache reads the rule files with it."""
    import subprocess
    import sys
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "inputs" / "samples" / "boilers.csv"
    probe = ("import sys; from engine.cli import main\n"
             "try: main(sys.argv[1:])\nexcept SystemExit: pass\n"
             "print('yaml' in sys.modules)")
    command = [sys.executable, "-c", probe, "check", str(sample), "--rules", str(core), "--no-db", "--format", "json",
               "--output", str(tmp_path / "out.json"), "--as-of", "2021-12-31"]
    root = Path(__file__).resolve().parents[1]
    filling, cached = (subprocess.run(command, capture_output=True, text=True, cwd=root) for _ in range(2))
    assert filling.stdout.split()[-1] == "True", filling.stderr
    assert cached.stdout.split()[-1] == "False", cached.stderr
    assert len(list(cache.glob("rules-*.pickle"))) == 1
