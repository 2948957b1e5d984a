"""Benchmark: `ecocheck check FILE --format json` end to end on generated boiler and coal-sample CSVs (5% violating,
2% missing values), beside pandas.read_csv of the same file (the floor) and `--engine durable` (the reference path).

Each run is a fresh child process timed by wall clock (Python start, imports and rule loading from the rule-set cache
included), its peak RSS read from os.wait4, its anonymous and file-backed resident memory sampled from /proc every
5 ms (the peak RSS counts the libraries' pages mapped from the page cache, which vary with how the files came into
it; the anonymous memory does not). Before the runs the page cache lets go of the shared libraries of this Python and
its environment (settle_libraries), so that every run maps them as after a restart, not as an install wrote them;
--libraries-as-found leaves the page cache as it is. The durable path takes 0.1–0.25 ms a record, so it runs only at
the sizes in --durable-sizes; the ratio is given where both ran."""

from __future__ import annotations

import argparse
import csv
import filecmp
import datetime as dt
import os
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ["兰州市", "嘉峪关市", "金昌市", "酒泉市", "张掖市", "武威市", "白银市", "天水市", "平凉市", "庆阳市",
           "定西市", "陇南市", "甘南州", "临夏州"]
VIOLATING, MISSING = 0.05, 0.02
AS_OF = "2022-06-30"
STORE = ["--no-db"]  # the engine alone; --store adds recording each run in a SQLite run store


def boilers(path: Path, rows: int, seed: int = 7) -> None:
    """Boiler tests: 5% of rows breach a rule (low efficiency, or a coal boiler in use inside the network area);
    2% have no efficiency."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["使用单位", "锅炉编号", "市州", "燃料种类", "测试类型", "出厂日期", "测试日期", "额定蒸发量（t/h）",
                         "热效率（%）", "是否在集中供热供气管网覆盖范围内", "是否在用"])
        for n in range(rows):
            made = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randrange(1800))
            draw = rng.random()
            in_area, in_use = rng.choice([("否", "是"), ("是", "否"), ("否", "否")])
            efficiency = f"{rng.uniform(92.5, 97):.1f}"
            if draw < VIOLATING:
                if rng.random() < 0.5:
                    efficiency = f"{rng.uniform(60, 79.9):.1f}"
                else:
                    in_area, in_use = "是", "是"
            elif draw < VIOLATING + MISSING:
                efficiency = ""
            writer.writerow([f"单位{n % 5000}", f"GL-{n:07d}", rng.choice(REGIONS), rng.choice(["燃煤", "燃气"]),
                             rng.choice(["验收", "定型", "运行"]), made.isoformat(),
                             (made + dt.timedelta(days=rng.randrange(30, 900))).isoformat(),
                             rng.choice(["2", "4", "10", "20"]), efficiency, in_area, in_use])


def coal_samples(path: Path, rows: int, seed: int = 11, distinct_ids: int | None = None) -> None:
    """Bulk-coal samples: 5% at or above a limit (ash 16%, sulfur 1%); 2% with sulfur not tested. With `distinct_ids`,
    sample n has the id of sample n % distinct_ids (every later one repeats an id)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["样品编号", "销售单位", "市州", "煤种", "灰分Ad（%）", "全硫St,d（%）", "抽检日期"])
        for n in range(rows):
            ash, sulfur = f"{rng.uniform(5, 15.9):.2f}", f"{rng.uniform(0.1, 0.99):.2f}"
            draw = rng.random()
            if draw < VIOLATING:
                ash = f"{rng.uniform(16, 30):.2f}"
            elif draw < VIOLATING + MISSING:
                sulfur = "未检测"
            day = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randrange(1500))
            writer.writerow([f"S-{n % (distinct_ids or rows):07d}", f"经销点{n % 3000}", rng.choice(REGIONS), rng.choice(["烟煤", "无烟煤"]),
                             ash, sulfur, day.isoformat()])


