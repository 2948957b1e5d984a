"""The column executor and durable_rules derive the same measures and chains (prefecture results and key units to
measures, projects joined to them) on generated records (tests/enginekit.py); a file of its own so that the
longest test runs beside the others (pytest-xdist gives each file to one worker)."""

from __future__ import annotations

from hypothesis import given, settings

from tests.conftest import scaled
from tests.enginekit import (AS_OF, BATCH, CHAIN_BATCH, CHAINS, EXAMPLES, SETTINGS, TALLY,  # noqa: F401
                             assert_same, enough_records, rows_of, _records)


def test_both_executors_agree_on_measures_and_chains():
    size = CHAIN_BATCH

    @settings(max_examples=scaled(EXAMPLES * BATCH // CHAIN_BATCH), **SETTINGS)
    @given(*[rows_of(kind, size) for kind in CHAINS], AS_OF)
    def run(prefectures, units, projects, as_of):
        projects = _applied_by_units(projects, units)
        records = _records("prefecture_year", prefectures) + _records("key_energy_unit", units, 1000) + \
            _records("project", projects, 2000)
        assert_same(records, as_of)
        for kind, rows in zip(CHAINS, (prefectures, units, projects)):
            TALLY[kind] = TALLY.get(kind, 0) + len(rows)
    run()


def _applied_by_units(projects: list, units: list) -> list:
    """Every other project applied for by one of the example's key units (its credit code, the id _records gives a
    unit that has none: KEY0, KEY1 …), so that a measure derived for a unit meets projects it binds; the others keep
    the codes they were drawn with."""
    return [dict(row, applicant_credit_code=units[n % len(units)].get("credit_code") or f"KEY{n % len(units)}")
            if n % 2 == 0 and units else row for n, row in enumerate(projects)]
