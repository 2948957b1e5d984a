"""The column executor: rules that look at one record, evaluated as three-valued masks over a batch of columns.

Pure functions of (compiled rules, one batch): no global state, nothing kept between batches, so the same compiled
rules run partition by partition (a Dask DataFrame's partitions next)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine import conditions as C
from engine import model
from engine import operators as O
from engine.batch import RecordBatch

STATES = model.STATES  # state codes index this tuple
VIOLATION, COMPLIANT, NOT_APPLICABLE, INDETERMINATE = (STATES.index(s) for s in (
    model.VIOLATION, model.COMPLIANT, model.NOT_APPLICABLE, model.INDETERMINATE))
FINDING_CODES = (VIOLATION, INDETERMINATE)


@dataclass(frozen=True)
class CompiledRule:
    """A rule with slot names on its computed comparisons (the same shape evaluate.py gives explain)."""

    rule: object
    applies: object
    when: object
    slot_leaves: tuple

    @classmethod
    def of(cls, rule) -> "CompiledRule":
        counter = [0]
        applies = C.assign_slots(rule.applies, "_s0_", counter) if rule.applies is not None else None
        when = C.assign_slots(rule.when, "_s0_", counter) if rule.when is not None else None
        leaves = tuple(leaf for cond in (applies, when) if cond is not None for leaf in C.walk(cond)
                       if isinstance(leaf, C.SlotCompare))
        return cls(rule, applies, when, leaves)


def compile_rules(rules) -> list[CompiledRule]:
    return [CompiledRule.of(rule) for rule in rules]


def lookup_for(params, as_of: dt.date):
    def lookup(ref: C.ParamRef, record_values: dict):
        key = ref.key if ref.key is not None else record_values.get(ref.by)
        if key is None:
            return None
        return params.table(ref.table).value(ref.column, str(key), as_of)
    return lookup


def _numeric_limit(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Frame:
    """One batch seen by one evaluation: column forms and computed limits, built once per field or operand."""

    def __init__(self, batch: RecordBatch, lookup):
        self.batch, self.lookup = batch, lookup
        self.size = len(batch)
        self._slots: dict = {}

    def limits(self, leaf) -> tuple[np.ndarray, list, np.ndarray | None]:
        """The computed limit of a comparison for every row (NaN where it cannot be computed), evaluated once per
        distinct combination of the fields it reads (a parameter looked up by region: once per region).

        Returns (floats per row, the limit values as computed, row -> index into them or None when constant)."""
        found = self._slots.get(leaf.operand)  # keyed by the operand: slot names repeat across rules
        if found is not None:
            return found
        names = sorted(C.operand_fields(leaf.operand))
        columns = [self.batch.column(n) for n in names]
        if not columns:
            value = C.compute_operand(leaf.operand, {}, self.lookup)
            value = value if _numeric_limit(value) else None
            found = (np.full(self.size, np.nan if value is None else float(value)), [value], None)
        else:
            combined = np.zeros(self.size, dtype=np.int64)
            for column in columns:
                combined = combined * (len(column.uniques) + 1) + (column.codes + 1)
            keys, inverse = np.unique(combined, return_inverse=True)
            first = np.zeros(len(keys), dtype=np.int64)
            first[inverse[::-1]] = np.arange(self.size)[::-1]  # a row holding each combination
            computed = []
            for row in first:
                values = {n: c.value(row) for n, c in zip(names, columns) if c.value(row) is not None}
                value = C.compute_operand(leaf.operand, values, self.lookup)
                computed.append(value if _numeric_limit(value) else None)
            table = np.array([np.nan if v is None else float(v) for v in computed], dtype=np.float64)
            found = (table[inverse], computed, inverse)
        self._slots[leaf.operand] = found
        return found

    def limit_at(self, leaf, row: int):
        _, computed, inverse = self.limits(leaf)
        return computed[0] if inverse is None else computed[inverse[row]]

    def leaf(self, leaf) -> pd.arrays.BooleanArray:
        column = self.batch.column(leaf.field)
        numeric = column.numeric
        if isinstance(leaf, C.Presence):
            return O.column_leaf(O.OPS["present" if leaf.present else "absent"], None, column.known())
        if isinstance(leaf, C.SlotCompare):  # a per-row limit: compare whole columns
            observed = np.append(column.representation(numeric), np.nan if numeric else None)[column.codes]
            limits = self.limits(leaf)[0]
            return O.column_leaf(O.OPS[leaf.op], observed, column.known(), limits, ~np.isnan(limits))
        if isinstance(leaf, C.Member):
            op, operand = O.OPS["not_in" if leaf.negate else "in"], list(leaf.values)
        else:
            op, operand = O.OPS[leaf.op], leaf.operand.value
        if numeric:
            try:
                operand = [float(O.engine_value(v)) for v in operand] if isinstance(operand, list) \
                    else float(O.engine_value(operand))
            except (TypeError, ValueError):  # a literal of another type than the values: compare as objects
                numeric = False
        # A literal limit: the operator's column form over the distinct values, then gathered row by row.
        distinct = column.representation(numeric)
        decided = O.column_leaf(op, distinct, column.distinct_known(), operand)
        values = np.append(np.asarray(decided.to_numpy(dtype=bool, na_value=False)), False)[column.codes]
        return pd.arrays.BooleanArray(values, ~column.known())

    def condition(self, cond) -> pd.arrays.BooleanArray:
        if isinstance(cond, C.Logic):
            return O.COLUMN_LOGIC[cond.op]([self.condition(item) for item in cond.items])
        return self.leaf(cond)


def _true(mask) -> np.ndarray:
    return mask.to_numpy(dtype=bool, na_value=False)


def _false(mask) -> np.ndarray:
    return (~mask).to_numpy(dtype=bool, na_value=False)


def state_codes(compiled: CompiledRule, frame: _Frame) -> np.ndarray:
    """One state per row: violation where applies ∧ when, compliant where applies ∧ ¬when, not applicable where
    ¬applies, indeterminate wherever the three-valued result is unknown."""
    codes = np.full(frame.size, INDETERMINATE, dtype=np.int8)
    when = frame.condition(compiled.when)
    if compiled.applies is not None:
        applies = frame.condition(compiled.applies)
        inside = _true(applies)
        codes[_false(applies)] = NOT_APPLICABLE
    else:
        inside = np.ones(frame.size, dtype=bool)
    codes[inside & _true(when)] = VIOLATION
    codes[inside & _false(when)] = COMPLIANT
    return codes


@dataclass
class BatchOutcome:
    """State codes of every (rule, row) of one batch, and the computed limits of the rows that need explaining."""

    codes: dict  # rule_id -> int8 array of state codes
    limits: dict  # rule_id -> ((slot, limits as computed, row -> index into them or None when constant), …)
    slotted: dict  # rule_id -> its `when` with slot names

    def limit(self, rule_id: str, slot_index: int, row: int):
        _, computed, inverse = self.limits[rule_id][slot_index]
        return computed[0] if inverse is None else computed[inverse[row]]

    @property
    def slots(self) -> dict:
        """(rule_id, position) -> {slot: value}, for violation and indeterminate rows (the limits that could be
        computed), as evaluate.run gives them."""
        found = getattr(self, "_slots", None)
        if found is None:
            found = self._slots = {}
            for rule_id, limits in self.limits.items():
                for row in np.flatnonzero(np.isin(self.codes[rule_id], FINDING_CODES)):
                    computed = {slot: self.limit(rule_id, n, int(row)) for n, (slot, _, _) in enumerate(limits)}
                    computed = {slot: value for slot, value in computed.items() if value is not None}
                    if computed:
                        found[(rule_id, int(row))] = computed
        return found

    def counts(self, shortfall: dict | None = None) -> dict:
        """State -> number of (rule, row) results; `shortfall` (rule_id -> "violation" or "gap") names what a
        record falling short of each rule is reported as (a target rule's shortfall is a gap)."""
        totals: dict = {}
        for rule_id, codes in self.codes.items():
            for n, count in enumerate(np.bincount(codes, minlength=len(STATES))):
                if count:
                    state = STATES[n]
                    if state == "violation" and shortfall is not None:
                        state = shortfall.get(rule_id, state)
                    totals[state] = totals.get(state, 0) + int(count)
        return totals

    def states(self, only_findings: bool = False) -> dict:
        """(rule_id, position) -> state, as evaluate.run gives them (only violations and indeterminates when asked)."""
        out = {}
        for rule_id, codes in self.codes.items():
            rows = np.flatnonzero(np.isin(codes, FINDING_CODES)) if only_findings else range(len(codes))
            for row in rows:
                out[(rule_id, int(row))] = STATES[codes[row]]
        return out


def evaluate_batch(compiled: list[CompiledRule], batch: RecordBatch, params, as_of: dt.date) -> BatchOutcome:
    """Every compiled rule (of the batch's kind, in force on `as_of`) over one batch."""
    frame = _Frame(batch, lookup_for(params, as_of))
    outcome = BatchOutcome({}, {}, {})
    for comp in compiled:
        codes = state_codes(comp, frame)
        outcome.codes[comp.rule.id] = codes
        outcome.slotted[comp.rule.id] = comp.when
        if comp.slot_leaves:
            outcome.limits[comp.rule.id] = tuple((leaf.slot,) + frame.limits(leaf)[1:] for leaf in comp.slot_leaves)
    return outcome


def fields_of(rules) -> set:
    return {name for rule in rules for name in rule.needed_fields()}
