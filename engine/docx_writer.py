"""DOCX official documents laid out to GB/T 9704-2012: a python-docx package skeleton and WordprocessingML bodies."""

from __future__ import annotations

import io
import re
import zipfile
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, Twips

from engine import gbt9704 as g
from engine.officialdoc import FindingItem, Heading, OfficialDocument, Paragraph, Table, display_width, numbered
from engine.safe_text import for_document

TWIPS_PER_MM = 1440 / 25.4
EMU_PER_MM = 36000
LINE = round(g.LINE_PITCH_PT * 20 - 0.5)               # 579 twips: 22 lines fit the 225 mm text block
CHAR_SPACE = int((g.CHAR_PITCH_PT - g.BODY_PT) * 4096) - 1  # w:charSpace: 28 characters fit 156 mm
CONDENSE = -5                                            # w:spacing, 1/20 pt: 16 pt − 0.25 pt, 28 a line
CHAR = g.CHAR_PITCH_PT * 20                              # one body character, twips
SMALL_CHAR = g.SMALL_PT * 20                             # one 4号 character, twips
MARK_MAX_PT = 42.0
FOOTER_DISTANCE_MM = g.BOTTOM - g.PAGE_NUMBER_GAP - g.SMALL_PT / g.PT_PER_MM  # page-number line top 7 mm below


def _tw(mm: float) -> int:
    return round(mm * TWIPS_PER_MM)


# ------------------------------------------------------------------------------------------- skeleton

def _rfonts(east_asia: str, latin: str) -> str:
    return (f'<w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{east_asia}" w:cs="{latin}"/>')


def _footer(section_footer, align, indent: dict, fonts: g.FontSet) -> None:
    p = section_footer.paragraphs[0]
    p.alignment = align
    pf = p.paragraph_format
    pf.space_before = pf.space_after = Pt(0)
    for side, value in indent.items():
        setattr(pf, side, Twips(value))
    run_pr = (f'<w:rPr>{_rfonts(fonts.songti, fonts.songti)}<w:sz w:val="28"/><w:szCs w:val="28"/></w:rPr>')
    p._p.append(parse_xml(f'<w:r {nsdecls("w")}>{run_pr}<w:t xml:space="preserve">— </w:t></w:r>'))
    p._p.append(parse_xml(f'<w:fldSimple {nsdecls("w")} w:instr=" PAGE "><w:r>{run_pr}<w:t>1</w:t></w:r>'
                          '</w:fldSimple>'))
    p._p.append(parse_xml(f'<w:r {nsdecls("w")}>{run_pr}<w:t xml:space="preserve"> —</w:t></w:r>'))


def _font_table_with_fallbacks(document) -> None:
    """Declare the GB fonts in word/fontTable.xml with the open font each falls back to (w:altName)."""
    for part in document.part.package.iter_parts():
        if str(part.partname) == "/word/fontTable.xml":
            xml = part.blob.decode("utf-8")
            entries = "".join(f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
                              '<w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>'
                              for name, alt in g.FALLBACKS.items())
            part._blob = xml.replace("</w:fonts>", entries + "</w:fonts>").encode("utf-8")


def _doc_defaults(document, fonts: g.FontSet) -> None:
    """Default run properties: 3号 仿宋 with the East-Asian font named explicitly, Chinese language; no spacing."""
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is not None:
        styles.remove(defaults)
    styles.insert(0, parse_xml(
        f'<w:docDefaults {nsdecls("w")}><w:rPrDefault><w:rPr>{_rfonts(fonts.fangsong, fonts.latin)}'
        f'<w:spacing w:val="{CONDENSE}"/><w:kern w:val="2"/><w:sz w:val="32"/><w:szCs w:val="32"/>'
        '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
        '<w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="579" w:lineRule="exact"/><w:jc w:val="both"/>'
        '</w:pPr></w:pPrDefault></w:docDefaults>'))


