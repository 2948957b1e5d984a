"""The annual assessment table of prefecture-year records: each indicator's target, actual value, gap and result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine import evaluate, explain
from engine.letter_text import gap_text, with_unit
from engine.runner import regions_of
from engine.workbook import requirement

KIND = "prefecture_year"
# PREF-003 last: its pollutant checks are PREF-004's; what it adds is the environmental-quality indicator.
ASSESSMENT_RULES = ("PREF-001", "PREF-002", "PREF-004", "PREF-005", "PREF-003")
RESULT_ZH = {True: "未完成", False: "完成", None: "无法判定"}


@dataclass(frozen=True)
class AnnualRow:
    """One indicator of one prefecture in one assessment year, as published assessment results list it."""

    region: str
    year: int | None
    indicator: str
    target: str  # the requirement: 不低于20%, 不超过2899万吨标准煤, 应为是
    actual: str  # the value with its unit
    gap: str  # the shortfall when the target was missed (个百分点 for percentages)
    result: str  # 完成 / 未完成 / 无法判定
    rule_id: str
    field: str
    observed: float | None = None  # numbers, for the target-versus-actual chart
    limit: float | None = None


def _number(text) -> float | None:
    try:
        return float(str(text).replace(",", ""))
    except ValueError:
        return None


def region_order(ruleset) -> list:
    """Prefecture names in the order of the regions table (Annex 1), the province last."""
    return list(regions_of(ruleset).official.values())


def annual_rows(records, ruleset, as_of: dt.date) -> list[AnnualRow]:
    """Every indicator of the PREF rules on the prefecture-year records, met or missed.

    The run's findings carry values only for missed or undecided targets, so the records (held by the run for
    the consequence chains) are evaluated again by these five rules alone, and the checks of every state read."""
    records = [r for r in records if r.kind == KIND]
    by_id = {rule.id: rule for rule in ruleset.rules}
    rules = [by_id[i] for i in ASSESSMENT_RULES if i in by_id]
    if not records or not rules:
        return []
    outcome = evaluate.run(rules, records, ruleset.params, as_of, engine="durable")  # limits of every row
    schema = ruleset.schemas[KIND]
    order = {name: n for n, name in enumerate(region_order(ruleset))}
    rows, seen = [], set()
    for index, record in sorted(enumerate(records), key=lambda item: (
            str(item[1].values.get("year")), order.get(item[1].region, len(order)), item[0])):
        for rule in rules:
            if outcome.states.get((rule.id, index)) in (None, evaluate.NOT_APPLICABLE):
                continue
            for check in explain.evidence(outcome, rule, record, index, schema):
                if (index, check.field) in seen:
                    continue
                seen.add((index, check.field))
                unit = check.unit or ""
                actual = with_unit(check.observed, unit) if check.observed not in ("", None) else "—"
                rows.append(AnnualRow(
                    region=record.region, year=record.values.get("year"), indicator=check.label or check.field,
                    target=requirement(check), actual=actual,
                    gap=gap_text(check.gap, unit) if check.breached and check.gap not in (None, 0) else "",
                    result=RESULT_ZH.get(check.breached, "无法判定"), rule_id=rule.id, field=check.field,
                    observed=_number(check.observed), limit=_number(check.limit)))
    return rows
