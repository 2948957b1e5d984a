"""Result and Finding records of an evaluation run, and the table / JSON / CSV writers for them."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Sequence

import orjson

from engine.lang import current, tr
from engine.operators import SYMBOLS
from engine.safe_text import for_document, for_terminal
from engine.states import STATUSES

STATUS_ZH = {"violation": "违反", "gap": "未达目标（差距）", "indeterminate": "无法判定", "compliant": "符合",
             "not_applicable": "不适用"}
FORCE_ZH = {"binding": "约束性", "target": "目标类", "aspirational": "倡导类"}
SCOPE_ZH = {"row": "整行未评估", "value": "该值未采用，其余字段已评估"}  # a rejection's scope, as a person reads it


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
        return {c.field: f"{SYMBOLS.get(c.op, c.op)} {c.limit}{c.unit}" for c in self.checks if c.breached}

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
    duplicates: list = field(default_factory=list)
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
            "manifest": self.manifest,
            "summary": self.summary(),
            "findings": [f.to_dict() for f in self.findings],
            "rejected": [asdict(r) for r in self.rejected],
            "duplicates": self.duplicates,
        }
        if self.results is not None:
            data["results"] = [asdict(r) for r in self.results]
        return data


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


def _dump(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode("utf-8")


def _finding_json(finding: Finding) -> str:
    """Finding.to_dict() as JSON text; orjson writes the nested dataclasses itself (the same keys, in order)."""
    return finding_json_bytes(finding).decode("utf-8")


def finding_json_bytes(finding: Finding) -> bytes:
    """_finding_json as UTF-8 bytes."""
    names = _FIELDS.get(type(finding))
    if names is None:
        names = _FIELDS[type(finding)] = tuple(f.name for f in fields(finding))
    data = {name: getattr(finding, name) for name in names}
    data["observed"] = finding.observed
    data["limit"] = finding.limit
    return orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str)


def write_json(report: Report, out) -> None:
    """The JSON document, written finding by finding (a large run never holds its whole text in memory)."""
    out.write('{\n"manifest": ' + _dump(report.manifest) + ',\n"summary": ' + _dump(report.summary()) +
              ',\n"findings": [')
    blocks = getattr(report.findings, "json_blocks", None)
    if blocks is not None:  # a FindingStore: its JSON a segment at a time, as bytes where the output takes them
        raw = getattr(out, "buffer", None) if str(getattr(out, "encoding", "")).lower().replace("-", "") == "utf8" \
            else None
        if raw is not None:
            out.flush()
        for n, block in enumerate(blocks()):
            block = (b",\n" if n else b"\n") + block
            if raw is not None:
                raw.write(block)
            else:
                out.write(block.decode("utf-8"))
        if raw is not None:
            raw.flush()
    else:
        pending = []
        for n, finding in enumerate(report.findings):
            pending.append(("," if n else "") + "\n" + _finding_json(finding))
            if len(pending) >= 1000:
                out.write("".join(pending))
                pending.clear()
        out.write("".join(pending))
    out.write('\n],\n"rejected": ' + _dump([asdict(r) for r in report.rejected]) +
              ',\n"duplicates": ' + _dump(report.duplicates))
    if report.results is not None:
        out.write(',\n"results": ' + _dump([asdict(r) for r in report.results]))
    if report.lifecycle is not None:
        out.write(',\n"lifecycle": ' + _dump(report.lifecycle))
    out.write("\n}\n")


def _text_of(writer, report: Report) -> str:
    buffer = io.StringIO()
    writer(report, buffer)
    return buffer.getvalue()


def to_json(report: Report) -> str:
    return _text_of(write_json, report)


CSV_COLUMNS = (
    "rule_id", "status", "severity", "subject_kind", "subject_id", "subject_name", "region",
    "file", "row", "observed", "limit", "document", "article", "message", "required_actions", "consequences",
)


def safe_cell(value: Any) -> str:
    """Text for a CSV cell that a spreadsheet will not read as a formula, with line breaks as spaces and the other
    control, bidi and invisible characters shown as escapes (engine.safe_text.for_document)."""
    raw = "" if value is None else str(value)
    return guard_formula(for_document(raw), raw)


def guard_formula(text: str, raw: str = "") -> str:
    """`text` with a leading ' when it (or the `raw` value it was made from) starts like a formula: = + - @, a tab
    or CR, or spaces before one of them."""
    if (raw and raw[0] in "=+-@\t\r") or text.lstrip(" ")[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _finding_row(f: Finding) -> list[str]:
    return [
        f.rule_id, f.status, f.severity, f.subject.kind, f.subject.id, f.subject.name, f.subject.region,
        f.source.file, str(f.source.row),
        "; ".join(f"{k}={v}" for k, v in f.observed.items()),
        "; ".join(f"{k} {v}" for k, v in f.limit.items()),
        f.citation.document_title, f.citation.article, f.message,
        "；".join(a.text for a in f.required_actions), "；".join(c.text for c in f.consequences),
    ]


def write_csv(report: Report, out) -> None:
    """Findings as CSV with a BOM so that Excel opens the Chinese text correctly, row by row."""
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for finding in report.findings:
        writer.writerow([safe_cell(v) for v in _finding_row(finding)])


def to_csv(report: Report) -> str:
    return _text_of(write_csv, report)


SUMMARY_ZH = {**STATUS_ZH, "gap": "差距", "rejected_rows": "拒收行", "rejected_values": "拒收值",
              "duplicate_ids": "重复编号"}


def write_table(report: Report, out) -> None:
    """A plain-text report for the terminal: findings (three lines each), then the accounting per file. Every
    text from the records or the rules is shown with its control and bidi characters escaped (for_terminal)."""
    t = for_terminal
    chinese = current() != "en"
    any_finding = False
    states = _state_marks(report.lifecycle, chinese)
    for n, f in enumerate(report.findings):
        any_finding = True
        if chinese:
            mark = {"violation": "违反", "gap": "差距"}.get(f.status, "无法判定") + (states[n] if states else "")
            kind = report.kind_titles.get(f.subject.kind, f.subject.kind)
            out.write(f"[{mark}] {t(f.rule_id)} {t(kind)}：{t(f.subject.id)} {t(f.subject.name)}"
                      f"（{t(f.source.file)} 第{f.source.row}行）\n")
        else:
            mark = {"violation": "violation", "gap": "gap"}.get(f.status, "indeterminate") + (states[n] if states else "")
            out.write(f"[{mark}] {t(f.rule_id)} {t(f.subject.kind)}:{t(f.subject.id)} {t(f.subject.name)} "
                      f"({t(f.source.file)} row {f.source.row})\n")
        out.write(f"    {t(f.message)}\n")
        out.write(tr(f"    依据 {t(f.citation.document_title)} {t(f.citation.article)}\n",
                     f"    basis: {t(f.citation.document_title)} {t(f.citation.article)}\n"))
    if not any_finding and not any(e["evaluated"] for e in report.manifest.get("inputs", [])):
        out.write(tr("没有可评估的记录。\n", "No record could be evaluated.\n"))
    elif not any_finding:
        out.write(tr("没有违反、差距或无法判定的事项。\n", "No violations, gaps or indeterminate results.\n"))
    out.write("\n" + format_accounting(report.manifest, report.duplicates, report.kind_titles) + "\n")
    summary = report.summary().items()
    out.write(tr("结果：" + "，".join(f"{SUMMARY_ZH.get(k, k)} {v}" for k, v in summary),
                 "results: " + ", ".join(f"{k} {v}" for k, v in summary)) + "\n")


LIFECYCLE_ZH = {"new": "新发现", "persisting": "持续", "reopened": "复发", "fixed": "已整改"}


def _state_marks(lifecycle: dict | None, chinese: bool) -> list:
    """Per finding, its state across runs (and a waiver) as the terminal shows it after the status: ·持续 …"""
    if not lifecycle:
        return []
    marks = []
    for entry in lifecycle["findings"]:
        state = LIFECYCLE_ZH[entry["state"]] if chinese else entry["state"]
        waived = tr("·已豁免", ", waived") if entry.get("waiver") else ""
        marks.append(("·" if chinese else ", ") + state + waived)
    return marks


def to_table(report: Report) -> str:
    return _text_of(write_table, report)


def format_accounting(manifest: dict, duplicates: list = (), kind_titles: dict | None = None) -> str:
    """Per input table: rows read = evaluated + rejected, the columns not used, and what the reader did (for the
    terminal: file names, headers, notes and ids with their control and bidi characters escaped). `kind_titles`:
    record kind -> its Chinese name, shown in Chinese."""
    t = for_terminal
    english = current() == "en"
    titles = {} if english else kind_titles or {}
    lines = [tr("文件：", "files:")]
    for entry in manifest.get("inputs", []):
        kind, rows = t(titles.get(entry["kind"], entry["kind"])), (entry["rows"], entry["evaluated"], entry["rejected"])
        lines.append(f"  {t(entry['path'])} [{kind}]" + tr("：读取 {} = 评估 {} + 拒收 {}",
                                                           ": read {} = evaluated {} + rejected {}").format(*rows))
        if entry.get("unknown_columns"):
            lines.append(tr("    未使用的列：", "    columns not used: ")
                         + tr("、", ", ").join(t(c) for c in entry["unknown_columns"]))
        for note in entry.get("notes", []):
            lines.append(tr("    注：", "    note: ") + t(note))
    for failed in manifest.get("failed_inputs", []):
        lines.append(f"  {t(failed['path'])}" + tr("：无法读取", ": could not be read"))
    for dup in duplicates:
        first, again = (t(dup["first"][0]), dup["first"][1]), (t(dup["again"][0]), dup["again"][1])
        lines.append(f"  {tr('重复编号', 'duplicate id')} {t(titles.get(dup['kind'], dup['kind']))} {t(dup['id'])}"
                     + tr("：{} 第{}行 与 {} 第{}行（均已评估）", ": {} row {} and {} row {} (both evaluated)")
                     .format(*first, *again))
    return "\n".join(lines)


REJECT_COLUMNS = ("file", "row", "column", "value", "reason", "scope")
REJECT_COLUMNS_ZH = ("文件", "行号", "列", "值", "原因", "范围")


def rejects_csv(rejected: list) -> str:
    """Rejected rows and values as CSV for Excel: BOM, CRLF, and no cell that Excel would run as a formula. Headers
    and scope in the current language (the scope's key, row or value, in English)."""
    chinese = current() != "en"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REJECT_COLUMNS_ZH if chinese else REJECT_COLUMNS)
    for r in rejected:
        scope = SCOPE_ZH.get(r.scope, r.scope) if chinese else r.scope
        writer.writerow([safe_cell(v) for v in (r.file, r.row, r.column, r.value, r.reason, scope)])
    return "\ufeff" + buffer.getvalue()
