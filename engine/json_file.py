"""check's JSON output file: its findings written while the run goes on, the file put in place once complete."""

from __future__ import annotations

import io
from pathlib import Path

from engine.atomic_file import AtomicFile
from engine.findingstream import JsonStream
from engine.report_writers import JSON_OPENING, finish_json


class StreamedJsonFile:
    """The JSON output (report_writers.write_json's text) of a run to `path`: `stream` takes the findings as the run
    finds them (runner.check's stream), `finish` writes the rest and puts the file in place, `discard` drops it.
    Opening raises OSError; a write that fails raises findingstream.StreamFailed."""

    def __init__(self, path: Path):
        self.file = AtomicFile(path)
        try:
            self.stream = JsonStream(self.file.raw, JSON_OPENING.encode())
        except BaseException:
            self.file.discard()
            raise

    def finish(self, report) -> None:
        text = io.TextIOWrapper(self.file.raw, encoding="utf-8", newline="")
        try:
            finish_json(report, self.stream, text)
            text.flush()
        finally:
            text.detach()  # (the file is closed by commit or discard)
        self.file.commit()

    def discard(self) -> None:
        """Stop the writing and remove the unfinished file (nothing once finished)."""
        try:
            self.stream.close()
        except Exception:  # (the file is dropped: a failed write there no longer matters)
            pass
        self.file.discard()
