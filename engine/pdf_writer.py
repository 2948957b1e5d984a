"""PDF official documents laid out to GB/T 9704-2012 with Typst (the typst wheel) and embedded open CJK fonts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

from engine import gbt9704 as g, resources
from engine.lang import tr
from engine.officialdoc import FindingItem, Heading, OfficialDocument, Paragraph, Table, display_width, numbered
from engine.safe_text import for_document

TEMPLATE = resources.typst_dir() / "notice.typ"
MARK_MAX_PT = 42.0          # 初号: the largest 发文机关标志
MARK_FILL = 0.92            # share of the text block's width a long 发文机关标志 may take
REDLINE_PT = 1.5


class FontsMissing(RuntimeError):
    """The open CJK fonts the PDF embeds are not installed."""


def _mark_size(marks: list[str], suffix: str) -> float:
    """The 发文机关标志's size in pt: 初号 at most, smaller when a long name would not fit the text block."""
    width = max(display_width(m) for m in marks)
    if len(marks) == 1:
        width += display_width(suffix)
    else:
        width += display_width(suffix) + 0.25
    return round(min(MARK_MAX_PT, MARK_FILL * g.BLOCK_W * g.PT_PER_MM / max(width, 1)), 2)


def title_width(title: str) -> float:
    """Width in pt of a title box that breaks the title into lines of even length (标题排列对称)."""
    per_line_max = int(g.BLOCK_W * g.PT_PER_MM // g.TITLE_PT)
    width = display_width(title)
    lines = max(1, math.ceil(width / per_line_max))
    return round(min(math.ceil(width / lines) + 0.5, per_line_max) * g.TITLE_PT + 0.5, 2)


def _block(label: str, block) -> dict:
    if isinstance(block, Paragraph):
        return {"kind": "p", "text": block.text}
    if isinstance(block, Heading):
        return {"kind": "h", "level": block.level, "label": label, "text": block.text, "run_in": block.run_in}
    if isinstance(block, FindingItem):
        return {"kind": "f", "label": label, "lead": block.lead, "text": block.text}
    if isinstance(block, Table):
        return {"kind": "t", "header": list(block.header), "rows": [list(r) for r in block.rows],
                "fractions": list(block.fractions), "caption": block.caption}
    raise TypeError(f"unknown body block {type(block).__name__}")


def _shown(value):
    """Every text of the document data with its control, bidi and invisible characters shown as escapes."""
    if isinstance(value, str):
        return for_document(value)
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    return value


def document_data(doc: OfficialDocument, fonts: g.FontSet = g.OPEN_FONTS) -> dict:
    """The JSON the Typst template reads: texts, numbering, geometry and signature positions. Texts are Typst
    strings (never markup); control, bidi and invisible characters are shown as escapes (engine.safe_text)."""
    data = _shown(_document_data(doc, fonts))
    data["title_width"] = title_width(data["title"])
    return data


def _document_data(doc: OfficialDocument, fonts: g.FontSet) -> dict:
    issuers = doc.issuers
    rows, date_x = g.signature_layout([i.name for i in issuers], doc.date)
    by_name = iter(issuers)
    sig_rows = [[{"name": name, "x": x, **_seal(next(by_name))} for name, x in row.names] for row in rows]
    c = doc.colophon
    colophon = None
    if c.copy_to or c.printer or c.print_date:
        colophon = {"copy_to": "，".join(c.copy_to) + "。" if c.copy_to else "", "printer": c.printer,
                    "print_date": c.print_date + "印发" if c.print_date else ""}
    marks = [i.mark for i in issuers]
    return {
        "fonts": {"fangsong": fonts.fangsong, "heiti": fonts.heiti, "kaiti": fonts.kaiti, "title": fonts.title,
                  "songti": fonts.songti},
        "title_bold": fonts.title_bold, "red": g.RED,
        "pitch": round(g.LINE_PITCH_PT, 3), "char": round(g.CHAR_PITCH_PT - 0.005, 3),
        "top": g.TOP, "left": g.LEFT, "right": g.RIGHT, "bottom": g.BOTTOM,
        "block_w": g.BLOCK_W, "block_h": g.BLOCK_H, "page_number_gap": g.PAGE_NUMBER_GAP,
        "mark_top": g.MARK_TOP, "redline_gap": g.REDLINE_GAP, "redline_pt": REDLINE_PT,
        "seal_mm": g.SEAL_DIAMETER, "seal_above_name": g.SEAL_ABOVE_NAME, "table_pt": g.TABLE_PT,
        "marks": marks, "suffix": doc.header.mark_suffix, "mark_size": _mark_size(marks, doc.header.mark_suffix),
        "doc_number": doc.header.doc_number, "title": doc.title, "title_width": title_width(doc.title),
        "addressee": doc.addressee_line,
        "body": [_block(label, b) for label, b in numbered(doc.body)],
        "attachments": doc.attachment_lines(),
        "sig_rows": sig_rows, "date": doc.date, "date_x": date_x, "note": doc.note,
        "colophon": colophon,
    }


def _seal(issuer) -> dict:
    return {"seal": issuer.seal, "seal_text": issuer.seal_text or "（印章）"}


class PdfWriter:
    """Renders documents to PDF bytes; keeps one Typst compiler (fonts loaded once) for many documents."""

    def __init__(self, font_dirs: Iterable[Path] = g.FONT_DIRS, fonts: g.FontSet = g.OPEN_FONTS):
        import typst
        missing = g.missing_fonts() if tuple(font_dirs) == g.FONT_DIRS else []
        if missing:
            raise FontsMissing(tr("PDF 要嵌入的开源中文字体没有安装：" + "、".join(missing)
                                  + f"。安装：apt-get install {g.DEBIAN_FONT_PACKAGES}（或以 root 身份运行 `make fonts`）",
                                  "the PDF writer embeds open CJK fonts that are not installed: " + ", ".join(missing)
                                  + f". Install them with: apt-get install {g.DEBIAN_FONT_PACKAGES} "
                                  "(or run `make fonts` as root)"))
        self.fonts = fonts
        self._compiler = typst.Compiler(root=str(TEMPLATE.parent), font_paths=[str(p) for p in font_dirs],
                                        ignore_system_fonts=True)

    def render(self, doc: OfficialDocument) -> bytes:
        data = json.dumps(document_data(doc, self.fonts), ensure_ascii=False)
        return self._compiler.compile(input=str(TEMPLATE), format="pdf", sys_inputs={"doc": data}, timestamp=0)

    def write(self, doc: OfficialDocument, path: Path) -> Path:
        path = Path(path)
        path.write_bytes(self.render(doc))
        return path


def render_pdf(doc: OfficialDocument) -> bytes:
    """One document as PDF bytes (loads the fonts each call: use PdfWriter for many)."""
    return PdfWriter().render(doc)


def write_pdf(doc: OfficialDocument, path: Path) -> Path:
    """Write one document as a PDF file."""
    return PdfWriter().write(doc, path)
