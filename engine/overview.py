"""The regulator's overview of a run (overview.html and overview.xlsx): totals, annual results, measures, charts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from engine import charts
from engine.annual import annual_rows, region_order
from engine.findings import STATUS_ZH
from engine.letter_builders import Context
from engine.letter_config import load_authorities
from engine.letter_text import cn_date
from engine.letter_plan import REGIONAL_MEASURES, plan_letters
from engine.letters import _render, make_environment
from engine.paths import ensure_inside
from engine.workbook import Sheet
from engine.xlsxwrite import Book

HTML_NAME, XLSX_NAME = "overview.html", "overview.xlsx"
TOP_RULES, TOP_UNITS = 15, 10
CONSUMPTION = "energy_consumption_10k_tce"  # the Annex 1 total-consumption indicator charted against its cap
NO_REGION = "（未载明地区）"


@dataclass
class Table:
    """One table of the overview, shown in the HTML and written as a sheet of the workbook."""

    sheet: str
    header: tuple
    rows: list
    note: str = ""
    widths: tuple = ()
    merge: int = 0  # HTML: this many leading columns merged down over rows that repeat them

    def spans(self) -> list:
        """Per row, the rowspan of its merged leading cells (0: covered by the row above)."""
        spans, start = [0] * len(self.rows), 0
        for n, row in enumerate(self.rows):
            if n and row[:self.merge] == self.rows[start][:self.merge]:
                spans[start] += 1
            else:
                start, spans[n] = n, 1
        return spans


@dataclass
class Overview:
    """Everything the overview shows, ready for the template and the workbook."""

    as_of: dt.date
    totals: dict
    accounting: dict
    letters: int
    tables: dict = field(default_factory=dict)  # key -> Table
    charts: dict = field(default_factory=dict)  # key -> inline SVG (Markup)


def planned_letters(findings, ruleset, config: dict, issue_date: dt.date, authorities: dict | None = None) -> list:
    """The letters the findings call for, as `ecocheck letters` plans them (engine.letter_plan.plan_letters)."""
    ctx = Context(config=config, authorities=authorities or load_authorities(), documents=ruleset.documents,
                  schemas=ruleset.schemas, measures=ruleset.measures, issue_date=issue_date)
    letters, _unsent = plan_letters(findings, ctx)
    return letters


def _region_key(order: dict):
    return lambda name: (order.get(name, len(order)), name)


def _by_region(findings, order: dict) -> Table:
    counts: dict = {}
    for f in findings:
        counts.setdefault(f.subject.region or NO_REGION, Counter())[f.status] += 1
    rows = [[name, c["violation"], c["gap"], c["indeterminate"], sum(c.values())]
            for name, c in sorted(counts.items(), key=lambda kv: _region_key(order)(kv[0]))]
    return Table("各市州", ("市州", STATUS_ZH["violation"], STATUS_ZH["gap"], STATUS_ZH["indeterminate"], "合计"), rows,
                 "按发现事项所涉记录的所在地区统计；“甘肃省”为全省性指标。", (20, 10, 16, 10, 8))


def _by_rule(findings) -> Table:
    counts, titles = {}, {}
    for f in findings:
        counts.setdefault(f.rule_id, Counter())[f.status] += 1
        titles.setdefault(f.rule_id, f.title)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1]["violation"], -kv[1]["gap"], -sum(kv[1].values()), kv[0]))
    rows = [[rule_id, titles[rule_id], c["violation"], c["gap"], c["indeterminate"]] for rule_id, c in ranked]
    return Table("各条款", ("规则编号", "规则标题", STATUS_ZH["violation"], STATUS_ZH["gap"], STATUS_ZH["indeterminate"]),
                 rows, f"按违反事项数排序；共{len(rows)}条规则有发现事项。", (12, 60, 10, 16, 10))


def _by_authority(letters) -> Table:
    labels = list(dict.fromkeys(letter.label for letter in letters))
    counts: dict = {}
    for letter in letters:
        for authority in letter.authorities:
            counts.setdefault(authority, Counter())[letter.label] += 1
    rows = [[authority, *(c[label] for label in labels), sum(c.values())]
            for authority, c in sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))]
    joint = sum(1 for letter in letters if len(letter.authorities) > 1)
    note = f"共{len(letters)}件通知书" + (f"，其中联合发文{joint}件（计入每个发文机关）" if joint else "") + "。"
    return Table("各发文机关", ("发文机关", *labels, "合计"), rows, note, (30, *(14 for _ in labels), 8))


def _offenders(findings) -> Table:
    units: dict = {}
    for f in findings:
        if f.status != "violation" or f.binds == "prefecture_government":
            continue
        name = f.subject.recipient or f.subject.name or f.subject.id
        entry = units.setdefault(name, {"region": f.subject.region, "n": 0, "rules": [], "records": set()})
        entry["n"] += 1
        entry["records"].add((f.source.file, f.source.row))
        if f.rule_id not in entry["rules"]:
            entry["rules"].append(f.rule_id)
    ranked = sorted(units.items(), key=lambda kv: (-kv[1]["n"], kv[0]))[:TOP_UNITS]
    rows = [[name, e["region"], e["n"], len(e["records"]), "、".join(e["rules"])] for name, e in ranked]
    return Table("违反较多的单位", ("单位", "所在地区", "违反事项", "涉及记录", "涉及规则"), rows,
                 f"违反约束性条款事项最多的{TOP_UNITS}个单位（不含市州人民政府，市州见年度考核结果）。",
                 (32, 16, 10, 10, 40))


def _measures(findings, ruleset) -> tuple[Table, Table]:
    label = lambda name: ruleset.measures.get(name, {}).get("zh", name)  # noqa: E731
    active, lapsed = {}, {}
    for f in findings:
        if f.status != "violation":
            continue
        year = f"{f.period}年度" if f.period is not None else "—"
        basis = f"{f.rule_id} {f.title}"
        for name in f.measures:
            regional = name in REGIONAL_MEASURES
            who = f.subject.region if regional else (f.subject.recipient or f.subject.name)
            active.setdefault((who, name, year, f.rule_id), [who, "市州" if regional else "单位", label(name), year, basis])
        for text in f.lapsed:
            measure, _, reason = text.partition("：")
            lapsed.setdefault((f.subject.id, text, f.rule_id), [f.subject.recipient or f.subject.region or f.subject.name,
                                                                 measure, year, reason, basis])
    return (Table("正在实施的措施", ("对象", "对象类别", "措施", "依据的考核年度", "依据"), list(active.values()),
                  "评估基准日仍然有效的措施，及其所依据的考核记录。", (24, 10, 40, 14, 50)),
            Table("已失效的措施", ("对象", "措施", "依据的考核年度", "失效原因", "依据"), list(lapsed.values()),
                  "本次输入中推导出、但在评估基准日已不再有效的措施。", (24, 40, 14, 30, 50)))


def _annual(rows) -> Table:
    return Table("年度考核结果", ("市州", "年度", "指标", "目标", "实际", "差距", "结果", "规则编号"),
                 [[r.region, r.year, r.indicator, r.target, r.actual, r.gap, r.result, r.rule_id] for r in rows],
                 "市州人民政府节能减排目标完成情况（十.（四十一））：按附件1、附件3—附件6逐项比较；“完成”含恰好等于目标值。",
                 (16, 8, 30, 24, 20, 16, 10, 10), merge=2)


def build(report, ruleset, records, as_of: dt.date, letters: list) -> Overview:
    """The overview of one run: `records` are the run's held records (RunResult.held), re-evaluated for the annual
    table; `letters` are the planned letters (planned_letters)."""
    findings = report.findings  # a FindingStore is read once per table, never held unpacked
    order = {name: n for n, name in enumerate(region_order(ruleset))}
    inputs = report.manifest.get("inputs", [])
    accounting = {k: sum(e[k] for e in inputs) for k in ("rows", "evaluated", "rejected")}
    accounting["files"] = len(inputs)
    totals = {s: report.counts.get(s, 0) for s in ("violation", "gap", "indeterminate", "compliant")}
    annual = annual_rows(records, ruleset, as_of)
    active, lapsed = _measures(findings, ruleset)
    overview = Overview(as_of=as_of, totals=totals, accounting=accounting, letters=len(letters), tables={
        "regions": _by_region(findings, order), "annual": _annual(annual), "measures": active, "lapsed": lapsed,
        "offenders": _offenders(findings), "rules": _by_rule(findings), "authorities": _by_authority(letters)})
    region_rows = overview.tables["regions"].rows
    if region_rows:
        overview.charts["violations"] = Markup(charts.violations_by_region([(r[0], r[1]) for r in region_rows]))
    consumption = [r for r in annual if r.field == CONSUMPTION and r.limit is not None]
    if consumption:
        years = sorted({r.year for r in consumption}, key=str)
        latest = [r for r in consumption if r.year == years[-1]]
        title = f"各市州{years[-1]}年能源消费总量与附件1控制目标"
        overview.charts["consumption"] = Markup(charts.target_vs_actual(
            [(r.region, r.limit, r.observed) for r in latest], "万吨标准煤", title))
    return overview


def write_html(overview: Overview, path: Path, templates_dir: Path | None = None) -> Path:
    env = make_environment(templates_dir)
    text = _render(env, "overview.html.j2", {"o": overview, "status_zh": STATUS_ZH, "top_rules": TOP_RULES,
                                             "as_of_text": cn_date(overview.as_of)})
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_xlsx(overview: Overview, path: Path) -> Path:
    """The overview's tables, one sheet each, with the same headers."""
    book = Book()
    for table in overview.tables.values():
        sheet = Sheet(book, table.sheet, tuple(zip(table.header, table.widths or (14,) * len(table.header))))
        for row in table.rows:
            sheet.add(row)
    book.save(path)
    return path


def write_overview(overview: Overview, out_dir: Path, templates_dir: Path | None = None) -> list[Path]:
    """overview.html and overview.xlsx in out_dir."""
    base = Path(out_dir)
    base.mkdir(parents=True, exist_ok=True)
    base = base.resolve()
    return [write_html(overview, ensure_inside(base, base / HTML_NAME), templates_dir),
            write_xlsx(overview, ensure_inside(base, base / XLSX_NAME))]
