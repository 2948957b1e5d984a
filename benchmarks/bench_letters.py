"""Letters per second through the whole letters path: N coal samples → N rectification notices, in every format."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from engine.letter_builders import Context
from engine.letter_config import load_authorities, load_letter_config
from engine.letter_plan import plan_letters
from engine.letters import write_letters
from engine.runner import check, load_rules

AS_OF = dt.date(2022, 1, 1)
_state: dict = {}


def _samples(path: Path, n: int) -> None:
    """n bulk-coal samples from n sellers, each above the ash limit (so each gets a notice of its own)."""
    rng = random.Random(7)
    prefectures = ["兰州市", "白银市", "天水市", "定西市", "临夏回族自治州", "武威市"]
    with path.open("w", encoding="utf-8") as handle:
        handle.write("样品编号,销售单位,市州,抽检日期,灰分Ad（%）,\"全硫St,d（%）\"\n")
        for i in range(n):
            handle.write(f"S-{i:06d},某煤炭经销点{i:06d},{rng.choice(prefectures)},2021-12-0{1 + i % 9},"
                         f"{16.5 + rng.random() * 5:.2f},{0.4 + rng.random() * 0.5:.2f}\n")


def _write(args) -> int:
    letters, fmt, folder = args
    config = _state.setdefault("config", load_letter_config(None))
    manifest = {"tool_version": "", "rules_fingerprint": "", "as_of": AS_OF.isoformat(), "inputs": []}
    return len(write_letters(letters, [], manifest, config, Path(folder), fmt, AS_OF))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--formats", default="html,md,docx,pdf")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _samples(tmp / "coal.csv", args.n)
        ruleset = load_rules()
        started = time.perf_counter()
        report = check([tmp / "coal.csv"], ruleset, AS_OF).report
        ctx = Context(config=load_letter_config(None), authorities=load_authorities(), documents=ruleset.documents,
                      schemas=ruleset.schemas, measures=ruleset.measures, issue_date=AS_OF)
        letters, _ = plan_letters(report.findings, ctx)
        planned = time.perf_counter() - started
        print(f"check and plan: {len(letters):,} letters from {args.n:,} samples in {planned:.1f} s")
        chunks = [letters[i::args.workers] for i in range(args.workers)]
        with ProcessPoolExecutor(args.workers) as pool:
            for fmt in args.formats.split(","):
                list(pool.map(_write, [(c[:2], fmt, tmp / f"warm-{fmt}-{n}") for n, c in enumerate(chunks)]))
                start = time.perf_counter()
                files = sum(pool.map(_write, [(c, fmt, tmp / f"{fmt}-{n}") for n, c in enumerate(chunks)]))
                seconds = time.perf_counter() - start
                print(f"{fmt:>4}: {len(letters):,} notices in {seconds:6.1f} s = {len(letters) / seconds:8,.0f} "
                      f"letters/s ({args.workers} processes, {files:,} files with the indexes and working records)")


if __name__ == "__main__":
    main()
