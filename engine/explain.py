"""Turn engine states into Results and Findings with their evidence: observed values, limits, gaps, what is missing."""

from __future__ import annotations

import datetime as dt

import numpy as np

from engine import conditions as C
from engine import operators as O
from engine.evaluate import COMPLIANT, INDETERMINATE, VIOLATION, Outcome
from engine.findings import GAP, Check, Citation, Finding, Result, Source, Subject

OP_WORDS = O.SYMBOLS


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
    checks = []
    values = _engine_values(record, slots)
    for leaf in C.walk(slotted_when):
        spec = schema.fields[leaf.field]
        observed = record.values.get(leaf.field)
        if isinstance(leaf, C.Presence):
            checks.append(Check(leaf.field, spec.label, "present" if leaf.present else "absent", display(observed, spec),
                                "", spec.unit, None, C.evaluate3(leaf, values)))
            continue
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
        checks.append(Check(leaf.field, spec.label, op, display(observed, spec), limit, spec.unit, gap,
                            C.evaluate3(leaf, values)))
    return checks


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
            parts.append(f"{check.label} {check.observed}{unit} {OP_WORDS.get(check.op, check.op)} "
                         f"{check.limit}{unit}{gap}")
    return "；".join(parts)


def _missing(rule, record, schema) -> list[str]:
    missing = []
    for name in rule.needed_fields():
        if name not in record.values:
            spec = schema.fields[name]
            why = record.problems.get(name)
            missing.append(f"{spec.label}" + (f"：{why}" if why else "：未填写"))
    return missing


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
            message = "无法判定：" + "；".join(missing or ["数据不足"])
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




class _Values:
    """The values a finding is explained from (the fields its rule reads), standing in for the Record."""

    __slots__ = ("values", "problems")

    def __init__(self, values: dict, problems: dict | None = None):
        self.values, self.problems = values, problems or {}


def build_batch(codes: dict, slots: dict, slotted: dict, rules, batch, schema, documents, regions) -> list:
    """Findings of the violation and indeterminate rows of a batch the column executor evaluated, exactly as `build`
    gives them for the same records, in (row, rule) order — built from the batch's columns for those rows only.

    `codes`: rule_id -> state code per row (columnar.STATES); a record's identity is made by records.identity, and
    the checks (and the missing-value texts) of each distinct combination of the values a rule reads once."""
    from engine.columnar import STATES
    from engine.records import identity, identity_fields

    by_id = {rule.id: rule for rule in rules}
    violation, indeterminate = STATES.index(VIOLATION), STATES.index(INDETERMINATE)
    pairs = []
    for rule_id, states in codes.items():
        for position in np.flatnonzero((states == violation) | (states == indeterminate)):
            pairs.append((int(position), rule_id, states[position] == violation))
    if not pairs:
        return []
    pairs.sort(key=lambda pair: (pair[0], pair[1]))
    needed = {rule_id: by_id[rule_id].needed_fields() for rule_id in codes}
    wanted = identity_fields(schema) | {"manufacturer", "year"} | {n for names in needed.values() for n in names}
    columns = {name: batch.columns[name] for name in wanted if name in batch.columns}
    problems = batch.problems
    rows, file = batch.rows, batch.file
    citations, explained, missing_texts = {}, {}, {}
    current, findings = None, []
    for position, rule_id, violated in pairs:
        rule = by_id[rule_id]
        if position != current:
            current, subjects = position, {}
            row_codes = {name: int(column.codes[position]) for name, column in columns.items()}
            values = {name: columns[name].uniques[code] for name, code in row_codes.items() if code >= 0}
            shown_id, name, region, _, recipient = identity(schema, values, regions)
            source = Source(file, int(rows[position]))
        subject = subjects.get(rule.binds)
        if subject is None:
            recipient_of = str(values.get("manufacturer") or "") if rule.binds == "manufacturer" else recipient
            subject = subjects[rule.binds] = Subject(kind=schema.kind, id=shown_id, name=name, region=region,
                                                    recipient=recipient_of)
        status = (VIOLATION if rule.is_binding else GAP) if violated else INDETERMINATE
        row_slots = slots.get((rule_id, position), {})
        key = (rule_id, tuple(row_codes[n] for n in needed[rule_id]), tuple(sorted(row_slots.items())))
        found = explained.get(key)
        if found is None:
            checks = _checks(rule, _Values({n: values[n] for n in needed[rule_id] if n in values}), schema,
                             row_slots, slotted[rule_id]) if slotted.get(rule_id) is not None else []
            found = explained[key] = (tuple(checks), _summary(checks))
        checks, summary = found
        missing = ()
        if status == INDETERMINATE:
            row_problems = tuple(problems.get(n, {}).get(position) for n in needed[rule_id])
            missing_key = (rule_id, tuple(n in values for n in needed[rule_id]), row_problems)
            missing = missing_texts.get(missing_key)
            if missing is None:
                record = _Values({n: values[n] for n in needed[rule_id] if n in values},
                                 {n: p for n, p in zip(needed[rule_id], row_problems) if p is not None})
                missing = missing_texts[missing_key] = tuple(_missing(rule, record, schema))
            message = "无法判定：" + "；".join(missing or ["数据不足"])
        else:
            message = rule.message.format(name=name, id=shown_id, region=region, checks=summary)
        citation = citations.get(rule_id) or citations.setdefault(rule_id, _citation(rule, documents))
        findings.append(Finding(
            rule_id=rule.id, title=rule.title, status=status, severity=rule.severity, subject=subject, source=source,
            citation=citation, message=message, checks=checks, missing=missing,
            required_actions=rule.required_actions if status in (VIOLATION, GAP) else (),
            consequences=rule.consequences if status == VIOLATION else (),
            acting=rule.acting, letter=rule.letter if status != GAP else "none", interpretation=rule.interpretation,
            force=rule.force, binds=rule.binds, period=values.get("year"), same_duty=rule.same_duty))
    return findings


__all__ = ["build", "build_batch", "display", "evidence", "COMPLIANT"]
