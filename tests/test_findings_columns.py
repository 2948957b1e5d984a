"""Findings built from a batch's columns (batchfindings.build_batch, kept as JSON text in the FindingStore) are the findings
explain.build gives for the same records one by one (the path taken when every result is kept)."""

import csv
import dataclasses
import io
import json
import random
import sys
from pathlib import Path

import pytest

from engine import report_writers as F
from engine.safe_text import for_document
from engine.runner import check, sample_paths

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_check import AS_OF, boilers, coal_samples  # noqa: E402
from tests.enginekit import SINGLE_KINDS  # noqa: E402

JUNK = ["", "无", "—", "未检测", "abc", "85,3", "200%", "-5", "2099-13-01", "是否", "１２．５", " 79.99 ", "0.853"]


def _with_junk(path: Path, seed: int) -> Path:
    """The generated file with one cell in twenty replaced by a missing mark or an unreadable value."""
    rng = random.Random(seed)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        for n in range(len(row)):
            if rng.random() < 0.05:
                row[n] = rng.choice(JUNK)
    out = path.with_name("junk_" + path.name)
    with out.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return out


def _one_by_one_csv(report) -> str:
    """The findings CSV as write_csv made it before it read a FindingStore's JSON objects: each finding rebuilt,
    each cell made safe by for_document and guard_formula (the reference for the faster writer)."""
    import io

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(F.CSV_COLUMNS)
    for finding in report.findings:
        writer.writerow([F.guard_formula(for_document(raw), raw)
                         for raw in ("" if v is None else str(v) for v in F._finding_row(finding))])
    return out.getvalue()


def _both(paths, ruleset, csv_lines: bool = True):
    """(findings from the columns, findings from Records) of one run; the columns' kept with their CSV lines too,
    unless `csv_lines` is False."""
    import datetime as dt

    as_of = dt.date.fromisoformat(AS_OF)
    columns = check(paths, ruleset, as_of, csv=csv_lines).report  # findings from the columns, stored as JSON
    records = check(paths, ruleset, as_of, keep_results=True).report  # findings from Records (explain.build)
    assert records.results is not None
    records.results = None
    if csv_lines:
        assert all(segment[5] is not None for segment in columns.findings._segments if segment[4])
    return columns, records


@pytest.mark.parametrize("make", [boilers, coal_samples])
def test_batch_findings_are_the_record_findings(tmp_path, ruleset, make):
    path = tmp_path / "records.csv"
    make(path, 3000)
    paths = [path, _with_junk(path, 5)]
    columns, records = _both(paths, ruleset)
    assert len(columns.findings) > 100
    assert all(segment[4] for segment in columns.findings._segments)  # every part kept as its text: none rebuilt
    assert any(f.status == "indeterminate" for f in columns.findings)
    assert list(columns.findings) == list(records.findings)
    assert F.to_json(columns) == F.to_json(records)
    assert F.to_csv(columns) == F.to_csv(records) == _one_by_one_csv(records)
    without_lines = _both(paths, ruleset, csv_lines=False)[0]  # CSV written from the JSON objects instead
    assert not any(segment[5] for segment in without_lines.findings._segments)
    assert F.to_csv(without_lines) == F.to_csv(columns)
    assert columns.findings.statuses() == {s: sum(f.status == s for f in records.findings)
                                          for s in {f.status for f in records.findings}}
    fields = ("rule_id", "status", "message", "period", "subject", "source", "citation")  # (the store, the table)
    assert [tuple(getattr(h, n) for n in fields) for h in columns.findings.headlines()] == \
        [tuple(getattr(f, n) for n in fields) for f in records.findings]
    listed = dataclasses.replace(records, findings=list(records.findings))  # (the table of Findings themselves)
    assert F._text_of(F.write_table, columns) == F._text_of(F.write_table, listed)
    assert _workbook_cells(columns, tmp_path / "columns.xlsx") == _workbook_cells(listed, tmp_path / "listed.xlsx")


