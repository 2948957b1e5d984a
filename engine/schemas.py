"""Record-kind schemas (inputs/schemas/*.yaml): fields, Chinese header aliases, types, units, required."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import SchemaError
from engine.lang import tr
from engine.yamlio import load_yaml

TYPES = ("string", "number", "integer", "bool", "date", "enum", "region")
SPECIAL_RECIPIENTS = ("region_government",)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record kind."""

    name: str
    type: str
    label: str
    aliases: tuple = ()
    unit: str = ""
    required: bool = False
    values: dict = field(default_factory=dict)  # enum: canonical value -> spellings
    min: float | None = None
    max: float | None = None
    fractions: bool = False  # a % field whose real values are never ≤ 1: a column of values ≤ 1 holds fractions
    past: bool = False  # a date of something that has happened (tested, sampled): never after today


@dataclass(frozen=True)
class Schema:
    """A record kind: its fields and which of them identify, name, locate and address a record."""

    kind: str
    title: dict
    id_field: str
    name_field: str
    region_field: str
    recipient_field: str
    fields: dict
    path: str = ""
    id_extra: tuple = ()  # fields appended to the id for display (e.g. the year of a prefecture record)


@functools.lru_cache(maxsize=1 << 16)
def normalise_header(text: str) -> str:
    """Header text for matching: NFKC (full-width to half-width), no spaces or line breaks, lower case."""
    return _normalised(str(text))


@functools.lru_cache(maxsize=1 << 16)  # (header detection asks for the same few hundred texts many times)
def _normalised(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).lower()


_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=1 << 14)
def split_unit(header: str) -> tuple[str, str]:
    """'热效率（%）' -> ('热效率', '%'): the header without a trailing bracketed unit, and the unit."""
    text = unicodedata.normalize("NFKC", str(header)).strip()
    match = re.match(r"^(.*?)[\(\[]([^\(\)\[\]]*)[\)\]]\s*$", text, flags=re.S)
    if match and match.group(1).strip():
        return match.group(1), match.group(2).strip()
    return text, ""


def _load_field(name: str, raw: dict, path: str) -> FieldSpec:
    if not isinstance(raw, dict):
        raise SchemaError(tr("字段应是映射（键: 值）", "a field must be a mapping"), file=path, field=name)
    allowed = ("type", "label", "aliases", "unit", "required", "values", "min", "max", "fractions", "past")
    unknown = set(raw) - set(allowed)
    if unknown:
        raise SchemaError(tr(f"未知的键 {sorted(unknown)}", f"unknown key(s) {sorted(unknown)}"), file=path, field=name,
                          fix=tr("可用的键：", "allowed: ") + ", ".join(allowed))
    ftype = raw.get("type")
    if raw.get("past") and ftype != "date":
        raise SchemaError(tr("'past' 只用于日期字段", "'past' is for date fields"), file=path, field=name)
    if ftype not in TYPES:
        raise SchemaError(tr(f"未知的类型“{ftype}”", f"unknown type '{ftype}'"), file=path, field=name,
                          fix=tr("可用的类型：", "use one of ") + ", ".join(TYPES))
    values = raw.get("values") or {}
    if ftype == "enum" and not values:
        raise SchemaError(tr("enum 字段需要 'values'", "an enum field needs 'values'"), file=path, field=name)
    return FieldSpec(
        name=name, type=ftype, label=str(raw.get("label", name)),
        aliases=tuple(str(a) for a in raw.get("aliases", [])), unit=str(raw.get("unit", "")),
        required=bool(raw.get("required", False)),
        values={str(k): tuple(str(s) for s in v) for k, v in values.items()},
        min=raw.get("min"), max=raw.get("max"), fractions=bool(raw.get("fractions", False)),
        past=bool(raw.get("past", False)),
    )


def load_schema(path: Path) -> Schema:
    raw = load_yaml(path, SchemaError)
    if not isinstance(raw, dict):
        raise SchemaError(tr("记录格式文件应是映射（键: 值）", "a schema file must be a mapping"), file=str(path))
    for key in ("kind", "id_field", "name_field", "region_field", "recipient_field", "fields"):
        if key not in raw:
            raise SchemaError(tr(f"缺少 '{key}'", f"missing '{key}'"), file=str(path))
    if raw["kind"] != path.stem:
        raise SchemaError(tr(f"kind '{raw['kind']}' 与文件名不符", f"kind '{raw['kind']}' does not match the file name"),
                          file=str(path), fix=tr(f"把文件改名为 {raw['kind']}.yaml，或把 kind 改为 {path.stem}",
                                                 f"rename the file to {raw['kind']}.yaml or the kind to {path.stem}"))
    fields = {name: _load_field(name, spec, str(path)) for name, spec in raw["fields"].items()}
    for key in ("id_field", "name_field", "region_field"):
        if raw[key] not in fields:
            raise SchemaError(tr(f"{key} '{raw[key]}' 不是字段", f"{key} '{raw[key]}' is not a field"), file=str(path))
    if raw["recipient_field"] not in fields and raw["recipient_field"] not in SPECIAL_RECIPIENTS:
        raise SchemaError(tr(f"recipient_field '{raw['recipient_field']}' 不是字段",
                             f"recipient_field '{raw['recipient_field']}' is not a field"), file=str(path))
    id_extra = tuple(raw.get("id_extra") or ())
    for name in id_extra:
        if name not in fields:
            raise SchemaError(tr(f"id_extra '{name}' 不是字段", f"id_extra '{name}' is not a field"), file=str(path))
    return Schema(kind=raw["kind"], title=dict(raw.get("title", {})), id_field=raw["id_field"], id_extra=id_extra,
                  name_field=raw["name_field"], region_field=raw["region_field"],
                  recipient_field=raw["recipient_field"], fields=fields, path=str(path))


def load_schemas(directory: Path) -> dict[str, Schema]:
    """Every schema in a directory, by kind."""
    if not directory.is_dir():
        raise SchemaError(tr("找不到记录格式目录", "schema directory not found"), file=str(directory))
    schemas = {}
    for path in sorted(directory.glob("*.yaml")):
        schema = load_schema(path)
        schemas[schema.kind] = schema
    if not schemas:
        raise SchemaError(tr("目录中没有记录格式文件（*.yaml）", "no schema files (*.yaml) found"), file=str(directory))
    return schemas


def no_such_kind(name, schemas: dict) -> tuple[str, str]:
    """The message and the fix for a record kind that is none of `schemas`: the closest kind, and all of them."""
    match = difflib.get_close_matches(str(name), list(schemas), n=1)
    hint = tr(f"（是否应为“{match[0]}”？）", f" (did you mean '{match[0]}'?)") if match else ""
    names = "、".join(f"{(s.title or {}).get('zh', k) if isinstance(s.title, dict) else k}（{k}）"
                     for k, s in schemas.items())
    return (tr(f"没有“{name}”这种记录类型{hint}", f"unknown record kind '{name}'{hint}"),
            tr("可用的记录类型：", "kinds: ") + names)


def kind_named(schemas: dict, name: str) -> str:
    """A record kind from its key or its Chinese name (锅炉, 建设项目 …); UsageError naming the kinds otherwise."""
    from engine.errors import UsageError
    if name in schemas:
        return name
    wanted = normalise_header(name)
    for kind, schema in schemas.items():
        titles = schema.title.values() if isinstance(schema.title, dict) else [schema.title]
        if any(normalise_header(str(t)) == wanted for t in titles):
            return kind
    message, fix = no_such_kind(name, schemas)
    raise UsageError(message, fix=fix)
