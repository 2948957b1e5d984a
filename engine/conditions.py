"""The rule condition language: parse YAML conditions, check them, evaluate operands, compile them for durable_rules."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, Callable

from engine import operators as O
from engine.lang import tr

COMPARISONS = O.COMPARISONS
MEMBERSHIP = O.MEMBERSHIP
PRESENCE = O.PRESENCES
OPERATORS = O.NAMES
OPERATOR_SYNONYMS = O.SYNONYMS
LOGIC = tuple(O.LOGIC)
ARITHMETIC = ("add", "sub", "mul", "div")
PRECISION = 6  # decimal places of rule literals, parameter cells and computed limits (never of input values)


class ConditionError(ValueError):
    """A condition in a rule file is malformed; `path` says where inside the rule."""

    def __init__(self, path: str, message: str, fix: str = ""):
        self.path = path
        self.fix = fix
        super().__init__(message)


# ---------------------------------------------------------------- operands

@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class FieldRef:
    name: str


@dataclass(frozen=True)
class ParamRef:
    table: str
    column: str
    by: str | None = None  # record field holding the key
    key: str | None = None  # a fixed key


@dataclass(frozen=True)
class Arith:
    op: str
    left: Any
    right: Any


# ---------------------------------------------------------------- conditions

@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    operand: Any


@dataclass(frozen=True)
class Member:
    field: str
    values: tuple
    negate: bool


@dataclass(frozen=True)
class Presence:
    field: str
    present: bool


@dataclass(frozen=True)
class Logic:
    op: str  # all | any | not
    items: tuple


def _closest(word: str, choices) -> str:
    match = difflib.get_close_matches(str(word), list(choices), n=1)
    return tr(f"（是否应为“{match[0]}”？）", f" (did you mean '{match[0]}'?)") if match else ""


def parse_operand(raw: Any, path: str):
    if isinstance(raw, dict):
        keys = set(raw)
        if keys == {"field"}:
            return FieldRef(str(raw["field"]))
        if "param" in keys:
            extra = keys - {"param", "by", "key"}
            if extra:
                raise ConditionError(path, tr(f"参数引用中有未知的键 {sorted(extra)}",
                                              f"unknown key(s) {sorted(extra)} in a parameter reference"),
                                     tr("参数引用写 'param'，再加 'by' 或 'key' 之一",
                                        "a parameter reference has 'param' and one of 'by' or 'key'"))
            ref = str(raw["param"])
            if ref.count(".") != 1:
                raise ConditionError(path, tr(f"参数引用“{ref}”不是“表.列”的形式",
                                              f"parameter reference '{ref}' is not 'table.column'"),
                                     tr("写成 表.列，如 annex1_energy_targets.intensity_reduction_pct",
                                        "write it as table.column, e.g. annex1_energy_targets.intensity_reduction_pct"))
            if ("by" in raw) == ("key" in raw):
                raise ConditionError(path, tr(f"参数“{ref}”需要且只需要 'by'（记录的字段）或 'key' 之一",
                                              f"parameter '{ref}' needs exactly one of 'by' (a record field) or 'key'"),
                                     tr("加 by: <字段> 按记录的字段查行，或 key: <行键>",
                                        "add by: <field> to look the row up by a record field, or key: <row key>"))
            table, column = ref.split(".")
            return ParamRef(table, column, by=raw.get("by"), key=None if raw.get("key") is None else str(raw["key"]))
        if len(keys) == 1 and next(iter(keys)) in ARITHMETIC:
            op = next(iter(keys))
            args = raw[op]
            if not isinstance(args, list) or len(args) != 2:
                raise ConditionError(f"{path}.{op}", tr(f"'{op}' 要一个恰好两项的列表",
                                                        f"'{op}' takes a list of exactly two operands"))
            return Arith(op, parse_operand(args[0], f"{path}.{op}[0]"), parse_operand(args[1], f"{path}.{op}[1]"))
        hint = _closest(next(iter(keys), ''), ('field', 'param') + ARITHMETIC)
        raise ConditionError(path, tr(f"未知的运算对象 {sorted(keys)}{hint}", f"unknown operand {sorted(keys)}{hint}"),
                             tr("运算对象是一个值、{field: …}、{param: …, by|key: …} 或 {add|sub|mul|div: [a, b]}",
                                "an operand is a literal, {field: …}, {param: …, by|key: …} or "
                                "{add|sub|mul|div: [a, b]}"))
    if isinstance(raw, (list, tuple)):
        raise ConditionError(path, tr("这里不能用列表作运算对象", "a list is not an operand here"),
                             tr("用 op: in 加一个值的列表", "use op: in with a list of values"))
    return Literal(raw)


def parse_condition(raw: Any, path: str = "when"):
    """Turn the YAML form of a condition into a tree of Compare / Member / Presence / Logic."""
    if not isinstance(raw, dict):
        raise ConditionError(path, tr(f"条件应是映射（键: 值），不是 {type(raw).__name__}",
                                      f"a condition must be a mapping, not {type(raw).__name__}"))
    logic = [k for k in raw if k in LOGIC]
    if logic:
        if len(raw) != 1:
            raise ConditionError(path, tr(f"'{logic[0]}' 所在的映射中不能有别的键，却有 {sorted(raw)}",
                                          f"'{logic[0]}' must stand alone in its mapping, found {sorted(raw)}"))
        op = logic[0]
        if op == "not":
            return Logic("not", (parse_condition(raw["not"], f"{path}.not"),))
        items = raw[op]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"{path}.{op}", tr(f"'{op}' 要一个非空的条件列表",
                                                    f"'{op}' takes a non-empty list of conditions"))
        return Logic(op, tuple(parse_condition(item, f"{path}.{op}[{i}]") for i, item in enumerate(items)))
    unknown = set(raw) - {"field", "op", "value"}
    if unknown:
        word = sorted(unknown)[0]
        hint = _closest(word, ('field', 'op', 'value') + LOGIC)
        raise ConditionError(path, tr(f"未知的键“{word}”{hint}", f"unknown key '{word}'{hint}"),
                             tr("一个判断写 {field, op, value}；多个判断用 all / any / not 组合",
                                "a test is {field, op, value}; combine tests with all / any / not"))
    if "field" not in raw or "op" not in raw:
        raise ConditionError(path, tr("判断需要 'field' 和 'op'", "a test needs 'field' and 'op'"))
    field, op = str(raw["field"]), str(raw["op"])
    if op not in OPERATORS:
        synonym = OPERATOR_SYNONYMS.get(op)
        hint = (tr(f"（是否应为“{synonym}”？）", f" (did you mean '{synonym}'?)") if synonym else _closest(op, OPERATORS))
        raise ConditionError(f"{path}.op", tr(f"未知的运算符“{op}”{hint}", f"unknown operator '{op}'{hint}"),
                             tr("可用的运算符：", "use one of ") + ", ".join(OPERATORS))
    if op in PRESENCE:
        if "value" in raw:
            raise ConditionError(path, tr(f"'{op}' 不带值", f"'{op}' takes no value"))
        return Presence(field, op == "present")
    if "value" not in raw:
        raise ConditionError(path, tr(f"运算符 '{op}' 需要一个值", f"operator '{op}' needs a value"))
    if op in MEMBERSHIP:
        values = raw["value"]
        if not isinstance(values, list) or not values:
            raise ConditionError(f"{path}.value", tr(f"'{op}' 要一个非空的值列表", f"'{op}' takes a non-empty list of values"))
        return Member(field, tuple(values), op == "not_in")
    return Compare(field, op, parse_operand(raw["value"], f"{path}.value"))


# ---------------------------------------------------------------- inspection

def walk(cond):
    """Every leaf test of a condition, in order."""
    if isinstance(cond, Logic):
        for item in cond.items:
            yield from walk(item)
    else:
        yield cond


def operand_fields(operand) -> set[str]:
    if isinstance(operand, FieldRef):
        return {operand.name}
    if isinstance(operand, ParamRef):
        return {operand.by} if operand.by else set()
    if isinstance(operand, Arith):
        return operand_fields(operand.left) | operand_fields(operand.right)
    return set()


def operand_params(operand) -> list[ParamRef]:
    if isinstance(operand, ParamRef):
        return [operand]
    if isinstance(operand, Arith):
        return operand_params(operand.left) + operand_params(operand.right)
    return []


def condition_fields(cond) -> set[str]:
    """Every record field a condition reads, including those its operands read."""
    fields: set[str] = set()
    for leaf in walk(cond):
        fields.add(leaf.field)
        if isinstance(leaf, Compare):
            fields |= operand_fields(leaf.operand)
    return fields


def has_computed_operand(leaf) -> bool:
    return isinstance(leaf, Compare) and not isinstance(leaf.operand, Literal)


# ---------------------------------------------------------------- values

def to_number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


SHORT_DIGITS = 15  # every decimal of up to 15 significant digits has its own float (DBL_DIG)


def exact_float(value: Decimal) -> float:
    """A value as written, as a float that compares with every limit of up to 15 significant digits exactly as
    the written decimal does.

    float() rounds to the nearest float, which can be a limit itself (79.99999999999999999 -> 80.0, compliant
    with "not below 80"); then the neighbouring float on the written value's side is taken. Distinct short
    decimals are many floats apart, so that neighbour equals no limit and every comparison keeps its answer."""
    number = float(value)
    if not math.isfinite(number) or Decimal(number) == value:
        return number
    shortest = Decimal(repr(number))
    if shortest == value or len(shortest.normalize().as_tuple().digits) > SHORT_DIGITS:
        return number
    return math.nextafter(number, math.inf if value > shortest else -math.inf)


def rounded(value: Decimal) -> float:
    """A number rounded to PRECISION decimals (exactly, so that boundary values compare as written)."""
    with localcontext() as context:
        context.prec = 80
        return float(round(value, PRECISION))


date_key = O.date_key


def compute_operand(operand, record: dict, lookup: Callable[[ParamRef, dict], Any]):
    """The value of an operand for one record (None when something it needs is missing)."""
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, FieldRef):
        return record.get(operand.name)
    if isinstance(operand, ParamRef):
        return lookup(operand, record)
    left = to_number(compute_operand(operand.left, record, lookup))
    right = to_number(compute_operand(operand.right, record, lookup))
    if left is None or right is None:
        return None
    if operand.op == "add":
        return rounded(left + right)
    if operand.op == "sub":
        return rounded(left - right)
    if operand.op == "mul":
        return rounded(left * right)
    if right == 0:
        return None
    return rounded(left / right)


def compare_values(op: str, left: Any, right: Any) -> bool:
    return O.OPS[op].test(left, right)


def evaluate3(cond, values: dict) -> bool | None:
    """Three-valued evaluation over domain values (True, False, or None when unknown), by the operator table.

    A computed comparison (SlotCompare) reads its limit from `values[slot]`."""
    if isinstance(cond, Logic):
        return O.LOGIC[cond.op](evaluate3(item, values) for item in cond.items)
    observed = values.get(cond.field)
    if isinstance(cond, Presence):
        return O.OPS["present" if cond.present else "absent"].kleene(observed)
    if isinstance(cond, Member):
        return O.OPS["not_in" if cond.negate else "in"].kleene(observed, cond.values)
    limit = values.get(cond.slot) if getattr(cond, "slot", None) else cond.operand.value
    return O.OPS[cond.op].kleene(observed, limit)


# ---------------------------------------------------------------- durable_rules JSON

@dataclass(frozen=True)
class SlotCompare:
    """A Compare whose right-hand side is computed per record into the fact property `slot`."""

    field: str
    op: str
    operand: Any
    slot: str


def assign_slots(cond, prefix: str, counter: list | None = None):
    """Give every computed comparison its own fact property name, so the engine compares two properties."""
    counter = counter if counter is not None else [0]
    if isinstance(cond, Logic):
        return Logic(cond.op, tuple(assign_slots(item, prefix, counter) for item in cond.items))
    if has_computed_operand(cond):
        slot = f"{prefix}{counter[0]}"
        counter[0] += 1
        return SlotCompare(cond.field, cond.op, cond.operand, slot)
    return cond


def _exists(name: str) -> dict:
    return {"$ex": {name: 1}}


def _compare_json(field: str, op: str, right: Any) -> dict:
    """`field op right` in durable_rules JSON; domain values (dates) converted to the engine's form here."""
    form = O.OPS[op].durable
    right = right if isinstance(right, dict) else O.engine_value(right)
    return {field: right} if form == "" else {form: {field: right}}


