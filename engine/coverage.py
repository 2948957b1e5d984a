"""The coverage matrix: every article, item and annex of both documents — and every provision (sentence) of them,
rules/provisions/*.yaml — with the rules testing it, or why there are none."""

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
    "not_yet": "可由现有记录类型判定，尚未设规则 (checkable with a record kind that exists; no rule yet)",
}

# the kinds of provision (rules/provisions/*.yaml); the first five can be shown met or missed by a record
KINDS = {
    "numeric_limit": "数值限值 numeric limit (on a product or unit)",
    "dated_duty": "限期义务 dated duty",
    "duty": "义务 duty (no number or date)",
    "prohibition": "禁止 prohibition",
    "target": "目标 target (province, region, sector)",
    "aspirational": "倡导 aspirational",
    "government_task": "政府工作 government task",
    "background": "背景 background",
}
CHECKABLE = ("numeric_limit", "dated_duty", "duty", "prohibition", "target")
TESTED = ("full", "partly", "not")


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
    provisions: int = 0  # sentences of the unit in rules/provisions/
    kinds: tuple = ()  # (kind, count) of its provisions, in KINDS order
    checkable: int = 0
    tested_full: int = 0
    tested_partly: int = 0
    untested: int = 0


@dataclass(frozen=True)
class Provision:
    """One sentence span of an article (rules/provisions/<document>.yaml) and the rules testing it."""

    id: str
    document: str
    article: str
    text: str
    kind: str
    rules: tuple
    partly: str  # what of a checkable provision its rules leave untested
    category: str  # why no rule tests it (CATEGORIES)
    note: str

    @property
    def checkable(self) -> bool:
        return self.kind in CHECKABLE

    @property
    def tested(self) -> str:
        """full, partly or not for a checkable provision; '' for the others."""
        if not self.checkable:
            return ""
        return "not" if not self.rules else "partly" if self.partly else "full"


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


PROVISION_KEYS = {"id", "article", "text", "kind", "rules", "partly", "reason", "note"}


def load_provisions(ruleset) -> list[Provision]:
    """The provision catalogue, rules/provisions/<document>.yaml, in text order; [] when there is none."""
    found = []
    for path in sorted((Path(ruleset.directory) / "provisions").glob("*.yaml")):
        raw = load_yaml(path, RuleError) or {}
        doc_key = raw.get("document") if isinstance(raw, dict) else None
        if doc_key not in ruleset.documents or not isinstance(raw.get("provisions"), list):
            raise RuleError("a provision file is {document: <key>, provisions: [...]}", file=str(path),
                            fix="documents: " + ", ".join(ruleset.documents))
        document = ruleset.documents[doc_key]
        for n, entry in enumerate(raw["provisions"], start=1):
            where = f"provisions[{n}]"
            if not isinstance(entry, dict) or set(entry) - PROVISION_KEYS:
                raise RuleError("a provision has id, article, text, kind and rules or reason (partly, note)",
                                file=str(path), field=where)
            label, text, kind = str(entry.get("article", "")), str(entry.get("text", "")), entry.get("kind")
            if label not in document.articles:
                raise RuleError(f"'{label}' is not an article, item or annex of {doc_key}", file=str(path),
                                field=f"{where}.article")
            if not text or text not in document.articles[label].text:
                raise RuleError(f"the text of {entry.get('id')} is not verbatim in {label}", file=str(path),
                                field=f"{where}.text", fix="copy the sentence exactly from the article")
            if kind not in KINDS:
                raise RuleError(f"unknown kind '{kind}'", file=str(path), field=f"{where}.kind",
                                fix="kinds: " + ", ".join(KINDS))
            category = entry.get("reason") or ""
            if category and category not in CATEGORIES:
                raise RuleError(f"unknown reason '{category}'", file=str(path), field=f"{where}.reason",
                                fix="categories: " + ", ".join(CATEGORIES))
            found.append(Provision(str(entry.get("id", "")), doc_key, label, text, kind,
                                   tuple(str(r) for r in entry.get("rules") or ()), str(entry.get("partly") or ""),
                                   category, str(entry.get("note") or "")))
    return found


def provision_problems(provisions: list[Provision], ruleset) -> list[str]:
    """Gaps the catalogue must not have: no rule and no reason, an unknown rule, an untested checkable provision
    without a note, a rule linked to no provision of the article it cites, a unit with no provisions."""
    found = []
    known = {rule.id for rule in ruleset.rules}
    for p in provisions:
        if not p.rules and not p.category:
            found.append(f"{p.id}: no rule and no reason")
        if p.rules and p.category:
            found.append(f"{p.id}: tested by {', '.join(p.rules)} but still has a reason")
        if p.tested == "not" and not p.note:
            found.append(f"{p.id}: a checkable provision no rule tests needs a note saying why")
        found += [f"{p.id}: names rule {r}, which does not exist" for r in p.rules if r not in known]
    if provisions:
        linked = {(p.document, p.article, r) for p in provisions for r in p.rules}
        found += [f"{rule.id}: linked to no provision of {rule.article}, the article it cites"
                  for rule in ruleset.rules if (rule.document, rule.article, rule.id) not in linked]
        listed = {(p.document, p.article) for p in provisions}
        found += [f"{key} {label}: no provisions in rules/provisions/" for key, doc in ruleset.documents.items()
                  for label in doc.units() if (key, label) not in listed]
    return found


