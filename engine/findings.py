"""The records of an evaluation run: Finding (and its subject, source, citation and checks), Result, Rejection and
Report, with their plain and JSON forms."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Sequence

import orjson

from engine.operators import SYMBOLS
from engine.states import STATUSES

STATUS_ZH = {"violation": "违反", "gap": "未达目标（差距）", "indeterminate": "无法判定", "compliant": "符合",
             "not_applicable": "不适用"}
FORCE_ZH = {"binding": "约束性", "target": "目标类", "aspirational": "倡导类"}
SCOPE_ZH = {"row": "整行未评估", "value": "该值未采用，其余字段已评估"}  # a rejection's scope, as a person reads it
LIFECYCLE_ZH = {"new": "新发现", "persisting": "持续", "reopened": "复发", "fixed": "已整改"}  # across runs (engine.store)


@dataclass(frozen=True, slots=True)
class Subject:
    """The record a result is about."""

    kind: str
    id: str
    name: str = ""
    region: str = ""
    recipient: str = ""


@dataclass(frozen=True, slots=True)
class Source:
    """Where the record came from: file and spreadsheet row (header = row 1)."""

    file: str
    row: int


@dataclass(frozen=True, slots=True)
class Citation:
    """The provision a rule rests on."""

    document: str
    document_title: str
    article: str
    quote: str


@dataclass(frozen=True, slots=True)
class Check:
    """One comparison of a rule's condition: observed value against its limit."""

    field: str
    label: str
    op: str
    observed: Any
    limit: Any
    unit: str = ""
    gap: float | None = None
    breached: bool | None = None


def breached_limit(check: Check) -> str:
    """How a breached check shows its limit in Finding.limit, e.g. '< 80%'."""
    return f"{SYMBOLS.get(check.op, check.op)} {check.limit}{check.unit}"


@dataclass(frozen=True, slots=True)
class Finding:
    """One (rule, record) result that needs attention: a violation or an indeterminate."""

    rule_id: str
    title: str
    status: str
    severity: str
    subject: Subject
    source: Source
    citation: Citation
    message: str
    checks: tuple = ()
    missing: tuple = ()
    required_actions: tuple = ()  # Quoted: text with the article and words it rests on
    consequences: tuple = ()  # Quoted
    acting: tuple = ()  # authorities that act on the provision, as the article names them
    letter: str = ""
    interpretation: str = ""
    derived_from: tuple = ()  # chains: (rule_id, file, row, period, measure) of each assessment behind the measure
    measures: tuple = ()  # measures this finding derives that are in force on the as-of date
    lapsed: tuple = ()  # measures it derived that have lapsed, with the reason
    force: str = "binding"
    binds: str = "unit"
    period: int | None = None  # the record's assessment year, where it has one
    same_duty: tuple = ()  # rules of the other document stating the same duty (one line in a letter)

    @property
    def observed(self) -> dict:
        """Field -> the value read, for every field the rule's condition compares."""
        return {c.field: c.observed for c in self.checks}

    @property
    def limit(self) -> dict:
        """Field -> the limit it breached, e.g. {'efficiency_pct': '< 80%'}."""
        return {c.field: breached_limit(c) for c in self.checks if c.breached}

    def to_dict(self) -> dict:
        data = plain(self)
        data["observed"] = self.observed
        data["limit"] = self.limit
        return data


FINDING_FIELDS = tuple(f.name for f in fields(Finding))


@dataclass(frozen=True, slots=True)
class Result:
    """The state of one rule on one record, whatever it is (for the full result table)."""

    rule_id: str
    status: str
    subject: Subject
    source: Source


@dataclass(frozen=True)
class Rejection:
    """An input row (or a value in it) that could not be evaluated, and why."""

    file: str
    row: int
    reason: str
    column: str = ""
    value: str = ""
    scope: str = "row"  # "row": the row was not evaluated; "value": the value was set aside, the row evaluated


@dataclass
class Report:
    """Everything one run produced: manifest, findings, counts of every state, rejections, duplicates."""

    manifest: dict
    findings: Sequence  # a list, or a FindingStore for a run that streamed its inputs
    counts: dict  # state -> number of (rule, record) results
    rejected: list[Rejection]
    duplicates: Sequence = field(default_factory=list)  # a list, or duplicates.RepeatedIds
    results: list | None = None  # every Result, only when asked for (a large run would not fit otherwise)
    kind_titles: dict = field(default_factory=dict)  # record kind -> its Chinese name, for the terminal
    lifecycle: dict | None = None  # the run store's view of the findings (engine.store.lifecycle.Lifecycle.to_dict)

    def summary(self) -> dict:
        summary = {status: self.counts.get(status, 0) for status in STATUSES}
        summary["rejected_rows"] = sum(1 for r in self.rejected if r.scope == "row")
        summary["rejected_values"] = sum(1 for r in self.rejected if r.scope == "value")
        summary["duplicate_ids"] = len(self.duplicates)
        return summary

    def to_dict(self) -> dict:
        data = {
            "findings": [f.to_dict() for f in self.findings],
            "rejected": [asdict(r) for r in self.rejected],
            "duplicates": list(self.duplicates),
        }
        if self.results is not None:
            data["results"] = [asdict(r) for r in self.results]
        return {**data, "manifest": self.manifest, "summary": self.summary()}  # (in the JSON output's order)


_FIELDS: dict = {}


def plain(value):
    """Dataclasses, tuples and dicts as plain dicts and lists (what dataclasses.asdict gives, without its deep
    copies: a finding is converted about ten times faster)."""
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    names = _FIELDS.get(kind)
    if names is None and is_dataclass(value):
        names = _FIELDS[kind] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def finding_json_bytes(finding: Finding) -> bytes:
    """Finding.to_dict() as UTF-8 JSON bytes; orjson writes the nested dataclasses itself (the same keys, in order)."""
    names = _FIELDS.get(type(finding))
    if names is None:
        names = _FIELDS[type(finding)] = tuple(f.name for f in fields(finding))
    data = {name: getattr(finding, name) for name in names}
    data["observed"] = finding.observed
    data["limit"] = finding.limit
    return orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str)
