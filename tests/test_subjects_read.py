"""The records a run read, kept for the run store column-wise (engine/subjects_read.py): the same pairs as a set of
(kind, id) gives, each once, packed as the store reads them back."""

import datetime as dt
import random
import sys
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.runner import check
from engine.store.timeline import pack_subjects, subject_pairs, unpack_subjects
from engine.subjects_read import SubjectsRead

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_check import AS_OF, coal_samples  # noqa: E402

IDS = st.text(alphabet=st.sampled_from(list("ab1\\\n\r\x1f中 ")), max_size=5)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["boiler", "coal_sample"]), IDS), max_size=30), st.integers(0, 30))
def test_pairs_read_column_wise_or_one_by_one_are_the_set_of_pairs(pairs, split):
    read = SubjectsRead()
    for kind in ("boiler", "coal_sample"):  # the first part column-wise, a kind at a time; the rest one by one
        read.add_ids(kind, pa.array([i for k, i in pairs[:split] if k == kind], pa.string()))
    read.add(pairs[split:])
    assert sorted(read) == sorted(set(pairs))
    assert len(read) == len(set(pairs))
    packed = pack_subjects(read)
    assert sorted(map(tuple, subject_pairs(packed))) == sorted(set(pairs))
    assert unpack_subjects(packed) == unpack_subjects(pack_subjects(set(pairs)))


def test_pairs_come_in_the_order_first_read():
    read = SubjectsRead()
    read.add_ids("boiler", pa.array(["B", "A", "B"]))
    read.add([("boiler", "C"), ("boiler", "A")])
    assert list(read) == [("boiler", "B"), ("boiler", "A"), ("boiler", "C")]
    assert list(SubjectsRead()) == [] and subject_pairs(SubjectsRead().packed()) == []


def test_a_run_reads_the_subjects_a_set_of_pairs_gives(tmp_path, ruleset):
    """A file read column-wise, with ids missing (left out) and repeated (once): the pairs are those of the set."""
    path = tmp_path / "coal.csv"
    coal_samples(path, 3000)
    lines = path.read_text(encoding="utf-8").splitlines()
    rng = random.Random(5)
    for n in range(1, len(lines)):
        cells = lines[n].split(",")
        if rng.random() < 0.05:
            cells[0] = ""  # the sample id
        elif rng.random() < 0.05:
            cells[0] = lines[1].split(",")[0]
        lines[n] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    as_of = dt.date.fromisoformat(AS_OF)
    read, pairs = SubjectsRead(), set()
    check([path], ruleset, as_of, seen=read)
    check([path], ruleset, as_of, seen=pairs)
    assert 2500 < len(pairs) < 3000
    assert sorted(read) == sorted(pairs)