def _workbook_cells(report, path) -> list:
    """Every cell of the findings workbook (a stored run's findings read as FindingViews, a list's as Findings)."""
    import openpyxl

    from engine.workbook import write_workbook

    book = openpyxl.load_workbook(write_workbook(report, path))
    return [(ws.title, c.coordinate, c.value, c.alignment.wrap_text) for ws in book for row in ws.iter_rows() for c in row]


def test_sample_findings_are_the_record_findings(ruleset, monkeypatch):
    from engine import columnread

    monkeypatch.setattr(columnread, "SMALL_CHUNK", 0)  # the samples' small tables too are read column-wise
    columns, records = _both(sample_paths(), ruleset)
    assert any(segment[4] for segment in columns.findings._segments)  # (kept as JSON text)
    assert list(columns.findings) == list(records.findings)
    assert F.to_json(columns) == F.to_json(records)
    assert F.to_csv(columns) == F.to_csv(records) == _one_by_one_csv(records)


def test_findings_in_parts_of_a_batch_come_out_in_order(tmp_path, ruleset, monkeypatch):
    """A batch's findings are kept in parts of at most batchfindings.PART (memory follows the part, not a batch in which
    every row fails): with parts of 7 the findings, their order and the JSON are those built one by one."""
    from engine import batchfindings as explain

    path = tmp_path / "records.csv"
    coal_samples(path, 3000)
    monkeypatch.setattr(explain, "PART", 7)
    columns, records = _both([path], ruleset)
    segments = [s for s in columns.findings._segments if s[4]]
    assert len(segments) > 10 and max(s[2] for s in segments) == 7
    assert list(columns.findings) == list(records.findings)
    assert F.to_json(columns) == F.to_json(records)
    assert F.to_csv(columns) == F.to_csv(records) == _one_by_one_csv(records)


@pytest.mark.parametrize("make", [boilers, coal_samples])
def test_findings_of_many_batches_sharing_their_values_are_the_record_findings(tmp_path, ruleset, make, monkeypatch):
    """A file read in many batches: the batches share their columns' values (columnread._TableCells), so each rule
    leaf's checks are kept by value code from batch to batch (batchfindings._LeafTable), new values made as they
    come; the findings are those built one by one."""
    from engine import batchfindings, csv_reader

    path = tmp_path / "records.csv"
    make(path, 400)
    with path.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    at = next(n for n, name in enumerate(header) if "编号" in name)
    with path.open("w", encoding="utf-8", newline="") as handle:  # the 400 rows eight times, each with its own id
        csv.writer(handle).writerows([header] + [row[:at] + [f"{row[at]}-{k}"] + row[at + 1:]
                                                 for k in range(8) for row in rows])
    monkeypatch.setattr(csv_reader, "ARROW_BLOCK", 16 << 10)  # batches of ~250 rows (pyarrow's reader)
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 250)  # (pandas': the junk is quoted, "85,3")
    used = []  # the table each leaf's checks of each part were taken from
    original = batchfindings._LeafTable.index

    def index(self, codes, limit_at, make):
        used.append(id(self))
        return original(self, codes, limit_at, make)
    monkeypatch.setattr(batchfindings._LeafTable, "index", index)
    columns, records = _both([_with_junk(path, 7)], ruleset)
    parts = len({s[0] for s in columns.findings._segments})
    assert parts > 8 and len(set(used)) < len(used) / 2  # (most parts' checks taken from a table kept from before)
    assert all(segment[4] for segment in columns.findings._segments)  # every part kept as its text: none rebuilt
    assert list(columns.findings) == list(records.findings)
    assert F.to_json(columns) == F.to_json(records)
    assert F.to_csv(columns) == F.to_csv(records) == _one_by_one_csv(records)


