"""One deadline convention (rules/README.md) for every dated rule: the list of dated rules and their readings."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from engine.legal_force import deadline_reading

DATE_PHRASE = re.compile(r"到\d{4}年|\d{4}年(?:底|末)|\d{4}年\d{1,2}月\d{1,2}日起|[“”\"]?十[二三]五[“”\"]?(?:期间|末)")


@pytest.mark.parametrize("phrase, kind, effective", [
    ("到2020年", "year_end", dt.date(2021, 1, 1)),
    ("2020年实现", "year_end", dt.date(2021, 1, 1)),
    ("2017年底", "year_end", dt.date(2018, 1, 1)),
    ("2015年末", "year_end", dt.date(2016, 1, 1)),
    ("2017年1月1日起", "day", dt.date(2017, 1, 1)),
    ("自2018年1月1日", "day", dt.date(2018, 1, 1)),
    ("“十三五”期间", "period_end", dt.date(2021, 1, 1)),
    ("十三五末", "period_end", dt.date(2021, 1, 1)),
    ("“十二五”末", "period_end", dt.date(2016, 1, 1)),
])
def test_the_convention(phrase, kind, effective):
    assert deadline_reading(phrase) == (kind, effective)


def test_no_date_phrase_has_no_reading():
    assert deadline_reading("严格执行新建建筑节能标准") is None


def test_every_dated_rule_follows_the_convention(ruleset):
    """Lists every dated rule with its reading (run with -s to see the table)."""
    table = []
    for rule in ruleset.rules:
        if DATE_PHRASE.search(rule.quote):
            assert rule.deadline_phrase, f"{rule.id}: its quote '{rule.quote}' is dated but the rule has no deadline"
        if not rule.deadline_phrase:
            continue
        kind, effective = deadline_reading(rule.deadline_phrase)
        assert rule.deadline_effective == effective, rule.id
        assert rule.in_force_from == effective, f"{rule.id}: in force from {rule.in_force_from}, reading {effective}"
        table.append(f"{rule.id:<12} {rule.deadline_phrase:<16} {kind:<10} {effective}")
    print("\n" + "\n".join(table))
    assert len(table) >= 60
    readings = {line.split()[0]: line for line in table}
    # the three readings the issue found in disagreement now agree
    assert "2021-01-01" in readings["BOILER-001"] and "2021-01-01" in readings["FUEL-005"]
    assert "2018-01-01" in readings["VEH-001"]


def test_new_boilers_made_in_2020_are_outside_the_2020_deadline(ruleset):
    boiler = ruleset.by_id("BOILER-001")
    dates = [e.record.get("manufactured_on") for e in boiler.examples if e.expect == "not_applicable"]
    assert any(str(d).startswith("2020") for d in dates)
