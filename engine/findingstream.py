"""The findings written to the output file (JSON or CSV) while the run goes on, by a thread of its own."""

from __future__ import annotations

import os
import queue
import sys
import threading

WAITING = 2  # segments handed over and not yet written, at most (memory: about 5 MB a segment)
# The writer thread's nice value above the run's: where the cores are all busy (the run's thread, pyarrow parsing the
# next piece, the writer), the kernel runs the writer last. The run's thread is the critical path and waits for the
# parser; the writer only has to keep up, and when WAITING segments wait, the run's thread waits for it and lets it
# run. Copying 186 MB of findings into the page cache took 0.1–0.7 s of CPU in writes of 5 MB, 0.03 s in one run
# measured since they are sliced (sliced_writes; docs/performance.md, 2026-12-03).
WRITER_NICENESS = 10


class StreamFailed(Exception):
    """The output could not be written (`error`: the OSError). Not an OSError itself: the runner reads an OSError
    as an input file it could not read."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class SegmentStream:
    """Writes the findings of an output to a binary file as segments of findings arrive, on another thread (a file's
    write lets go of the GIL) while the run goes on: the opening, then each segment's text as `_separated` puts it.
    `form`: what a segment's text is ("json" or "csv")."""

    form = ""

    def __init__(self, raw, opening: bytes, waiting: int = WAITING):
        """`waiting`: segments handed over and not yet written, at most."""
        self.raw = raw
        self.segments = 0  # handed over so far
        self._waiting: queue.Queue = queue.Queue(maxsize=waiting)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._write_each, name=f"ecocheck-findings-{self.form}", daemon=True)
        self._thread.start()
        self._hand_over((opening,))

    def write(self, segment) -> None:
        """A segment's text (bytes or a pyarrow Buffer), after those handed over before."""
        self._hand_over(self._separated(segment))
        self.segments += 1

    def _separated(self, segment) -> tuple:
        raise NotImplementedError

    def close(self) -> None:
        """Wait until everything handed over is written (the file stays open for the rest of the output)."""
        if self._thread.is_alive():
            self._waiting.put(None)
            self._thread.join()
        self._raise_if_failed()

    def _hand_over(self, pieces: tuple) -> None:
        self._raise_if_failed()
        self._waiting.put(pieces)

    def _raise_if_failed(self) -> None:
        if isinstance(self._error, OSError):
            raise StreamFailed(self._error)
        if self._error is not None:
            raise self._error

    def _write_each(self) -> None:
        _yield_to_the_run()
        while (pieces := self._waiting.get()) is not None:
            if self._error is not None:
                continue  # (after a failure: taken and dropped, so that no one waits on a full queue)
            try:
                for piece in pieces:
                    self.raw.write(piece)
            except Exception as exc:  # (an OSError is the output's; any other is raised again on the run's thread)
                self._error = exc


def _yield_to_the_run() -> None:
    """Give the calling thread WRITER_NICENESS more than it has. Linux only, where each thread has a nice value of
    its own (setpriority with a thread's id); elsewhere that id could name another process. A refusal leaves it as it
    was."""
    if not sys.platform.startswith("linux"):
        return
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(os.getpriority(os.PRIO_PROCESS, thread) + WRITER_NICENESS, 19))
    except OSError:
        pass


class JsonStream(SegmentStream):
    """The findings array of the JSON output: each segment (its findings' JSON texts joined by
    findingstore.SEPARATOR) after a line break, with a comma after the one before."""

    form = "json"

    def _separated(self, segment) -> tuple:
        return b",\n" if self.segments else b"\n", segment


class CsvStream(SegmentStream):
    """The lines of the findings CSV: each segment (its findings' lines, each ending in CR LF) as it is."""

    form = "csv"

    def _separated(self, segment) -> tuple:
        return (segment,)
