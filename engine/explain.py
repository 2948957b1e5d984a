"""Turn engine states into Results and Findings with their evidence: observed values, limits, gaps, what is missing."""

from __future__ import annotations

import datetime as dt

from engine import conditions as C
from engine import operators as O
from engine.evaluate import COMPLIANT, INDETERMINATE, VIOLATION, Outcome
from engine.findings import Check, Citation, Finding, Result, Subject
from engine.states import GAP


def indeterminate_message(missing) -> str:
    """The message of an indeterminate finding: what is missing, or that the data are not enough."""
    return "无法判定：" + "；".join(missing or ["数据不足"])


def display(value, spec=None) -> str:
    """A value as a person reads it in a letter or table (an enum value by its first Chinese spelling)."""
    if value is None:
        return "—"
    if spec is not None and spec.type == "enum" and spec.values.get(str(value)):
        return spec.values[str(value)][0]
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


def subject_of(record, binds: str = "unit") -> Subject:
    """The record a finding is about; its recipient is the party the rule binds (the maker for `manufacturer`)."""
    recipient = record.recipient
    if binds == "manufacturer":
        recipient = str(record.values.get("manufacturer") or "")
    return Subject(kind=record.kind, id=record.id, name=record.name, region=record.region, recipient=recipient)


def _engine_values(record, slots: dict) -> dict:
    return {**record.values, **slots}


def _checks(rule, record, schema, slots: dict, slotted_when) -> list[Check]:
    values = _engine_values(record, slots)
    return [_check(leaf, schema.fields[leaf.field], record.values.get(leaf.field), slots, values)
            for leaf in C.walk(slotted_when)]


