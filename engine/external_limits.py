"""Limits from external standards (rules/parameters/external_limits.csv): counted only once the user confirms them."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from pathlib import Path

from engine import conditions as C
from engine.errors import ParameterError
from engine.lang import tr

TABLE = "external_limits"
USER_FILE = "external_limits.csv"  # in the user's --params folder
UNCONFIRMED = "外部标准限值未经确认"  # how the reason of a rule reading an unconfirmed limit begins
YES, NO = ("true", "是", "已确认", "确认", "y", "yes", "1"), ("false", "否", "未确认", "n", "no", "0", "")
HEADERS = {"limit": ("limit", "限值", "限值代码"), "value": ("value", "数值", "确认数值"), "unit": ("unit", "单位"),
           "confirmed": ("confirmed", "是否确认", "确认"), "basis": ("basis", "确认依据", "依据")}


def guarded(table) -> str:
    """The flag column that guards a table's values (its metadata `confirmation.flag`), or '' for a plain table."""
    confirmation = table.meta.get("confirmation") if table is not None else None
    return str(confirmation.get("flag", "")) if isinstance(confirmation, dict) else ""


def _refs(rule):
    for cond in (rule.applies, rule.when):
        for leaf in (C.walk(cond) if cond is not None else ()):
            operand = getattr(leaf, "operand", None)
            yield from C.operand_params(operand) if operand is not None else ()


def reason(row: dict) -> str:
    """Why a rule reading an unconfirmed limit cannot decide (an indeterminate finding's reason)."""
    value = row.get("value")
    reference = "无参考值" if value is None else f"参考值 {value:g}{row.get('unit') or ''}，未经核实"
    return (f"{UNCONFIRMED}：{row.get('label') or row.get('limit')}（{row.get('source_standard')}，{reference}）；"
            f"两份文件没有载明该数值，须由使用者核实后在 --params 目录的 {USER_FILE} 中确认，确认前不据此判定")


def pending(rule, params) -> tuple:
    """The reasons, one per unconfirmed external limit the rule reads; () when it reads none."""
    found = []
    for ref in _refs(rule):
        table = params.tables.get(ref.table)
        flag = guarded(table)
        if not flag:
            continue
        for key in ([ref.key] if ref.key is not None else sorted(table.rows)):
            row = table.rows.get(str(key), [None])[0]
            if row is not None and row.get(flag) is not True:
                found.append(reason(row))
    return tuple(dict.fromkeys(found))


def _column(header: list, names: tuple) -> str | None:
    return next((h for h in header if h.strip().lower() in names), None)