KEEP_STYLES = {"Normal", "DefaultParagraphFont", "TableNormal", "NoList", "Footer", "Header"}


def _prune_styles(document) -> None:
    """Drop the template's hundreds of unused styles and its stylesWithEffects part (800 KB a document)."""
    styles = document.styles.element
    for child in list(styles):
        if child.tag == qn("w:latentStyles") or (
                child.tag == qn("w:style") and child.get(qn("w:styleId")) not in KEEP_STYLES):
            styles.remove(child)
    for rid, rel in list(document.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            document.part.drop_rel(rid)


@lru_cache(maxsize=4)
def skeleton(fonts: g.FontSet = g.GB_FONTS) -> bytes:
    """An empty A4 document with the GB/T 9704 page, grid, default fonts and odd/even page-number footers."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(g.PAGE_W), Mm(g.PAGE_H)
    section.top_margin, section.bottom_margin = Mm(g.TOP), Mm(g.BOTTOM)
    section.left_margin, section.right_margin = Mm(g.LEFT), Mm(g.RIGHT)
    section.header_distance = Mm(15)
    section.footer_distance = Mm(FOOTER_DISTANCE_MM)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = section._sectPr.makeelement(qn("w:docGrid"), {})
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "lines")  # the 28-character line comes from CONDENSE: LibreOffice misreads charSpace
    grid.set(qn("w:linePitch"), str(LINE))
    grid.set(qn("w:charSpace"), str(CHAR_SPACE))
    document.settings.odd_and_even_pages_header_footer = True
    _footer(section.footer, WD_ALIGN_PARAGRAPH.RIGHT, {"right_indent": SMALL_CHAR}, fonts)
    _footer(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, {"left_indent": SMALL_CHAR}, fonts)
    normal = document.styles["Normal"]
    normal.font.size = Pt(g.BODY_PT)
    normal.font.name = fonts.latin
    rfonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), fonts.fangsong)
    normal.paragraph_format.space_after = Pt(0)
    _doc_defaults(document, fonts)
    _font_table_with_fallbacks(document)
    _prune_styles(document)
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@lru_cache(maxsize=4)
def _skeleton_parts(fonts: g.FontSet) -> tuple[list[tuple[str, bytes]], str, str]:
    """The skeleton's zip entries but document.xml, and document.xml split around the body's content."""
    with zipfile.ZipFile(io.BytesIO(skeleton(fonts))) as z:
        parts = [(n, z.read(n)) for n in z.namelist() if n != "word/document.xml"]
        xml = z.read("word/document.xml").decode("utf-8")
    cut = xml.index("<w:sectPr")
    return parts, xml[:cut], xml[cut:]


# ------------------------------------------------------------------------------------------- body XML

# The order WordprocessingML requires of a paragraph's properties (CT_PPr); Word refuses a file that breaks it.
PPR_ORDER = ("pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
             "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
             "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
             "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
             "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange")
_ELEMENT = re.compile(r"<w:(\w+)\b[^>]*?/>|<w:(\w+)\b[^>]*>.*?</w:\2>", re.S)


def in_schema_order(properties: str) -> str:
    """Paragraph property elements sorted into the schema's order (the writer composes them from parts)."""
    found = [(m.group(1) or m.group(2), m.group(0)) for m in _ELEMENT.finditer(properties)]
    if "".join(text for _, text in found) != properties:
        raise ValueError(f"not a sequence of elements: {properties[:80]}")
    return "".join(text for _, text in sorted(found, key=lambda item: PPR_ORDER.index(item[0])))


class _Body:
    """WordprocessingML for one document body, written as text (fast, and every value escaped)."""

    def __init__(self, fonts: g.FontSet):
        self.f = fonts
        self.out: list[str] = []
        self.shapes = 0

    def run(self, text: str, font: str | None = None, size: float | None = None, bold: bool = False,
            color: str = "") -> str:
        props = []
        if font:
            props.append(_rfonts(font, self.f.latin))
        if bold:
            props.append("<w:b/><w:bCs/>")
        if color:
            props.append(f'<w:color w:val="{color}"/>')
        if size:
            half = round(size * 2)
            props.append(f'<w:sz w:val="{half}"/><w:szCs w:val="{half}"/>')
        rpr = f"<w:rPr>{''.join(props)}</w:rPr>" if props else ""
        # controls (invalid in XML: Word would refuse the file) and bidi characters shown as escapes
        return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(for_document(text))}</w:t></w:r>'

    def para(self, runs: str, *, jc: str = "both", first_chars: int = 2, before: int = 0, line: int = LINE,
             extra: str = "", ind: str = "", grid: bool = True) -> None:
        indent = ind or (f'<w:ind w:firstLineChars="{first_chars * 100}" w:firstLine="{round(first_chars * CHAR)}"/>'
                         if first_chars else "")
        if not grid:  # larger type would take two grid cells a character
            extra = '<w:snapToGrid w:val="0"/>' + extra
        properties = in_schema_order(extra + f'<w:spacing w:before="{before}" w:after="0" w:line="{line}" '
                                     f'w:lineRule="exact"/>{indent}<w:jc w:val="{jc}"/>')
        self.out.append(f'<w:p><w:pPr>{properties}</w:pPr>{runs}</w:p>')

    def seal(self, centre_mm: float, top_mm: float) -> str:
        """A dashed red circle where the seal goes, anchored to the paragraph it is in."""
        self.shapes += 1
        d = round(g.SEAL_DIAMETER * EMU_PER_MM)
        x = round((centre_mm - g.SEAL_DIAMETER / 2) * EMU_PER_MM)
        y = round(top_mm * EMU_PER_MM)
        n = self.shapes
        return (
            '<w:r><w:drawing><wp:anchor xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/'
            'wordprocessingDrawing" distT="0" distB="0" distL="0" distR="0" simplePos="0" '
            f'relativeHeight="{251659264 + n}" behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1">'
            '<wp:simplePos x="0" y="0"/>'
            f'<wp:positionH relativeFrom="column"><wp:posOffset>{x}</wp:posOffset></wp:positionH>'
            f'<wp:positionV relativeFrom="line"><wp:posOffset>{y}</wp:posOffset></wp:positionV>'
            f'<wp:extent cx="{d}" cy="{d}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
            f'<wp:docPr id="{1000 + n}" name="印章位置 {n}"/><wp:cNvGraphicFramePr/>'
            '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
            '<wps:wsp xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
            '<wps:cNvSpPr/><wps:spPr>'
            f'<a:xfrm><a:off x="0" y="0"/><a:ext cx="{d}" cy="{d}"/></a:xfrm>'
            '<a:prstGeom prst="ellipse"><a:avLst/></a:prstGeom><a:noFill/>'
            f'<a:ln w="12700"><a:solidFill><a:srgbClr val="{g.RED}"/></a:solidFill><a:prstDash val="dash"/>'
            '</a:ln></wps:spPr><wps:bodyPr/></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></w:r>')


