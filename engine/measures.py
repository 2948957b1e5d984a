"""Measures derived from assessment results (缓批限批, 暂停环评审批, 暂停审批或核准): when each holds and when it lapses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.states import COMPLIANT, NOT_APPLICABLE, VIOLATION

PERIOD_FIELD = "year"  # the assessment year of a record, where its kind has one
LIFT_FIELD = "measures_lifted_on"  # a date in the record from which the measures it derived no longer hold


@dataclass(frozen=True)
class Measure:
    """A derived fact: a region (or unit) under a consequence, and the assessment record it derives from.

    It holds from that assessment until a later assessment of the same subject by the same rule shows the target
    met, or until the record's lift date; the as-of date decides.
    """

    measure: str
    key: str
    rule_id: str
    record_key: tuple  # (file, row) of the record that derived it
    period: int | None = None  # the assessment year it derives from


@dataclass(frozen=True)
class Lapsed:
    """A measure that a run found but that no longer holds on the as-of date, and why."""

    measure: Measure
    reason: str


def _year(record) -> int | None:
    value = record.values.get(PERIOD_FIELD)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _lapse_reason(rule, index, record, rows, states, as_of: dt.date, peers: tuple = ()) -> str:
    """Why a violation's measure no longer holds on `as_of` ('' when it still holds).

    `peers`: ids of the rules deriving the same measure for the same kind (e.g. the annual PREF-012 and the five-year
    PREF-002): a later assessment by any of them that is met ends it."""
    lifted = record.values.get(LIFT_FIELD)
    if isinstance(lifted, dt.date) and lifted <= as_of:
        return f"措施已于{lifted.year}年{lifted.month}月{lifted.day}日解除"
    year, key = _year(record), str(record.values.get(rule.derive_by))
    if year is None:
        return ""
    for other_index, other in rows:
        other_year = _year(other)
        if other_index == index or other_year is None or str(other.values.get(rule.derive_by)) != key:
            continue
        if year < other_year <= as_of.year and any(states.get((rid, other_index)) == COMPLIANT
                                                   for rid in (rule.id, *peers)):
            return f"{other_year}年度考核已完成目标"
    return ""


def derive(rules, by_kind: dict, states: dict, as_of: dt.date, carried=()) -> tuple[list, list, dict]:
    """Measures in force on `as_of`, those that lapsed, and per measure the keys shown free of it.

    A key is free of a measure when every rule deriving it has decided its latest assessment of that key,
    no deriving violation still holds, and no later assessment of it is undecided.
    """
    active, lapsed = list(carried), []
    free: dict = {}
    not_free: dict = {}
    for rule in rules:
        if not rule.derives:
            continue
        peers = tuple(r.id for r in rules if r.id != rule.id and r.kind == rule.kind and set(r.derives) & set(rule.derives))
        rows = by_kind.get(rule.kind, [])
        latest: dict = {}  # key -> (year, decided?) of its most recent applicable assessment
        held: set = set()
        for index, record in rows:
            state = states.get((rule.id, index))
            key = record.values.get(rule.derive_by)
            if key is None or state in (None, NOT_APPLICABLE):
                continue
            key, year = str(key), _year(record)
            rank = year if year is not None else 10 ** 6
            seen = latest.get(key)
            decided = state in (COMPLIANT, VIOLATION)
            if seen is None or rank > seen[0] or (rank == seen[0] and not decided):
                latest[key] = (rank, decided)
            if state != VIOLATION:
                continue
            reason = _lapse_reason(rule, index, record, rows, states, as_of, peers)
            for name in rule.derives:
                measure = Measure(name, key, rule.id, (record.source.file, record.source.row), year)
                if reason:
                    lapsed.append(Lapsed(measure, reason))
                else:
                    active.append(measure)
                    held.add(key)
        decided_free = {key for key, (_, decided) in latest.items() if decided and key not in held}
        for name in rule.derives:  # a rule that did not assess a key says nothing about it
            free[name] = free.get(name, set()) | decided_free
            not_free[name] = not_free.get(name, set()) | (set(latest) - decided_free)
    for name in free:
        free[name] -= not_free.get(name, set()) | {m.key for m in active if m.measure == name}
    return active, lapsed, free