def matrix(ruleset) -> list[Row]:
    """A row for every unit of both documents, in text order, with the counts of its provisions."""
    reasons = load_reasons(Path(ruleset.directory), ruleset.documents)
    by_unit: dict = {}
    for p in load_provisions(ruleset):
        by_unit.setdefault((p.document, p.article), []).append(p)
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
            sentences = by_unit.get((doc_key, label), [])
            kinds = tuple((k, n) for k in KINDS if (n := sum(p.kind == k for p in sentences)))
            tested = [p.tested for p in sentences if p.checkable]
            rows.append(Row(doc_key, label, _heading(document.articles[label].text), rule_ids,
                            tuple(force[r] for r in rule_ids), bool(rule_ids), category, reason,
                            len(sentences), kinds, len(tested), tested.count("full"), tested.count("partly"),
                            tested.count("not")))
    return rows


def summary(rows: list[Row], provisions: list[Provision]) -> dict:
    """Per document: articles covered (the article figure) and provisions by kind and by test (the provision figure)."""
    result = {}
    for doc_key in dict.fromkeys(r.document for r in rows):
        doc_rows = [r for r in rows if r.document == doc_key]
        sentences = [p for p in provisions if p.document == doc_key]
        checkable = [p for p in sentences if p.checkable]
        result[doc_key] = {
            "articles": len(doc_rows),
            "articles_covered": sum(r.covered for r in doc_rows),
            "provisions": len(sentences),
            "by_kind": {k: sum(p.kind == k for p in sentences) for k in KINDS},
            "checkable": len(checkable),
            "tested": {t: sum(p.tested == t for p in checkable) for t in TESTED},
            "checkable_by_kind": {k: {t: sum(p.kind == k and p.tested == t for p in checkable) for t in TESTED}
                                  for k in CHECKABLE},
            "untested_by_reason": {c: sum(p.tested == "not" and p.category == c for p in checkable)
                                   for c in CATEGORIES},
        }
        in_text = [p for p in checkable if not p.article.startswith("附件")]  # without the rows of annex tables
        result[doc_key]["outside_annexes"] = {"checkable": len(in_text),
                                              "tested": {t: sum(p.tested == t for p in in_text) for t in TESTED}}
    return result


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def summary_lines(rows: list[Row], provisions: list[Provision]) -> list[str]:
    """The article figure and the provision figure of each document, one line each (for the terminal)."""
    lines = []
    for doc_key, s in summary(rows, provisions).items():
        t = s["tested"]
        lines.append(f"{doc_key}: 条款 articles {s['articles_covered']}/{s['articles']} cited by a rule "
                     f"({_pct(s['articles_covered'], s['articles'])}); 可判定条款句 checkable provisions "
                     f"{s['checkable']} of {s['provisions']}: tested fully {t['full']} "
                     f"({_pct(t['full'], s['checkable'])}), partly {t['partly']}, not {t['not']}")
        o = s["outside_annexes"]
        if o["checkable"] != s["checkable"]:
            lines.append(f"{doc_key}: outside the annex tables {o['checkable']} checkable: tested fully "
                         f"{o['tested']['full']} ({_pct(o['tested']['full'], o['checkable'])}), partly "
                         f"{o['tested']['partly']}, not {o['tested']['not']}")
    return lines


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


