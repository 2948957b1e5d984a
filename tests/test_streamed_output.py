"""check --format json|csv --output FILE writes the findings as the run finds them, the same document as at the end,
and puts the file in place only once it is complete."""

import csv
import datetime as dt
import io
import os
import stat
import sys
import threading
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from conftest import ROOT, cli_run
from engine import findingstream, report_writers, sliced_writes
from engine.atomic_file import AtomicFile, can_replace
from engine.findings import Citation, Finding, Report, Source, Subject
from engine.findingstore import FindingStore
from engine.findingstream import JsonStream, StreamFailed

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_check import coal_samples  # noqa: E402

SAMPLES = ROOT / "inputs" / "samples"
AS_OF = "2021-12-31"


def finding(row, rule="R-1", status="violation"):
    return Finding(rule_id=rule, title="t", status=status, severity="major", subject=Subject("boiler", f"B{row}"),
                   source=Source("a.csv", row), citation=Citation("energy-plan", "方案", "三.（十三）", "q"), message="m")


def document(store: FindingStore, raw: io.BytesIO, stream: JsonStream) -> dict:
    """The JSON document a stream over `raw` and finish_json make of `store`."""
    report = Report(manifest={"as_of": AS_OF}, findings=store, counts={}, rejected=[], duplicates=[])
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    report_writers.finish_json(report, stream, out)
    out.flush()
    return orjson.loads(raw.getvalue())


# ------------------------------------------------------------------ the store and the stream

def test_segments_go_to_the_stream_until_it_is_ended_and_the_rest_follow_in_key_order():
    raw = io.BytesIO()
    stream = JsonStream(raw, report_writers.JSON_OPENING.encode())
    store = FindingStore(stream=stream, keep=False)
    store.add([finding(2), finding(2, "R-2")], (0, 2))
    store.add([finding(5, status="indeterminate")], (0, 5))
    store.end_stream()  # (a table whose findings come at the end of the run)
    store.add([finding(9)], (2, 9))
    store.add([finding(3)], (1, 3))  # (the held table's, added last, sorted before table 2's)
    assert stream.segments == 2
    assert len(store) == 5 and store.statuses() == {"violation": 4, "indeterminate": 1}
    got = document(store, raw, stream)
    assert [(f["source"]["row"], f["rule_id"]) for f in got["findings"]] == [(2, "R-1"), (2, "R-2"), (5, "R-1"),
                                                                            (3, "R-1"), (9, "R-1")]
    assert list(got) == ["findings", "rejected", "duplicates", "manifest", "summary"]
    with pytest.raises(RuntimeError, match="3 findings were written to the output"):
        list(store)  # (not kept: nothing can read them back, and nothing silently leaves them out)


def test_a_store_that_keeps_what_it_streamed_reads_back_everything_and_writes_the_rest_once():
    raw = io.BytesIO()
    stream = JsonStream(raw, report_writers.JSON_OPENING.encode())
    store = FindingStore(stream=stream)
    store.add([finding(2)], (0, 2))
    store.end_stream()
    store.add([finding(1)], (1, 1))
    assert [f.source.row for f in store] == [2, 1]
    assert [f["source"]["row"] for f in document(store, raw, stream)["findings"]] == [2, 1]


def test_a_segment_that_would_sort_before_one_already_written_is_refused():
    store = FindingStore(stream=JsonStream(io.BytesIO(), b"["), keep=False)
    store.add([finding(7)], (1, 7))
    with pytest.raises(RuntimeError, match="end_stream should have been called"):
        store.add([finding(2)], (0, 2))


def test_the_streamed_document_is_the_one_written_at_the_end():
    store, kept = FindingStore(), []
    for row in range(2, 30):
        kept.append([finding(row), finding(row, "R-2", "indeterminate")])
        store.add(kept[-1], (0, row))
    report = Report(manifest={"as_of": AS_OF}, findings=store, counts={"violation": 28}, rejected=[],
                    duplicates=[])
    whole = report_writers.to_json(report)

    raw = io.BytesIO()
    stream = JsonStream(raw, report_writers.JSON_OPENING.encode())
    streamed = FindingStore(stream=stream, keep=False)
    for row, part in zip(range(2, 30), kept):
        streamed.add(part, (0, row))
    report.findings = streamed
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    report_writers.finish_json(report, stream, out)
    out.flush()
    assert raw.getvalue().decode("utf-8") == whole


