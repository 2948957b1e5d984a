"""Duplicate record ids: reported with both places, full-width ids equal to half-width, hash collisions harmless."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import duplicates as dup_module
from engine.duplicates import Duplicates
from engine.findings import Source
from engine.records import Record


def record(kind, record_id, file, row):
    return Record(kind=kind, id=record_id, values={}, source=Source(file=file, row=row))


def test_repeats_are_reported_in_reading_order_with_their_first_place():
    seen = Duplicates()
    for r in [record("boiler", "GL-1", "a.csv", 2), record("boiler", "GL-2", "a.csv", 3),
              record("coal_sample", "GL-1", "c.csv", 2),  # same id, other kind: not a duplicate
              record("boiler", "ＧＬ－１", "b.csv", 5), record("boiler", "GL-2", "b.csv", 6),
              record("boiler", "gl-1", "b.csv", 7)]:
        seen.see(r)
    assert seen.found == [
        {"kind": "boiler", "id": "ＧＬ－１", "first": ["a.csv", 2], "again": ["b.csv", 5]},
        {"kind": "boiler", "id": "GL-2", "first": ["a.csv", 3], "again": ["b.csv", 6]},
        {"kind": "boiler", "id": "gl-1", "first": ["a.csv", 2], "again": ["b.csv", 7]},
    ]


def test_records_whose_hashes_collide_are_told_apart_by_their_ids(monkeypatch):
    monkeypatch.setattr(dup_module, "_hash_keys", lambda keys, prefix="": np.zeros(len(keys), dtype=np.int64))
    seen = Duplicates()
    for n, record_id in enumerate(["A", "B", "A", "C"], start=2):
        seen.see(record("boiler", record_id, "a.csv", n))
    assert seen.found == [{"kind": "boiler", "id": "A", "first": ["a.csv", 2], "again": ["a.csv", 4]}]


def test_ids_whose_folded_hashes_are_equal_are_told_apart_and_a_true_repeat_among_them_is_found():
    """A record keeps its hash folded to 32 bits: GL-0017441 and GL-0218369 (boilers) share it, though their 64-bit
    hashes differ."""
    import pyarrow as pa

    pair = ["GL-0017441", "GL-0218369"]
    wide = dup_module._hash_keys(pa.array([p.lower() for p in pair]), "boiler\x1f")
    assert wide[0] != wide[1]
    folded = dup_module._folded(wide)
    assert folded.dtype == np.int32 and folded[0] == folded[1]
    assert [int(f) & 0xFFFFFFFF for f in folded] == [(int(w) ^ (int(w) >> 32)) & 0xFFFFFFFF
                                                    for w in wide.view(np.uint64)]
    seen = Duplicates()
    seen.see_many("boiler", pair, "a.csv", [2, 3])
    assert seen.found == []
    seen.see_many("boiler", ["GL-0218369", "x", "gl-0017441"], "b.csv", [2, 3, 4])
    assert seen.found == [
        {"kind": "boiler", "id": "GL-0218369", "first": ["a.csv", 3], "again": ["b.csv", 2]},
        {"kind": "boiler", "id": "gl-0017441", "first": ["a.csv", 2], "again": ["b.csv", 4]},
    ]


def test_a_prefix_hashed_once_gives_the_hash_of_the_prefixed_keys():
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.array(["", "gl-1", "兰州", "x" * 40])
    for prefix in ("", "boiler\x1f", "锅炉\x1f"):
        joined = pc.binary_join_element_wise(prefix, keys, "")
        assert dup_module._hash_keys(keys, prefix).tolist() == dup_module._hash_keys(joined).tolist()
    assert len(set(dup_module._hash_keys(keys, "boiler\x1f").tolist())) == 4


def _fnv1a(text: str) -> int:
    """FNV-1a, 64 bits, over the UTF-8 bytes, one byte at a time (the reference for _hash_keys), as a signed int64."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x100000001B3) & (2 ** 64 - 1)
    return value - 2 ** 64 if value >= 2 ** 63 else value


