"""The findings workbook (XLSX, Chinese headers): findings, rejected rows and values, and the counts, streamed."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from engine.findings import FORCE_ZH, SCOPE_ZH, STATUS_ZH, Finding, Report
from engine.states import FINDING_STATUSES, STATUSES
from engine.letter_text import article_label, bare_title, gap_text, with_unit
from engine.report_writers import guard_formula
from engine.safe_text import document_lines, for_document
from engine.xlsxwrite import HEADER, Book

# The requirement a check states, worded from the op of its violation condition (lt 80 → 不低于80%).
REQUIREMENT = {"lt": "不低于", "le": "高于", "gt": "不超过", "ge": "低于", "eq": "不为", "ne": "应为",
               "in": "不属于", "not_in": "应属于", "present": "不应有", "absent": "应填报"}

FINDING_COLUMNS = (("规则编号", 12), ("单位/对象", 28), ("所在地区", 14), ("规则标题", 40), ("条款", 46),
                   ("指标", 26), ("实测值（含单位）", 18), ("限值", 22), ("差距", 16), ("结果", 16), ("效力", 8),
                   ("来源文件", 36), ("行号", 7))
REJECT_COLUMNS = (("来源文件", 40), ("行号", 7), ("列", 24), ("值", 24), ("原因", 60), ("范围", 24))
SUMMARY_COLUMNS = (("分类", 10), ("名称", 40), *((STATUS_ZH[s], 12) for s in STATUSES),
                   ("读取行数", 10), ("评估行数", 10), ("拒收行数", 10))
SHEETS = ("发现事项", "拒收记录", "汇总")

_NEGATIVE_AMOUNT = re.compile(r"-\d[\d.,]*(?:\s?[%％‰A-Za-z/³²·\u4e00-\u9fff]*)")


class Lines(str):
    """Cell text of several lines (one per check), each made safe on its own: its line breaks are kept."""


def lines_cell(items: Iterable) -> Lines:
    return Lines("\n".join(for_document(i) for i in items))


def cell_text(value: Any) -> Any:
    """A value for a cell: numbers as numbers; text with line breaks as spaces (except between the lines of a
    Lines cell), control, bidi and invisible characters shown as escapes (engine.safe_text.for_document), and never
    read as a formula (a leading = + - @ gets a ' as in the CSV files; a negative amount such as -3.2% stays)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raw = str(value)
    text = document_lines(raw) if isinstance(value, Lines) else for_document(raw)
    return text if _NEGATIVE_AMOUNT.fullmatch(text) else guard_formula(text, raw)


def requirement(check) -> str:
    """What a check requires, e.g. 不低于80%, 不超过2899万吨标准煤, 应为是."""
    if check.op in ("present", "absent"):
        return REQUIREMENT[check.op]
    if check.op == "eq" and check.limit in ("是", "否"):
        return "应为" + ("否" if check.limit == "是" else "是")
    limit = with_unit(check.limit, check.unit or "") if check.limit not in ("", None) else "—"
    return REQUIREMENT.get(check.op, check.op) + limit


def shown_checks(f: Finding) -> list:
    """The checks a reader needs: those breached (violation, gap) or undecided (indeterminate), else all."""
    wanted = [c for c in f.checks if (c.breached is None if f.status == "indeterminate" else c.breached)]
    return wanted or list(f.checks)


def finding_row(f: Finding) -> list:
    """One finding as the cells of the 发现事项 sheet (several checks: one line each in the same cell)."""
    checks = shown_checks(f)
    observed = [with_unit(c.observed, c.unit or "") if c.observed not in ("", None) else "—" for c in checks]
    gaps = [gap_text(c.gap, c.unit or "") if c.breached and c.gap not in (None, 0) else "" for c in checks]
    who = f.subject.name or f.subject.id
    if f.subject.recipient and f.subject.recipient != who:
        who = f"{who}（义务人：{f.subject.recipient}）"
    return [f.rule_id, who, f.subject.region, f.title,
            f"《{bare_title(f.citation.document_title)}》{article_label(f.citation.article)}",
            lines_cell(c.label or c.field for c in checks) or "；".join(f.missing), lines_cell(observed),
            lines_cell(requirement(c) for c in checks), lines_cell(g for g in gaps if g),
            STATUS_ZH.get(f.status, f.status), FORCE_ZH.get(f.force, f.force), f.source.file, f.source.row]


class Sheet:
    """A sheet of a Book with a bold frozen header, fixed column widths and an auto filter over what was written (when
    the book is saved); each value made a cell by cell_text, a text of several lines wrapped."""

    def __init__(self, book: Book, title: str, columns: tuple):
        self.part = book.add_sheet(title, [width for _, width in columns])
        self.part.add([name for name, _ in columns], style=HEADER)
        self._texts: dict = {}  # (type, text) -> its cell_text: a text that repeats (rule, region, article) made once

    def add(self, values: Iterable) -> None:
        texts = self._texts
        if len(texts) > 50_000:  # (memory follows the variety of the texts, not the rows)
            texts.clear()
        cells = []
        for value in values:
            if isinstance(value, str):
                key = (type(value), value)  # (a Lines text is made otherwise than the same plain text)
                found = texts.get(key)
                if found is None:
                    found = texts[key] = cell_text(value)
                cells.append(found)
            else:
                cells.append(cell_text(value))
        self.part.add(cells)


def _count_row(category: str, name: str, counts: Counter, files: tuple = ("", "", ""), every_state=True) -> list:
    """Counts per state; without every result kept, only the finding states are known below the total."""
    return [category, name, *(counts.get(s, 0) if every_state or s in FINDING_STATUSES else "" for s in STATUSES),
            *files]


def summary_rows(report: Report, titles: dict, by_rule: dict, by_region: dict, by_file: dict) -> list:
    """The 汇总 sheet: every state in total, then per rule, per region and per file (read = evaluated + rejected).

    Below the total, 符合 and 不适用 are filled only when the run kept every result (`--all-results`)."""
    every = report.results is not None
    if every:
        for r in report.results:
            if r.status not in FINDING_STATUSES:
                by_rule.setdefault(r.rule_id, Counter())[r.status] += 1
                by_region.setdefault(r.subject.region, Counter())[r.status] += 1
                by_file.setdefault(r.source.file, Counter())[r.status] += 1
    inputs = report.manifest.get("inputs", [])
    totals = tuple(sum(e[k] for e in inputs) for k in ("rows", "evaluated", "rejected"))
    rows = [_count_row("合计", "全部结果（规则×记录）", Counter(report.counts), totals)]
    rows += [_count_row("规则", f"{rule_id} {titles.get(rule_id, '')}".strip(), by_rule[rule_id], every_state=every)
             for rule_id in sorted(by_rule)]
    rows += [_count_row("地区", name or "（未载明地区）", by_region[name], every_state=every)
             for name in sorted(by_region)]
    for entry in inputs:
        rows.append(_count_row("文件", entry["path"], by_file.get(entry["path"], Counter()),
                               (entry["rows"], entry["evaluated"], entry["rejected"]), every_state=every))
    for failed in report.manifest.get("failed_inputs", []):
        rows.append(["文件", f"{failed['path']}（无法读取）", *([""] * len(STATUSES)), "", "", ""])
    return rows


def write_workbook(report: Report, path: Path) -> Path:
    """Write the findings workbook; findings are streamed (rows to a temporary file until it is saved), so a large run
    is not held twice."""
    book = Book()
    findings_sheet = Sheet(book, SHEETS[0], FINDING_COLUMNS)
    rejects_sheet = Sheet(book, SHEETS[1], REJECT_COLUMNS)
    summary_sheet = Sheet(book, SHEETS[2], SUMMARY_COLUMNS)
    titles, by_rule, by_region, by_file = {}, {}, {}, {}
    views = getattr(report.findings, "views", None)  # (a FindingStore: each finding read from its JSON object)
    for f in views() if views is not None else report.findings:
        findings_sheet.add(finding_row(f))
        titles.setdefault(f.rule_id, f.title)
        by_rule.setdefault(f.rule_id, Counter())[f.status] += 1
        by_region.setdefault(f.subject.region, Counter())[f.status] += 1
        by_file.setdefault(f.source.file, Counter())[f.status] += 1
    for r in report.rejected:
        rejects_sheet.add([r.file, r.row, r.column, r.value, r.reason, SCOPE_ZH.get(r.scope, r.scope)])
    for row in summary_rows(report, titles, by_rule, by_region, by_file):
        summary_sheet.add(row)
    return book.save(Path(path))


__all__ = ["write_workbook", "finding_row", "requirement", "cell_text", "Sheet", "SHEETS"]