def all_of(parts: list) -> dict:
    """durable_rules JSON matching when every one of `parts` matches (empty parts left out)."""
    parts = [p for p in parts if p]
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _or(parts: list) -> dict:
    return parts[0] if len(parts) == 1 else {"$or": parts}


def compile_durable(cond, truth: bool) -> dict:
    """durable_rules JSON that matches a fact when the condition is definitely `truth` (Kleene logic)."""
    if isinstance(cond, Logic):
        if cond.op == "not":
            return compile_durable(cond.items[0], not truth)
        parts = [compile_durable(item, truth) for item in cond.items]
        conjunction = (cond.op == "all") == truth
        return all_of(parts) if conjunction else _or(parts)
    if isinstance(cond, Presence):
        op = O.OPS["present" if cond.present else "absent"]
        return {(op.durable if truth else O.OPS[op.negation].durable): {cond.field: 1}}
    if isinstance(cond, Member):
        inside = truth != cond.negate
        tests = [_compare_json(cond.field, "eq" if inside else "ne", v) for v in cond.values]
        return all_of([_exists(cond.field), _or(tests) if inside else all_of(tests)])
    op = cond.op if truth else O.OPS[cond.op].negation
    if isinstance(cond, SlotCompare):
        return all_of([_exists(cond.field), _exists(cond.slot), _compare_json(cond.field, op, {"$m": cond.slot})])
    return all_of([_exists(cond.field), _compare_json(cond.field, op, cond.operand.value)])