def test_a_failed_write_is_raised_on_the_run_s_thread_and_never_blocks_it():
    """The write fails while the run's thread waits to hand over a segment (the queue full): the writer goes on
    taking them, so the run's thread gets the failure instead of waiting for ever."""
    gate = threading.Event()

    class Full(io.BytesIO):
        def write(self, data):
            gate.wait(10)
            raise OSError(28, "No space left on device")

    stream = JsonStream(Full(), b"[")
    raised = []

    def hand_over():
        try:
            for _ in range(50):
                stream.write(b"{}")
            stream.close()
        except StreamFailed as exc:
            raised.append(exc)

    worker = threading.Thread(target=hand_over, daemon=True)
    worker.start()
    for _ in range(1000):  # (until the segments handed over fill the queue, the writer held on the first write)
        if stream._waiting.full():
            break
        threading.Event().wait(0.01)
    assert stream._waiting.full()
    gate.set()
    worker.join(timeout=20)
    assert not worker.is_alive(), "the run's thread waits on a writer that failed"
    assert raised and raised[0].error.errno == 28
    assert not isinstance(raised[0], OSError)  # (the runner reads an OSError as an input it could not read)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_the_writer_thread_gives_way_to_the_run_s_threads():
    """The writer runs WRITER_NICENESS below the run's thread (the kernel runs it last when every core is busy); the
    run's own thread keeps its priority."""
    seen = []

    class Recording(io.BytesIO):
        def write(self, data):
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return super().write(data)

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    stream = JsonStream(Recording(), b"[")
    stream.write(b"{}")
    stream.close()
    assert seen and set(seen) == {min(mine + findingstream.WRITER_NICENESS, 19)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine


# ------------------------------------------------------------------ the output file

def test_a_committed_file_replaces_the_named_one_with_its_permissions(tmp_path):
    target = tmp_path / "findings.json"
    target.write_text("old")
    target.chmod(0o640)
    written = AtomicFile(target)
    written.raw.write(b"new")
    assert target.read_text() == "old"  # (until commit)
    written.commit()
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


def test_a_new_file_gets_the_permissions_the_umask_gives(tmp_path):
    before = os.umask(0o027)
    try:
        written = AtomicFile(tmp_path / "new" / "findings.json")
        written.raw.write(b"{}")
        written.commit()
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "new" / "findings.json").stat().st_mode) == 0o640


