"""Benchmark: `ecocheck check FILE --format json` end to end on generated boiler and coal-sample CSVs (5% violating,
2% missing values), beside pandas.read_csv of the same file (the floor) and `--engine durable` (the reference path).

Each run is a fresh child process timed by wall clock (Python start, imports and rule loading from the rule-set cache
included), its peak RSS read from os.wait4. The durable path takes 0.1–0.25 ms a record, so it runs only at the sizes in --durable-sizes;
the ratio is given where both ran."""

from __future__ import annotations

import argparse
import csv
import filecmp
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def file_huge_pages(meminfo: Path = Path("/proc/meminfo")) -> float:
    """MiB of file pages the page cache holds as huge pages (FileHugePages; 0 where the system does not say)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("FileHugePages:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def coal_samples_repeated(path: Path, rows: int) -> None:
    """Coal samples of which 70% repeat an earlier sample's id (the same file pasted in again, and again): each
    repeat is listed with both places in the JSON and the terminal note."""
    coal_samples(path, rows, distinct_ids=max(rows * 3 // 10, 1))


KINDS = {"boiler": boilers, "coal_sample": coal_samples, "coal_repeated": coal_samples_repeated}
FLOOR = "import sys, time, pandas as pd; t = time.perf_counter(); pd.read_csv(sys.argv[1]); print(time.perf_counter() - t)"


def timed(command: list[str]) -> tuple[float, float, str, float]:
    """(wall seconds, peak RSS MiB, stdout, CPU seconds: user + system, all threads) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}")
    return seconds, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def check(path: Path, out: Path, engine: str, form: str = "json") -> tuple[float, float, float]:
    seconds, peak, _, cpu = timed([sys.executable, "-m", "engine.cli", "check", str(path), "--as-of", AS_OF, "--format",
                                   form, "--output", str(out), "--fail-on", "none", "--engine", engine, *STORE])
    return seconds, peak, cpu


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
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the best is shown")
    parser.add_argument("--store", action="store_true",
                        help="record each run in a run store (one SQLite file for the whole benchmark) instead of --no-db")
    parser.add_argument("--csv", action="store_true",
                        help="also time the column path writing the findings as CSV (--format csv): column 'CSV out s'")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; times are wall seconds of a fresh process "
          f"(best of {args.repeat}); cpu s = its user + system CPU seconds (all threads: a figure that other\n"
          f"load on the machine changes less than the wall time); peak = its max RSS; load average at the start "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.store:
            STORE[:] = ["--db", str(Path(tmp) / "runs.sqlite")]
        warm = Path(tmp) / "warm.csv"  # one run before the table: the rule-set cache holds the parsed rules
        boilers(warm, 10)              # (engine.rulecache; a changed rule file costs the next run ~1 s)
        check(warm, Path(tmp) / "warm.json", "column")
        start = min(check(warm, Path(tmp) / "warm.json", "column")[1] for _ in range(max(args.repeat, 3)))
        print(f"start-up: a check of 10 rows peaks at {start:.0f} MiB (Python, pandas, pyarrow, numpy and the rule set; "
              f"how much of the libraries the system counts as resident\nvaries with its page cache: 104–158 MiB seen "
              f"on one machine); net = (peak − start-up) / CSV size")
        huge = file_huge_pages()
        if huge:
            print(f"the page cache holds {huge:.0f} MiB of files in huge pages (FileHugePages: files just written, "
                  f"such as a new install's libraries);\na process that loads such a library is counted with more of "
                  f"its pages resident: start-up and peak RSS are higher until the system splits them (minutes)")
        print(f"{'kind':<14}{'rows':>9}{'CSV MiB':>9}{'floor s':>9}{'column s':>10}{'cpu s':>7}{'rows/s':>10}{'peak MiB':>9}"
              f"{'RSS/CSV':>8}{'net':>6}{'×floor':>7}{'durable s':>10}{'durable rows/s':>15}{'speed-up':>9}{'findings':>9}"
              + (f"{'CSV out s':>10}{'peak MiB':>9}" if args.csv else ""))
        for kind in args.kinds.split(","):
            for size in args.sizes:
                path = Path(tmp) / f"{kind}_{size}.csv"
                KINDS[kind](path, size)
                mib = path.stat().st_size / (1 << 20)
                floor = min(float(timed([sys.executable, "-c", FLOOR, str(path)])[2]) for _ in range(args.repeat))
                runs = [check(path, Path(tmp) / "column.json", "column") for _ in range(args.repeat)]
                seconds, peak, cpu = min(runs)
                findings = _count(Path(tmp) / "column.json")  # streamed: this process stays small (a child's
                durable = ""                                     # peak RSS counts the parent's at fork)
                if size in args.durable_sizes:
                    d_seconds, _, _ = min(check(path, Path(tmp) / "durable.json", "durable") for _ in range(args.repeat))
                    same = filecmp.cmp(Path(tmp) / "durable.json", Path(tmp) / "column.json", shallow=False)
                    durable = (f"{d_seconds:>10.2f}{size / d_seconds:>15.0f}{d_seconds / seconds:>8.1f}×"
                               + ("" if same else " (JSON differs!)"))
                else:
                    durable = f"{'—':>10}{'—':>15}{'—':>9}"
                as_csv = ""
                if args.csv:
                    c_seconds, c_peak, _ = min(check(path, Path(tmp) / "column.csv", "column", "csv")
                                               for _ in range(args.repeat))
                    as_csv = f"{c_seconds:>10.2f}{c_peak:>9.0f}"
                print(f"{kind:<14}{size:>9}{mib:>9.1f}{floor:>9.2f}{seconds:>10.2f}{cpu:>7.2f}{size / seconds:>10.0f}{peak:>9.0f}"
                      f"{peak / mib:>8.1f}{(peak - start) / mib:>6.1f}{seconds / floor:>7.1f}{durable}{findings:>9}{as_csv}", flush=True)
                path.unlink()


if __name__ == "__main__":
    main()
