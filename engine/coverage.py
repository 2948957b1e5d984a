"""The coverage matrix: every article, item and annex of both documents, the rules citing it, or why there are none."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.errors import RuleError
from engine.lang import tr
from engine.yamlio import load_yaml

CATEGORIES = {
    "aspirational": "原则性、倡导性或鼓励性表述，无可由记录判定的义务或指标 (aspirational: nothing a record can show met or missed)",
    "government_task": "政府部门的工作部署，无针对被检查对象的可核查义务 (a task for government departments, no duty a record shows)",
    "no_record": "有量化或时限要求，但尚无能够证明其完成与否的记录类型 (checkable in principle, no record kind carries it yet)",
    "external_standard": "依赖种子文本未载明的外部标准 (needs an external standard not quoted in the seeds)",
    "background": "背景、现状或指导思想，不设要求 (background, situation or guiding ideas: no requirement)",
}


@dataclass(frozen=True)
class Row:
    """One citable unit of a document and how the rule set covers it."""

    document: str
    article: str
    heading: str
    rules: tuple
    forces: tuple  # the legal force of each rule in `rules`: binding, target or aspirational
    covered: bool
    category: str
    reason: str


def _heading(text: str) -> str:
    first = text.strip().split("\n", 1)[0].strip().lstrip("　 ")
    for stop in ("。", "；"):
        first = first.split(stop, 1)[0]
    return first[:40]


def load_reasons(rules_dir: Path, documents: dict) -> dict:
    """Why an article has no rule: rules/coverage/*.yaml, each {document: {article: {category, reason}}}."""
    reasons: dict = {}
    for path in sorted((Path(rules_dir) / "coverage").glob("*.yaml")):
        _read_reasons(path, documents, reasons)
    return reasons


def _read_reasons(path: Path, documents: dict, reasons: dict) -> None:
    raw = load_yaml(path, RuleError) or {}
    if not isinstance(raw, dict):
        raise RuleError(tr("覆盖说明文件写成 {文件: {条款: {category, reason}}}",
                           "a coverage file is {document: {article: {category, reason}}}"), file=str(path))
    for doc_key, entries in raw.items():
        if doc_key not in documents:
            raise RuleError(tr(f"没有文件“{doc_key}”", f"unknown document '{doc_key}'"), file=str(path))
        units = documents[doc_key].units()
        for label, entry in (entries or {}).items():
            if label not in units:
                raise RuleError(tr(f"“{label}”不是 {doc_key} 的条款、项或附件",
                                   f"'{label}' is not an article, item or annex of {doc_key}"),
                                file=str(path), field=f"{doc_key}.{label}")
            if not isinstance(entry, dict) or entry.get("category") not in CATEGORIES or not entry.get("reason"):
                raise RuleError(tr("每一项都要有 category 和 reason",
                                   "each entry needs a category and a reason"), file=str(path),
                                field=f"{doc_key}.{label}", fix=tr("类别：", "categories: ") + ", ".join(CATEGORIES))
            if (doc_key, label) in reasons:
                raise RuleError(tr(f"“{label}”已在另一个覆盖说明文件中写有原因",
                                   f"'{label}' already has a reason in another coverage file"), file=str(path),
                                field=f"{doc_key}.{label}")
            reasons[(doc_key, label)] = (entry["category"], str(entry["reason"]).strip())


def matrix(ruleset) -> list[Row]:
    """A row for every unit of both documents, in text order."""
    reasons = load_reasons(Path(ruleset.directory), ruleset.documents)
    citing: dict = {}
    force = {rule.id: rule.force for rule in ruleset.rules}
    for rule in ruleset.rules:
        for label in (rule.article,) + rule.also:
            citing.setdefault((rule.document, label), []).append(rule.id)
    rows = []
    for doc_key, document in ruleset.documents.items():
        for label in document.units():
            rule_ids = tuple(sorted(citing.get((doc_key, label), [])))
            category, reason = reasons.get((doc_key, label), ("", ""))
            rows.append(Row(doc_key, label, _heading(document.articles[label].text), rule_ids,
                            tuple(force[r] for r in rule_ids), bool(rule_ids), category, reason))
    return rows


def problems(rows: list[Row]) -> list[str]:
    """Gaps the matrix must not have: an uncovered unit with no reason, a covered unit that still has one."""
    found = []
    for row in rows:
        if not row.covered and not row.reason:
            found.append(tr(f"{row.document} {row.article}：没有规则，rules/coverage/ 中也没有原因",
                            f"{row.document} {row.article}: no rule and no reason in rules/coverage/"))
        if row.covered and row.reason:
            found.append(tr(f"{row.document} {row.article}：已有规则 {', '.join(row.rules)}，却仍写有未覆盖原因",
                            f"{row.document} {row.article}: covered by {', '.join(row.rules)} but still has a reason"))
    return found


def to_markdown(rows: list[Row], ruleset) -> str:
    lines = ["# 条款覆盖矩阵 Coverage matrix", "",
             "Generated by `ecocheck rules coverage --format md`; `tests/test_coverage.py` fails when it is stale.", ""]
    for doc_key, document in ruleset.documents.items():
        doc_rows = [r for r in rows if r.document == doc_key]
        covered = sum(r.covered for r in doc_rows)
        lines += [f"## {document.title}" + (f"（{document.number}）" if document.number else ""), "",
                  f"{covered} of {len(doc_rows)} articles, items and annexes have rules; "
                  f"{len(doc_rows) - covered} have none, with the reason.", "",
                  "| 条款 article | 标题 heading | 规则 rules | 未覆盖原因 reason |", "|---|---|---|---|"]
        for r in doc_rows:
            reason = f"{r.category}: {r.reason}" if r.reason else ""
            cited = ", ".join(f"{rule} ({force})" for rule, force in zip(r.rules, r.forces))
            lines.append(f"| {r.article} | {r.heading} | {cited} | {reason} |")
        lines.append("")
    lines += ["## 规则的法律效力 Legal force, bound party and acting authority of every rule", "",
              "binding: a duty of the record's own subject (a violation); target: a regional, sector or average "
              "indicator (a gap, never a unit's violation); aspirational: 争取, 力争, 鼓励 (informational).", "",
              "| 规则 rule | 效力 force | 义务人 binds | 实施机关 acting | 条款 article | 期限 deadline |",
              "|---|---|---|---|---|---|"]
    for rule in ruleset.rules:
        deadline = f"{rule.deadline_phrase} → {rule.deadline_effective}" if rule.deadline_phrase else ""
        lines.append(f"| {rule.id} | {rule.force} | {rule.binds} | {'、'.join(rule.acting)} | {rule.article} | "
                     f"{deadline} |")
    lines.append("")
    lines += ["## 未覆盖原因类别 Reason categories", ""] + [f"- `{k}`: {v}" for k, v in CATEGORIES.items()]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["document", "article", "heading", "rules", "forces", "covered", "category", "reason"])
    for r in rows:
        writer.writerow([r.document, r.article, r.heading, " ".join(r.rules), " ".join(r.forces), r.covered,
                         r.category, r.reason])
    return "\ufeff" + buffer.getvalue()


def to_json(rows: list[Row]) -> str:
    return json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2) + "\n"
