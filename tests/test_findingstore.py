"""The compressed finding store gives back every finding, in input order, whatever order segments were added in."""

from engine.findingstore import FindingStore
from engine.findings import Citation, Finding, Source, Subject


def finding(file, row, rule="R-1"):
    return Finding(rule_id=rule, title="t", status="violation", severity="major",
                   subject=Subject("boiler", f"{file}{row}"), source=Source(file, row),
                   citation=Citation("energy-plan", "方案", "三.（十三）", "q"), message="m")


def test_segments_come_back_in_key_order_and_nothing_is_lost():
    store = FindingStore()
    store.add([finding("b.csv", 2), finding("b.csv", 3)], (1, 2))
    store.add([finding("a.csv", 9)], (0, 9))
    store.add([finding("a.csv", 2), finding("a.csv", 2, "R-2")], (0, 2))
    store.add([], (5, 0))
    got = [(f.source.file, f.source.row, f.rule_id) for f in store]
    assert got == [("a.csv", 2, "R-1"), ("a.csv", 2, "R-2"), ("a.csv", 9, "R-1"), ("b.csv", 2, "R-1"),
                   ("b.csv", 3, "R-1")]
    assert len(store) == 5 and store[0] == finding("a.csv", 2) and store[-1].source.row == 3


def test_stored_findings_take_far_less_room_than_their_text():
    store = FindingStore([finding("a.csv", n) for n in range(2, 2002)])
    assert len(store) == 2000 and store.stored_bytes < 2000 * 100


def test_json_written_behind_is_the_blocks_in_order_and_a_failed_write_is_raised():
    import io

    import orjson
    import pytest

    from engine import report_writers
    from engine.findings import Report

    store = FindingStore()
    for n in range(2, 40):
        store.add([finding("a.csv", n)], (0, n))
    report = Report(manifest={}, findings=store, counts={}, rejected=[], duplicates=[])
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    report_writers.write_json(report, out)
    out.flush()
    assert [f["source"]["row"] for f in orjson.loads(raw.getvalue())["findings"]] == list(range(2, 40))

    class Full(io.BytesIO):
        def write(self, data):
            if self.tell() > 100:
                raise OSError(28, "No space left on device")
            return super().write(data)

    with pytest.raises(OSError, match="No space"):
        report_writers.write_json(report, io.TextIOWrapper(Full(), encoding="utf-8"))


def test_compressed_data_is_kept_in_a_buffer_of_its_own_size():
    """pyarrow's compress keeps a buffer of the worst case (about the input's size): what the store keeps is a copy of
    the compressed bytes only, and it reads back to the data."""
    import os

    import pyarrow as pa

    from engine.arrowpool import compressed

    data = os.urandom(100) * 20_000  # 2 MB that zstd packs into a few hundred bytes
    before = pa.total_allocated_bytes()
    kept = [compressed(data) for _ in range(5)]
    assert all(len(k) < 5_000 for k in kept)
    assert pa.total_allocated_bytes() - before < 5 * 5_000 + 4096  # (not 5 × 2 MB)
    assert pa.decompress(kept[0], decompressed_size=len(data), codec="zstd", asbytes=True) == data


def test_a_segments_texts_are_split_where_one_finding_ends_and_the_next_begins():
    """A segment kept as JSON holds its findings' texts joined by SEPARATOR (",\n", what the output writes between
    two findings): _texts finds each text again, also where a value holds what looks like a boundary (",\n{" in a
    message is written with its line break escaped; nested objects are indented)."""
    import orjson

    from engine.findings import Check, finding_json_bytes
    from engine.findingstore import SEPARATOR, _texts

    tricky = [",\n{", "},\n{", "\n{\n", "{", ",", "\x00", '"},\n{"rule_id": "X"']
    found = [Finding(rule_id=f"R-{n}", title=text, status="violation", severity="major",
                     subject=Subject("boiler", text, name=text), source=Source("a.csv", n + 2),
                     citation=Citation("energy-plan", "方案", "三.（十三）", text), message=text,
                     checks=(Check(field="x", label=text, op="lt", observed=text, limit=1),))
             for n, text in enumerate(tricky)]
    texts = [finding_json_bytes(f) for f in found]
    assert all(text.startswith(b"{\n") and text.endswith(b"\n}") for text in texts)
    joined = SEPARATOR.encode().join(texts)
    assert [bytes(view) for view in _texts(joined)] == texts
    assert [orjson.loads(view)["message"] for view in _texts(joined)] == tricky
    assert [bytes(view) for view in _texts(texts[0])] == texts[:1]