def test_hashes_of_keys_of_one_length_and_of_many_are_fnv1a_of_each_key():
    import random

    import pyarrow as pa

    rng = random.Random(5)
    mixed = ["".join(rng.choice("ab-9甘肃") for _ in range(rng.randrange(0, 9))) for _ in range(300)]
    same = [f"gl-{n:05d}" for n in range(300)]
    for keys in (mixed, same, same[:1], []):
        array = pa.array(["pad"] * 3 + keys + ["tail"]).slice(3, len(keys))  # (an array that starts at an offset)
        assert dup_module._hash_keys(array, "boiler\x1f").tolist() == [_fnv1a("boiler\x1f" + k) for k in keys]


def test_ids_seen_column_wise_and_one_by_one_are_the_same_identities():
    seen = Duplicates()
    seen.see_many("boiler", ["GL-1", "ＧＬ－２", "x"], "a.csv", [2, 3, 4])
    seen.see(record("boiler", "gl- 2", "b.csv", 5))
    assert seen.found == [{"kind": "boiler", "id": "gl- 2", "first": ["a.csv", 3], "again": ["b.csv", 5]}]


def test_no_records_no_duplicates():
    assert Duplicates().found == []


def test_ids_kept_in_compressed_blocks_read_back_in_and_across_blocks(monkeypatch):
    import random

    monkeypatch.setattr(dup_module._Ids, "BLOCK", 64)
    rng = random.Random(5)
    ids = ["".join(rng.choice("AB甲乙 -1") for _ in range(rng.randrange(0, 9))) for _ in range(400)]
    seen = Duplicates()
    for start in range(0, len(ids), 37):
        part = ids[start:start + 37]
        seen.see_many("boiler", part, f"{start}.csv", list(range(2, 2 + len(part))))
    assert len(seen._ids._blocks) > 10
    order = list(range(len(ids)))
    rng.shuffle(order)
    assert [seen._ids[n] for n in order] == [ids[n] for n in order]
    first: dict = {}
    expected = []
    for n, record_id in enumerate(ids):
        key = dup_module.id_key(record_id)
        if key in first:
            expected.append((record_id, first[key], n))
        else:
            first[key] = n
    assert [(f["id"], f["first"], f["again"]) for f in seen.found] == \
        [(i, [f"{a // 37 * 37}.csv", a % 37 + 2], [f"{b // 37 * 37}.csv", b % 37 + 2]) for i, a, b in expected]
    assert len(expected) > 50


def test_a_batch_of_plain_ids_and_a_batch_with_one_id_that_is_not_are_keyed_alike():
    import pyarrow as pa

    seen = Duplicates()
    seen.see_many("boiler", pa.array(["GL-1", "GL-2", "GL-3"]), "a.csv", [2, 3, 4])  # (every byte ! to ~)
    seen.see_many("boiler", pa.array(["gl-1", "G L-2", "ＧＬ－３"]), "b.csv", [2, 3, 4])  # (through _key: no space, NFKC)
    assert seen.found == [{"kind": "boiler", "id": "gl-1", "first": ["a.csv", 2], "again": ["b.csv", 2]},
                          {"kind": "boiler", "id": "G L-2", "first": ["a.csv", 3], "again": ["b.csv", 3]},
                          {"kind": "boiler", "id": "ＧＬ－３", "first": ["a.csv", 4], "again": ["b.csv", 4]}]
    assert dup_module._printable_ascii(pa.array(["GL-1", "~!"])) and not dup_module._printable_ascii(pa.array(["a b"]))
    assert not dup_module._printable_ascii(pa.array(["a\x7f"])) and not dup_module._printable_ascii(pa.array(["兰"]))


def _reference_found(batches) -> list:
    """Duplicates by a dict of identities, one record at a time in reading order (the reference for found)."""
    first: dict = {}
    found = []
    for kind, ids, file, rows in batches:
        for record_id, row in zip(ids, rows):
            key = (kind, dup_module.id_key(record_id))
            if key in first:
                found.append({"kind": kind, "id": record_id, "first": first[key], "again": [file, row]})
            else:
                first[key] = [file, row]
    return found


