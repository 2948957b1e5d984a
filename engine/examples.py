"""Run every rule's own examples through the real engine and say which ones do not give the expected state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from engine import external_limits
from engine.findings import Source
from engine.headers import Column, HeaderPlan, map_headers
from engine.lang import tr
from engine.records import TableReport, rows_to_records
from engine.rules import Example, Rule, RuleSet
from engine.runner import evaluate_records, regions_of


@dataclass(frozen=True)
class ExampleOutcome:
    rule_id: str
    name: str
    expected: str
    got: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.expected == self.got


def example_records(ruleset: RuleSet, kind: str, mapping: dict, label: str, row: int, regions) -> list:
    """An example's field: value mapping read exactly as an input row would be."""
    return mapping_records(ruleset, kind, [mapping], label, row, regions)


def mapping_records(ruleset: RuleSet, kind: str, mappings: list, label: str, first_row: int, regions) -> list:
    """field: value mappings read exactly as the rows of one input table would be (a field a mapping leaves out is a
    blank cell); the n-th mapping's records are numbered first_row + n."""
    schema = ruleset.schemas[kind]
    names = list(dict.fromkeys(name for mapping in mappings for name in mapping))
    frame = pd.DataFrame([names] + [[mapping.get(name) for name in names] for mapping in mappings], dtype=object)
    fields, unknown, _ = map_headers(names, schema)
    if unknown:
        raise ValueError(tr(f"{kind} 没有这些字段：{unknown}", f"unknown field(s) {unknown} for {kind}"))
    plan = HeaderPlan(schema, 1, [Column(p, name, name) for p, name in fields.items()], [], [])
    report = TableReport(label, kind, "")
    records, rejected = rows_to_records(frame, plan, regions, label, report, {})
    bad = [r for r in rejected if r.scope == "row"]
    if bad:
        raise ValueError(bad[0].reason)
    for record in records:  # (rows_to_records numbers the header 1, the first mapping 2)
        record.source = Source(file=label, row=first_row + record.source.row - 2)
    return records


def _as_of(rule: Rule, example: Example) -> dt.date:
    return example.as_of or rule.in_force_until or dt.date.today()


def run_example(ruleset: RuleSet, rule: Rule, example: Example, engine: str = "column") -> ExampleOutcome:
    regions = regions_of(ruleset)
    label = f"{rule.path}#{example.name}"
    try:
        records = example_records(ruleset, rule.kind, example.record, label, 1, regions)
        for n, (kind, mapping) in enumerate(example.context, start=2):
            records += example_records(ruleset, kind, mapping, label, n, regions)
    except ValueError as exc:
        return ExampleOutcome(rule.id, example.name, example.expect, "error", str(exc))
    if example.confirmed:  # the external limits confirmed (at their reference values, or at the values given)
        ruleset = external_limits.confirm_all(ruleset) if example.confirmed is True \
            else external_limits.apply(ruleset, dict(example.confirmed))
        rule = ruleset.by_id(rule.id)
    rules = [rule]
    if rule.joins:
        rules += [r for r in ruleset.rules if rule.joins["measure"] in r.derives]
    results, findings = evaluate_records(ruleset, records, _as_of(rule, example), rules, engine)
    got = next((r.status for r in results if r.rule_id == rule.id and r.source.row == 1), "not evaluated")
    detail = next((f.message for f in findings if f.rule_id == rule.id and f.source.row == 1), "")
    return ExampleOutcome(rule.id, example.name, example.expect, got, detail)


def run_all(ruleset: RuleSet, rule_ids=None, engine: str = "column") -> list[ExampleOutcome]:
    outcomes = []
    for rule in ruleset.rules:
        if rule_ids and rule.id not in rule_ids:
            continue
        outcomes.extend(run_example(ruleset, rule, example, engine) for example in rule.examples)
    return outcomes
