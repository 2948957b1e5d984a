"""The language of what ecocheck tells people: Chinese (zh) unless `--lang en` or ECOCHECK_LANG=en asks for English."""

from __future__ import annotations

import os

LANGUAGES = ("zh", "en")
ENVIRONMENT = "ECOCHECK_LANG"  # zh, en (en_US.UTF-8 and the like read as en); anything else is Chinese

_chosen: str | None = None  # set by `--lang`; None: the environment decides


def set_language(language: str | None) -> None:
    """Choose the language of this process; None goes back to ECOCHECK_LANG (default Chinese)."""
    global _chosen
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    _chosen = language


def current() -> str:
    """'zh' or 'en'."""
    if _chosen is not None:
        return _chosen
    return "en" if os.environ.get(ENVIRONMENT, "").strip().lower().startswith("en") else "zh"


def tr(zh: str, en: str) -> str:
    """The text in the current language: write both at the message, `tr(f"“{value}”不是数字", f"'{value}' is not a
    number")`, so that a reader of the code sees both."""
    return en if current() == "en" else zh
