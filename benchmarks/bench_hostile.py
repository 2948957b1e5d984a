"""Benchmark: `ecocheck check FILE` on hostile and oversized inputs, each in a fresh child process: wall and CPU
seconds, peak RSS, exit code and the first line of the error. Each case must end in seconds with either its records
read or an `Error:` naming the file and the fix, never a hang or gigabytes of memory.

A case is (name, make, extra CLI args): make(directory) writes the input file there and returns its path; the extra
args are a list or a function of the directory giving one. Add cases to CASES; `--cases a,b` runs some."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.xlsxkit writes the workbooks

from tests import xlsxkit  # noqa: E402

AS_OF = "2021-12-31"


def _xlsx(name: str, write, *args):
    return lambda directory: write(Path(directory) / f"{name}.xlsx", *args)


def _sample(directory) -> Path:
    target = Path(directory) / "boilers.csv"
    target.write_bytes((ROOT / "inputs" / "samples" / "boilers.csv").read_bytes())
    return target


BOILER_HEADER = "使用单位,锅炉编号,市州,燃料种类,测试类型,出厂日期,测试日期,额定蒸发量（t/h）,热效率（%）"
BOILER_ROW = "某热力公司,GL-1,兰州市,燃煤,验收,2021-03-15,2021-10-20,{capacity},{efficiency}"


def _csv(name: str, title: str = "", capacity: str = "20", efficiency: str = "78.6"):
    def make(directory) -> Path:
        target = Path(directory) / f"{name}.csv"
        lines = ([title] if title else []) + [BOILER_HEADER, BOILER_ROW.format(capacity=capacity,
                                                                               efficiency=efficiency)]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return target
    return make


def _json_digits(directory) -> Path:
    target = Path(directory) / "digits.json"
    row = dict(zip(BOILER_HEADER.split(","), BOILER_ROW.format(capacity=20, efficiency="EFF").split(",")))
    target.write_text(json.dumps([row], ensure_ascii=False).replace('"EFF"', "9" * 5000), encoding="utf-8")
    return target


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def _rules_with_bomb(directory) -> list:
    rules = Path(directory) / "rules_bomb"
    if not rules.exists():
        shutil.copytree(ROOT / "rules", rules)
        (rules / "boilers" / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    return ["--rules", str(rules)]


CASES = [
    ("baseline: the sample CSV", _sample, []),
    ("CSV title cell of 50k chars", _csv("title_50k", "标题" + "x" * 50_000), []),
    ("CSV first line of 10 MB", _csv("title_10m", "标题" + "热" * 3_500_000), []),
    ("CSV value 1e999999999", _csv("overflow", capacity="1e999999999"), []),
    ("CSV value 5e-05, durable", _csv("tiny", capacity="5e-05"), ["--engine", "durable"]),
    ("JSON integer of 5,000 digits", _json_digits, []),
    ("rules: YAML alias bomb", _sample, _rules_with_bomb),
    ("styled 1M empty cells", _xlsx("styled", xlsxkit.styled_around_table, 1_000, 1_000), []),
    ("styled row of 1M cells", _xlsx("styled_row", xlsxkit.styled_row, 1_000_000), []),
    ("styled 2.2M cells, 46 MiB XML", _xlsx("styled_2m", xlsxkit.styled_around_table, 2_200, 1_000), []),
    ("zip bomb 1 GiB", _xlsx("bomb", xlsxkit.zip_bomb, 1 << 30), []),
    ("100k rows (over the row cap)", _xlsx("rows_100k", xlsxkit.boilers, 100_000), []),
    ("40k rows x 30 (over cell cap)", _xlsx("cells_1200k", xlsxkit.boilers, 40_000, 19), []),
    ("60k rows of real data", _xlsx("rows_60k", xlsxkit.boilers, 60_000), []),
    ("65,535 rows (at the row cap)", _xlsx("rows_65k", xlsxkit.boilers, 65_535), []),
]


def run(path: Path, out: Path, extra: list, timeout: float) -> tuple[float, float, float, int, str]:
    """(wall s, CPU s, peak RSS MiB, exit code, first line of the error) of `ecocheck check PATH` in a child, which
    records nothing in a run store (the benchmark's inputs are not cases: without --no-db they went into the user's
    own store)."""
    command = [sys.executable, "-m", "ecocheck", "check", str(path), "--as-of", AS_OF, "--format", "json",
               "--output", str(out), "--fail-on", "none", "--no-db", *extra]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timer = threading.Timer(timeout, child.kill)
    timer.start()
    stderr = child.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    timed_out = not timer.is_alive()
    timer.cancel()
    lines = [line for line in stderr.splitlines() if line.startswith(("Error", "错误"))] or stderr.splitlines()[-1:]
    first = "killed after the timeout" if timed_out else (lines[0] if lines else "")
    return (seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status),
            first.replace(str(path), path.name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", help="names (or the start of names) of the cases to run, comma-separated")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a case is killed (default 300)")
    parser.add_argument("--keep", type=Path, help="write the inputs into this folder and keep them")
    args = parser.parse_args()
    chosen = [c for c in CASES if not args.cases or any(c[0].startswith(n.strip()) for n in args.cases.split(","))]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; each "
          f"case a fresh `ecocheck check` (Python start, imports and rule loading included)")
    print(f"{'case':<30}{'file MiB':>9}{'make s':>7}{'wall s':>8}{'CPU s':>7}{'peak MiB':>9}{'exit':>5}  error")
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        for name, make, extra in chosen:
            started = time.perf_counter()
            path = make(directory)
            made = time.perf_counter() - started
            extra = extra(directory) if callable(extra) else extra
            wall, cpu, peak, code, error = run(path, Path(scratch) / "out.json", extra, args.timeout)
            print(f"{name:<30}{path.stat().st_size / (1 << 20):>9.1f}{made:>7.1f}{wall:>8.2f}{cpu:>7.2f}{peak:>9.0f}"
                  f"{code:>5}  {error[:150]}", flush=True)
            if not args.keep:
                path.unlink()


if __name__ == "__main__":
    main()
