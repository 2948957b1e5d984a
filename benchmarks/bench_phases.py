"""Benchmark: CPU seconds of one `ecocheck check FILE --format json` run in this process, split into reading and typing
(columnread.chunk_to_batch), the rules (columnar.evaluate_batch), the findings (batchfindings.build_batch) and the rest.

Usage: .venv/bin/python benchmarks/bench_phases.py FILE [--as-of YYYY-MM-DD]. Process CPU time (all threads), so
pyarrow's parsing on the second core is counted in the phase that waits for it or in the rest."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time

from engine import batchfindings, cli, columnar, columnread

SPENT: dict = {}


def _timed(module, name: str, generator: bool = False) -> None:
    """Wrap module.name so that its CPU time (each step of it, for a generator) is added to SPENT[name]."""
    function = getattr(module, name)

    def add(started):
        SPENT[name] = SPENT.get(name, 0.0) + time.process_time() - started

    if generator:
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            steps = function(*args, **kwargs)
            while True:
                started = time.process_time()
                try:
                    item = next(steps)
                except StopIteration:
                    add(started)
                    return
                add(started)
                yield item
    else:
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                add(started)
    setattr(module, name, wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--as-of", default="2022-06-30")
    args = parser.parse_args()
    _timed(columnread, "chunk_to_batch")
    _timed(columnar, "evaluate_batch")
    _timed(batchfindings, "build_batch", generator=True)
    with tempfile.TemporaryDirectory() as folder:
        started = time.process_time()
        try:
            cli.main(["check", args.file, "--as-of", args.as_of, "--format", "json", "--output",
                      os.path.join(folder, "findings.json"), "--no-db"])
        except SystemExit:
            pass
        total = time.process_time() - started
    named = {"reading and typing": SPENT.get("chunk_to_batch", 0.0), "rules": SPENT.get("evaluate_batch", 0.0),
             "findings": SPENT.get("build_batch", 0.0)}
    named["rest"] = total - sum(named.values())
    print(f"{args.file}: {total:.2f} CPU s after imports; " + ", ".join(f"{k} {v:.2f}" for k, v in named.items()),
          file=sys.stderr)


if __name__ == "__main__":
    main()