def read_confirmations(path: Path, table) -> dict:
    """The user's confirmed rows {limit: value}: every row names a known limit, a number in its unit, 是 and a basis."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParameterError(tr("不是 UTF-8 编码的文本", "not UTF-8 text"), file=str(path),
                             fix=tr("在 Excel 中另存为“CSV UTF-8”", "save it as CSV UTF-8")) from None
    except OSError as exc:
        raise ParameterError(tr(f"无法读取：{exc.strerror}", f"cannot be read: {exc.strerror}"), file=str(path)) from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    columns = {name: _column(header, names) for name, names in HEADERS.items()}
    absent = [HEADERS[name][1] for name, column in columns.items() if column is None]
    if absent:
        raise ParameterError(tr(f"缺少列：{'、'.join(absent)}", f"missing columns: {', '.join(absent)}"), file=str(path),
                             fix=tr("表头写 限值、数值、单位、是否确认、确认依据（限值为 rules/parameters/external_limits.csv 的"
                                    " limit 列）", "headers limit, value, unit, confirmed, basis (limit as in "
                                    "rules/parameters/external_limits.csv)"))
    confirmed = {}
    for number, raw in enumerate(reader, start=2):
        cell = {name: str(raw.get(column) or "").strip() for name, column in columns.items()}
        if not any(cell.values()):
            continue
        key = cell["limit"]
        if key not in table.rows:
            hint = C._closest(key, table.rows)
            raise ParameterError(tr(f"没有外部标准限值“{key}”{hint}", f"no external limit '{key}'{hint}"), file=str(path),
                                 row=number, field=columns["limit"],
                                 fix=tr("限值：", "limits: ") + ", ".join(sorted(table.rows)))
        flag = cell["confirmed"].lower()
        if flag not in YES + NO:
            raise ParameterError(tr(f"“{cell['confirmed']}”不是 是 或 否", f"'{cell['confirmed']}' is not yes or no"),
                                 file=str(path), row=number, field=columns["confirmed"])
        if flag in NO:
            continue
        value = C.to_number(cell["value"])
        if value is None:
            raise ParameterError(tr(f"“{cell['value']}”不是数值", f"'{cell['value']}' is not a number"), file=str(path),
                                 row=number, field=columns["value"], fix=tr("写核实后的标准数值", "write the verified value"))
        unit = str(table.rows[key][0].get("unit") or "")
        if cell["unit"] != unit:
            raise ParameterError(tr(f"单位“{cell['unit']}”与该限值的单位“{unit}”不同",
                                    f"unit '{cell['unit']}' differs from the limit's unit '{unit}'"), file=str(path),
                                 row=number, field=columns["unit"], fix=tr(f"换算为 {unit} 后填写", f"convert to {unit}"))
        if not cell["basis"]:
            raise ParameterError(tr("确认依据为空", "the basis is empty"), file=str(path), row=number,
                                 field=columns["basis"], fix=tr("写明核实所依据的标准编号和条款",
                                                                "name the standard and clause the value was checked in"))
        confirmed[key] = C.rounded(value)
    return confirmed


def confirm(params, values: dict):
    """Parameters in which the limits in `values` ({limit: value}) are confirmed with those values."""
    table = params.tables.get(TABLE)
    if table is None or not values:
        return params
    flag = guarded(table)
    rows = {key: [dict(row, value=values[key], **{flag: True}) for row in found] if key in values else found
            for key, found in table.rows.items()}
    digest = table.digest + "+" + ",".join(f"{k}={v}" for k, v in sorted(values.items()))
    return dataclasses.replace(params, tables={**params.tables, TABLE: dataclasses.replace(table, rows=rows,
                                                                                          digest=digest)})


def with_pending(rules, params) -> tuple:
    """The rules with the reasons of their unconfirmed limits (rule.pending)."""
    return tuple(dataclasses.replace(rule, pending=pending(rule, params)) for rule in rules)


def apply(ruleset, values: dict):
    """The rule set with these limits confirmed (its parameters, the rules' pending reasons and its fingerprint)."""
    if not values or TABLE not in ruleset.params.tables:
        return ruleset
    params = confirm(ruleset.params, values)
    mark = ",".join(f"{k}={v}" for k, v in sorted(values.items()))  # (a fixed length: the run store keeps it)
    confirmed = hashlib.sha256(mark.encode("utf-8")).hexdigest()[:16]
    return dataclasses.replace(ruleset, params=params, rules=with_pending(ruleset.rules, params),
                               fingerprint=f"{ruleset.fingerprint}+{confirmed}")


def from_params_dir(ruleset, params_dir) -> object:
    """The rule set with the limits the user confirmed in `params_dir`/external_limits.csv (unchanged without it)."""
    if params_dir is None or TABLE not in ruleset.params.tables:
        return ruleset
    path = Path(params_dir) / USER_FILE
    if not path.is_file():
        return ruleset
    return apply(ruleset, read_confirmations(path, ruleset.params.tables[TABLE]))


def confirm_all(ruleset):
    """Every external limit confirmed at its reference value (the examples marked `confirmed: true`)."""
    table = ruleset.params.tables.get(TABLE)
    if table is None:
        return ruleset
    return apply(ruleset, {key: rows[0]["value"] for key, rows in table.rows.items()
                           if isinstance(rows[0].get("value"), (int, float))})
