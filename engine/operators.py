"""The operator table: each condition operator defined once — names, Kleene evaluation, durable_rules form, column form, wording."""

from __future__ import annotations

import datetime as dt
import operator as py
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

COMPARE, MEMBER, PRESENCE = "compare", "member", "presence"


@dataclass(frozen=True)
class Operator:
    """One leaf operator. `test` decides a known value; three-valued evaluation (None for unknown) is `kleene`."""

    name: str
    family: str  # compare | member | presence
    synonyms: tuple
    negation: str  # the operator that holds exactly when this one fails on a known value
    symbol: str  # as a limit is written: ≥ 80%
    words: str  # Chinese wording of the limit in a letter, where the value itself is what breaches (eq/ne/in…)
    test: Callable[[Any, Any], bool]  # on one known value: observed, operand -> bool
    column: Callable  # on arrays of known values: (observed ndarray, operand scalar | ndarray) -> bool ndarray
    durable: str | None  # durable_rules operator for `field op value` ("" = plain equality {field: value})
    relation: str = ""  # Chinese wording of a breached comparison in a sentence: 热效率为72.4%，低于要求的80%

    def kleene(self, observed: Any, operand: Any = None) -> bool | None:
        """Three-valued: True or False when decided, None when the observed value (or the limit) is unknown."""
        if self.family == PRESENCE:
            return self.test(observed, None)
        if observed is None or (self.family == COMPARE and operand is None):
            return None
        return self.test(observed, operand)


def _isin(observed: np.ndarray, values) -> np.ndarray:
    return pd.Series(observed, dtype=object).isin(list(values)).to_numpy() if observed.dtype == object \
        else np.isin(observed, np.asarray(list(values), dtype=observed.dtype))


def _table() -> dict:
    ops = [
        Operator("eq", COMPARE, ("==", "=", "equals"), "ne", "=", "不得为 ", py.eq, np.equal, ""),
        Operator("ne", COMPARE, ("!=", "neq"), "eq", "≠", "应为 ", py.ne, np.not_equal, "$neq", relation="不是"),
        Operator("lt", COMPARE, ("<",), "ge", "<", "", py.lt, np.less, "$lt", relation="低于"),
        Operator("le", COMPARE, ("<=", "lte"), "gt", "≤", "", py.le, np.less_equal, "$lte", relation="未超过"),
        Operator("gt", COMPARE, (">",), "le", ">", "", py.gt, np.greater, "$gt", relation="超过"),
        Operator("ge", COMPARE, (">=", "gte"), "lt", "≥", "", py.ge, np.greater_equal, "$gte", relation="达到或超过"),
        Operator("in", MEMBER, (), "not_in", "∈", "不得属于 ", lambda v, values: v in values,
                 _isin, ""),
        Operator("not_in", MEMBER, ("nin",), "in", "∉", "应属于 ", lambda v, values: v not in values,
                 lambda obs, values: ~_isin(obs, values), "$neq"),
        Operator("present", PRESENCE, ("exists",), "absent", "", "不应填报", lambda v, _: v is not None,
                 None, "$ex"),
        Operator("absent", PRESENCE, ("missing",), "present", "", "应填报", lambda v, _: v is None,
                 None, "$nex"),
    ]
    return {op.name: op for op in ops}


OPS: dict[str, Operator] = _table()
NAMES = tuple(OPS)
COMPARISONS = tuple(n for n, op in OPS.items() if op.family == COMPARE)
MEMBERSHIP = tuple(n for n, op in OPS.items() if op.family == MEMBER)
PRESENCES = tuple(n for n, op in OPS.items() if op.family == PRESENCE)
SYNONYMS = {s: op.name for op in OPS.values() for s in op.synonyms}
SYMBOLS = {n: op.symbol for n, op in OPS.items() if op.symbol}
CONDITION_WORDS = {n: op.words for n, op in OPS.items() if op.words and op.family != PRESENCE}


# ---------------------------------------------------------------- logic (Kleene)

def kleene_all(results) -> bool | None:
    results = list(results)
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True


def kleene_any(results) -> bool | None:
    results = list(results)
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def kleene_not(result: bool | None) -> bool | None:
    return None if result is None else not result


LOGIC = {"all": kleene_all, "any": kleene_any, "not": lambda results: kleene_not(list(results)[0])}


def column_all(masks: list) -> pd.arrays.BooleanArray:
    out = masks[0]
    for mask in masks[1:]:
        out = out & mask  # pandas nullable booleans: Kleene and
    return out


def column_any(masks: list) -> pd.arrays.BooleanArray:
    out = masks[0]
    for mask in masks[1:]:
        out = out | mask  # Kleene or
    return out


COLUMN_LOGIC = {"all": column_all, "any": column_any, "not": lambda masks: ~masks[0]}


def column_leaf(op: Operator, observed: np.ndarray, known: np.ndarray, operand=None,
                operand_known: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    """An operator over a column: nullable booleans, NA where the observed value (or a per-row limit) is unknown.

    `observed` holds the column in its column representation (float64 for numbers, dates and booleans; objects for
    text); `known` marks the rows that have a value."""
    if op.family == PRESENCE:
        values = known if op.name == "present" else ~known
        return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), np.zeros(len(values), dtype=bool))
    decided = known if operand_known is None else known & operand_known
    result = np.zeros(len(observed), dtype=bool)
    if decided.any():
        right = operand[decided] if isinstance(operand, np.ndarray) else operand
        result[decided] = op.column(observed[decided], right)
    return pd.arrays.BooleanArray(result, ~decided)


# ---------------------------------------------------------------- representations

def date_key(value: Any) -> int | None:
    """A date as the integer yyyymmdd (the form both engines compare dates in)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.year * 10000 + value.month * 100 + value.day
    if isinstance(value, str):
        try:
            return date_key(dt.date.fromisoformat(value))
        except ValueError:
            return None
    return None


def as_date(value: Any) -> dt.date | None:
    """A rule's date literal as a date (YAML gives dates; text in ISO form is read too)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def engine_value(value: Any) -> Any:
    """A domain value in the form durable_rules and the column executor compare: dates as yyyymmdd integers."""
    if isinstance(value, dt.date):
        return date_key(value)
    return value
