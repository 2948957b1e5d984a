"""Letters per second for official documents in DOCX and PDF (10,000 notices each by default), on all cores."""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

from engine.docx_writer import render_docx
from engine.sample_documents import joint_notice, rectification_notice

_pdf_writer = None


def _docs(start: int, count: int) -> list:
    """Distinct notices: document numbers differ, every fifth one is joint, every seventh has three findings."""
    return [joint_notice(i) if i % 5 == 0 else rectification_notice(3 if i % 7 == 0 else 1, number=i)
            for i in range(start, start + count)]


def _docx_chunk(args: tuple[int, int]) -> int:
    return sum(len(render_docx(d)) for d in _docs(*args))


def _pdf_chunk(args: tuple[int, int]) -> int:
    global _pdf_writer
    if _pdf_writer is None:
        from engine.pdf_writer import PdfWriter
        _pdf_writer = PdfWriter()
    return sum(len(_pdf_writer.render(d)) for d in _docs(*args))


def run(kind: str, n: int, workers: int, chunk: int = 250) -> tuple[float, int]:
    work = [(s, min(chunk, n - s)) for s in range(0, n, chunk)]
    fn = _docx_chunk if kind == "docx" else _pdf_chunk
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(fn, [(0, 2)] * workers))            # warm up: imports, skeleton, fonts
        start = time.perf_counter()
        size = sum(pool.map(fn, work))
        return time.perf_counter() - start, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=("docx", "pdf"))
    args = parser.parse_args()
    for kind in ("docx", "pdf"):
        if args.only and kind != args.only:
            continue
        seconds, size = run(kind, args.n, args.workers)
        print(f"{kind}: {args.n} notices in {seconds:.1f} s = {args.n / seconds:,.0f} letters/s "
              f"({args.workers} processes, {size / args.n / 1024:.0f} KiB each)")


if __name__ == "__main__":
    main()
