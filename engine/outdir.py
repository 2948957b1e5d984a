"""Output folders: new or empty, or (with --overwrite) cleared of the files ecocheck wrote there, and their manifest."""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import UsageError
from engine.paths import ensure_inside

MANIFEST = "ecocheck-manifest.json"


def prepare(out: Path, overwrite: bool) -> Path:
    """The folder, ready to write into: it must be new or empty, or hold only what an earlier run wrote (--overwrite)."""
    out = Path(out)
    try:
        return _prepare(out, overwrite)
    except OSError as exc:
        raise UsageError(f"cannot use the folder {out} ({exc.strerror or exc})",
                         fix="name a folder you can write to for --out") from None


def _prepare(out: Path, overwrite: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a folder", fix="name a new or empty folder for --out")
    if out.is_dir():
        link = next((p for p in out.rglob("*") if p.is_symlink()), None)
        if link is not None:  # a file written there would go wherever the link points
            raise UsageError(f"the folder {out} holds a symbolic link ({link.relative_to(out)}); ecocheck does not "
                             f"write through links", fix="remove the link, or name a new or empty folder for --out")
    if not out.exists() or not any(out.iterdir()):
        out.mkdir(parents=True, exist_ok=True)
        return out
    if not overwrite:
        raise UsageError(f"the folder {out} is not empty",
                         fix="name a new or empty folder, or add --overwrite (it removes only the files ecocheck "
                             "wrote there)")
    manifest = out / MANIFEST
    if not manifest.is_file():
        raise UsageError(f"the folder {out} holds files ecocheck did not write (it has no {MANIFEST})",
                         fix="name a new or empty folder")
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{manifest} is not a manifest ecocheck wrote", fix="name a new or empty folder") from None
    for name in files:
        path = ensure_inside(out, out / str(name))
        if path.is_file():
            path.unlink()
    manifest.unlink()
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return out


def write_manifest(out: Path, written: list, details: dict) -> Path:
    """Record what a run wrote into `out` (relative paths), so that --overwrite can clear exactly those files."""
    out = Path(out).resolve()
    files = sorted({str(Path(p).resolve().relative_to(out)) for p in written})
    path = out / MANIFEST
    path.write_text(json.dumps({**details, "files": files}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
