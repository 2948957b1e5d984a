"""Letters written out: the Jinja environment, and each planned letter rendered to HTML or Markdown (or handed to the
DOCX and PDF writers) with an index and the inspector's working record. Planning is engine/letter_plan.py."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Iterable

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from engine import letter_builders as B
from engine.errors import TemplateError
from engine.lang import tr
from engine.findings import FORCE_ZH, STATUS_ZH, Finding
from engine.letter_config import TEMPLATES_DIR, load_authorities, load_letter_config  # noqa: F401 (for engine.cli)
from engine.letter_model import Heading, Letter, Paragraph, Table
from engine.letter_plan import numbers_used, plan_letters  # noqa: F401 (engine.cli plans and numbers through here)
from engine.letter_text import cn_date
from engine.paths import ensure_inside, safe_filename
from engine.safe_text import document_lines, for_document, for_markdown

FORMATS = ("html", "md", "docx", "pdf")
TEXT_FORMATS = ("html", "md")  # the index and the working record are written in these (html beside docx and pdf)
WORKLOG_NAME = "检查记录"


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
