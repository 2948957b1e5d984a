"""Safe file names for written outputs, and the check that a written path stays inside its directory."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

# Anything that is not an ASCII letter or digit, '-', '_', or a CJK letter (ideographs, kana, hangul).
_UNSAFE = re.compile(
    r"[^0-9A-Za-z_\-"
    r"\u3040-\u30ff"          # hiragana, katakana
    r"\u3400-\u4dbf"          # CJK extension A
    r"\u4e00-\u9fff"          # CJK unified ideographs
    r"\uac00-\ud7af"          # hangul syllables
    r"\uf900-\ufaff"          # CJK compatibility ideographs
    r"\U00020000-\U0003134f"  # CJK extensions B-G
    r"]+"
)
_REPEATS = re.compile(r"[_-]*_[_-]*")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_filename(name: str, max_len: int = 60) -> str:
    """A file-name stem made of CJK letters, ASCII letters, digits, '-' and '_' only; never empty.

    Every other character (path separators, dots, spaces, control and shell characters) becomes '_',
    runs of '_' collapse to one, leading and trailing '_' / '-' are dropped, and the result is cut to max_len.
    """
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    text = unicodedata.normalize("NFKC", str(name or ""))
    text = _UNSAFE.sub("_", text)
    text = _REPEATS.sub("_", text)
    text = text.strip("_-")[:max_len].strip("_-")
    if not text:
        return "unnamed"
    if text.upper() in _WINDOWS_RESERVED:
        text = text + "_" if len(text) < max_len else text[:-1] + "_"
    return text


def ensure_inside(base: Path, path: Path) -> Path:
    """The resolved `path`; raises ValueError when it (after following symlinks) is not inside `base`."""
    base_resolved = Path(base).resolve()
    resolved = Path(path).resolve()
    if resolved != base_resolved and not resolved.is_relative_to(base_resolved):
        raise ValueError(f"refusing to write {path}: it resolves to {resolved}, outside {base_resolved}")
    return resolved