@pytest.mark.parametrize("make", [boilers, coal_samples])
def test_a_leaf_table_grows_with_the_values_later_batches_add(tmp_path, ruleset, make, monkeypatch):
    """Later batches bring values the earlier ones did not have (the column's values list copied, longer): each rule
    leaf keeps one _LeafTable, extended with the new values (the checks made so far kept, those of no value moved
    last), and the findings are those built one by one."""
    from engine import batchfindings, csv_reader

    path = tmp_path / "records.csv"
    make(path, 3000)
    monkeypatch.setattr(csv_reader, "ARROW_BLOCK", 16 << 10)  # batches of ~250 rows (pyarrow's reader)
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 250)
    tables, extended = set(), []
    original_index, original_extend = batchfindings._LeafTable.index, batchfindings._LeafTable.extend

    def index(self, codes, limit_at, make):
        tables.add(id(self))
        return original_index(self, codes, limit_at, make)

    def extend(self, uniques):
        kept, none = self.parts[:len(self.uniques) * self.width], self.parts[len(self.uniques) * self.width:]
        original_extend(self, uniques)
        assert len(self.parts) == (len(uniques) + 1) * self.width and self.uniques is uniques
        assert self.parts[:len(kept)] == kept and self.parts[-len(none):] == none
        assert all(part is None for part in self.parts[len(kept):-len(none)])
        extended.append(id(self))
    monkeypatch.setattr(batchfindings._LeafTable, "index", index)
    monkeypatch.setattr(batchfindings._LeafTable, "extend", extend)
    columns, records = _both([_with_junk(path, 11)], ruleset)
    assert len({s[0] for s in columns.findings._segments}) > 8
    assert len(extended) > 3 and set(extended) <= tables
    assert len(tables) <= len(columns_leaves(ruleset, make))  # (one table a leaf: none made again for a longer values list)
    assert all(segment[4] for segment in columns.findings._segments)
    assert list(columns.findings) == list(records.findings)
    assert F.to_json(columns) == F.to_json(records)
    assert F.to_csv(columns) == F.to_csv(records) == _one_by_one_csv(records)


def columns_leaves(ruleset, make) -> list:
    """(rule id, leaf number) of every leaf of the single-record rules of the kind `make` writes."""
    from engine import conditions as C
    from engine import columnar

    kind = "boiler" if make is boilers else "coal_sample"
    compiled = columnar.compile_rules([r for r in ruleset.rules if r.kind == kind and r.joins is None])
    return [(comp.rule.id, n) for comp in compiled if comp.when is not None for n, _ in enumerate(C.walk(comp.when))]


