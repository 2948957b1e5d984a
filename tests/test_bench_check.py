"""The benchmark's memory figures: a child's anonymous and file-backed resident memory, sampled from /proc."""

import mmap
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_check import rss_parts, timed  # noqa: E402


def test_rss_parts_are_read_in_mib_and_are_none_where_the_system_does_not_say(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmRSS:\t  126976 kB\nRssAnon:\t   63488 kB\nRssFile:\t   61440 kB\n"
                      "RssShmem:\t    2048 kB\n")
    assert rss_parts(status) == (62.0, 62.0)  # (shared memory counted with the file-backed pages)
    status.write_text("Name:\tpython\nVmRSS:\t  126976 kB\n")  # (a system that does not give the parts)
    assert rss_parts(status) is None
    assert rss_parts(tmp_path / "absent") is None  # (the process has ended)


@pytest.mark.skipif(not Path("/proc/self/status").exists() or rss_parts(Path("/proc/self/status")) is None,
                    reason="needs Linux's /proc/PID/status")
def test_a_childs_anonymous_memory_is_sampled_beside_its_exact_peak():
    """A child that writes 48 MiB of its own memory and holds it: the sampled anonymous peak counts them, and the peak
    RSS from os.wait4 holds both parts; a child that holds nothing has a few MiB of its own (its peak RSS can be more:
    it counts the parent's at the fork, the benchmark's own small process)."""
    held = "import time; data = b'x' * (48 << 20); time.sleep(0.3); print('held', len(data) >> 20)"
    run = timed([sys.executable, "-c", held])
    assert run.out == "held 48\n"
    assert 48 <= run.anon < 48 + 40  # (Python itself: a few MiB)
    assert run.file > 0
    assert run.peak >= run.anon
    small = timed([sys.executable, "-c", "import time; time.sleep(0.1)"])
    assert small.anon < 20


def test_the_measurements_of_a_file_take_turns_and_the_best_of_each_is_kept(tmp_path, monkeypatch):
    """Each round runs the floor, the column path, the durable path and the CSV output once, so that a busy minute
    slows each of them alike (the speed-up is a ratio of two); the fastest run of each is the one shown."""
    import bench_check

    made = []
    column_seconds = iter([2.0, 1.5, 1.7])
    durable_seconds = iter([30.0, 40.0, 29.0])

    def fake_check(path, out, engine, form="json"):
        made.append(f"{engine}-{form}")
        seconds = next(column_seconds) if (engine, form) == ("column", "json") else \
            next(durable_seconds) if engine == "durable" else 3.0
        return bench_check.Run(seconds, 100.0 + seconds, "", seconds, None, None)

    def fake_timed(command):
        made.append("floor")
        return bench_check.Run(0.1, 50.0, f"{0.2 - 0.01 * len(made)}\n", 0.1, None, None)

    monkeypatch.setattr(bench_check, "check", fake_check)
    monkeypatch.setattr(bench_check, "timed", fake_timed)
    best = bench_check.measure(tmp_path / "rows.csv", tmp_path, 3, durable=True, csv_too=True)
    assert made == ["floor", "column-json", "durable-json", "column-csv"] * 3
    assert best["column"].seconds == 1.5 and best["column"].peak == 101.5  # (the fastest run's own peak)
    assert best["durable"].seconds == 29.0
    assert best["floor"] == pytest.approx(0.2 - 0.01 * 9)
    made.clear()
    column_seconds = iter([2.0])
    only = bench_check.measure(tmp_path / "rows.csv", tmp_path, 1, durable=False, csv_too=False)
    assert made == ["floor", "column-json"] and set(only) == {"floor", "column"}


def test_the_shared_libraries_found_are_this_pythons_and_its_environments(tmp_path):
    import bench_check

    (tmp_path / "pkg").mkdir()
    for name in ("libarrow.so.2600", "lib.cpython-311-x86_64-linux-gnu.so", "notes.source.txt", "x.so.py", "plain.py"):
        (tmp_path / "pkg" / name).write_bytes(b"\0")
    (tmp_path / "pkg" / "libarrow.so").symlink_to(tmp_path / "pkg" / "libarrow.so.2600")  # (the file counted once)
    found = [path.name for path in bench_check.library_files([tmp_path])]
    assert found == ["lib.cpython-311-x86_64-linux-gnu.so", "libarrow.so.2600"]
    real = bench_check.python_libraries()
    assert any(path.name.startswith("libarrow.so") for path in real)  # (pyarrow's, in the environment)
    assert any("_multiarray_umath" in path.name for path in real)
    dynload = Path(os.__file__).parent / "lib-dynload"  # (the standard library's extension modules)
    if any(dynload.glob("*.so")):
        assert any(path.parent == dynload for path in real)
    assert not any(str(path).startswith(("/usr/lib/x86_64-linux-gnu/", "/lib/")) for path in real)  # (not the system's)


def _resident_pages(path: Path) -> int:
    """How many of a file's pages the page cache holds (mincore over a mapping of it that touches none of them)."""
    import ctypes

    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype, libc.mmap.argtypes = ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                                              ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    with path.open("rb") as handle:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, handle.fileno(), 0)
        assert address not in (None, ctypes.c_void_p(-1).value)
        try:
            vector = ctypes.create_string_buffer(pages)
            assert libc.mincore(address, size, vector) == 0, ctypes.get_errno()
            return sum(byte & 1 for byte in vector.raw)
        finally:
            libc.munmap(address, size)


@pytest.mark.skipif(not hasattr(os, "posix_fadvise") or not Path("/proc/self/status").exists(),
                    reason="needs Linux's posix_fadvise and mincore")
def test_settling_the_libraries_takes_their_pages_out_of_the_page_cache(tmp_path):
    import bench_check

    library = tmp_path / "libexample.so.1"
    library.write_bytes(bytes(range(256)) * (4 << 12))  # 4 MiB, just written: all of it in the page cache
    library.read_bytes()
    if _resident_pages(library) == 0:
        pytest.skip("this file system keeps no page cache for the test's folder")
    assert _resident_pages(library) == (4 << 20) // mmap.PAGESIZE
    assert bench_check.settle_libraries([library, tmp_path / "absent.so"]) == (1, 4 << 20)
    assert _resident_pages(library) == 0
    assert library.read_bytes()[:3] == b"\0\1\2"  # (the file itself unchanged)