def rss_parts(status: Path) -> tuple[float, float] | None:
    """(anonymous, file-backed) MiB a process has resident, from its /proc/PID/status (RssAnon; RssFile and RssShmem),
    or None where the system does not say (not Linux, or the process has ended)."""
    found = {}
    try:
        for line in status.read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("RssAnon", "RssFile", "RssShmem"):
                found[name] = int(value.split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    if "RssAnon" not in found or "RssFile" not in found:
        return None
    return found["RssAnon"], found["RssFile"] + found.get("RssShmem", 0.0)


class PeakSampler(threading.Thread):
    """The highest anonymous and file-backed resident memory of a child process, read from /proc every `every`
    seconds until it ends (a sampled figure: a peak shorter than `every` can be missed; os.wait4 gives the exact peak
    RSS, of the two together). None where the system does not say."""

    def __init__(self, pid: int, every: float = 0.005):
        super().__init__(daemon=True)
        self.status, self.every = Path(f"/proc/{pid}/status"), every
        self.anon = self.file = None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            parts = rss_parts(self.status)
            if parts is None:
                if self.anon is None and self.status.parent.exists():
                    self._done.wait(self.every)  # (not yet readable)
                    continue
                return
            if self.anon is None or parts[0] > self.anon:
                self.anon = parts[0]
            if self.file is None or parts[1] > self.file:
                self.file = parts[1]
            self._done.wait(self.every)

    def stop(self) -> None:
        self._done.set()
        self.join()


def coal_samples_repeated(path: Path, rows: int) -> None:
    """Coal samples of which 70% repeat an earlier sample's id (the same file pasted in again, and again): each
    repeat is listed with both places in the JSON and the terminal note."""
    coal_samples(path, rows, distinct_ids=max(rows * 3 // 10, 1))


KINDS = {"boiler": boilers, "coal_sample": coal_samples, "coal_repeated": coal_samples_repeated}
FLOOR = "import sys, time, pandas as pd; t = time.perf_counter(); pd.read_csv(sys.argv[1]); print(time.perf_counter() - t)"


LIBRARY_NAME = re.compile(r"\.so(\.\d+)*$")  # libarrow.so.2600, lib.cpython-311-x86_64-linux-gnu.so


def library_files(roots: list[Path]) -> list[Path]:
    """The shared libraries (*.so, *.so.N) under the given folders, each file once (symlinks to them left out)."""
    found = set()
    for root in roots:
        found.update(path for path in root.rglob("*.so*") if LIBRARY_NAME.search(path.name) and not path.is_symlink()
                     and path.is_file())
    return sorted(found)


def settle_libraries(files: list[Path]) -> tuple[int, int] | None:
    """Ask the page cache to let go of these files (written back first, then posix_fadvise DONTNEED; pages that a
    running process maps stay), so that the next process loads them a few pages at a time on its page faults, as after
    a restart. A library just installed (written in 1 MiB writes) is held in large folios, which Linux 6.x maps whole
    on a fault: each run would count 30–40 MiB more of the libraries' pages, by how the files came into the page
    cache and not by what ecocheck does. (count, bytes) of the files let go of; None where the system has no
    posix_fadvise. Unprivileged: it changes nothing but what the page cache holds."""
    if not hasattr(os, "posix_fadvise"):
        return None
    count = size = 0
    for path in files:
        try:
            handle = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(handle)
            os.posix_fadvise(handle, 0, 0, os.POSIX_FADV_DONTNEED)
            count, size = count + 1, size + os.fstat(handle).st_size
        except OSError:
            pass
        finally:
            os.close(handle)
    return count, size


def python_libraries() -> list[Path]:
    """The shared libraries this Python loads from: its environment's site-packages, the standard library's
    extension modules (lib-dynload) and libpython where the Python is built shared (nothing else of the system's)."""
    paths = sysconfig.get_paths()
    roots = {Path(paths["platlib"]), Path(paths["purelib"]), Path(os.__file__).parent / "lib-dynload"}
    found = library_files(sorted(root for root in roots if root.is_dir()))
    libdir, name = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    if libdir and name and (Path(libdir) / name).is_file():
        found.append((Path(libdir) / name).resolve())
    return sorted(set(found))


class Run(NamedTuple):
    """One child process: wall seconds, peak RSS MiB (exact, os.wait4), stdout, CPU seconds (user + system, all
    threads), and the sampled peaks of its anonymous and file-backed resident memory in MiB (None: not known)."""

    seconds: float
    peak: float
    out: str
    cpu: float
    anon: float | None
    file: float | None


def timed(command: list[str]) -> Run:
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    sampler = PeakSampler(child.pid)
    sampler.start()
    out = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    sampler.stop()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}")
    return Run(seconds, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime, sampler.anon, sampler.file)


def check(path: Path, out: Path, engine: str, form: str = "json") -> Run:
    return timed([sys.executable, "-m", "ecocheck", "check", str(path), "--as-of", AS_OF, "--format", form,
                  "--output", str(out), "--fail-on", "none", "--engine", engine, *STORE])


def measure(path: Path, tmp: Path, repeat: int, durable: bool, csv_too: bool) -> dict:
    """The best of `repeat` runs of each measurement of one file: "floor" (pandas.read_csv's seconds), "column" (the
    fastest Run), "durable" and "csv" where asked. The measurements take turns, one run of each per round, so that
    a minute in which the machine is busy slows each of them alike and a ratio of two of them stays fair."""
    runs: dict = {}
    for _ in range(repeat):
        runs.setdefault("floor", []).append(float(timed([sys.executable, "-c", FLOOR, str(path)]).out))
        runs.setdefault("column", []).append(check(path, tmp / "column.json", "column"))
        if durable:
            runs.setdefault("durable", []).append(check(path, tmp / "durable.json", "durable"))
        if csv_too:
            runs.setdefault("csv", []).append(check(path, tmp / "column.csv", "column", "csv"))
    return {name: min(found) if name == "floor" else min(found, key=lambda run: run.seconds)
            for name, found in runs.items()}


def _mib(value: float | None, width: int) -> str:
    return f"{'—':>{width}}" if value is None else f"{value:>{width}.0f}"


def _count(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.startswith('  "rule_id"'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--durable-sizes", type=lambda s: [int(x) for x in s.split(",") if x], default=[10_000],
                        help="sizes at which --engine durable also runs (default 10000; it takes 0.1–0.25 ms a record)")
    parser.add_argument("--kinds", default="boiler,coal_sample",
                        help=f"comma-separated, of {', '.join(KINDS)} (coal_repeated: coal samples, 70%% of their ids "
                             "repeated)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement, one of each in turn; the best is shown")
    parser.add_argument("--store", action="store_true",
                        help="record each run in a run store (one SQLite file for the whole benchmark) instead of --no-db")
    parser.add_argument("--csv", action="store_true",
                        help="also time the column path writing the findings as CSV (--format csv): column 'CSV out s'")
    parser.add_argument("--libraries-as-found", action="store_true",
                        help="leave the page cache's copies of the shared libraries as they are (by default the page "
                             "cache lets go of them before the runs: see settle_libraries)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; times are wall seconds of a fresh process "
          f"(best of {args.repeat}); cpu s = its user + system CPU seconds (all threads: a figure that other\n"
          f"load on the machine changes less than the wall time); peak = its max RSS; load average at the start "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.store:
            STORE[:] = ["--db", str(Path(tmp) / "runs.sqlite")]
        settled = None if args.libraries_as_found else settle_libraries(python_libraries())
        warm = Path(tmp) / "warm.csv"  # one run before the table: the rule-set cache holds the parsed rules
        boilers(warm, 10)              # (engine.rulecache; a changed rule file costs the next run ~1 s)
        check(warm, Path(tmp) / "warm.json", "column")
        start = min((check(warm, Path(tmp) / "warm.json", "column") for _ in range(max(args.repeat, 3))),
                    key=lambda run: run.peak)
        if settled and settled[0]:
            libraries = (f"the page cache let go of the {settled[0]} shared libraries ({settled[1] >> 20} MiB) of this Python "
                         f"and its environment before the runs,\nso that they are mapped a few pages at a time, as "
                         f"after a restart (--libraries-as-found: as the page cache holds them now; right after an "
                         f"install\nthat is 30–40 MiB more a run, the files held in the large folios pip's writes made).")
        elif args.libraries_as_found:
            libraries = ("the libraries' files as the page cache holds them (--libraries-as-found): right after an "
                         "install, or read straight through,\nthey are held in large folios, which this machine's "
                         "Linux maps whole on a fault: 30–40 MiB more a run than after a restart.")
        elif settled is None:
            libraries = "the page cache's copies of the libraries could not be let go of here (no posix_fadvise)."
        else:
            libraries = "no shared libraries of this Python were found to let go of from the page cache."
        print(f"start-up: a check of 10 rows peaks at {start.peak:.0f} MiB: {_mib(start.anon, 0)} MiB its own "
              f"(anonymous: Python, the modules imported, the rule set) and {_mib(start.file, 0)} MiB of the "
              f"libraries' pages\n(file-backed, mapped from the page cache); {libraries}\nanon = a run's peak "
              f"anonymous memory (sampled every 5 ms), which does not depend on the page cache; "
              f"net = (peak − start-up) / CSV size")
        print(f"{'kind':<14}{'rows':>9}{'CSV MiB':>9}{'floor s':>9}{'column s':>10}{'cpu s':>7}{'rows/s':>10}{'peak MiB':>9}"
              f"{'RSS/CSV':>8}{'net':>6}{'anon MiB':>9}{'anon/CSV':>9}{'×floor':>7}{'durable s':>10}{'durable rows/s':>15}"
              f"{'speed-up':>9}{'findings':>9}" + (f"{'CSV out s':>10}{'peak MiB':>9}" if args.csv else ""))
        for kind in args.kinds.split(","):
            for size in args.sizes:
                path = Path(tmp) / f"{kind}_{size}.csv"
                KINDS[kind](path, size)
                mib = path.stat().st_size / (1 << 20)
                best = measure(path, Path(tmp), args.repeat, size in args.durable_sizes, args.csv)
                floor, seconds, peak, cpu, anon = (best["floor"], best["column"].seconds, best["column"].peak,
                                                   best["column"].cpu, best["column"].anon)
                findings = _count(Path(tmp) / "column.json")  # streamed: this process stays small (a child's
                durable = ""                                     # peak RSS counts the parent's at fork)
                if "durable" in best:
                    d_seconds = best["durable"].seconds
                    same = filecmp.cmp(Path(tmp) / "durable.json", Path(tmp) / "column.json", shallow=False)
                    durable = (f"{d_seconds:>10.2f}{size / d_seconds:>15.0f}{d_seconds / seconds:>8.1f}×"
                               + ("" if same else " (JSON differs!)"))
                else:
                    durable = f"{'—':>10}{'—':>15}{'—':>9}"
                as_csv = ""
                if args.csv:
                    as_csv = f"{best['csv'].seconds:>10.2f}{best['csv'].peak:>9.0f}"
                print(f"{kind:<14}{size:>9}{mib:>9.1f}{floor:>9.2f}{seconds:>10.2f}{cpu:>7.2f}{size / seconds:>10.0f}{peak:>9.0f}"
                      f"{peak / mib:>8.1f}{(peak - start.peak) / mib:>6.1f}{_mib(anon, 9)}"
                      f"{'—' if anon is None else f'{anon / mib:.1f}':>9}{seconds / floor:>7.1f}{durable}{findings:>9}{as_csv}",
                      flush=True)
                path.unlink()


if __name__ == "__main__":
    main()