def test_a_link_keeps_pointing_at_the_file_it_pointed_at(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    written = AtomicFile(link)
    written.raw.write(b"new")
    written.commit()
    assert link.is_symlink() and real.read_text() == "new"


def test_a_discarded_file_leaves_the_named_one_as_it_was(tmp_path):
    target = tmp_path / "findings.json"
    target.write_text("old")
    written = AtomicFile(target)
    written.raw.write(b"half")
    written.discard()
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


def test_only_a_regular_file_that_may_be_written_or_a_new_name_is_replaced(tmp_path, monkeypatch):
    assert can_replace(tmp_path / "new.json") and can_replace(tmp_path / "no" / "such" / "folder.json")
    (tmp_path / "f.json").write_text("x")
    assert can_replace(tmp_path / "f.json")
    assert not can_replace(tmp_path) and not can_replace(Path(os.devnull))
    from engine import atomic_file

    monkeypatch.setattr(atomic_file.os, "access", lambda path, mode: False)  # (a read-only file, for a user not root)
    assert not can_replace(tmp_path / "f.json") and can_replace(tmp_path / "new.json")


def _system_writes(monkeypatch) -> list:
    """The number of bytes each write of a SlicedFileIO handed to the system, from now on."""
    written = []
    write = sliced_writes.SlicedFileIO.write

    def noting(self, data):
        count = write(self, data)
        written.append(count)
        return count

    monkeypatch.setattr(sliced_writes.SlicedFileIO, "write", noting)
    return written


def test_a_large_write_reaches_the_system_a_mebibyte_at_a_time(tmp_path, monkeypatch):
    """(A write of 2 MiB or more makes the page cache take 2 MiB blocks: see sliced_writes.)"""
    data = os.urandom(3 * sliced_writes.WRITE_SLICE + 5)
    written = _system_writes(monkeypatch)
    out = AtomicFile(tmp_path / "findings.json")
    out.raw.write(b"[")
    out.raw.write(pa.py_buffer(data))  # (a segment's text is a pyarrow Buffer)
    out.raw.write(b"]")
    out.commit()
    assert (tmp_path / "findings.json").read_bytes() == b"[" + data + b"]"
    assert written == [1, *[sliced_writes.WRITE_SLICE] * 3, 5 + 1]  # (the "[" buffered, the rest a slice at a time)
    assert sum(written) == len(data) + 2

    written.clear()
    with sliced_writes.open_text(tmp_path / "table.txt") as text:  # (cli's output written at the end)
        text.write("锅炉\r\n" * 600_000)
    assert (tmp_path / "table.txt").read_bytes() == "锅炉\r\n".encode() * 600_000  # (line ends as written)
    assert max(written) == sliced_writes.WRITE_SLICE and sum(written) == 8 * 600_000


# ------------------------------------------------------------------ check --output FILE

def _sample_args() -> list:
    """Every sample file, in an order with a table of a kind evaluated at the end (prefectures) between tables read
    column-wise (boilers before it, coal samples after it)."""
    first = ["inputs/samples/boilers.csv", "inputs/samples/prefectures_2020.csv", "inputs/samples/coal_samples.xlsx"]
    rest = sorted(str(p.relative_to(ROOT)) for p in SAMPLES.iterdir()
                  if p.suffix.lower() in (".csv", ".xlsx", ".json") and str(p.relative_to(ROOT)) not in first)
    return first + rest


@pytest.mark.parametrize("form", ["json", "csv"])
@pytest.mark.parametrize("store", [["--no-db"], ["--db", "{tmp}/runs.sqlite"], ["--no-db", "--engine", "durable"]],
                         ids=["no-db", "run-store", "durable"])
def test_the_file_written_as_the_run_goes_is_what_stdout_gets_at_the_end(tmp_path, monkeypatch, store, form):
    """The same bytes as the document written at the end (stdout), JSON or CSV, with the run store or without it
    (then the findings the stream wrote are not kept), and through durable_rules (findings kept as Findings, not as
    their text); the stream wrote findings before the run ended."""
    from engine import streamed_output

    handed_over = []
    finish = streamed_output.StreamedOutput.finish

    def noting(self, report):
        handed_over.append(self.stream.segments)
        finish(self, report)

    monkeypatch.setattr(streamed_output.StreamedOutput, "finish", noting)
    monkeypatch.setattr(sliced_writes, "WRITE_SLICE", 4096)  # (the file reaches the system in many slices)
    written = _system_writes(monkeypatch)
    out = tmp_path / f"findings.{form}"
    args = ["check", *_sample_args(), "--as-of", AS_OF, "--format", form, "--fail-on", "none"]
    (tmp_path / "a").mkdir()
    at_end = cli_run(*args, *[a.format(tmp=tmp_path / "a") for a in store])
    (tmp_path / "b").mkdir()
    streamed = cli_run(*args, *[a.format(tmp=tmp_path / "b") for a in store], "--output", out)
    assert at_end.returncode == streamed.returncode == 0, streamed.stderr
    assert handed_over and handed_over[0] >= 1  # (the boilers' findings, before the prefectures' table)
    assert out.read_bytes().decode("utf-8") == at_end.stdout  # (CR LF kept: the CSV's line ends)
    assert max(written) == 4096 and sum(written) == out.stat().st_size
    if form == "json":
        files = [f["source"]["file"] for f in orjson.loads(out.read_bytes())["findings"]]
    else:
        files = [row["file"] for row in csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig")))]
    assert files.index("inputs/samples/boilers.csv") < files.index("inputs/samples/prefectures_2020.csv") < \
        files.index("inputs/samples/coal_samples.xlsx")
    assert sorted(p.name for p in out.parent.iterdir() if p.is_file()) == [out.name]


def test_a_write_that_fails_during_the_run_is_a_usage_error_and_the_old_file_stays(tmp_path, monkeypatch):
    out = tmp_path / "findings.json"
    out.write_text("old", encoding="utf-8")
    writes = findingstream.JsonStream._write_each

    def full_after_the_opening(self):
        real = self.raw.write

        def write(data):
            if len(data) > 100:
                raise OSError(28, "No space left on device")
            return real(data)
        self.raw.write = write
        writes(self)

    monkeypatch.setattr(findingstream.JsonStream, "_write_each", full_after_the_opening)
    proc = cli_run("check", "inputs/samples/boilers.csv", "--as-of", AS_OF, "--format", "json", "--no-db",
                   "--output", out)
    assert proc.returncode == 2, proc.stderr
    assert "无法写出" in proc.stderr and str(out) in proc.stderr
    assert out.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


def test_an_interrupted_run_leaves_no_file_behind(tmp_path, monkeypatch):
    from engine import annual_targets

    def interrupted(*args, **kwargs):  # (after the records are read, before the run ends)
        raise KeyboardInterrupt

    monkeypatch.setattr(annual_targets, "attach", interrupted)
    out = tmp_path / "findings.json"
    proc = cli_run("check", "inputs/samples/boilers.csv", "--as-of", AS_OF, "--format", "json", "--no-db",
                   "--output", out)
    assert proc.returncode != 0
    assert not any(tmp_path.iterdir())


def test_a_file_in_a_folder_that_takes_no_new_file_is_written_in_place_at_the_end(tmp_path, monkeypatch):
    """(No temporary file can be made beside it: the file itself is written, as before streaming.)"""
    from engine import atomic_file

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic_file.tempfile, "mkstemp", refused)
    out = tmp_path / "findings.json"
    out.write_text("old", encoding="utf-8")
    proc = cli_run("check", "inputs/samples/boilers.csv", "--as-of", AS_OF, "--format", "json", "--no-db",
                   "--fail-on", "none", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(out.read_bytes())["findings"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


def test_a_report_written_at_the_end_reaches_the_system_a_slice_at_a_time(tmp_path, monkeypatch):
    """(--format table, like every form not streamed, is written by cli._stream once the run is over.)"""
    monkeypatch.setattr(sliced_writes, "WRITE_SLICE", 256)
    written = _system_writes(monkeypatch)
    out = tmp_path / "findings.txt"
    proc = cli_run("check", "inputs/samples/boilers.csv", "--as-of", AS_OF, "--format", "table", "--no-db",
                   "--fail-on", "none", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert "锅炉" in out.read_text(encoding="utf-8")
    assert max(written) == 256 and sum(written) == out.stat().st_size


class _RecordedBytes(io.BytesIO):
    """A binary stream that notes the size of each write it gets."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def write(self, data):
        self.sizes.append(memoryview(data).nbytes)
        return super().write(data)


@pytest.mark.parametrize("form", ["json", "csv"])
def test_a_report_written_to_stdout_reaches_it_a_slice_at_a_time(ruleset, monkeypatch, tmp_path, form):
    """(stdout may be a file, `> findings.json`: the findings' segments go to its binary buffer, the rest as text.)"""
    from engine import cli
    from engine.runner import check, sample_paths

    coal_samples(tmp_path / "coal.csv", 3000)  # (read column-wise: its findings are segments of bytes)
    report = check([*sample_paths(), tmp_path / "coal.csv"], ruleset, dt.date(2021, 12, 31), csv=form == "csv").report
    writer = {"json": report_writers.write_json, "csv": report_writers.write_csv}[form]

    def written(slices: bool) -> _RecordedBytes:
        recorded = _RecordedBytes()
        stdout = io.TextIOWrapper(recorded, encoding="utf-8", newline="")
        stdout._CHUNK_SIZE = 1  # (each text write passed on as it comes, not gathered to 8 KiB)
        with monkeypatch.context() as patch:
            patch.setattr(sys, "stdout", stdout)
            if slices:
                patch.setattr(sliced_writes, "WRITE_SLICE", 4096)
                patch.setattr(sliced_writes, "TEXT_SLICE", 1024)
                cli._stream(writer, report, None)  # (it flushes stdout)
            else:
                writer(report, stdout)
                stdout.flush()
        stdout.detach()  # (the recording stays open)
        return recorded

    whole, sliced = written(False), written(True)
    assert max(whole.sizes) > 50_000  # (the coal samples' findings, a segment at a time)
    assert sliced.getvalue() == whole.getvalue()
    assert max(sliced.sizes) == 4096 and sum(sliced.sizes) == len(whole.getvalue())
