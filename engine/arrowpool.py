"""Arrow's allocator, chosen before pyarrow loads, and its memory pool for a command-line run (jemalloc, giving freed
memory back to the system within a second), and data kept compressed in it."""

from __future__ import annotations

import os
import sys

# Arrow's allocator, chosen before pyarrow is first loaded (Arrow picks its default pool, and jemalloc reads its
# settings, once): jemalloc for what Arrow's C++ allocates by itself too (compute kernels, the CSV reader), not only
# for what pyarrow is handed; and every block of 1 MiB or more in jemalloc's own arena for large blocks, which gives
# freed pages back at once (the other arenas keep them for DECAY_MS). Measured at 1M rows, check --format json,
# alternately with the code before (five and three runs): peak RSS 175–181 → 163–165 MiB for coal samples, 161–163 →
# 155–157 MiB for boilers, the same JSON, in the same time (with 256 KiB and a decay of 0; 1 MiB and DECAY_MS since
# 2026-12-03, see use_returning_pool). Linux only: the PyPI wheels for Linux have jemalloc (a pyarrow built without it
# would print Arrow's warning of an unknown backend once and keep its default; elsewhere the wheels have none). A
# setting the user made stands.
ALLOCATOR_ENVIRONMENT = {"ARROW_DEFAULT_MEMORY_POOL": "jemalloc", "JE_ARROW_MALLOC_CONF": "oversize_threshold:1048576"}
DECAY_MS = 1000  # how long jemalloc's arenas keep freed pages for the next blocks (use_returning_pool)


def choose_allocator(environ=os.environ, platform: str = sys.platform) -> None:
    """Put ALLOCATOR_ENVIRONMENT in the environment where it is not set (engine/__init__, before pyarrow loads)."""
    if platform.startswith("linux"):
        for name, value in ALLOCATOR_ENVIRONMENT.items():
            environ.setdefault(name, value)


def use_returning_pool() -> str:
    """Make jemalloc pyarrow's default pool where this pyarrow build has it (measured on 1M-row CSVs, `check --format
    json`: peak RSS 250–262 → 228–232 MiB for coal samples, 243–245 → 220–226 MiB for boilers, in the same time; the
    default pool, mimalloc, keeps what a batch freed), its arenas keeping freed pages for DECAY_MS, so that the
    parser's blocks for the next piece of a CSV reuse the pages of the last one. Given back at once (a decay of 0,
    until 2026-12-03), they were faulted in again (on this virtual machine new memory costs more when the run follows
    a pause, as in `make bench`: docs/performance.md, 2026-12-03). 1M rows, runs 10–15 s apart, taken
    in turns: coal samples, system CPU 0.83–0.88 → 0.66–0.72 s, page faults 85k → 58k, wall median 2.52 → 2.32 and
    2.24 → 2.19 s, peak RSS +1 to +3 MiB; boilers, system CPU 0.60–0.68 → 0.36–0.39 s, faults 115k → 59k, wall median
    2.77 → 2.64 s in one series and 2.36 → 2.63 s in another, +6 MiB (docs/performance.md). Elsewhere the default
    stays. Returns the backend in use."""
    import pyarrow as pa
    try:
        pool = pa.jemalloc_memory_pool()
        pa.set_memory_pool(pool)
        pa.jemalloc_set_decay_ms(DECAY_MS)
    except (NotImplementedError, pa.ArrowNotImplementedError, AttributeError):
        pass
    return pa.default_memory_pool().backend_name


def findings_pool():
    """The pool the findings' JSON and CSV texts are put together in (batchfindings): the system allocator, which keeps
    a part's freed blocks for the next part, where jemalloc as use_returning_pool sets it up gives every block of 256
    KiB or more back at once and each part's texts (about 5 MB for 2,000 findings) were written into fresh pages.
    Measured on 1M coal samples, check --format json, alternately with the code before: page faults 157k → 101k a run,
    the main thread's 95k → 39k and its CPU time 1.83 → 1.67 s (median of ten); peak RSS 163–165 → 168–170 MiB."""
    import pyarrow as pa
    return pa.system_memory_pool()


def compressed(data):
    """`data` (bytes or a buffer) compressed with zstd, in a buffer of its own size from pyarrow's pool. pyarrow's
    compress keeps a buffer of the worst-case size, and its bytes would live on Python's heap: there, blocks kept for
    the whole run between the batches' short-lived ones held freed memory the heap could not give back (1M rows,
    alternately three times: peak RSS 224–229 → 214–217 MiB for coal samples, 212–228 → 210–217 MiB for boilers)."""
    import pyarrow as pa
    packed = pa.compress(data, codec="zstd", asbytes=False)
    exact = pa.allocate_buffer(packed.size)
    memoryview(exact)[:] = memoryview(packed)[:packed.size]
    return exact
