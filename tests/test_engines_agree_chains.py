"""The column executor and durable_rules derive the same measures and chains (prefecture results and key units to
measures, projects joined to them) on generated records (tests/enginekit.py); a file of its own so that the
longest test runs beside the others (pytest-xdist gives each file to one worker)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.enginekit import (AS_OF_DATES, BATCH, CHAIN_BATCH, CHAINS, EXAMPLES, TALLY, assert_same,  # noqa: F401
                             enough_records, rows_of, _records)


def test_both_executors_agree_on_measures_and_chains():
    size = CHAIN_BATCH

    @settings(max_examples=EXAMPLES["ci"] * BATCH // CHAIN_BATCH + 1)
    @given(*[st.lists(rows_of(kind), min_size=size, max_size=size) for kind in CHAINS], st.sampled_from(AS_OF_DATES))
    def run(prefectures, units, projects, as_of):
        records = _records("prefecture_year", prefectures) + _records("key_energy_unit", units, 1000) + \
            _records("project", projects, 2000)
        assert_same(records, as_of)
        for kind, rows in zip(CHAINS, (prefectures, units, projects)):
            TALLY[kind] = TALLY.get(kind, 0) + len(rows)
    run()
