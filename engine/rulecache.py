"""A cache of the loaded rule set: parsing and validating the ~200 YAML files costs most of a small run's start-up.

The validated RuleSet is pickled under the user's cache directory, keyed by everything it is made from: the rules
and schemas directories as given, every file under them (relative path, size, modification time and the SHA-256 of
its bytes), the source of the engine package (the classes the pickle is made of) and the Python version. A changed,
added or removed file, or another version of ecocheck, gives another key, so a stale entry is never read; an entry
that cannot be read whole (truncated, another format) is ignored and replaced. Nothing but the rule set is cached:
a rule set that fails validation raises as before, every run.

ECOCHECK_CACHE_DIR names another directory; ECOCHECK_CACHE=0 turns the cache off."""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

from engine import __version__

FORMAT = 1  # bump when what is pickled changes shape without a change of engine source
KEEP = 16  # entries kept (the oldest are removed): one per rules directory in use, a few versions each
ENGINE_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path | None:
    if os.environ.get("ECOCHECK_CACHE", "1").strip().lower() in ("0", "no", "off", "false"):
        return None
    given = os.environ.get("ECOCHECK_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ecocheck"


def _files_digest(digest, directory: Path) -> None:
    digest.update(b"dir\0" + str(directory).encode("utf-8", "surrogateescape") + b"\0")
    if not directory.is_dir():
        digest.update(b"missing\0")
        return
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            stat = path.stat()
            digest.update(str(path.relative_to(directory)).encode("utf-8", "surrogateescape") + b"\0"
                          + f"{stat.st_size}:{stat.st_mtime_ns}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())


def key_of(rules_dir: Path, schemas_dir: Path) -> str:
    """The key of a rule set: its inputs' paths, sizes, times and contents; the engine's source; Python's version."""
    digest = hashlib.sha256(f"ecocheck {__version__} format {FORMAT} python {sys.version}\0".encode())
    for path in sorted(ENGINE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    _files_digest(digest, Path(rules_dir))
    _files_digest(digest, Path(schemas_dir))
    return digest.hexdigest()


def cached(rules_dir: Path, schemas_dir: Path, load):
    """The rule set `load(rules_dir, schemas_dir)` gives, from the cache when an entry of the same key is there."""
    directory = cache_dir()
    if directory is None:
        return load(rules_dir, schemas_dir)
    try:
        key = key_of(rules_dir, schemas_dir)
    except OSError:  # a file went away or cannot be read: let the loader say so
        return load(rules_dir, schemas_dir)
    entry = directory / f"rules-{key[:32]}.pickle"
    try:
        with entry.open("rb") as handle:
            stored_key, ruleset = pickle.load(handle)
        if stored_key == key:
            return ruleset
    except Exception:  # no entry, or one that cannot be read: load and (re)write it
        pass
    ruleset = load(rules_dir, schemas_dir)
    _store(directory, entry, key, ruleset)
    return ruleset


def _store(directory: Path, entry: Path, key: str, ruleset) -> None:
    """Write the entry atomically (a reader sees the old entry or the whole new one); a cache that cannot be written
    is no error."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".rules-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump((key, ruleset), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, entry)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        entries = sorted(directory.glob("rules-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except Exception:
        pass