def _check(leaf, spec, observed, slots: dict, values: dict) -> Check:
    """One leaf of a rule's condition on one record: `observed` its field's value, `values` the record's values and
    computed limits (evaluate3 reads the leaf's field and its slot)."""
    if isinstance(leaf, C.Presence):
        return Check(leaf.field, spec.label, "present" if leaf.present else "absent", display(observed, spec),
                     "", spec.unit, None, C.evaluate3(leaf, values))
    if isinstance(leaf, C.Member):
        limit = "、".join(display(v, spec) for v in leaf.values)
        op = "not_in" if leaf.negate else "in"
    else:
        raw_limit = slots.get(leaf.slot) if isinstance(leaf, C.SlotCompare) else leaf.operand.value
        if spec.type == "date" and isinstance(raw_limit, int):
            raw_limit = dt.date(raw_limit // 10000, raw_limit // 100 % 100, raw_limit % 100)
        limit, op = display(raw_limit, spec), leaf.op
    gap = None
    if isinstance(leaf, (C.Compare, C.SlotCompare)) and isinstance(observed, (int, float)) \
            and not isinstance(observed, bool):
        raw = slots.get(leaf.slot) if isinstance(leaf, C.SlotCompare) else leaf.operand.value
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            gap = C.rounded(C.to_number(observed) - C.to_number(raw))
    return Check(leaf.field, spec.label, op, display(observed, spec), limit, spec.unit, gap,
                 C.evaluate3(leaf, values))


def evidence(outcome: Outcome, rule, record, index: int, schema) -> list[Check]:
    """The checks of one (rule, record) whatever its state: observed values and limits of met targets too."""
    slotted = outcome.slotted.get(rule.id)
    return _checks(rule, record, schema, outcome.slots.get((rule.id, index), {}), slotted) if slotted else []


def _summary(checks: list[Check]) -> str:
    parts = []
    for check in checks:
        if check.breached and check.op in ("eq", "in", "present", "absent"):
            parts.append(f"{check.label}：{check.observed}")  # the value itself is the breach (是否在用：是)
        elif check.breached:
            unit = check.unit if check.unit not in ("", None) else ""
            gap = f"（差 {display(abs(check.gap))}{unit}）" if check.gap not in (None, 0) else ""
            parts.append(f"{check.label} {check.observed}{unit} {O.SYMBOLS.get(check.op, check.op)} "
                         f"{check.limit}{unit}{gap}")
    return "；".join(parts)


def _missing(rule, record, schema) -> list[str]:
    missing = []
    for name in rule.needed_fields():
        if name not in record.values:
            spec = schema.fields[name]
            why = record.problems.get(name)
            missing.append(f"{spec.label}" + (f"：{why}" if why else "：未填写"))
    return missing + list(getattr(rule, "pending", ()))  # and the external limits not confirmed


def _basis_text(basis: tuple) -> str:
    rule_id, file, row, period, _measure = basis
    year = f"{period}年度" if period is not None else ""
    return f"{rule_id}（{year}考核记录，{file} 第{row}行）"


def _citation(rule, documents) -> Citation:
    document = documents[rule.document]
    return Citation(document=rule.document, document_title=document.title, article=rule.article, quote=rule.quote)


def build(outcome: Outcome, rules, records: list, schemas: dict, documents: dict, measure_label=str):
    """Results for every (rule, record) and Findings for violations and indeterminates, in input order."""
    by_id = {rule.id: rule for rule in rules}
    results, findings = [], []
    subjects: dict = {}
    citations: dict = {}
    for (rule_id, index), status in sorted(outcome.states.items(), key=lambda item: (item[0][1], item[0][0])):
        rule, record = by_id[rule_id], records[index]
        subject = subjects.get((index, rule.binds)) or subjects.setdefault((index, rule.binds), subject_of(record, rule.binds))
        if status == VIOLATION and not rule.is_binding:
            status = GAP  # a target or aspirational provision: the record falls short of it, it does not break it
        results.append(Result(rule_id, status, subject, record.source))
        if status not in (VIOLATION, INDETERMINATE, GAP):
            continue
        schema = schemas[record.kind]
        slots = outcome.slots.get((rule_id, index), {})
        checks, missing, derived = [], [], ()
        if rule.joins:
            measures = [m for m in outcome.measures if m.measure == rule.joins["measure"]
                        and m.key == str(record.values.get(rule.joins["by"]))]
            derived = tuple(sorted({(m.rule_id, m.record_key[0], m.record_key[1], m.period, m.measure)
                                    for m in measures}, key=str))
            label = measure_label(rule.joins["measure"])
            by_spec = schema.fields[rule.joins["by"]]
            joined = record.region if by_spec.type == "region" else display(record.values.get(rule.joins["by"]))
            checks = [Check(rule.joins["by"], by_spec.label, "in", joined,
                            f"{label}{'地区' if by_spec.type == 'region' else '对象'}", "", None, status == VIOLATION)]
        elif outcome.slotted.get(rule_id) is not None:
            checks = _checks(rule, record, schema, slots, outcome.slotted[rule_id])
        if status == INDETERMINATE:
            missing = _missing(rule, record, schema)
            if not missing and rule.joins:
                missing = [f"{checks[0].observed if checks and checks[0].observed != '—' else '所涉对象'}的考核结果未提供或无法判定，不能确定是否处于"
                           f"“{measure_label(rule.joins['measure'])}”措施之下"]
            message = indeterminate_message(missing)
        else:  # a violation, or a gap to a target
            summary = _summary(checks) if not rule.joins else (
                f"{checks[0].label}{checks[0].observed}处于“{measure_label(rule.joins['measure'])}”措施之下"
                f"（依据 {'、'.join(_basis_text(b) for b in derived)}）")
            message = rule.message.format(name=record.name, id=record.id, region=record.region, checks=summary)
        findings.append(Finding(
            rule_id=rule.id, title=rule.title, status=status, severity=rule.severity, subject=subject,
            source=record.source, citation=citations.get(rule.id) or citations.setdefault(rule.id, _citation(rule, documents)),
            message=message, checks=tuple(checks), missing=tuple(missing),
            required_actions=rule.required_actions if status in (VIOLATION, GAP) else (),
            consequences=rule.consequences if status == VIOLATION else (),
            acting=rule.acting, letter=rule.letter if status != GAP else "none", interpretation=rule.interpretation,
            force=rule.force, binds=rule.binds, period=record.values.get("year"), same_duty=rule.same_duty,
            derived_from=tuple(derived),
            measures=tuple(m.measure for m in outcome.measures
                           if m.rule_id == rule.id and m.record_key == (record.source.file, record.source.row)),
            lapsed=tuple(f"{measure_label(x.measure.measure)}：{x.reason}" for x in getattr(outcome, "lapsed", ())
                         if x.measure.rule_id == rule.id
                         and x.measure.record_key == (record.source.file, record.source.row)),
        ))
    return results, findings


__all__ = ["build", "display", "evidence", "indeterminate_message", "subject_of", "COMPLIANT"]
