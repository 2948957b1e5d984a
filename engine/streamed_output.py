"""check's JSON or CSV output file: its findings written while the run goes on, the file put in place once complete."""

from __future__ import annotations

import io
from pathlib import Path

from engine.atomic_file import AtomicFile
from engine.findingstream import CsvStream, JsonStream
from engine.report_writers import CSV_OPENING, JSON_OPENING, finish_csv, finish_json

FORMS = ("json", "csv")


class StreamedOutput:
    """The output of a run in `form` ("json": report_writers.write_json's text; "csv": write_csv's) to `path`:
    `stream` takes the findings as the run finds them (runner.check's stream), `finish` writes the rest and puts the
    file in place, `discard` drops it. Opening raises OSError; a write that fails raises findingstream.StreamFailed."""

    def __init__(self, path: Path, form: str):
        self.form = form
        self.file = AtomicFile(path)
        try:
            if form == "json":
                self.stream = JsonStream(self.file.raw, JSON_OPENING.encode())
            else:
                self.stream = CsvStream(self.file.raw, CSV_OPENING.encode())
        except BaseException:
            self.file.discard()
            raise

    def finish(self, report) -> None:
        if self.form == "csv":
            finish_csv(report, self.stream)
        else:
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
