"""Letter settings (templates/letters.yaml) and issuing bodies (templates/authorities.yaml): load, merge, look up.

What a setting may hold is declared in engine/letter_schema.py; this module loads the files and checks them there.
"""

from __future__ import annotations

import copy
from dataclasses import fields
from pathlib import Path
from typing import Any

from engine import resources
from engine.errors import ConfigError
from engine.lang import tr
from engine.letter_schema import LETTER_TYPES, VARIANT_KEYS, Authority, LetterConfig, authority_keys, check, missing
from engine.yamlio import load_yaml

TEMPLATES_DIR = resources.templates_dir()
DEFAULT_CONFIG = TEMPLATES_DIR / "letters.yaml"
DEFAULT_AUTHORITIES = TEMPLATES_DIR / "authorities.yaml"
NESTED = VARIANT_KEYS


def validate(data: Any, source: str, complete: bool, authorities: dict | None = None) -> None:
    """Raise ConfigError naming the file and key for unknown keys, wrong types, unknown authorities or gaps."""
    if not isinstance(data, dict):
        raise ConfigError(tr(f"通知书设置应是映射（键: 值），不是 {type(data).__name__}",
                             f"the letter configuration must be a mapping, got {type(data).__name__}"), file=source)
    check(LetterConfig, data, source)
    if not complete:
        return
    for letter, lacking in missing(LetterConfig, data).items():
        raise ConfigError(tr(f"通知书类型“{letter}”缺少 ", f"letter type '{letter}' lacks ") + ", ".join(lacking),
                          file=source, field=f"{letter}.{lacking[0]}")
    if authorities is None:
        return
    for letter in LETTER_TYPES:
        for where, settings in _all_settings(letter, data[letter]):
            values = [settings.get(key) for key in authority_keys()]
            for name in (n for v in values for n in ([v] if isinstance(v, str) else v or []) if n):
                if name not in authorities:
                    raise ConfigError(tr(f"“{name}”不在 templates/authorities.yaml 中",
                                         f"'{name}' is not in templates/authorities.yaml"), file=source, field=where,
                                      fix=tr("按文件的写法写机关名称，如 省发展改革委",
                                             "name the authority as the documents do, e.g. 省发展改革委"))


def _all_settings(letter: str, settings: dict):
    yield letter, settings
    for nested in NESTED:
        for name, sub in (settings.get(nested) or {}).items():
            yield f"{letter}.{nested}.{name}", sub


def merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_authorities(path: Path | None = None) -> dict:
    """{name as the documents write it: {name, self, prefix, office}}, validated."""
    path = Path(path or DEFAULT_AUTHORITIES)
    data = load_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(tr("机关设置文件应是“机关: 设置”的映射",
                             "the authorities file must be a mapping of authority to its settings"), file=str(path))
    needed = [f.name for f in fields(Authority)]
    for key, entry in data.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry.get(k) for k in needed):
            raise ConfigError(tr(f"“{key}”需要 {'、'.join(needed[:-1])} 和 {needed[-1]}（文字）",
                                 f"'{key}' needs {', '.join(needed[:-1])} and {needed[-1]} (texts)"),
                              file=str(path), field=str(key))
        check(Authority, entry, str(path), str(key))
    return data


def load_letter_config(path: Path | None = None, *, default_path: Path = DEFAULT_CONFIG,
                       authorities: dict | None = None) -> dict:
    """The default letter settings, deep-merged with the user's YAML file at `path` when given."""
    authorities = authorities if authorities is not None else load_authorities()
    config = load_yaml(default_path, ConfigError)
    validate(config, str(default_path), complete=True, authorities=authorities)
    if path is not None:
        user = load_yaml(Path(path), ConfigError) or {}
        validate(user, str(path), complete=False)
        config = merge(config, user)
        validate(config, str(path), complete=True, authorities=authorities)
    return config


def settings_for(config: dict, letter_type: str, variant: str = "") -> dict:
    """A letter type's settings with the overrides for a record kind or measure applied."""
    base = {k: v for k, v in config[letter_type].items() if k not in NESTED}
    for nested in NESTED:
        override = (config[letter_type].get(nested) or {}).get(variant)
        if override:
            base = merge(base, override)
    return base
