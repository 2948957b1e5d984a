"""Output (files, and stdout, which may be one) handed to the system at most WRITE_SLICE bytes a write, so that the page
cache takes its memory in small blocks."""

from __future__ import annotations

import io
import os

# Linux's page cache takes a write's memory in blocks as large as the write, up to 2 MiB. On a virtual machine whose
# host takes free memory back (free page reporting, as on this project's 2-core machine), a 2 MiB block costs most
# after a pause: 186 MB written to a new file in writes of 5 MB took 1.1–1.5 s (0.9–1.2 s of it in the kernel) 6 s
# after the last write, in writes of 2 MiB 0.5 s, and in writes of 1 MiB or less 0.04–0.07 s. Back to back, 0.05 s
# either way: 186 writes of 1 MiB instead of 36 cost nothing measurable (docs/performance.md, 2026-12-03, 10:50).
WRITE_SLICE = 1 << 20
TEXT_SLICE = WRITE_SLICE // 4  # characters: a character is at most 4 bytes of UTF-8


class SlicedFileIO(io.FileIO):
    """A file whose write passes on at most WRITE_SLICE bytes and returns how many it wrote (io.BufferedWriter, above
    it, writes the rest)."""

    def write(self, data) -> int | None:
        with memoryview(data) as view, view.cast("B") as flat:
            return super().write(flat[:WRITE_SLICE])


class SlicedStream:
    """Another stream (stdout) as the report writers see it, its writes passed on a slice at a time: text in pieces of
    TEXT_SLICE characters (at most WRITE_SLICE bytes in UTF-8), the bytes written to its binary `buffer` in pieces of
    WRITE_SLICE. Everything else (encoding, flush, line ends) is the stream's own."""

    def __init__(self, target, size: int | None = None):
        """`size`: the slice, in the units of `len` of what is written (TEXT_SLICE characters unless given)."""
        self._target = target
        self._size = size or TEXT_SLICE

    def write(self, data):
        if len(data) <= self._size:
            return self._target.write(data)
        if not isinstance(data, str):
            data = memoryview(data).cast("B")
        for start in range(0, len(data), self._size):
            self._target.write(data[start:start + self._size])
        return len(data)

    @property
    def buffer(self):
        return SlicedStream(self._target.buffer, WRITE_SLICE)

    def __getattr__(self, name):
        return getattr(self._target, name)


def open_binary(descriptor: int) -> io.BufferedWriter:
    """A buffered binary file over the open file descriptor (closed with it), written a slice at a time."""
    return io.BufferedWriter(SlicedFileIO(descriptor, "wb"))


def open_text(path: os.PathLike | str, encoding: str = "utf-8", newline: str | None = "") -> io.TextIOWrapper:
    """The file at `path` made or emptied, as text written a slice at a time."""
    raw = SlicedFileIO(path, "wb")
    try:
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding=encoding, newline=newline)
    except BaseException:
        raw.close()
        raise
