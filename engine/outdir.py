"""Output folders: new or empty, or (with --overwrite) cleared of the files ecocheck wrote there, and their manifest."""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import UsageError, os_problem
from engine.lang import tr
from engine.paths import ensure_inside

MANIFEST = "ecocheck-manifest.json"


def prepare(out: Path, overwrite: bool) -> Path:
    """The folder, ready to write into: it must be new or empty, or hold only what an earlier run wrote (--overwrite)."""
    out = Path(out)
    try:
        return _prepare(out, overwrite)
    except OSError as exc:
        raise UsageError(tr(f"无法使用文件夹 {out}（{os_problem(exc)}）", f"cannot use the folder {out} ({os_problem(exc)})"),
                         fix=tr("--out 请给出一个可以写入的文件夹", "name a folder you can write to for --out")) from None


def _prepare(out: Path, overwrite: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise UsageError(tr(f"{out} 是文件，不是文件夹", f"{out} is a file, not a folder"),
                         fix=tr("--out 请给出新的或空的文件夹", "name a new or empty folder for --out"))
    if out.is_dir():
        link = next((p for p in out.rglob("*") if p.is_symlink()), None)
        if link is not None:  # a file written there would go wherever the link points
            raise UsageError(tr(f"文件夹 {out} 中有符号链接（{link.relative_to(out)}）；ecocheck 不经链接写文件",
                                f"the folder {out} holds a symbolic link ({link.relative_to(out)}); ecocheck does not "
                                f"write through links"),
                             fix=tr("删去该链接，或为 --out 给出新的或空的文件夹",
                                    "remove the link, or name a new or empty folder for --out"))
    if not out.exists() or not any(out.iterdir()):
        out.mkdir(parents=True, exist_ok=True)
        return out
    if not overwrite:
        raise UsageError(tr(f"文件夹 {out} 不是空的", f"the folder {out} is not empty"),
                         fix=tr("给出新的或空的文件夹，或加 --overwrite（只删除 ecocheck 以前在那里写出的文件）",
                                "name a new or empty folder, or add --overwrite (it removes only the files ecocheck "
                                "wrote there)"))
    manifest = out / MANIFEST
    if not manifest.is_file():
        raise UsageError(tr(f"文件夹 {out} 中有不是 ecocheck 写出的文件（其中没有 {MANIFEST}）",
                            f"the folder {out} holds files ecocheck did not write (it has no {MANIFEST})"),
                         fix=tr("给出新的或空的文件夹", "name a new or empty folder"))
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError):
        raise UsageError(tr(f"{manifest} 不是 ecocheck 写出的清单", f"{manifest} is not a manifest ecocheck wrote"),
                         fix=tr("给出新的或空的文件夹", "name a new or empty folder")) from None
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
