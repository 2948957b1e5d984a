"""A progress bar on stderr for runs longer than a few seconds (tqdm); silent when stderr is not a terminal."""

from __future__ import annotations

import sys


class Progress:
    """Rows read and checked so far; shows itself only after `delay` seconds and only on a terminal."""

    def __init__(self, enabled: bool | None = None, stream=None, delay: float = 3.0):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.delay, self.bar = delay, None

    def __enter__(self):
        if self.enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=None, unit="行", desc="读取并检查", file=self.stream, delay=self.delay,
                            dynamic_ncols=True, leave=False)
        return self

    def update(self, rows: int) -> None:
        if self.bar is not None and rows:
            self.bar.update(rows)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False
