"""The column executor keeps nothing between partitions (issue 9, item 8: ready for scale-out). Records cut into
partitions anywhere, each evaluated on its own (the same compiled rules, the partitions at once on threads, the last
first), give every (rule, row) the state and computed limit the whole gives, and their findings, keyed by file and
row, are the whole's findings; a CSV checked in pieces gives the findings of the file checked whole."""

from __future__ import annotations

import concurrent.futures
import csv
import datetime as dt
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import columnar, evaluate, explain
from engine.batch import batch_of_records
from engine.report_writers import write_json
from engine.runner import check
from tests.conftest import scaled
from tests.enginekit import AS_OF_DATES, RULESET, SINGLE_KINDS, SETTINGS, _records, rows_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_check import boilers, coal_samples  # noqa: E402

ROWS = 60


def _rules(kind: str, as_of: dt.date) -> list:
    return [r for r in RULESET.rules if r.kind == kind and r.joins is None and r.in_force(as_of)]


def _cut(size: int, cuts: list) -> list[tuple[int, int]]:
    """(start, stop) of each partition, cut at the given positions (an empty partition included where two cuts
    meet)."""
    edges = [0] + sorted(c % (size + 1) for c in cuts) + [size]
    return list(zip(edges, edges[1:]))


def _evaluate_apart(compiled, kind, records, fields, as_of, parts):
    """Each partition as its own batch, all of them at once on threads, submitted last partition first."""
    def one(part):
        start, stop = part
        return columnar.evaluate_batch(compiled, batch_of_records(kind, records[start:stop], fields),
                                       RULESET.params, as_of)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(parts)) as pool:
        futures = {part: pool.submit(one, part) for part in reversed(parts)}
        return [futures[part].result() for part in parts]


def _same_limit(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def _findings(outcome, rules, records):
    partial = evaluate.Outcome(states=outcome.states(only_findings=True), measures=[], lapsed=[],
                               slots=outcome.slots, slotted=outcome.slotted)
    return explain.build(partial, rules, records, RULESET.schemas, RULESET.documents, RULESET.measure_label)[1]


@pytest.mark.parametrize("kind", SINGLE_KINDS)
def test_partitions_evaluated_apart_give_the_whole_batchs_states_limits_and_findings(kind):
    seen = {"examples": 0, "findings": 0}
    days = [day for day in AS_OF_DATES if _rules(kind, day)]  # (the days around in-force dates when a rule is in force)

    @settings(max_examples=scaled(10), **SETTINGS)
    @given(rows_of(kind, ROWS), st.sampled_from(days), st.lists(st.integers(0, ROWS), min_size=1, max_size=4))
    def run(rows, as_of, cuts):
        rules = _rules(kind, as_of)
        records = _records(kind, rows)
        compiled = columnar.compile_rules(rules)
        fields = columnar.fields_of(rules)
        whole = columnar.evaluate_batch(compiled, batch_of_records(kind, records, fields), RULESET.params, as_of)
        parts = _cut(len(records), cuts)
        apart = _evaluate_apart(compiled, kind, records, fields, as_of, parts)
        for rule in rules:
            joined = np.concatenate([outcome.codes[rule.id] for outcome in apart])
            assert joined.tolist() == whole.codes[rule.id].tolist(), rule.id
            for slot_index in range(len(whole.limits.get(rule.id, ()))):
                for (start, stop), outcome in zip(parts, apart):
                    for row in range(start, stop):
                        assert _same_limit(outcome.limit(rule.id, slot_index, row - start),
                                           whole.limit(rule.id, slot_index, row)), (rule.id, row)
        found = [f for (start, stop), outcome in zip(parts, apart)
                 for f in _findings(outcome, rules, records[start:stop])]
        expected = _findings(whole, rules, records)
        key = lambda f: (f.source.file, f.source.row, f.rule_id)  # noqa: E731
        assert sorted(found, key=key) == sorted(expected, key=key)
        assert len({key(f) for f in found}) == len(found)  # each (file, row, rule) once
        seen["examples"] += 1
        seen["findings"] += len(found)
    run()
    assert seen["examples"] == scaled(10) and seen["findings"], seen


def test_the_cut_covers_every_row_once():
    """The partitions the test makes: every row in exactly one, in order, empty ones allowed."""
    assert _cut(10, [3, 7]) == [(0, 3), (3, 7), (7, 10)]
    assert _cut(10, [0, 10, 4, 4]) == [(0, 0), (0, 4), (4, 4), (4, 10), (10, 10)]
    assert _cut(10, [13]) == [(0, 2), (2, 10)]


def _pieces(path: Path, folder: Path, cuts: list) -> list[tuple[Path, int]]:
    """The CSV cut into files of consecutive data rows, each with the header: (file, its first row's number in the
    whole file)."""
    with path.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    pieces = []
    for n, (start, stop) in enumerate(_cut(len(rows), cuts)):
        if start == stop:
            continue
        piece = folder / f"piece{n}.csv"
        with piece.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header] + rows[start:stop])
        pieces.append((piece, start))
    return pieces


def _json(paths: list) -> dict:
    report = check(paths, RULESET, dt.date(2022, 6, 30)).report
    buffer = io.StringIO()
    write_json(report, buffer)
    return json.loads(buffer.getvalue())


@pytest.mark.parametrize("write, cuts", [(boilers, [700, 1900]), (coal_samples, [1, 1500, 2999])],
                         ids=["boiler", "coal_sample"])
def test_a_csv_checked_in_pieces_gives_the_findings_of_the_file_checked_whole(tmp_path, monkeypatch, write, cuts):
    """The file read column-wise (pyarrow's reader in batches of about 250 rows, findings built from the columns,
    what a run keeps from batch to batch shared by its batches) as a whole and as pieces checked in separate runs:
    the same findings once each piece's file and row are mapped back, and the counts add up."""
    from engine import batchfindings, csv_reader
    monkeypatch.setattr(csv_reader, "ARROW_BLOCK", 16 << 10)
    built = []
    real = batchfindings.build_batch
    monkeypatch.setattr(batchfindings, "build_batch", lambda outcome, *rest: built.append(len(outcome.codes)) or
                        real(outcome, *rest))
    path = tmp_path / "whole.csv"
    write(path, 3000)
    whole = _json([path])
    assert whole["summary"]["violation"] > 50 and whole["summary"]["indeterminate"] > 10
    assert len(built) > 5  # read and explained column-wise, in batches
    found, summary = [], {}
    for piece, offset in _pieces(path, tmp_path, cuts):
        part = _json([piece])
        assert part["manifest"]["inputs"][0]["rows"] == part["manifest"]["inputs"][0]["evaluated"]
        for finding in part["findings"]:
            assert finding["source"]["file"] == str(piece)
            finding["source"] = {**finding["source"], "file": str(path), "row": finding["source"]["row"] + offset}
            found.append(finding)
        for state, count in part["summary"].items():
            summary[state] = summary.get(state, 0) + count
    assert found == whole["findings"]  # in the whole file's order, each the same
    assert summary == whole["summary"]
