"""Benchmark: records per second for generated boiler files (10k and 100k rows), load and evaluation separately."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.records import load_file  # noqa: E402
from engine.runner import evaluate_records, load_rules, regions_of  # noqa: E402

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


def bench(rows: int, workdir: Path, ruleset, regions) -> dict:
    path = workdir / f"boilers_{rows}.csv"
    generate(path, rows)
    start = time.perf_counter()
    loaded = load_file(path, ruleset.schemas, regions)
    loaded_at = time.perf_counter()
    results, findings = evaluate_records(ruleset, loaded.records, dt.date(2022, 6, 30))
    done = time.perf_counter()
    assert loaded.rows == rows == len(loaded.records) + sum(1 for r in loaded.rejected if r.scope == "row")
    return {"rows": rows, "load_s": loaded_at - start, "evaluate_s": done - loaded_at, "total_s": done - start,
            "results": len(results), "findings": len(findings)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    args = parser.parse_args()
    ruleset = load_rules()
    regions = regions_of(ruleset)
    print(f"python {sys.version.split()[0]}, {len(ruleset.rules)} rules "
          f"({sum(r.kind == 'boiler' for r in ruleset.rules)} on boilers)")
    print(f"{'rows':>8} {'load s':>8} {'eval s':>8} {'total s':>8} {'load r/s':>10} {'eval r/s':>10} "
          f"{'total r/s':>10} {'results':>8} {'findings':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            f = bench(size, Path(tmp), ruleset, regions)
            print(f"{f['rows']:>8} {f['load_s']:>8.2f} {f['evaluate_s']:>8.2f} {f['total_s']:>8.2f} "
                  f"{f['rows'] / f['load_s']:>10.0f} {f['rows'] / f['evaluate_s']:>10.0f} "
                  f"{f['rows'] / f['total_s']:>10.0f} {f['results']:>8} {f['findings']:>8}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
