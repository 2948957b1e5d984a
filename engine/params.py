"""Parameter tables (rules/parameters/*.csv with a .yaml beside each): keyed values, dated values, their sources."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from engine.conditions import rounded, to_number
from engine.errors import ParameterError
from engine.lang import tr
from engine.yamlio import load_yaml


@dataclass(frozen=True)
class Table:
    """One parameter table: rows by key, with the metadata that says where the numbers come from."""

    name: str
    key: str
    rows: dict  # key -> list of row dicts (several when the table is dated)
    columns: dict  # column -> {label, unit, ...}
    meta: dict
    dated_by: str | None = None
    digest: str = ""

    def row(self, key: str, as_of: dt.date | None = None) -> dict | None:
        candidates = self.rows.get(str(key))
        if not candidates:
            return None
        if not self.dated_by:
            return candidates[0]
        in_force = [r for r in candidates if r[self.dated_by] and r[self.dated_by] <= (as_of or dt.date.max)]
        return max(in_force, key=lambda r: r[self.dated_by]) if in_force else None

    def value(self, column: str, key: str, as_of: dt.date | None = None):
        row = self.row(key, as_of)
        if row is None:
            return None
        confirmation = self.meta.get("confirmation")  # a limit from an external standard counts once confirmed
        if isinstance(confirmation, dict) and column in confirmation.get("guards", ()) \
                and row.get(confirmation.get("flag")) is not True:
            return None
        return row.get(column)

    def unit(self, column: str) -> str:
        return str(self.columns.get(column, {}).get("unit", "") or "")


def _cell(text: str):
    text = (text or "").strip()
    if text == "":
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    number = to_number(text)
    return rounded(number) if number is not None else text


def load_table(csv_path: Path) -> Table:
    meta_path = csv_path.with_suffix(".yaml")
    if not meta_path.exists():
        raise ParameterError(tr("参数表旁边没有说明文件", "parameter table has no metadata file beside it"),
                             file=str(csv_path), fix=tr(f"添加 {meta_path.name}，写明 source、key 和 columns（单位）",
                                                        f"add {meta_path.name} with source, key and columns (units)"))
    meta = load_yaml(meta_path, ParameterError)
    if not isinstance(meta, dict) or "key" not in meta or "source" not in meta or "columns" not in meta:
        raise ParameterError(tr("说明文件需要 'key'、'source' 和 'columns'", "metadata needs 'key', 'source' and 'columns'"),
                             file=str(meta_path))
    raw = csv_path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParameterError(tr("不是 UTF-8 编码的文本", "not UTF-8 text"), file=str(csv_path),
                             fix=tr("把表格存为 UTF-8 编码", "save the table as UTF-8")) from None
    reader = csv.DictReader(text.splitlines())
    key = meta["key"]
    dated_by = meta.get("dated_by")
    if reader.fieldnames is None or key not in reader.fieldnames:
        raise ParameterError(tr(f"表头中没有键列“{key}”", f"key column '{key}' not in the header"), file=str(csv_path))
    missing = [c for c in meta["columns"] if c not in reader.fieldnames]
    if missing:
        raise ParameterError(tr(f"说明文件所列的列在表中没有：{missing}",
                                f"columns described in the metadata are missing: {missing}"), file=str(csv_path))
    rows: dict = {}
    for number, raw_row in enumerate(reader, start=2):
        row = {name: (raw_row[name] or "").strip() if name in (key,) else _cell(raw_row[name])
               for name in reader.fieldnames}
        if dated_by:
            try:
                row[dated_by] = dt.date.fromisoformat(str(raw_row[dated_by]).strip())
            except ValueError:
                raise ParameterError(tr(f"“{raw_row[dated_by]}”不是日期（应为 YYYY-MM-DD）",
                                        f"'{raw_row[dated_by]}' is not a date (YYYY-MM-DD)"), file=str(csv_path),
                                     row=number, field=dated_by) from None
        if not row[key]:
            raise ParameterError(tr("键为空", "empty key"), file=str(csv_path), row=number, field=key)
        if row[key] in rows and not dated_by:
            raise ParameterError(tr(f"键“{row[key]}”出现了两次", f"key '{row[key]}' appears twice"), file=str(csv_path),
                                 row=number, field=key)
        rows.setdefault(row[key], []).append(row)
    digest = hashlib.sha256(raw + meta_path.read_bytes()).hexdigest()
    return Table(name=csv_path.stem, key=key, rows=rows, columns=dict(meta["columns"]), meta=meta,
                 dated_by=dated_by, digest=digest)


@dataclass
class Parameters:
    """Every parameter table of a rule set, by name."""

    tables: dict = field(default_factory=dict)

    def table(self, name: str) -> Table:
        if name not in self.tables:
            raise ParameterError(tr(f"没有参数表“{name}”", f"no parameter table '{name}'"),
                                 fix=tr("参数表：", "tables: ") + ", ".join(sorted(self.tables)))
        return self.tables[name]

    def fingerprint_parts(self) -> list[str]:
        return [f"{name}:{table.digest}" for name, table in sorted(self.tables.items())]


def load_parameters(directory: Path) -> Parameters:
    if not directory.is_dir():
        raise ParameterError(tr("找不到参数目录", "parameter directory not found"), file=str(directory))
    return Parameters({path.stem: load_table(path) for path in sorted(directory.glob("*.csv"))})
