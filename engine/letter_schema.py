"""The declared schema of the letter settings (templates/letters.yaml) and issuing bodies (authorities.yaml), and the
one generic check of a YAML mapping against it: every error names the file, the key path and the fix, in Chinese."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from engine.errors import ConfigError
from engine.lang import tr

PLACEHOLDERS = ("region", "year", "recipient", "documents", "deadline", "self", "you", "period")

# kinds of value: (Chinese name, English name)
TEXT, DAYS, TEXTS, VARIANTS, LETTER = "text", "days", "texts", "variants", "letter"
KIND_WORDS = {TEXT: ("文字", "a text"), DAYS: ("0 到 3650 的整数", "a whole number from 0 to 3650"),
              TEXTS: ("文字的列表", "a list of texts")}


def _setting(kind: str, **extra) -> Any:
    return field(default=None, metadata={"kind": kind, **extra})


@dataclass(frozen=True)
class LetterSettings:
    """One letter type's settings, or a by_kind / by_measure variant's (which may set any key but by_kind/by_measure).
    Texts may hold the placeholders of PLACEHOLDERS."""

    label: str = _setting(TEXT)
    title: str = _setting(TEXT)
    addressee: str = _setting(TEXT)
    issuing_authority: str = _setting(TEXT, authority=True)
    co_issuing_authorities: list = _setting(TEXTS, authority=True)
    deadline_days: int = _setting(DAYS)
    basis: str = _setting(TEXT)
    activity: str = _setting(TEXT)
    requirements: list = _setting(TEXTS)
    noncompliance: str = _setting(TEXT)
    appeal: str = _setting(TEXT)
    copy_to: list = _setting(TEXTS)
    closing: str = _setting(TEXT)
    time: str = _setting(TEXT)
    place: str = _setting(TEXT)
    attendees: list = _setting(TEXTS)
    decision_reference: str = _setting(TEXT)
    measure_duration: str = _setting(TEXT)
    by_kind: dict = _setting(VARIANTS)  # record kind -> LetterSettings
    by_measure: dict = _setting(VARIANTS)  # measure -> LetterSettings


def _letter(*required: str, from_rules: bool = False) -> Any:
    """A letter type: the keys it requires; from_rules: a rule's `finding.letter` may name it (the other types follow
    from consequences and derived measures)."""
    return _setting(LETTER, required=required, from_rules=from_rules)


@dataclass(frozen=True)
class LetterConfig:
    """templates/letters.yaml: the seal text and one LetterSettings per letter type, with the keys each requires."""

    seal_text: str = _setting(TEXT)
    facility_rectification: LetterSettings = _letter("label", "title", "issuing_authority", "deadline_days", "basis",
                                                     "activity", "requirements", "noncompliance", "appeal", "copy_to",
                                                     from_rules=True)
    prefecture_assessment: LetterSettings = _letter("label", "title", "addressee", "issuing_authority", "closing",
                                                    "copy_to", from_rules=True)
    interview_notice: LetterSettings = _letter("label", "title", "issuing_authority", "time", "place", "attendees",
                                               "requirements", "copy_to")
    restriction_notice: LetterSettings = _letter("label", "by_measure", "deadline_days", "copy_to")
    project_suspension: LetterSettings = _letter("label", "title", "issuing_authority", "measure_duration",
                                                 "deadline_days", "copy_to", from_rules=True)
    early_warning: LetterSettings = _letter("label", "title", "addressee", "issuing_authority", "requirements",
                                            "copy_to")
    overdue_notice: LetterSettings = _letter("label", "title", "deadline_days", "requirements", "copy_to")  # run store


# Letter types whose deadline is a deadline to rectify: a run after it that finds their violations again writes the
# 逾期未整改通知书 (overdue_notice, engine/overdue_letter.py). The other types' deadlines are for a report (执行情况,
# 有关情况) and the documents attach nothing to missing one: their passed deadlines are listed, with no document.
FOLLOWED_BY_OVERDUE_NOTICE = ("facility_rectification", "overdue_notice")


@dataclass(frozen=True)
class Authority:
    """An issuing body of templates/authorities.yaml, keyed by its name as the documents write it."""

    name: str = _setting(TEXT, required=True)  # full name
    self: str = _setting(TEXT, required=True)  # how a letter calls it (本委 …)
    prefix: str = _setting(TEXT, required=True)  # 发文字号 prefix
    office: str = _setting(TEXT, required=True)  # 印发机关


LETTER_TYPES = tuple(f.name for f in fields(LetterConfig) if f.metadata["kind"] == LETTER)
RULE_LETTERS = tuple(f.name for f in fields(LetterConfig) if f.metadata.get("from_rules"))  # a rule's finding.letter
SETTING_KEYS = tuple(f.name for f in fields(LetterSettings))
VARIANT_KEYS = tuple(f.name for f in fields(LetterSettings) if f.metadata["kind"] == VARIANTS)


def _fail(source: str, key: str, message: str, fix: str = "") -> ConfigError:
    return ConfigError(message, file=source, field=key or None, fix=fix or None)


def _value(source: str, key: str, kind: str, value: Any) -> None:
    zh, en = KIND_WORDS[kind]
    if kind == TEXT and not isinstance(value, str):
        raise _fail(source, key, tr(f"“{key}”应是{zh}，不是 {type(value).__name__}",
                                    f"'{key}' must be {en}, got {type(value).__name__}"),
                    tr(f"把 {key} 写成{zh}", f"write {key} as {en}"))
    if kind == DAYS and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650):
        raise _fail(source, key, tr(f"“{key}”应是{zh}，不是 {value!r}", f"'{key}' must be {en}, got {value!r}"),
                    tr(f"写天数，如 {key}: 30", f"write a number of days, e.g. {key}: 30"))
    if kind == TEXTS and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
        raise _fail(source, key, tr(f"“{key}”应是{zh}", f"'{key}' must be {en}"),
                    tr(f"把 {key} 写成列表，如 [甘肃省统计局]", f"write {key} as a list, e.g. [甘肃省统计局]"))
    for text in ([value] if isinstance(value, str) else value if isinstance(value, list) else []):
        for found in re.findall(r"\{([^{}]*)\}", text):
            if found not in PLACEHOLDERS:
                raise _fail(source, key, tr(f"“{key}”用了未知的占位符 {{{found}}}",
                                            f"'{key}' uses unknown placeholder {{{found}}}"),
                            tr("可用的占位符：", "placeholders: ") + ", ".join("{%s}" % p for p in PLACEHOLDERS))


def check(schema: type, data: Any, source: str, prefix: str = "", variant: bool = False) -> None:
    """Raise ConfigError at the first key of `data` that `schema` (a dataclass above) does not allow."""
    if not isinstance(data, dict):
        what = tr(f"“{prefix}”应是映射（键: 值）", f"'{prefix}' must be a mapping") if prefix else tr(
            f"设置应是映射（键: 值），不是 {type(data).__name__}", f"the settings must be a mapping, got {type(data).__name__}")
        raise _fail(source, prefix, what, tr("每个设置写一行“键: 值”", "write one 'key: value' line per setting"))
    declared = {f.name: f for f in fields(schema) if not (variant and f.metadata["kind"] == VARIANTS)}
    for key, value in data.items():
        where = f"{prefix}.{key}" if prefix else str(key)
        spec = declared.get(key)
        if spec is None:
            if schema is LetterConfig:
                raise _fail(source, where, tr(f"未知的通知书类型“{key}”", f"unknown letter type '{key}'"),
                            tr("通知书类型：" + ", ".join(LETTER_TYPES) + "；其他键：seal_text",
                               "letter types: " + ", ".join(LETTER_TYPES) + "; other keys: seal_text"))
            raise _fail(source, where, tr(f"未知的键“{where}”", f"unknown key '{where}'"),
                        tr("可用的键：", "known keys: ") + ", ".join(declared))
        kind = spec.metadata["kind"]
        if kind == LETTER:
            check(LetterSettings, value, source, where)
        elif kind == VARIANTS:
            if not isinstance(value, dict):
                raise _fail(source, where, tr(f"“{where}”应是映射（键: 值）", f"'{where}' must be a mapping"),
                            tr(f"在 {key} 下按名称分组写设置，如 boiler: {{deadline_days: 20}}",
                               f"group settings by name under {key}, e.g. boiler: {{deadline_days: 20}}"))
            for name, sub in value.items():
                check(LetterSettings, sub, source, f"{where}.{name}", variant=True)
        else:
            _value(source, where, kind, value)


def missing(schema: type, data: dict) -> dict:
    """{key: [required keys it lacks]} for the fields of `schema` that declare what they require."""
    gaps = {}
    for spec in fields(schema):
        required = spec.metadata.get("required")
        if isinstance(required, tuple):
            lacking = [k for k in required if k not in (data.get(spec.name) or {})]
            if lacking:
                gaps[spec.name] = lacking
    return gaps


def authority_keys(schema: type = LetterSettings) -> tuple:
    """The settings that name an issuing body (checked against authorities.yaml)."""
    return tuple(f.name for f in fields(schema) if f.metadata.get("authority"))