def _mark(b: _Body, doc: OfficialDocument) -> None:
    marks = [i.mark for i in doc.issuers]
    suffix = doc.header.mark_suffix
    width = max(display_width(m) for m in marks) + display_width(suffix)
    size = min(MARK_MAX_PT, 0.92 * g.BLOCK_W * g.PT_PER_MM / max(width, 1))
    line = round(size * 1.25 * 20)
    before = _tw(g.MARK_TOP) - round(size * 0.12 * 20)
    title = b.f.title
    if len(marks) == 1:
        b.para(b.run(marks[0] + suffix, title, size, b.f.title_bold, g.RED), jc="center", first_chars=0,
               before=before, line=line, grid=False)
        return
    # joint: the names stacked, 文件 to their right, vertically centred (a borderless two-column table)
    name_w = round(max(display_width(m) for m in marks) * size * 20 + 40)
    suffix_w = round(display_width(suffix) * size * 20 + 40)
    b.para("", first_chars=0, before=before - line, line=line)
    names = "".join(f'<w:p><w:pPr><w:snapToGrid w:val="0"/><w:spacing w:before="0" w:after="0" w:line="{line}" '
                    f'w:lineRule="exact"/><w:jc w:val="distribute"/></w:pPr>{b.run(m, title, size, b.f.title_bold, g.RED)}</w:p>'
                    for m in marks)
    suffix_p = (f'<w:p><w:pPr><w:snapToGrid w:val="0"/><w:spacing w:before="0" w:after="0" w:line="{line}" w:lineRule="exact"/>'
                f'</w:pPr>{b.run(suffix, title, size, b.f.title_bold, g.RED)}</w:p>')
    b.out.append(
        f'<w:tbl><w:tblPr><w:tblW w:w="{name_w + suffix_w}" w:type="dxa"/><w:jc w:val="center"/>'
        '<w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/>'
        f'</w:tblCellMar></w:tblPr><w:tblGrid><w:gridCol w:w="{name_w}"/><w:gridCol w:w="{suffix_w}"/></w:tblGrid>'
        f'<w:tr><w:tc><w:tcPr><w:tcW w:w="{name_w}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr>{names}</w:tc>'
        f'<w:tc><w:tcPr><w:tcW w:w="{suffix_w}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr>{suffix_p}</w:tc>'
        '</w:tr></w:tbl>')


