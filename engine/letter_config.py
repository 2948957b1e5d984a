"""Letter settings (templates/letters.yaml) and issuing bodies (templates/authorities.yaml): load, merge, validate."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.lang import tr
from engine.yamlio import load_yaml

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_CONFIG = TEMPLATES_DIR / "letters.yaml"
DEFAULT_AUTHORITIES = TEMPLATES_DIR / "authorities.yaml"
LETTER_TYPES = ("facility_rectification", "prefecture_assessment", "interview_notice", "restriction_notice",
                "project_suspension", "early_warning", "overdue_notice")
PLACEHOLDERS = ("region", "year", "recipient", "documents", "deadline", "self", "you", "period")

_STR, _INT, _LIST = "a text", "a whole number", "a list of texts"
KIND_ZH = {_STR: "文字", _INT: "整数", _LIST: "文字的列表"}
SETTING_TYPES = {
    "label": _STR, "title": _STR, "addressee": _STR, "issuing_authority": _STR, "co_issuing_authorities": _LIST,
    "deadline_days": _INT, "basis": _STR, "activity": _STR, "requirements": _LIST, "noncompliance": _STR,
    "appeal": _STR, "copy_to": _LIST, "closing": _STR, "time": _STR, "place": _STR, "attendees": _LIST,
    "decision_reference": _STR, "measure_duration": _STR,
}
NESTED = ("by_kind", "by_measure")
TOP_KEYS = {"seal_text": _STR}
REQUIRED = {
    "facility_rectification": ("label", "title", "issuing_authority", "deadline_days", "basis", "activity",
                               "requirements", "noncompliance", "appeal", "copy_to"),
    "prefecture_assessment": ("label", "title", "addressee", "issuing_authority", "closing", "copy_to"),
    "interview_notice": ("label", "title", "issuing_authority", "time", "place", "attendees", "requirements",
                         "copy_to"),
    "restriction_notice": ("label", "by_measure", "deadline_days", "copy_to"),
    "project_suspension": ("label", "title", "issuing_authority", "measure_duration", "deadline_days", "copy_to"),
    "early_warning": ("label", "title", "addressee", "issuing_authority", "requirements", "copy_to"),
    "overdue_notice": ("label", "title", "deadline_days", "requirements", "copy_to"),
}


def _fail(source: str, key: str, message: str, fix: str = "") -> ConfigError:
    return ConfigError(message, file=source, field=key, fix=fix or None)


def _check_value(source: str, key: str, value: Any) -> None:
    name = key.rsplit(".", 1)[-1]
    kind = SETTING_TYPES[name]
    kind_zh = KIND_ZH[kind]
    if kind == _STR and not isinstance(value, str):
        raise _fail(source, key, tr(f"“{key}”应是{kind_zh}，不是 {type(value).__name__}",
                                    f"'{key}' must be {kind}, got {type(value).__name__}"),
                    tr(f"把 {key} 写成{kind_zh}", f"write {key} as {kind}"))
    if kind == _INT and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650):
        raise _fail(source, key, tr(f"“{key}”应是 0 到 3650 的{kind_zh}，不是 {value!r}",
                                    f"'{key}' must be {kind} from 0 to 3650, got {value!r}"))
    if kind == _LIST and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        raise _fail(source, key, tr(f"“{key}”应是{kind_zh}", f"'{key}' must be {kind}"),
                    tr(f"把 {key} 写成列表，如 [甘肃省统计局]", f"write {key} as a list, e.g. [甘肃省统计局]"))
    for text in ([value] if isinstance(value, str) else value if isinstance(value, list) else []):
        for found in re.findall(r"\{([^{}]*)\}", text):
            if found not in PLACEHOLDERS:
                raise _fail(source, key, tr(f"“{key}”用了未知的占位符 {{{found}}}",
                                            f"'{key}' uses unknown placeholder {{{found}}}"),
                            tr("可用的占位符：", "placeholders: ") + ", ".join("{%s}" % p for p in PLACEHOLDERS))


def _check_settings(source: str, prefix: str, settings: Any, nested: bool) -> None:
    if not isinstance(settings, dict):
        raise _fail(source, prefix, tr(f"“{prefix}”应是设置项的映射（键: 值）", f"'{prefix}' must be a mapping of settings"))
    for key, value in settings.items():
        where = f"{prefix}.{key}"
        if nested and key in NESTED:
            if not isinstance(value, dict):
                raise _fail(source, where, tr(f"“{where}”应是映射（键: 值）", f"'{where}' must be a mapping"))
            for name, sub in value.items():
                _check_settings(source, f"{where}.{name}", sub, nested=False)
        elif key in SETTING_TYPES:
            _check_value(source, where, value)
        else:
            raise _fail(source, where, tr(f"未知的键“{where}”", f"unknown key '{where}'"),
                        tr("可用的键：", "known keys: ") + ", ".join([*SETTING_TYPES, *NESTED]))


def validate(data: Any, source: str, complete: bool, authorities: dict | None = None) -> None:
    """Raise ConfigError naming the file and key for unknown keys, wrong types, unknown authorities or gaps."""
    if not isinstance(data, dict):
        raise _fail(source, "", tr(f"通知书设置应是映射（键: 值），不是 {type(data).__name__}",
                                   f"the letter configuration must be a mapping, got {type(data).__name__}"))
    for key, value in data.items():
        if key in TOP_KEYS:
            if not isinstance(value, str):
                raise _fail(source, key, tr(f"“{key}”应是文字", f"'{key}' must be a text"))
        elif key in LETTER_TYPES:
            _check_settings(source, key, value, nested=True)
        else:
            raise _fail(source, str(key), tr(f"未知的通知书类型“{key}”", f"unknown letter type '{key}'"),
                        tr("通知书类型：" + ", ".join(LETTER_TYPES) + "；其他键：" + ", ".join(TOP_KEYS),
                           "letter types: " + ", ".join(LETTER_TYPES) + "; other keys: " + ", ".join(TOP_KEYS)))
    if not complete:
        return
    for letter, keys in REQUIRED.items():
        missing = [k for k in keys if k not in data.get(letter, {})]
        if missing:
            raise _fail(source, f"{letter}.{missing[0]}", tr(f"通知书类型“{letter}”缺少 ", f"letter type '{letter}' lacks ")
                        + ", ".join(missing))
    if authorities is not None:
        for letter in LETTER_TYPES:
            for where, settings in _all_settings(letter, data[letter]):
                names = [settings.get("issuing_authority")] + list(settings.get("co_issuing_authorities") or [])
                for name in filter(None, names):
                    if name not in authorities:
                        raise _fail(source, where, tr(f"“{name}”不在 templates/authorities.yaml 中",
                                                      f"'{name}' is not in templates/authorities.yaml"),
                                    tr("按文件的写法写机关名称，如 省发展改革委",
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
        raise _fail(str(path), "", tr("机关设置文件应是“机关: 设置”的映射",
                                      "the authorities file must be a mapping of authority to its settings"))
    for key, entry in data.items():
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry.get(k)
                                                  for k in ("name", "self", "prefix", "office")):
            raise _fail(str(path), str(key), tr(f"“{key}”需要 name、self、prefix 和 office（文字）",
                                                f"'{key}' needs name, self, prefix and office (texts)"))
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