def test_a_layout_piece_shared_by_a_parts_findings_is_not_copied_for_each():
    """_piece: a piece every layout of the part has is one text; pieces that differ become their shared beginning and
    end as texts and only the middle taken for each entry; joined, each entry has its own layout's piece."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from engine.batchfindings import _piece

    kinds = pa.array([1, 0, 0, 2, 1])
    assert _piece([b"same", b"same", b"same"], kinds) == [b"same"]
    texts = [b'"status": "violation",\n  "x"', b'"status": "gap",\n  "x"', b'"status": "indeterminate",\n  "x"']
    pieces = _piece(texts, kinds)
    assert pieces[0] == b'"status": "' and pieces[-1] == b'",\n  "x"' and isinstance(pieces[1], pa.Array)
    assert pieces[1].to_pylist() == [b"gap", b"violation", b"violation", b"indeterminate", b"gap"]
    assert pc.binary_join_element_wise(*pieces, b"").to_pylist() == [texts[k] for k in kinds.to_pylist()]
    prefixed = _piece([b"ab", b"abab"], pa.array([0, 1]))  # (a text that is the others' beginning: no end shared)
    assert pc.binary_join_element_wise(*prefixed, b"").to_pylist() == [b"ab", b"abab"]
    assert _piece([b"x1", b"y1"], pa.array([0, 1]))[0].to_pylist() == [b"x", b"y"]  # (nothing shared at the start)


NEEDS_ESCAPE = ['"引号"', "反\\斜杠", "控制\x01符", "\u2028行"]


@pytest.mark.parametrize("make", [boilers, coal_samples])
def test_names_and_ids_that_json_escapes_give_the_record_findings(tmp_path, ruleset, make):
    """The identity columns are written column-wise where no value needs escaping, value by value where one does:
    names, ids and recipients with quotes, backslashes and control characters come out as built one by one."""
    path = tmp_path / "records.csv"
    make(path, 1500)
    rng = random.Random(3)
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for row in rows[1:]:
        if rng.random() < 0.2:
            row[0] += rng.choice(NEEDS_ESCAPE)  # the unit (boilers), the sample id (coal samples)
        if rng.random() < 0.2:
            row[1] += rng.choice(NEEDS_ESCAPE)  # the boiler id, the seller
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    columns, records = _both([path], ruleset)
    assert all(segment[4] for segment in columns.findings._segments)
    assert any(any(mark in (f.subject.name + f.subject.id) for mark in NEEDS_ESCAPE) for f in columns.findings)
    assert list(columns.findings) == list(records.findings)
    assert F.to_json(columns) == F.to_json(records)
    assert F.to_csv(columns) == F.to_csv(records) == _one_by_one_csv(records)


def test_a_part_whose_text_differs_from_its_record_finding_is_rebuilt_from_the_records(tmp_path, ruleset, monkeypatch):
    """Each part's first finding of each rule and status is built from its Record too: where the column-wise text
    differs, the whole part is built one by one instead (its findings are right, if slower)."""
    from engine import batchfindings

    path = tmp_path / "records.csv"
    coal_samples(path, 2000)
    real = batchfindings._message

    def wrong(template, row_text, summary, size, pool=None):  # a fault in the column-wise message: an X before it
        return real([b"X"] + list(template), row_text, summary, size, pool)
    monkeypatch.setattr(batchfindings, "_message", wrong)
    columns, records = _both([path], ruleset)
    assert any(not segment[4] for segment in columns.findings._segments)  # rebuilt, kept as pickles
    assert list(columns.findings) == list(records.findings)
    assert F.to_json(columns) == F.to_json(records)
    assert F.to_csv(columns) == F.to_csv(records) == _one_by_one_csv(records)


def test_a_part_whose_csv_line_differs_from_its_record_finding_is_rebuilt_from_the_records(tmp_path, ruleset,
                                                                                          monkeypatch):
    """The CSV lines are checked like the JSON: a fault in them (an X before each) sends the part to be built one by
    one, and the CSV written is still the one built from Records."""
    from engine import batchfindings

    path = tmp_path / "records.csv"
    coal_samples(path, 2000)
    real = batchfindings.csv_lines

    def wrong(layouts, *args):
        return real([("X" + head, mid, tail) for head, mid, tail in layouts], *args)
    monkeypatch.setattr(batchfindings, "csv_lines", wrong)
    import datetime as dt
    columns = check([path], ruleset, dt.date.fromisoformat(AS_OF), csv=True).report
    assert columns.findings._segments and not any(segment[4] for segment in columns.findings._segments)
    assert F.to_csv(columns) == _one_by_one_csv(columns)
    assert "\r\nX" not in F.to_csv(columns)


def test_source_and_subject_text_are_what_nested_writes_for_their_dicts():
    # (batchfindings writes them around their values' JSON, a column at a time, instead of a dict for each finding)
    import orjson
    import pyarrow as pa

    from engine.findingjson import nested, source_texts, subject_texts
    for file, rows in (("a.csv", [2, 3]), ('文件 "引号"\\\n.csv', [1_000_001])):
        assert source_texts(orjson.dumps(file), pa.array(rows)).to_pylist() == \
            [nested({"file": file, "row": row}) for row in rows]
    subjects = [{"kind": "boiler", "id": "GL-1/2", "name": "兰州\u2028某\"单位\"", "region": "兰州市", "recipient": ""},
                {"kind": "boiler", "id": "", "name": "\\\t", "region": "", "recipient": "某\x00单位"}]
    columns = [pa.array([orjson.dumps(s[k]) for s in subjects], pa.binary()) for k in ("id", "name", "region", "recipient")]
    assert subject_texts(orjson.dumps("boiler"), *columns).to_pylist() == [nested(s) for s in subjects]


def test_csv_lines_written_to_stdout_are_those_written_to_a_file(tmp_path):
    """check --format csv of a file read column-wise: the kept lines go to the byte stream under stdout (after the BOM
    and header written as text) in order, as they go to a file; one line a finding."""
    from tests.conftest import cli_run

    path = tmp_path / "records.csv"
    coal_samples(path, 3000)
    out = tmp_path / "findings.csv"
    args = ("check", path, "--as-of", AS_OF, "--format", "csv", "--no-db", "--fail-on", "none")
    assert cli_run(*args, "--output", out).returncode == 0
    shown = cli_run(*args)
    assert shown.returncode == 0
    written = out.read_bytes().decode("utf-8")
    assert shown.stdout == written and written.startswith("\ufeffrule_id,")
    summary = json.loads(cli_run(*args[:5], "json", "--no-db", "--fail-on", "none").stdout)["summary"]
    rows = list(csv.DictReader(io.StringIO(written.lstrip("\ufeff"))))
    assert len(rows) == summary["violation"] + summary["indeterminate"] + summary["gap"] > 100


@pytest.mark.parametrize("kind", SINGLE_KINDS)
def test_batch_findings_of_every_kind_are_the_record_findings(tmp_path, kind, monkeypatch):
    """Every single-record kind, on generated records read column-wise: the findings built from the columns are, text
    for text, those built from the Records (none rebuilt by the run's own check), also with the external-standard
    limits confirmed where the kind's rules read one."""
    from engine import columnread
    from tests.enginekit import generate_rows, rulesets_for, write_csv

    monkeypatch.setattr(columnread, "SMALL_CHUNK", 0)
    path = write_csv(tmp_path / f"{kind}.csv", kind, generate_rows(kind, 400, seed=len(kind)))
    statuses = set()
    for rules in rulesets_for(kind):
        columns, records = _both([path], rules)
        assert columns.manifest["inputs"][0]["evaluated"] > 300, columns.manifest["inputs"][0]
        statuses |= {f.status for f in records.findings}
        assert all(segment[4] for segment in columns.findings._segments)  # every part kept as its text: none rebuilt
        assert list(columns.findings) == list(records.findings)
        assert F.to_json(columns) == F.to_json(records)
        assert F.to_csv(columns) == F.to_csv(records) == _one_by_one_csv(records)
    assert statuses & {"violation", "gap"} and "indeterminate" in statuses, statuses


def test_a_parts_texts_are_put_together_in_the_findings_pool(tmp_path, ruleset, monkeypatch):
    """Each part's findings are joined into their JSON text (and CSV lines) in the pool BatchExplainer is given
    (arrowpool.findings_pool: the system allocator, which reuses a part's freed blocks for the next), not in pyarrow's
    default pool: the pool held at least the largest part's whole text at once."""
    import datetime as dt

    import pyarrow as pa

    from engine import batchfindings

    pool = pa.proxy_memory_pool(pa.system_memory_pool())
    monkeypatch.setattr(batchfindings, "findings_pool", lambda: pool)
    path = tmp_path / "records.csv"
    coal_samples(path, 20_000)
    report = check([path], ruleset, dt.date.fromisoformat(AS_OF), csv=True).report
    texts = [segment[3].size for segment in report.findings._segments if segment[4]]
    assert len(texts) > 1 and max(texts) > 1_000_000  # (parts of 2,000 findings: megabytes of text each)
    assert pool.max_memory() >= max(texts)
    assert pool.bytes_allocated() == 0  # nothing of a part kept in it once the part is stored
