"""Letters from findings: which findings go to whom from whom, numbering, and rendering to HTML or Markdown."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from engine import external_limits
from engine import letter_builders as B
from engine.errors import TemplateError
from engine.lang import tr
from engine.findings import FORCE_ZH, STATUS_ZH, Finding
from engine.letter_config import (DEFAULT_CONFIG, LETTER_TYPES, TEMPLATES_DIR, load_authorities,  # noqa: F401
                                  load_letter_config, settings_for)
from engine.letter_model import Heading, Letter, Paragraph, Table
from engine.letter_text import cn_date, cn_number, sentence  # noqa: F401  (re-exported for templates and tests)
from engine.paths import ensure_inside, safe_filename
from engine.safe_text import document_lines, for_document, for_markdown

FORMATS = ("html", "md", "docx", "pdf")
TEXT_FORMATS = ("html", "md")  # the index and the working record are written in these (html beside docx and pdf)
NO_LETTER = ("", "none")
REGIONAL_MEASURES = ("hold_high_energy_projects", "suspend_eia_key_pollutants")
UNIT_MEASURES = ("suspend_unit_high_energy_projects",)
WORKLOG_NAME = "检查记录"


@dataclass(frozen=True)
class Unsent:
    """A finding that goes into no letter, and why (shown in the inspector's working record)."""

    finding: Finding
    reason: str


# --------------------------------------------------------------------------------------------- planning

class _Numbers:
    """发文字号 per prefix within a run: {prefix}〔{year}〕{n}号."""

    def __init__(self, authorities: dict, year: int, first: int = 1):
        self.authorities, self.year, self.first, self.next = authorities, year, first, {}

    def take(self, issuers: tuple) -> str:
        prefix = self.authorities[issuers[0]]["prefix"]
        n = self.next.get(prefix, self.first)
        self.next[prefix] = n + 1
        return f"{prefix}〔{self.year}〕{n}号"


def _acting(findings: Iterable[Finding]) -> tuple:
    return tuple(dict.fromkeys(a for f in findings for a in f.acting))


def _order(f: Finding) -> tuple:
    return (f.subject.kind, f.subject.id, f.rule_id, f.source.file, f.source.row)


def plan_letters(findings: Iterable[Finding], ctx: B.Context, first_number: int = 1) -> tuple[list, list]:
    """Every letter the findings call for, and the findings that go into none (with the reason)."""
    findings = list(findings)
    numbers = _Numbers(ctx.authorities, ctx.issue_date.year, first_number)
    letters, unsent = [], []
    facility, facility_open, assessment, assessment_open = {}, [], {}, []
    basis_of: dict = {}  # (measure, key) -> deriving findings
    chains = []
    for f in findings:
        if f.status == "gap":
            unsent.append(Unsent(f, "目标类或倡导类条款：只报告差距，不列入通知书"))
        elif f.letter == "project_suspension":  # chain rules: they go into the notice of the measure they join
            chains.append(f)
        elif f.letter in NO_LETTER:
            unsent.append(Unsent(f, "该条款不发通知书（见规则的适用说明）"))
        elif f.letter == "facility_rectification":
            if not f.subject.recipient:
                who = "制造单位" if f.binds == "manufacturer" else "义务人"
                unsent.append(Unsent(f, f"记录未载明{who}，无法确定通知书的主送单位"))
            elif f.status == "violation":
                variant = f.subject.kind if f.subject.kind in ctx.config["facility_rectification"].get("by_kind", {}) else ""
                cfg = settings_for(ctx.config, "facility_rectification", variant)
                issuers = B.issuers_for(cfg, f.acting, ctx.authorities)
                facility.setdefault((f.subject.recipient, variant, issuers), []).append(f)
            elif any(m.startswith(external_limits.UNCONFIRMED) for m in f.missing):  # nothing the unit could supply
                unsent.append(Unsent(f, "外部标准限值未经使用者确认，不据此认定，也不向该单位索要资料"))
            else:
                facility_open.append(f)
        elif f.letter == "prefecture_assessment":
            if f.status == "violation":
                assessment.setdefault(f.period, []).append(f)
            else:
                assessment_open.append(f)
        if f.status == "violation":
            for measure in f.measures:
                key = f.subject.region if measure in REGIONAL_MEASURES else (f.subject.recipient or f.subject.name)
                basis_of.setdefault((measure, key), []).append(f)

    for (recipient, variant, issuers), items in sorted(facility.items(), key=lambda kv: kv[0][:2]):
        open_items = [f for f in facility_open if f.subject.recipient == recipient
                      and (f.subject.kind == variant or not variant)]
        for f in open_items:
            facility_open.remove(f)
        letters.append(B.facility_rectification(ctx, recipient, variant, issuers, sorted(items, key=_order),
                                                sorted(open_items, key=_order), numbers.take(issuers)))
    unsent += [Unsent(f, "资料不全暂不能认定，且该单位无须发出通知书的问题") for f in facility_open]

    cfg = ctx.config["prefecture_assessment"]
    latest: dict = {}  # prefecture government -> its latest assessed year with a violation in the run
    for year, items in assessment.items():
        for f in items:
            if year is not None and year > latest.get(f.subject.recipient, -1):
                latest[f.subject.recipient] = year
    for year, items in sorted(assessment.items(), key=lambda kv: str(kv[0])):
        issuers = B.issuers_for(cfg, _acting(items), ctx.authorities)
        open_items = [f for f in assessment_open if f.period == year]
        letters.append(B.prefecture_assessment(ctx, year, items, open_items, issuers, numbers.take(issuers)))
        for f in items:
            if latest.get(f.subject.recipient) != year:
                continue  # 约谈 follows an assessment once: only the prefecture's latest assessed year calls for it
            for c in f.consequences:
                if "约谈" in c.quote:
                    icfg = ctx.config["interview_notice"]
                    ii = B.issuers_for(icfg, f.acting, ctx.authorities)
                    letters.append(B.interview_notice(ctx, f, c, ii, numbers.take(ii)))
                    break
    years = set(assessment)
    unsent += [Unsent(f, "考核数据不全暂不能认定，且本年度无未完成目标的市州") for f in assessment_open
               if f.period not in years]

    attached = set()
    for (measure, key), basis in sorted(basis_of.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        basis_keys = {(b.rule_id, b.source.file, b.source.row) for b in basis}
        projects = [c for c in chains if c.status == "violation"
                    and any((d[0], d[1], d[2]) in basis_keys and d[4] == measure for d in c.derived_from)]
        attached |= {id(p) for p in projects}
        projects.sort(key=_order)
        if measure in REGIONAL_MEASURES:
            rcfg = settings_for(ctx.config, "restriction_notice", measure)
            issuers = B.issuers_for(rcfg, _acting(basis), ctx.authorities)
            letters.append(B.restriction_notice(ctx, measure, basis, projects, issuers, numbers.take(issuers)))
        else:
            pcfg = ctx.config["project_suspension"]
            issuers = B.issuers_for(pcfg, _acting(basis), ctx.authorities)
            letters.append(B.project_suspension(ctx, measure, basis, projects, issuers, numbers.take(issuers)))
    for c in chains:
        if id(c) in attached:
            continue
        reason = ("措施所依据的考核记录不在本次输入中" if c.status == "violation"
                  else "所在地区或单位的考核结果不全，不能确定是否处于措施之下")
        unsent.append(Unsent(c, reason))
    return letters, unsent


# --------------------------------------------------------------------------------------------- rendering

def md_escape(value: Any) -> str:
    """Text safe inside a Markdown line or table cell (engine.safe_text.for_markdown): line breaks flattened,
    controls shown as escapes, structure characters escaped."""
    return for_markdown(value)


def _finalize(value: Any) -> Any:
    """Every {{ … }} of every template: control, bidi and invisible format characters shown as escapes
    (engine.safe_text.for_document) before autoescaping. Markup made by ecocheck (an inline SVG) keeps its line
    breaks and stays Markup."""
    if isinstance(value, Markup):
        return Markup(document_lines(value))
    if isinstance(value, str):
        return for_document(value)
    return value


def make_environment(templates_dir: Path | None = None) -> Environment:
    """Jinja2 environment: strict undefined, autoescape for *.html.j2, an `md` escaping filter for *.md.j2, and
    every value's control and bidi characters made visible (`_finalize`)."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir or TEMPLATES_DIR)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2"),
                                     disabled_extensions=("md", "md.j2", "txt"),
                                     default_for_string=True, default=True),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, finalize=_finalize,
    )
    env.filters["md"] = md_escape
    env.filters["cn_date"] = cn_date
    env.filters["state_zh"] = lambda key: f"{STATUS_ZH[key]}（{key}）" if key in STATUS_ZH else key  # 差距（gap）
    env.filters["force_zh"] = lambda key: f"{FORCE_ZH[key]}（{key}）" if key in FORCE_ZH else key
    env.tests["heading"] = lambda b: isinstance(b, Heading)
    env.tests["para"] = lambda b: isinstance(b, Paragraph)
    env.tests["table"] = lambda b: isinstance(b, Table)
    return env


def _template(env: Environment, name: str):
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(tr(f"找不到模板 {exc.name}", f"template not found: {exc.name}"), file=name,
                            fix=tr(f"把 {exc.name} 放进 templates 目录",
                                   f"put {exc.name} into the templates directory")) from None
    except jinja2.TemplateSyntaxError as exc:  # (Jinja's own description, in English)
        raise TemplateError(tr(f"模板第{exc.lineno}行语法有误：{exc.message}",
                               f"template syntax error at line {exc.lineno}: {exc.message}"),
                            file=exc.filename or name) from None


def _render(env: Environment, name: str, context: dict, template=None) -> str:
    template = template or _template(env, name)
    try:
        return template.render(**context)
    except jinja2.TemplateError as exc:
        raise TemplateError(tr(f"模板无法生成文件：{exc}", f"template failed to render: {exc}"), file=name) from None


def _write(base: Path, name: str, text: str) -> Path:
    path = ensure_inside(base, base / name)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def file_name(n: int, letter: Letter, fmt: str) -> str:
    return f"{letter.letter_type}_{n:03d}_{safe_filename(letter.recipient or letter.addressee)}.{fmt}"


def render_letters(findings: Iterable[Finding], manifest: dict, config: dict, out_dir: Path, fmt: str,
                   issue_date: datetime.date, *, documents: dict, schemas: dict, measures: dict,
                   authorities: dict | None = None, templates_dir: Path | None = None,
                   first_number: int = 1) -> list[Path]:
    """Plan the letters and write them, an index and the inspector's working record (检查记录) into out_dir."""
    ctx = B.Context(config=config, authorities=authorities or load_authorities(), documents=documents,
                    schemas=schemas, measures=measures, issue_date=issue_date)
    letters, unsent = plan_letters(findings, ctx, first_number)
    return write_letters(letters, unsent, manifest, config, out_dir, fmt, issue_date, templates_dir=templates_dir)


def write_letters(letters: list, unsent: list, manifest: dict, config: dict, out_dir: Path, fmt: str,
                  issue_date: datetime.date, *, templates_dir: Path | None = None) -> list[Path]:
    """Write planned letters in one format, with an index and the working record; return the paths written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown letter format {fmt!r}: use one of {', '.join(FORMATS)}")
    env = make_environment(templates_dir)
    base = Path(out_dir)
    base.mkdir(parents=True, exist_ok=True)
    base = base.resolve()
    seal = config.get("seal_text", "")
    write_document = _document_writer(fmt, seal)
    template = None if write_document is not None else _template(env, f"letter.{fmt}.j2")
    written, entries, per_type = [], [], {}
    for letter in letters:
        per_type[letter.letter_type] = per_type.get(letter.letter_type, 0) + 1
        name = file_name(per_type[letter.letter_type], letter, fmt)
        if write_document is not None:
            written.append(write_document(letter, ensure_inside(base, base / name)))
        else:
            text = _render(env, f"letter.{fmt}.j2", {"letter": letter, "seal_text": seal}, template)
            written.append(_write(base, name, text))
        entries.append({"file": name, "letter": letter})
    side = fmt if fmt in TEXT_FORMATS else "html"
    written.append(_write(base, f"index.{side}", _render(env, f"index.{side}.j2", {
        "entries": entries, "issue_date": issue_date, "worklog": f"{WORKLOG_NAME}.{side}"})))
    written.append(_write(base, f"{WORKLOG_NAME}.{side}", _render(env, f"worklog.{side}.j2", {
        "entries": entries, "unsent": unsent, "manifest": manifest, "issue_date": issue_date})))
    return written


def numbers_used(letters: list) -> dict:
    """{发文字号 prefix: [first, last]} of a run's letters, for the run's manifest."""
    used: dict = {}
    for letter in letters:
        match = re.match(r"^(.*)〔(\d{4})〕(\d+)号$", letter.doc_number)
        if match:
            low, high = used.get(match[1], (int(match[3]), int(match[3])))
            used[match[1]] = [min(low, int(match[3])), max(high, int(match[3]))]
    return used


def _document_writer(fmt: str, seal: str):
    """For DOCX and PDF: a function writing one letter to a path (the PDF compiler is loaded once per run)."""
    if fmt == "docx":
        from engine.docx_writer import write_docx
        return lambda letter, path: write_docx(letter.document(seal), path)
    if fmt == "pdf":
        from engine.pdf_writer import FontsMissing, PdfWriter
        try:
            writer = PdfWriter()
        except FontsMissing as exc:
            raise TemplateError(tr(f"缺少 PDF 所用的字体：{exc}", f"the PDF fonts are missing: {exc}"),
                                fix=tr("以 root 身份运行 `make fonts`，或安装 Debian 软件包 fonts-noto-cjk 和 fonts-arphic-ukai",
                                       "run `make fonts` (as root) or install the Debian packages fonts-noto-cjk and "
                                       "fonts-arphic-ukai")) from None
        return lambda letter, path: writer.write(letter.document(seal), path)
    return None
