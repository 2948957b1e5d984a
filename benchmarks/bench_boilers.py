"""Benchmark: records per second and peak memory of `check` on generated boiler CSVs (10k and 100k rows by default)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADER = ["使用单位", "锅炉编号", "市州", "燃料种类", "测试类型", "出厂日期", "测试日期", "热效率（%）"]
REGIONS = ["兰州市", "嘉峪关市", "金昌市", "酒泉市", "张掖市", "武威市", "白银市", "天水市", "平凉市", "庆阳市",
           "定西市", "陇南市", "甘南州", "临夏州"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            made = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(4000))
            efficiency = "" if rng.random() < 0.03 else f"{rng.uniform(70, 96):.1f}"
            writer.writerow([f"单位{n % 5000}", f"GL-{n:07d}", rng.choice(REGIONS), rng.choice(["燃煤", "燃气"]),
                             rng.choice(["验收", "定型", "运行"]), made.isoformat(),
                             (made + dt.timedelta(days=rng.randrange(30, 900))).isoformat(), efficiency])


def measure(path: Path) -> dict:
    """One run of the real streaming path (runner.check), in this process."""
    from engine.runner import check, load_rules

    ruleset = load_rules()
    start = time.perf_counter()
    result = check([path], ruleset, dt.date(2022, 6, 30))
    seconds = time.perf_counter() - start
    entry = result.report.manifest["inputs"][0]
    assert entry["rows"] == entry["evaluated"] + entry["rejected"]
    return {"rows": entry["rows"], "seconds": seconds, "results": sum(result.report.counts.values()),
            "findings": len(result.report.findings), "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "file_mib": path.stat().st_size / (1 << 20), "rules": len(ruleset.rules)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # child process: measure one file
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print(f"python {sys.version.split()[0]}; each size in a fresh process (peak = that process's max RSS)")
    print(f"{'rows':>9} {'file MiB':>9} {'seconds':>8} {'rows/s':>8} {'results':>9} {'findings':>9} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"boilers_{size}.csv"
            generate(path, size)
            out = subprocess.run([sys.executable, __file__, "--one", str(path)], capture_output=True, text=True,
                                 check=True, cwd=ROOT)
            f = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{f['rows']:>9} {f['file_mib']:>9.1f} {f['seconds']:>8.1f} {f['rows'] / f['seconds']:>8.0f} "
                  f"{f['results']:>9} {f['findings']:>9} {f['peak_mib']:>9.0f}")
            path.unlink()


if __name__ == "__main__":
    main()
