"""An output file written under a temporary name beside it, put in place of the named file only once complete."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from engine.sliced_writes import open_binary


def can_replace(path: Path) -> bool:
    """Whether `path` (through its links) is a regular file this process may write, or nothing yet: a device
    (/dev/null), a pipe or a folder is written to as it is, never replaced, and a file its owner made read-only is
    not replaced behind their back (writing it is refused as it was)."""
    try:
        target = path.resolve()
        mode = target.stat().st_mode
    except FileNotFoundError:
        return True
    except (OSError, RuntimeError):
        return False
    return stat.S_ISREG(mode) and os.access(target, os.W_OK)


class AtomicFile:
    """A binary file whose bytes go to a temporary file in the named file's folder (`raw`); `commit` gives it the
    named file's permissions (or those a new file gets) and moves it in place, `discard` removes it. A link named
    keeps pointing where it did: the file it points to is replaced. Until `commit`, the named file is as it was, so
    a run that fails or is interrupted leaves no half-written output."""

    def __init__(self, path: Path):
        self.target = Path(path).resolve()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        umask = os.umask(0)
        os.umask(umask)
        try:
            before = self.target.stat()
        except FileNotFoundError:
            before = None
        self._mode = stat.S_IMODE(before.st_mode) if before else 0o666 & ~umask
        self._owner = (before.st_uid, before.st_gid) if before else None
        handle, self._temporary = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.",
                                                   suffix=".part")
        self.raw = open_binary(handle)

    def commit(self) -> None:
        self.raw.close()
        os.chmod(self._temporary, self._mode)
        if self._owner is not None and hasattr(os, "chown"):
            try:
                os.chown(self._temporary, *self._owner)
            except OSError:  # (another user's file, replaced by one who may not give it away: the file is theirs)
                pass
        # ext4 writes out at once a file renamed over another (0.1 s for 186 MB): the other is removed first (a
        # rename within the folder the temporary file was made in does not fail once that is done)
        try:
            os.unlink(self.target)
        except OSError:  # (not there, or not to be removed: replaced in one step)
            pass
        os.replace(self._temporary, self.target)
        self._temporary = None

    def discard(self) -> None:
        """Remove the temporary file (nothing once committed)."""
        if self._temporary is None:
            return
        try:
            self.raw.close()
        except OSError:
            pass
        try:
            os.unlink(self._temporary)
        except OSError:
            pass
        self._temporary = None