def _cell(text: str) -> str:
    """Text for a Markdown table cell: line breaks and tabs as spaces, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _kinds(row: Row) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in row.kinds)


def to_markdown(rows: list[Row], ruleset, provisions: list[Provision] | None = None) -> str:
    provisions = load_provisions(ruleset) if provisions is None else provisions
    figures = summary(rows, provisions)
    lines = ["# 条款覆盖矩阵 Coverage matrix", "",
             "Generated by `ecocheck rules coverage --format md`; `tests/test_coverage.py` fails when it is stale.", "",
             "Per article: an article, item or annex counts as covered when a rule cites it (as its article or "
             "through `also`). Per provision: every article is split into sentences (`rules/provisions/`, made by "
             "`tools/provisions.py` and reviewed by hand); a checkable provision (numeric_limit, dated_duty, duty, "
             "prohibition, target) is tested fully when the rules linked to it test all it requires, partly when "
             "they leave part of it untested (said why), not when no rule tests it (with the reason). A rule that "
             "cites an article through `also` counts only for the provisions holding its own quote or threshold.", "",
             "| 文件 document | 条款 articles covered | 条款句 provisions | 可判定 checkable | 全部检验 fully | "
             "部分检验 partly | 未检验 not |", "|---|---|---|---|---|---|---|"]
    for doc_key, f in figures.items():
        t, o = f["tested"], f["outside_annexes"]
        lines.append(f"| {doc_key} | {f['articles_covered']}/{f['articles']} ({_pct(f['articles_covered'], f['articles'])}) "
                     f"| {f['provisions']} | {f['checkable']} | {t['full']} ({_pct(t['full'], f['checkable'])}) "
                     f"| {t['partly']} | {t['not']} |")
        if o["checkable"] != f["checkable"]:
            lines.append(f"| {doc_key}, outside the annex tables | | | {o['checkable']} | {o['tested']['full']} "
                         f"({_pct(o['tested']['full'], o['checkable'])}) | {o['tested']['partly']} | "
                         f"{o['tested']['not']} |")
    lines.append("")
    for doc_key, document in ruleset.documents.items():
        doc_rows = [r for r in rows if r.document == doc_key]
        covered = sum(r.covered for r in doc_rows)
        f = figures.get(doc_key)
        lines += [f"## {document.title}" + (f"（{document.number}）" if document.number else ""), "",
                  f"{covered} of {len(doc_rows)} articles, items and annexes have rules; "
                  f"{len(doc_rows) - covered} have none, with the reason.", ""]
        if f:
            lines += [f"{f['provisions']} provisions, {f['checkable']} of them checkable: tested fully "
                      f"{f['tested']['full']}, partly {f['tested']['partly']}, not {f['tested']['not']}.", "",
                      "| 类别 kind | 条款句 provisions | 全部检验 fully | 部分检验 partly | 未检验 not |",
                      "|---|---|---|---|---|"]
            for kind in KINDS:
                if kind in CHECKABLE:
                    by = f["checkable_by_kind"][kind]
                    lines.append(f"| {kind} | {f['by_kind'][kind]} | {by['full']} | {by['partly']} | {by['not']} |")
                else:
                    lines.append(f"| {kind} | {f['by_kind'][kind]} | | | |")
            lines.append("")
        lines += ["| 条款 article | 标题 heading | 规则 rules | 条款句 provisions (可判定: 全部/部分/未) | 未覆盖原因 reason |",
                  "|---|---|---|---|---|"]
        for r in doc_rows:
            reason = f"{r.category}: {r.reason}" if r.reason else ""
            cited = ", ".join(f"{rule} ({force})" for rule, force in zip(r.rules, r.forces))
            sentences = (f"{r.provisions}: {_kinds(r)}" + (f" (可判定 {r.checkable}: {r.tested_full}/{r.tested_partly}/"
                                                           f"{r.untested})" if r.checkable else "")) if r.provisions else ""
            lines.append(f"| {r.article} | {r.heading} | {cited} | {sentences} | {reason} |")
        lines.append("")
        checkable = [p for p in provisions if p.document == doc_key and p.checkable]
        if checkable:
            lines += [f"### 可判定条款句 Checkable provisions of {doc_key}", "",
                      "| 条款句 provision | 类别 kind | 检验 tested | 规则 rules | 未检验部分或原因 untested part or reason | "
                      "原文 text |", "|---|---|---|---|---|---|"]
            for p in checkable:
                why = p.partly if p.tested == "partly" else f"{p.category}: {p.note}" if p.tested == "not" else ""
                text = _cell(p.text)
                lines.append(f"| {p.id.split('/', 1)[1]} | {p.kind} | {p.tested} | {', '.join(p.rules)} | {_cell(why)} "
                             f"| {text if len(text) <= 80 else text[:79] + '…'} |")
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
    """One line an article, with the counts of its provisions (the provisions themselves: --format json)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["document", "article", "heading", "rules", "forces", "covered", "category", "reason",
                     "provisions", "kinds", "checkable", "tested_full", "tested_partly", "untested"])
    for r in rows:
        writer.writerow([r.document, r.article, r.heading, " ".join(r.rules), " ".join(r.forces), r.covered,
                         r.category, r.reason, r.provisions, _kinds(r), r.checkable, r.tested_full,
                         r.tested_partly, r.untested])
    return "\ufeff" + buffer.getvalue()


def to_json(rows: list[Row], provisions: list[Provision] = ()) -> str:
    """{summary: per document, articles: [...], provisions: [...]}."""
    articles = [dict(asdict(r), kinds=dict(r.kinds)) for r in rows]
    sentences = [dict(asdict(p), checkable=p.checkable, tested=p.tested) for p in provisions]
    return json.dumps({"summary": summary(rows, list(provisions)), "articles": articles, "provisions": sentences},
                      ensure_ascii=False, indent=2) + "\n"
