"""The self-assessment report (自查报告) an enterprise writes for itself: met, not met, cannot tell, gaps, what to do."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from engine import conditions as C
from engine.letter_text import article_label, check_sentence, cn_date, document_citation, short_citation

OWN_DUTIES = ("unit", "manufacturer")  # provisions binding the unit itself (targets name the unit they measure)
UNIT_KINDS = ("boiler", "coal_sample", "fuel_sample", "vehicle", "key_energy_unit", "public_institution", "project",
              "power_unit", "enterprise_benchmark", "ghg_reporting_unit", "monitored_source")


@dataclass
class Item:
    """One provision as it applies to one of the unit's records."""

    rule_id: str
    title: str
    provision: str  # 《document》第…条“quote”
    record: str  # the record as the unit knows it (锅炉编号：GL-1)
    facts: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    source: str = ""
    checked: str = ""  # what was looked at: the labels of the fields the rule's condition reads


@dataclass
class UnitReport:
    """Everything the run says about one unit's own records, sorted into the report's sections."""

    unit: str
    as_of: dt.date
    records: int = 0
    met: list = field(default_factory=list)
    not_met: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    measures: list = field(default_factory=list)  # approval measures on the unit's projects (binding others)
    not_applicable: int = 0
    documents: list = field(default_factory=list)

    @property
    def applicable(self) -> int:
        return len(self.met) + len(self.not_met) + len(self.gaps) + len(self.unknown)


def _record_label(schemas: dict, kind: str, subject) -> str:
    schema = schemas[kind]
    title = schema.title.get("zh", kind) if isinstance(schema.title, dict) else str(schema.title)
    id_label = schema.fields[schema.id_field].label if schema.id_field in schema.fields else "编号"
    if kind == "project":
        return f"“{subject.name}”（{id_label}：{subject.id}）"
    return f"{title}（{id_label}：{subject.id}）"


def _checked(rule, schema) -> str:
    fields = sorted(C.condition_fields(rule.when)) if rule.when is not None else []
    return "、".join(schema.fields[name].label for name in fields if name in schema.fields)


def _unit_of(subject) -> str:
    return (subject.recipient or subject.name or subject.id).strip()


def build(results: list, findings: list, ruleset, as_of: dt.date, units=None) -> list[UnitReport]:
    """One report per unit (the records' recipient), from every (rule, record) result of a run kept with results."""
    rules = {r.id: r for r in ruleset.rules}
    found = {(f.rule_id, f.source.file, f.source.row): f for f in findings}
    reports: dict = {}
    seen_records: dict = defaultdict(set)
    for result in results:
        if result.subject.kind not in UNIT_KINDS:
            continue
        unit = _unit_of(result.subject)
        if units and unit not in units:
            continue
        report = reports.setdefault(unit, UnitReport(unit, as_of))
        seen_records[unit].add((result.source.file, result.source.row))
        if result.status == "not_applicable":
            report.not_applicable += 1
            continue
        rule = rules[result.rule_id]
        measure_on_project = rule.binds == "approval_authority" and result.status == "violation"
        if rule.binds not in OWN_DUTIES and not measure_on_project:
            continue  # a duty of others (governments, approval authorities): not the unit's to report
        document = ruleset.documents[rule.document]
        if document.key not in [d.key for d in report.documents]:
            report.documents.append(document)
        item = Item(rule.id, rule.title, f"{short_citation(document)}{article_label(rule.article)}“{rule.quote}”",
                    _record_label(ruleset.schemas, result.subject.kind, result.subject),
                    source=f"{Path(result.source.file).name} 第{result.source.row}行",
                    checked=_checked(rule, ruleset.schemas[result.subject.kind]))
        finding = found.get((result.rule_id, result.source.file, result.source.row))
        if finding is not None:
            item.facts = [check_sentence(c) for c in finding.checks if c.breached is True]
            if result.status == "gap":  # a target is not a requirement of the unit
                item.facts = [fact.replace("要求的", "目标值") for fact in item.facts]
            item.actions = [a.text for a in finding.required_actions]
            item.missing = list(finding.missing)
        if rule.binds == "approval_authority":
            report.measures.append(item)
            continue
        {"compliant": report.met, "violation": report.not_met, "gap": report.gaps,
         "indeterminate": report.unknown}[result.status].append(item)
    for unit, report in reports.items():
        report.records = len(seen_records[unit])
    return [reports[u] for u in sorted(reports)]


def context(report: UnitReport) -> dict:
    return {"r": report, "as_of": cn_date(report.as_of), "today": cn_date(dt.date.today()),
            "documents": [document_citation(d) for d in report.documents]}