@given(st.lists(st.tuples(st.sampled_from(["boiler", "coal_sample"]),
                          st.lists(st.sampled_from(["GL-1", "gl-1", "ＧＬ－１", "gl\u200b-1", "GL-2", "G L-2", "A", "兰州-3", ""]),
                                   min_size=1, max_size=12),
                          st.booleans(), st.integers(2, 10)), max_size=8),
       st.integers(0, 3), st.integers(1, 5), st.sampled_from([8, 64, 1 << 20]))
def test_found_equals_a_dict_of_identities_whatever_the_hashes_rows_and_slices(batches, buckets, slice_size, block):
    """Few hash values (collisions everywhere, or none but equal ids), rows consecutive or not, the hashes compared a
    few at a time and the ids kept in blocks of a few bytes: the repeats are those a dict of identities finds, with
    their rows and files."""
    real = dup_module._hash_keys
    hashed = real if buckets == 0 else lambda keys, prefix="": real(keys, prefix) % buckets
    given_batches = []
    for n, (kind, ids, consecutive, first_row) in enumerate(batches):
        rows = list(range(first_row, first_row + len(ids))) if consecutive else \
            [first_row + 3 * k + (k % 2) for k in range(len(ids))]
        given_batches.append((kind, ids, f"{n}.csv", rows))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dup_module, "_hash_keys", hashed)
        patch.setattr(Duplicates, "SLICE", slice_size)
        patch.setattr(dup_module._Ids, "BLOCK", block)
        patch.setattr(dup_module.RepeatedIds, "CHUNK", 2)
        seen = Duplicates()
        for kind, ids, file, rows in given_batches:
            seen.see_many(kind, ids, file, rows)
        assert seen.found == _reference_found(given_batches)


def test_consecutive_rows_are_kept_as_their_first_row_and_others_row_by_row():
    seen = Duplicates()
    seen.see_many("boiler", ["A", "B", "C"], "a.csv", [2, 3, 4])
    seen.see_many("boiler", ["D", "A", "B"], "b.csv", [7, 9, 10])
    assert seen._segment_rows[0] == 2 and list(seen._segment_rows[1]) == [7, 9, 10]
    assert [(f["first"], f["again"]) for f in seen.found] == [(["a.csv", 2], ["b.csv", 9]), (["a.csv", 3], ["b.csv", 10])]


def test_repeated_ids_read_as_a_list_of_dicts():
    seen = Duplicates()
    seen.see_many("boiler", ["A", "B", "A", "B", "A"], "a.csv", [2, 3, 4, 5, 6])
    found = seen.found
    expected = [{"kind": "boiler", "id": "A", "first": ["a.csv", 2], "again": ["a.csv", 4]},
                {"kind": "boiler", "id": "B", "first": ["a.csv", 3], "again": ["a.csv", 5]},
                {"kind": "boiler", "id": "A", "first": ["a.csv", 2], "again": ["a.csv", 6]}]
    assert isinstance(found, dup_module.RepeatedIds) and len(found) == 3
    assert found == expected and expected == found and found != expected[:2] and found != "x"
    assert [found[n] for n in range(3)] == expected and found[-1] == expected[-1]
    assert found[1:] == expected[1:] and found[::2] == expected[::2] and found[5:] == []
    with pytest.raises(IndexError):
        found[3]
    assert "again" in repr(found) and not Duplicates().found and Duplicates().found == []


def test_ids_taken_by_number_from_closed_blocks_and_the_open_one(monkeypatch):
    monkeypatch.setattr(dup_module._Ids, "BLOCK", 16)
    ids = dup_module._Ids()
    texts = [f"甘-{n}" for n in range(40)]
    for start in range(0, 40, 3):
        part = [t.encode("utf-8") for t in texts[start:start + 3]]
        ids.extend(b"".join(part), np.cumsum([0] + [len(p) for p in part]))
    assert ids._blocks and len(ids._open_offsets) > 1  # (some closed, some still open)
    numbers = np.array([0, 1, 7, 20, 38, 39])
    assert ids.take(numbers).to_pylist() == [texts[n] for n in numbers.tolist()]
    assert ids.take(np.zeros(0, dtype=np.int64)).to_pylist() == []
