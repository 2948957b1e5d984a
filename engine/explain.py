"""Turn engine states into Results and Findings with their evidence: observed values, limits, gaps, what is missing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import orjson

from engine import conditions as C
from engine import operators as O
from engine.evaluate import COMPLIANT, INDETERMINATE, VIOLATION, Outcome
from engine.findingjson import CLOSE, Layout, check_list, field_maps, nested, source_text, subject_head
from engine.findings import Check, Citation, Finding, Result, Source, Subject, breached_limit
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




class _Values:
    """The values a finding is explained from (the fields its rule reads), standing in for the Record."""

    __slots__ = ("values", "problems", "checks")

    def __init__(self, values: dict, problems: dict | None = None):
        self.values, self.problems = values, problems or {}


def _value_key(value):
    """A value as a cache key: 1, 1.0 and True apart, and 0.0 and -0.0 (they are shown differently)."""
    return None if value is None else (type(value), repr(value) if isinstance(value, float) else value)


class _CheckParts:
    """One Check and what a finding takes from it: its plain dict, its part of the summary, of Finding.observed and
    of Finding.limit (so that a finding is put together from its checks' parts, each made once)."""

    __slots__ = ("check", "plain", "summary", "field", "observed", "limit", "json", "observed_json", "limit_json")

    def __init__(self, check: Check):
        from engine.findings import plain
        self.check, self.plain, self.summary = check, plain(check), _summary([check])
        self.field, self.observed = check.field, check.observed
        self.limit = breached_limit(check) if check.breached else None
        self.json = orjson.dumps(self.plain, option=orjson.OPT_INDENT_2, default=str).replace(b"\n", b"\n    ")
        key = orjson.dumps(self.field) + b": "  # its entries of Finding.observed and Finding.limit, as JSON text
        self.observed_json = key + nested(self.observed).replace(b"\n", b"\n  ")
        self.limit_json = None if self.limit is None else key + orjson.dumps(self.limit)


class BatchExplainer:
    """What build_batch keeps between the batches of one run: the checks of each distinct value a rule's condition
    reads, and the missing-value texts of each distinct combination of absent fields (owned by the run, no global
    state)."""

    LIMIT = 20_000  # entries of each cache: past it, a cache is emptied (memory follows the findings' variety)

    def __init__(self, documents):
        self.documents = documents
        self.checks: dict = {}
        self.missing: dict = {}
        self.templates: dict = {}
        self.layouts: dict = {}

    def trim(self) -> None:
        for cache in (self.checks, self.missing):
            if len(cache) > self.LIMIT:
                cache.clear()

    def template(self, rule, status: str) -> dict:
        """A finding of `rule` and `status` as a dict in Finding's field order, its per-record fields still empty."""
        found = self.templates.get((rule.id, status))
        if found is None:
            from engine.findings import FINDING_FIELDS, plain
            found = dict.fromkeys(FINDING_FIELDS + ("observed", "limit"))  # (plain dicts: orjson writes them faster
            found.update(rule_id=rule.id, title=rule.title, status=status, severity=rule.severity,  # than dataclasses)
                         citation=plain(_citation(rule, self.documents)),
                         required_actions=plain(rule.required_actions) if status in (VIOLATION, GAP) else (),
                         consequences=plain(rule.consequences) if status == VIOLATION else (), acting=rule.acting,
                         letter=rule.letter if status != GAP else "none", interpretation=rule.interpretation,
                         derived_from=(), measures=(), lapsed=(), force=rule.force, binds=rule.binds,
                         same_duty=rule.same_duty)
            self.templates[(rule.id, status)] = found
        return found

    def layout(self, rule, status: str) -> Layout:
        """The pre-written JSON pieces of the findings of `rule` and `status`."""
        found = self.layouts.get((rule.id, status))
        if found is None:
            found = self.layouts[(rule.id, status)] = Layout(self.template(rule, status))
        return found


@dataclass
class BatchFindings:
    """The findings of a batch as the JSON text of each (findings.finding_json_bytes), their statuses, and for the
    first finding of each rule and status the Finding itself (the FindingStore checks the text against it)."""

    texts: list
    statuses: list
    first_row: int
    samples: list  # (index into texts, Finding)

    def __len__(self) -> int:
        return len(self.texts)


_ABSENT = object()


PART = 2_000  # findings a BatchFindings holds at most: the text of a part is compressed before the next is made


def build_batch(outcome, rules, batch, schema, regions, explainer: BatchExplainer) -> Iterator[BatchFindings]:
    """The findings of the violation and indeterminate rows of a batch the column executor evaluated (a
    columnar.BatchOutcome), exactly as `build` gives them for the same records, in (row, rule) order — built from the
    batch's columns for those rows only, as the JSON text the output writes, in parts of at most PART findings.

    A record's identity is made by records.identity; each check (and missing-value text) once per distinct value
    (and limit) in the run."""

    from engine.columnar import STATES
    from engine.findings import Finding
    from engine.records import identity, identity_fields

    explainer.trim()
    codes, limits, slotted = outcome.codes, outcome.limits, outcome.slotted
    by_id = {rule.id: rule for rule in rules}
    violation, indeterminate = STATES.index(VIOLATION), STATES.index(INDETERMINATE)
    rule_ids = sorted(codes)
    found = [(np.flatnonzero((codes[rule_id] == violation) | (codes[rule_id] == indeterminate)), n)
             for n, rule_id in enumerate(rule_ids)]
    found = [(rows, n) for rows, n in found if len(rows)]
    if not found:
        return
    positions = np.concatenate([rows for rows, _ in found])
    ranks = np.concatenate([np.full(len(rows), n) for rows, n in found])
    violated = np.concatenate([codes[rule_ids[n]][rows] == violation for rows, n in found])
    order = np.lexsort((ranks, positions))  # by row, then rule id (as `build` sorts them)
    positions, ranks, violated = positions[order], ranks[order], violated[order]
    unique_rows, row_index = np.unique(positions, return_inverse=True)

    needed = {rule_id: by_id[rule_id].needed_fields() for rule_id in rule_ids}
    leaves = {rule_id: tuple(C.walk(slotted[rule_id])) if slotted.get(rule_id) is not None else ()
              for rule_id in rule_ids}
    slot_of = {rule_id: {slot: n for n, (slot, _, _) in enumerate(limits.get(rule_id, ()))} for rule_id in rule_ids}
    wanted = identity_fields(schema) | {"manufacturer", "year"} | {n for names in needed.values() for n in names}
    names = [name for name in sorted(wanted) if name in batch.columns]
    row_codes = {name: batch.columns[name].codes[unique_rows].tolist() for name in names}
    values_of = []  # per distinct row: its values of the wanted fields
    for cells in zip(*[[batch.columns[name].uniques[c] if c >= 0 else _ABSENT for c in row_codes[name]]
                       for name in names]) if names else [() for _ in unique_rows]:
        values_of.append({name: value for name, value in zip(names, cells) if value is not _ABSENT})
    identities = [identity(schema, values, regions) for values in values_of]
    file_rows = batch.rows[unique_rows].tolist()
    slot_index = {}  # (rule_id, slot) -> row -> index into its computed limits (None: one limit for all rows)
    for rule_id, rule_limits in limits.items():
        for slot, _, inverse in rule_limits:
            slot_index[(rule_id, slot)] = None if inverse is None else inverse[unique_rows].tolist()
    problems, file = batch.problems, batch.file
    dumps = orjson.dumps
    file_json, kind_json = dumps(file), dumps(schema.kind)
    years: dict = {}  # a year's JSON text
    unique = {rule_id: len({leaf.field for leaf in leaves[rule_id]}) == len(leaves[rule_id]) for rule_id in rule_ids}
    local: dict = {}  # (rule_id, leaf, code, limit index) -> _CheckParts, for this batch

    texts, statuses, samples, sampled, part_row = [], [], [], set(), None
    current = -1
    for at, rank, was_violated in zip(row_index.tolist(), ranks.tolist(), violated.tolist()):
        if len(texts) == PART:
            yield BatchFindings(texts, statuses, part_row, samples)
            texts, statuses, samples, sampled = [], [], [], set()
        if not texts:
            part_row = file_rows[at]
        rule_id = rule_ids[rank]
        rule = by_id[rule_id]
        values = values_of[at]
        shown_id, name, region, _, recipient = identities[at]
        if at != current:
            current, subjects = at, {}
            source = {"file": file, "row": file_rows[at]}  # (Source's fields)
            source_json = source_text(file_json, file_rows[at])
            identity_json = subject_head(kind_json, dumps(shown_id), dumps(name), dumps(region))
        subject = subjects.get(rule.binds)
        if subject is None:
            recipient_of = str(values.get("manufacturer") or "") if rule.binds == "manufacturer" else recipient
            subject = {"kind": schema.kind, "id": shown_id, "name": name, "region": region,
                       "recipient": recipient_of}  # (Subject's fields, in order)
            subject = subjects[rule.binds] = (subject, identity_json + dumps(recipient_of) + CLOSE)
        status = (VIOLATION if rule.is_binding else GAP) if was_violated else INDETERMINATE
        position = int(unique_rows[at])
        parts = []
        for n, leaf in enumerate(leaves[rule_id]):
            code = row_codes[leaf.field][at] if leaf.field in row_codes else -1
            limit_at = None
            if isinstance(leaf, C.SlotCompare):
                table = slot_index[(rule_id, leaf.slot)]
                limit_at = 0 if table is None else table[at]
            part = local.get((rule_id, n, code, limit_at))
            if part is None:  # once per distinct value (and limit) in the batch, and in the run
                observed = values.get(leaf.field)
                row_slots = {}
                if limit_at is not None:
                    limit = outcome.limit(rule_id, slot_of[rule_id][leaf.slot], position)
                    if limit is not None:
                        row_slots[leaf.slot] = limit
                key = (rule_id, n, _value_key(observed), _value_key(row_slots.get(leaf.slot)) if row_slots else None)
                part = explainer.checks.get(key)
                if part is None:
                    known = {leaf.field: observed} if observed is not None else {}
                    part = explainer.checks[key] = _CheckParts(
                        _check(leaf, schema.fields[leaf.field], observed, row_slots, {**known, **row_slots}))
                local[(rule_id, n, code, limit_at)] = part
            parts.append(part)
        missing = ()
        if status == INDETERMINATE:
            row_problems = tuple(problems[n].get(position) if n in problems else None for n in needed[rule_id])
            missing_key = (rule_id, tuple(n in values for n in needed[rule_id]), row_problems)
            found_missing = explainer.missing.get(missing_key)
            if found_missing is None:
                record = _Values({n: values[n] for n in needed[rule_id] if n in values},
                                 {n: p for n, p in zip(needed[rule_id], row_problems) if p is not None})
                missing = tuple(_missing(rule, record, schema))
                found_missing = explainer.missing[missing_key] = (
                    missing, nested(missing) if missing else b"[]", orjson.dumps(indeterminate_message(missing)))
            missing, missing_json, message_json = found_missing
            message = None
        else:
            message = rule.message.format(name=name, id=shown_id, region=region,
                                          checks="；".join([part.summary for part in parts if part.summary]))
            missing_json, message_json = b"[]", dumps(message)
        year = values.get("year")
        year_json = years.get(year)
        if year_json is None:
            year_json = years[year] = nested(year)
        texts.append(explainer.layout(rule, status).text((
            subject[1], source_json, message_json, check_list([part.json for part in parts]),
            missing_json, year_json, *field_maps(parts, unique[rule_id]))))
        statuses.append(status)
        if (rule_id, status) not in sampled:  # the Finding itself, for the store to check the text against
            sampled.add((rule_id, status))
            template = explainer.template(rule, status)
            samples.append((len(texts) - 1, Finding(
                rule_id=rule.id, title=rule.title, status=status, severity=rule.severity, subject=Subject(**subject[0]),
                source=Source(**source), citation=_citation(rule, explainer.documents),
                message=indeterminate_message(missing) if message is None else message,
                checks=tuple(part.check for part in parts), missing=missing, required_actions=rule.required_actions if template["required_actions"]
                else (), consequences=rule.consequences if template["consequences"] else (), acting=rule.acting,
                letter=template["letter"], interpretation=rule.interpretation, force=rule.force, binds=rule.binds,
                period=values.get("year"), same_duty=rule.same_duty)))
    yield BatchFindings(texts, statuses, part_row, samples)


__all__ = ["build", "build_batch", "BatchExplainer", "BatchFindings", "display", "evidence", "COMPLIANT"]