def _title_indent(title: str) -> int:
    """Left and right indent (twips) that break the title into lines of even length (标题排列对称)."""
    per_line = int(g.BLOCK_W * g.PT_PER_MM // g.TITLE_PT)
    width = display_width(title)
    lines = max(1, -(-int(width * 2) // (per_line * 2)))
    chars = min(per_line, -(-int(width * 2) // (lines * 2)) + 0.5)
    return max(0, round((g.BLOCK_W * g.PT_PER_MM - chars * g.TITLE_PT) * 10))


def _table(b: _Body, t: Table) -> None:
    total = _tw(g.BLOCK_W)
    cols = [round(total * fr) for fr in t.fractions]
    if t.caption:
        b.para(b.run(t.caption, b.f.heiti, g.SMALL_PT), jc="center", first_chars=0, line=LINE,
               extra="<w:keepNext/>")  # (on the page of the table's first row)
    cell_ppr = ('<w:pPr><w:snapToGrid w:val="0"/><w:spacing w:before="40" w:after="40" w:line="300" '
                'w:lineRule="exact"/><w:jc w:val="{jc}"/></w:pPr>')

    def row(cells, header: bool) -> str:
        trpr = "<w:trPr><w:tblHeader/></w:trPr>" if header else ""
        tcs = "".join(
            f'<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr><w:p>'
            + cell_ppr.format(jc="center" if header else "left")
            + b.run(text, b.f.heiti if header else None, g.TABLE_PT) + "</w:p></w:tc>"
            for text, w in zip(cells, cols))
        return f"<w:tr>{trpr}{tcs}</w:tr>"

    borders = "".join(f'<w:{s} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                      for s in ("top", "left", "bottom", "right", "insideH", "insideV"))
    b.out.append(f'<w:tbl><w:tblPr><w:tblW w:w="{total}" w:type="dxa"/><w:tblBorders>{borders}</w:tblBorders>'
                 '<w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>'
                 + "".join(f'<w:gridCol w:w="{w}"/>' for w in cols) + "</w:tblGrid>"
                 + row(t.header, True) + "".join(row(r, False) for r in t.rows) + "</w:tbl>")


def _colophon(b: _Body, doc: OfficialDocument) -> bool:
    """版记 as a table floating at the foot of the text block of the page it lands on (the last)."""
    c = doc.colophon
    if not (c.copy_to or c.printer or c.print_date):
        return False
    total = _tw(g.BLOCK_W)
    ppr = ('<w:pPr><w:snapToGrid w:val="0"/><w:spacing w:before="60" w:after="60" w:line="400" '
           'w:lineRule="exact"/>{ind}<w:jc w:val="{jc}"/></w:pPr>')
    rows = []
    one = round(SMALL_CHAR)
    if c.copy_to:
        text = "抄送：" + "，".join(c.copy_to) + "。"
        ind = f'<w:ind w:left="{one + 3 * one}" w:right="{one}" w:hanging="{3 * one}"/>'
        rows.append(f'<w:tr><w:tc><w:tcPr><w:tcW w:w="{total}" w:type="dxa"/><w:gridSpan w:val="2"/></w:tcPr>'
                    f'<w:p>{ppr.format(ind=ind, jc="left")}{b.run(text, size=g.SMALL_PT)}</w:p></w:tc></w:tr>')
    if c.printer or c.print_date:
        half = total // 2
        left_ppr = ppr.format(ind=f'<w:ind w:left="{one}"/>', jc="left")
        right_ppr = ppr.format(ind=f'<w:ind w:right="{one}"/>', jc="right")
        date = c.print_date + "印发" if c.print_date else ""
        left = f"<w:p>{left_ppr}{b.run(c.printer, size=g.SMALL_PT)}</w:p>"
        right = f"<w:p>{right_ppr}{b.run(date, size=g.SMALL_PT)}</w:p>"
        rows.append(f'<w:tr><w:tc><w:tcPr><w:tcW w:w="{half}" w:type="dxa"/></w:tcPr>{left}</w:tc>'
                    f'<w:tc><w:tcPr><w:tcW w:w="{total - half}" w:type="dxa"/></w:tcPr>{right}</w:tc></w:tr>')
    borders = ('<w:top w:val="single" w:sz="8" w:space="0" w:color="000000"/>'
               '<w:left w:val="nil"/><w:right w:val="nil"/><w:insideV w:val="nil"/>'
               '<w:bottom w:val="single" w:sz="8" w:space="0" w:color="000000"/>'
               '<w:insideH w:val="single" w:sz="6" w:space="0" w:color="000000"/>')
    b.out.append('<w:tbl><w:tblPr><w:tblpPr w:leftFromText="0" w:rightFromText="0" w:topFromText="200" '
                 'w:bottomFromText="0" w:vertAnchor="margin" w:horzAnchor="margin" w:tblpYSpec="bottom"/>'
                 f'<w:tblW w:w="{total}" w:type="dxa"/><w:tblBorders>{borders}</w:tblBorders>'
                 '<w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="0" w:type="dxa"/>'
                 '<w:right w:w="0" w:type="dxa"/></w:tblCellMar></w:tblPr>'
                 f'<w:tblGrid><w:gridCol w:w="{total // 2}"/><w:gridCol w:w="{total - total // 2}"/></w:tblGrid>'
                 + "".join(rows) + "</w:tbl>")
    return True


def _signatures(b: _Body, doc: OfficialDocument) -> None:
    rows, date_x = g.signature_layout([i.name for i in doc.issuers], doc.date)
    issuers = iter(doc.issuers)
    keep = "<w:keepNext/><w:keepLines/>"
    for r, row in enumerate(rows):
        tabs = "".join(f'<w:tab w:val="center" w:pos="{_tw(x)}"/>' for _, x in row.names)
        runs = ""
        for name, x in row.names:
            issuer = next(issuers)
            if issuer.seal:
                runs += b.seal(x, -g.SEAL_ABOVE_NAME)
            runs += "<w:r><w:tab/></w:r>" + b.run(name)
        before = _tw(g.SEAL_ABOVE_NAME) if r == 0 else _tw(g.SEAL_DIAMETER + 3 - g.SEAL_ABOVE_NAME) - LINE
        b.para(runs, jc="left", first_chars=0, before=before, extra=keep + f"<w:tabs>{tabs}</w:tabs>", grid=False)
    tab = f'<w:tabs><w:tab w:val="center" w:pos="{_tw(date_x)}"/></w:tabs>'
    b.para("<w:r><w:tab/></w:r>" + b.run(doc.date), jc="left", first_chars=0,
           extra=tab + ("<w:keepNext/>" if doc.note else ""), grid=False)
    if doc.note:
        b.para(b.run("（" + doc.note + "）"))
    if _colophon(b, doc):  # a floating table needs a paragraph after it: a 1 pt one takes no room
        b.para("", first_chars=0, line=20, extra='<w:snapToGrid w:val="0"/><w:rPr><w:sz w:val="2"/></w:rPr>')


def body_xml(doc: OfficialDocument, fonts: g.FontSet = g.GB_FONTS) -> str:
    """The WordprocessingML paragraphs and tables of a document's body (without the section properties)."""
    b = _Body(fonts)
    _mark(b, doc)
    red_line = (f'<w:pBdr><w:bottom w:val="single" w:sz="12" w:space="{round(g.REDLINE_GAP * g.PT_PER_MM)}" '
                f'w:color="{g.RED}"/></w:pBdr>')
    b.para(b.run(doc.header.doc_number), jc="center", first_chars=0, before=2 * LINE, extra=red_line,
           grid=False)
    indent = _title_indent(for_document(doc.title))  # the width of the title as shown
    b.para(b.run(doc.title, fonts.title, g.TITLE_PT, fonts.title_bold), jc="center", before=2 * LINE,
           ind=f'<w:ind w:left="{indent}" w:right="{indent}"/>', first_chars=0, grid=False)
    if doc.addressees:
        b.para(b.run(doc.addressee_line), first_chars=0, before=LINE)
    heading_fonts = {1: fonts.heiti, 2: fonts.kaiti, 3: None, 4: None}
    blocks = list(numbered(doc.body))
    attachments = doc.attachment_lines()
    # The text before the signature goes with it to a new page: 署名 and 成文日期 never stand alone on the last page.
    closing = len(blocks) - 1
    keep = "<w:keepNext/>"
    for n, (label, block) in enumerate(blocks):
        if isinstance(block, Paragraph):
            b.para(b.run(block.text), extra=keep if n == closing else "")
        elif isinstance(block, Heading):
            runs = b.run(label + block.text, heading_fonts[block.level])
            b.para(runs + (b.run(block.run_in) if block.run_in else ""),
                   extra="<w:keepNext/>" if not block.run_in else "")
        elif isinstance(block, FindingItem):
            runs = b.run(label) + (b.run(block.lead + "：", bold=True) if block.lead else "") + b.run(block.text)
            b.para(runs, extra=keep if n == closing else "")
        elif isinstance(block, Table):
            _table(b, block)
    for i, line in enumerate(attachments):
        if i == 0:
            b.para(b.run(line), before=LINE, extra=keep)
        else:
            b.para(b.run(line), first_chars=0, ind=f'<w:ind w:left="{round(5 * CHAR)}"/>', extra=keep)
    _signatures(b, doc)
    return "".join(b.out)


def render_docx(doc: OfficialDocument, fonts: g.FontSet = g.GB_FONTS) -> bytes:
    """One document as DOCX bytes."""
    parts, head, tail = _skeleton_parts(fonts)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("word/document.xml", (head + body_xml(doc, fonts) + tail).encode("utf-8"),
                   compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, data in parts:
            z.writestr(name, data)
    return out.getvalue()


def write_docx(doc: OfficialDocument, path: Path, fonts: g.FontSet = g.GB_FONTS) -> Path:
    """Write one document as a DOCX file."""
    path = Path(path)
    path.write_bytes(render_docx(doc, fonts))
    return path
