"""Arrow's allocator, chosen before pyarrow loads, and its memory pool for a command-line run (jemalloc, giving freed
memory back to the system at once), and data kept compressed in it."""

from __future__ import annotations

import os
import sys

# Arrow's allocator, chosen before pyarrow is first loaded (Arrow picks its default pool, and jemalloc reads its
# settings, once): jemalloc for what Arrow's C++ allocates by itself too (compute kernels, the CSV reader), not only
# for what pyarrow is handed; and every block of 256 KiB or more in jemalloc's own arena for large blocks, which gives
# freed pages back at once, where the other arenas keep them for a second or two. Measured at 1M rows, check --format
# json, alternately with the code before (five and three runs): peak RSS 175–181 → 163–165 MiB for coal samples,
# 161–163 → 155–157 MiB for boilers, the same JSON, in the same time. Linux only: the PyPI wheels for Linux have
# jemalloc (a pyarrow built without it would print Arrow's warning of an unknown backend once and keep its default;
# elsewhere the wheels have none). A setting the user made stands.
ALLOCATOR_ENVIRONMENT = {"ARROW_DEFAULT_MEMORY_POOL": "jemalloc", "JE_ARROW_MALLOC_CONF": "oversize_threshold:262144"}


def choose_allocator(environ=os.environ, platform: str = sys.platform) -> None:
    """Put ALLOCATOR_ENVIRONMENT in the environment where it is not set (engine/__init__, before pyarrow loads)."""
    if platform.startswith("linux"):
        for name, value in ALLOCATOR_ENVIRONMENT.items():
            environ.setdefault(name, value)


def use_returning_pool() -> str:
    """Make jemalloc, with freed memory returned at once, pyarrow's default pool where this pyarrow build has it
    (measured on 1M-row CSVs, `check --format json`: peak RSS 250–262 → 228–232 MiB for coal samples, 243–245 →
    220–226 MiB for boilers, in the same time; the default pool, mimalloc, keeps what a batch freed). Elsewhere the
    default stays. Returns the backend in use."""
    import pyarrow as pa
    try:
        pool = pa.jemalloc_memory_pool()
        pa.set_memory_pool(pool)
        pa.jemalloc_set_decay_ms(0)
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
