"""Validation of one rule file: errors naming file, rule and field, the typing of its conditions against the record
schema and parameter tables (no number copied into a violation condition), and the small value checks every part
of a rule uses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine import conditions as C
from engine import operators as O
from engine.errors import RuleError
from engine.lang import tr
from engine.schemas import Schema


class Checker:
    """Validation context for one rule file: raises RuleError naming file, rule and field."""

    def __init__(self, path: Path, rule_id: str, schemas, params, documents):
        self.path, self.rule_id = str(path), rule_id
        self.schemas, self.params, self.documents = schemas, params, documents

    def fail(self, message: str, field: str = "", fix: str = ""):
        raise RuleError(message, file=self.path, rule=self.rule_id, field=field or None, fix=fix or None)

    def condition(self, raw, path: str, schema: Schema):
        try:
            cond = C.parse_condition(raw, path)
        except C.ConditionError as exc:
            self.fail(str(exc), exc.path, exc.fix)
        return self._typed(cond, path, schema)

    def _field(self, name: str, path: str, schema: Schema):
        if name not in schema.fields:
            hint = C._closest(name, schema.fields)
            self.fail(tr(f"“{name}”不是 {schema.kind} 的字段{hint}",
                         f"'{name}' is not a field of {schema.kind}{hint}"), path,
                      tr(f"{schema.kind} 的字段：", f"fields of {schema.kind}: ") + ", ".join(schema.fields))
        return schema.fields[name]

    def _literal(self, value, spec, path: str):
        """A literal as the domain value of its field's type (dates stay dates; each executor converts)."""
        if spec.type in ("number", "integer"):
            number = C.to_number(value)
            if number is None:
                self.fail(tr(f"“{value}”不是数值", f"'{value}' is not a number"), path)
            return C.rounded(number)
        if spec.type == "date":
            day = O.as_date(value)
            if day is None:
                self.fail(tr(f"“{value}”不是日期（应为 YYYY-MM-DD）", f"'{value}' is not a date (YYYY-MM-DD)"), path)
            return day
        if spec.type == "bool":
            if not isinstance(value, bool):
                self.fail(tr(f"“{value}”不是 true 或 false", f"'{value}' is not true or false"), path)
            return value
        if spec.type == "enum" and str(value) not in spec.values:
            hint = C._closest(value, spec.values)
            self.fail(tr(f"“{value}”不是 {spec.name} 的可选值{hint}", f"'{value}' is not a value of {spec.name}{hint}"), path,
                      tr("可选值：", "values: ") + ", ".join(spec.values))
        return str(value)

    def _no_literal_limit(self, value, path: str):
        """A violation condition compares a number field with a parameter, never with a number copied into the rule:
        the limit, its document, article and quote live once, in a parameter table (rules/parameters/)."""
        self.fail(tr(f"条件把数值字段与写在规则里的数字 {value} 比较：限值不抄进规则",
                     f"the condition compares a number field with the number {value} written into the rule: limits "
                     f"are not copied into rules"), path,
                  tr("把限值连同出处（document、article、quote）写进 rules/parameters/ 的参数表（如 "
                     "provision_thresholds.csv），条件写 value: {param: 表.列, key: 行键}（或 by: 字段）",
                     "put the limit with its source (document, article, quote) in a table under rules/parameters/ "
                     "(e.g. provision_thresholds.csv) and write value: {param: table.column, key: row} (or by: field)"))

    def _operand(self, operand, path: str, schema: Schema):
        for name in C.operand_fields(operand):
            self._field(name, path, schema)
        for ref in C.operand_params(operand):
            if ref.table not in self.params.tables:
                hint = C._closest(ref.table, self.params.tables)
                self.fail(tr(f"没有参数表“{ref.table}”{hint}", f"no parameter table '{ref.table}'{hint}"), path)
            table = self.params.tables[ref.table]
            if ref.column not in table.columns:
                hint = C._closest(ref.column, table.columns)
                self.fail(tr(f"参数表“{ref.table}”没有列“{ref.column}”{hint}",
                             f"table '{ref.table}' has no column '{ref.column}'{hint}"),
                          path, tr("列：", "columns: ") + ", ".join(table.columns))
            if ref.key is not None and ref.key not in table.rows:
                hint = C._closest(ref.key, table.rows)
                self.fail(tr(f"参数表“{ref.table}”没有行“{ref.key}”{hint}",
                             f"table '{ref.table}' has no row '{ref.key}'{hint}"),
                          path)

    def _typed(self, cond, path: str, schema: Schema):
        if isinstance(cond, C.Logic):
            return C.Logic(cond.op, tuple(self._typed(item, f"{path}.{cond.op}[{i}]", schema)
                                          for i, item in enumerate(cond.items)))
        spec = self._field(cond.field, path, schema)
        if isinstance(cond, C.Presence):
            return cond
        if isinstance(cond, C.Member):
            return C.Member(cond.field, tuple(self._literal(v, spec, path) for v in cond.values), cond.negate)
        if isinstance(cond.operand, C.Literal):
            if path.startswith("when") and spec.type in ("number", "integer"):
                self._no_literal_limit(cond.operand.value, f"{path}.value")
            return C.Compare(cond.field, cond.op, C.Literal(self._literal(cond.operand.value, spec, path)))
        if spec.type not in ("number", "integer"):
            self.fail(tr(f"与计算值比较要用数值字段；“{cond.field}”是 {spec.type}",
                         f"computed comparisons need a number field; '{cond.field}' is {spec.type}"), path)
        self._operand(cond.operand, path, schema)
        return cond


def text_pair(value, default: str = "") -> tuple[str, str]:
    if isinstance(value, dict):
        return str(value.get("zh", default)), str(value.get("en", ""))
    return (str(value), "") if value is not None else (default, "")


def date_value(value, checker: Checker, field: str):
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        checker.fail(tr(f"“{value}”不是日期（应为 YYYY-MM-DD）", f"'{value}' is not a date (YYYY-MM-DD)"), field)


def string_list(value, checker: Checker, field: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        checker.fail(tr("应是文字的列表", "must be a list of texts"), field)
    return tuple(str(v) for v in value)
