"""Official-document model, DOCX and PDF writers: GB/T 9704-2012 geometry, fonts, text and page counts read back."""

import dataclasses
import io
import re
import shutil
import subprocess

import docx
import pytest
from docx.oxml.ns import qn
from pypdf import PdfReader

from engine import gbt9704 as g
from engine.docx_writer import render_docx
from engine.officialdoc import (FindingItem, Header, Heading, Issuer, OfficialDocument, Paragraph, Table, cn_date,
                                numbered)
from engine.pdf_writer import PdfWriter
from engine.sample_documents import FINDING, joint_notice, rectification_notice

MM = 25.4 / 72


@pytest.fixture(scope="module")
def pdf_writer():
    return PdfWriter()


@pytest.fixture(scope="module")
def pdfs(pdf_writer):
    return {name: pdf_writer.render(doc) for name, doc in
            (("one", rectification_notice()), ("multi", rectification_notice(12)), ("joint", joint_notice()))}


def _chars(pdf: bytes, page: int = 0) -> list[tuple[str, float, float, float]]:
    """(text, x mm from the left, top mm from the top, font size pt) of each text run on a page."""
    reader = PdfReader(io.BytesIO(pdf))
    p = reader.pages[page]
    height = float(p.mediabox.height)
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            scale = abs(tm[3] * cm[3]) or 1
            x = tm[4] * cm[0] + cm[4]
            y = tm[5] * cm[3] + cm[5]
            px = size * scale
            runs.append((text, x * MM, (height - y - 0.88 * px) * MM, px))
    p.extract_text(visitor_text=visit)
    return runs


# ------------------------------------------------------------------------------------------- model

def test_headings_and_findings_are_numbered_per_level():
    body = (Heading(1, "甲"), Heading(2, "乙"), Heading(2, "丙"), Heading(3, "丁"), Heading(4, "戊"),
            Heading(1, "己"), Heading(2, "庚"), FindingItem("a"), FindingItem("b"), Paragraph("p"))
    labels = [label for label, _ in numbered(body)]
    assert labels == ["一、", "（一）", "（二）", "1.", "（1）", "二、", "（一）", "1.", "2.", ""]


def test_model_rejects_bad_input():
    with pytest.raises(ValueError):
        Heading(5, "x")
    with pytest.raises(ValueError):
        Header((), "x")
    with pytest.raises(ValueError):
        Table(("a", "b"), (("1",),))
    assert cn_date(__import__("datetime").date(2024, 5, 6)) == "2024年5月6日"


def test_signature_layout_puts_date_four_characters_in_and_names_over_it():
    rows, date_x = g.signature_layout(["甘肃省发展和改革委员会"], "2024年5月6日")
    date_width = (4 * 1 + 4 * 0.5) * g.CHAR_MM     # 年月日 and 2024, 5, 6: six cells
    assert date_x == pytest.approx(g.BLOCK_W - 4 * g.CHAR_MM - date_width / 2, abs=0.01)
    assert rows[0].names[0][1] == date_x
    rows, _ = g.signature_layout(["甲局", "乙厅", "丙委"], "2024年5月6日")
    assert [len(r.names) for r in rows] == [1, 2]
    assert rows[1].names[1][1] - rows[1].names[0][1] == pytest.approx(g.BLOCK_W / 2)


# ------------------------------------------------------------------------------------------- DOCX

def _docx(doc):
    return docx.Document(io.BytesIO(render_docx(doc)))


def test_docx_page_geometry_and_grid():
    d = _docx(rectification_notice())
    s = d.sections[0]
    assert abs(s.page_width.mm - 210) < 0.5 and abs(s.page_height.mm - 297) < 0.5
    for got, want in ((s.top_margin, 37), (s.left_margin, 28), (s.right_margin, 26), (s.bottom_margin, 35)):
        assert abs(got.mm - want) < 1
    assert abs(s.page_width.mm - s.left_margin.mm - s.right_margin.mm - 156) < 1
    assert abs(s.page_height.mm - s.top_margin.mm - s.bottom_margin.mm - 225) < 1
    grid = s._sectPr.find(qn("w:docGrid"))
    assert int(grid.get(qn("w:linePitch"))) * 22 <= 225 / 25.4 * 1440 < int(grid.get(qn("w:linePitch"))) * 23
    # footer 7 mm below the text block: its line (14 pt) starts 28 mm above the paper's foot
    assert abs(s.footer_distance.mm + 14 * MM - (35 - 7)) < 0.5


def test_docx_fonts_name_east_asian_faces_explicitly():
    d = _docx(rectification_notice())
    defaults = d.styles.element.find(qn("w:docDefaults")).find(".//" + qn("w:rFonts"))
    assert defaults.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert d.styles["Normal"].font.size.pt == 16
    body_xml = d.element.body.xml
    runs = {r.text: r for p in d.paragraphs for r in p.runs}
    title = runs["甘肃省发展和改革委员会关于兰州某热力有限公司燃煤锅炉能效不达标的限期整改通知书"]
    assert title.font.size.pt == 22
    assert title._r.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    mark = runs["甘肃省发展和改革委员会文件"]
    assert str(mark.font.color.rgb) == "FF0000"
    assert runs["一、检查发现的问题"]._r.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert runs["（一）制定整改方案。"]._r.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    assert 'w:color="FF0000"' in body_xml and "w:pBdr" in body_xml      # red separator line
    font_table = next(p for p in d.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    assert b'w:name="\xe4\xbb\xbf\xe5\xae\x8b_GB2312"><w:altName w:val="Noto Serif CJK SC"' in font_table.blob


def test_docx_paragraphs_in_order():
    d = _docx(rectification_notice())
    texts = [p.text for p in d.paragraphs]
    assert texts.index("甘发改环资监〔2024〕12号") < texts.index("兰州某热力有限公司：")
    assert any(t.startswith("1.锅炉热效率：" + FINDING[:10]) for t in texts)
    assert "附件：数据来源与运行记录" in texts
    assert texts.index("附件：数据来源与运行记录") < next(i for i, t in enumerate(texts) if t.endswith("2024年5月6日"))
    cc = d.tables[-1]
    assert cc.rows[0].cells[0].text.startswith("抄送：甘肃省生态环境厅")
    assert cc._tbl.tblPr.find(qn("w:tblpPr")).get(qn("w:tblpYSpec")) == "bottom"   # 版记 at the foot


def test_docx_odd_and_even_footers():
    d = _docx(rectification_notice())
    s = d.sections[0]
    assert d.settings.odd_and_even_pages_header_footer
    odd, even = s.footer.paragraphs[0], s.even_page_footer.paragraphs[0]
    assert odd.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT
    assert even.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.LEFT
    for p in (odd, even):
        assert 'w:instr=" PAGE "' in p._p.xml and p.text == "—  —"   # the number is the PAGE field's
        assert p.runs[0]._r.rPr.rFonts.get(qn("w:eastAsia")) == "宋体" and p.runs[0].font.size.pt == 14


def test_docx_joint_document_has_both_authorities_and_seals():
    d = _docx(joint_notice())
    mark_table = d.tables[0]
    assert [p.text for p in mark_table.rows[0].cells[0].paragraphs] == ["甘肃省市场监督管理局", "甘肃省生态环境厅"]
    assert mark_table.rows[0].cells[1].text == "文件"
    sealed = [p for p in d.paragraphs if "<wp:anchor" in p._p.xml]
    assert len(sealed) == 1 and sealed[0]._p.xml.count("<wp:anchor") == 2
    assert sealed[0].text == "\t甘肃省市场监督管理局\t甘肃省生态环境厅"


# ------------------------------------------------------------------------------------------- PDF

def test_pdf_is_a4_with_text_block_margins(pdfs):
    reader = PdfReader(io.BytesIO(pdfs["multi"]))
    box = reader.pages[0].mediabox
    assert abs(float(box.width) * MM - 210) < 0.5 and abs(float(box.height) * MM - 297) < 0.5
    # page 2 is all body text: its first line starts at the text block's top-left corner, and lines run to
    # its right edge (28 characters) and foot (22 lines)
    runs = [r for r in _chars(pdfs["multi"], 1) if r[3] == pytest.approx(16, abs=0.1)]
    left = min(x for _, x, _, _ in runs)
    top = min(y for _, _, y, _ in runs)
    assert abs(left - 28) < 1 and abs(top - 37) < 1
    bottoms = sorted({round(y, 1) for _, _, y, _ in runs})
    assert len(bottoms) == 22 and abs(bottoms[-1] - (37 + 21 * 225 / 22)) < 1


def test_pdf_text_layer_and_pages(pdfs):
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdfs["one"])).pages)
    flat = text.replace("\n", "").replace(" ", "")
    assert "甘发改环资监〔2024〕12号" in flat
    assert "限期整改通知书" in flat and "甘肃省发展和改革委员会文件" in flat
    assert "正平衡热效率实测值为76.2%" in flat
    assert len(PdfReader(io.BytesIO(pdfs["one"])).pages) <= 2
    assert len(PdfReader(io.BytesIO(pdfs["multi"])).pages) >= 3


def test_pdf_page_numbers_odd_right_even_left(pdfs):
    for page in (0, 1):
        nums = [r for r in _chars(pdfs["multi"], page) if r[0].replace(" ", "") == f"—{page + 1}—"]
        assert nums, f"no page number on page {page + 1}"
        _, x, y, _ = nums[-1]
        assert abs(y - (37 + 225 + 7)) < 1.5
        assert (x > 150) if page == 0 else (x < 60)


def test_pdf_joint_document_names_both_authorities_and_embeds_fonts(pdfs):
    reader = PdfReader(io.BytesIO(pdfs["joint"]))
    text = "".join(p.extract_text() for p in reader.pages).replace("\n", "").replace(" ", "")
    assert text.count("甘肃省市场监督管理局") >= 3 and "甘肃省生态环境厅" in text and "2024年5月6日" in text
    fonts = set()
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            desc = f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), "font not embedded"
            fonts.add(str(f.get_object()["/BaseFont"]).split("+")[-1])
    assert any("NotoSerifCJK" in f for f in fonts)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_pdf_first_page_renders_with_red_mark(pdfs, tmp_path):
    (tmp_path / "one.pdf").write_bytes(pdfs["one"])
    subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", "-png", str(tmp_path / "one.pdf"),
                    str(tmp_path / "p")], check=True)
    png = next(tmp_path.glob("p*.png")).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert abs(width / height - 210 / 297) < 0.01
    ppm = subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", str(tmp_path / "one.pdf")],
                         check=True, capture_output=True).stdout
    header_end = ppm.index(b"255\n") + 4
    w = int(ppm.split()[1])
    pixels = ppm[header_end:]
    red_rows = {i // 3 // w for i in range(0, len(pixels), 3)
                if pixels[i] > 200 and pixels[i + 1] < 80 and pixels[i + 2] < 80}
    assert red_rows, "no red 发文机关标志 or separator line"
    assert min(red_rows) / 30 * 25.4 == pytest.approx(37 + 35, abs=3)   # mark's top 35 mm into the text block


def test_minimal_document_data():
    doc = OfficialDocument(Header((Issuer("甲"),), "甲〔2024〕1号"), "标题", ("乙",), (Paragraph("正文"),), "2024年1月1日")
    from engine.pdf_writer import document_data
    assert document_data(doc)["marks"] == ["甲"]


def test_docx_paragraph_properties_follow_the_schema_order():
    """Word refuses a file whose paragraph properties are out of the order CT_PPr gives (LibreOffice does not)."""
    from engine.docx_writer import PPR_ORDER

    d = _docx(rectification_notice())
    checked = 0
    for ppr in d.element.body.iter(qn("w:pPr")):
        names = [child.tag.split("}")[1] for child in ppr]
        assert names == sorted(names, key=PPR_ORDER.index), names
        checked += 1
    assert checked > 10


@pytest.mark.parametrize("with_attachment", [True, False])
def test_docx_signature_takes_the_closing_text_with_it(with_attachment):
    """署名 and 成文日期 never stand alone on a page: the last body paragraph keeps with them, 附件说明 or not."""
    doc = rectification_notice()
    if not with_attachment:
        doc = dataclasses.replace(doc, attachments=())
    d = _docx(doc)
    paragraphs = d.paragraphs
    signature = next(n for n, p in enumerate(paragraphs) if p.text.strip() == "甘肃省发展和改革委员会"
                     and n > 3)
    closing = next(p for p in reversed(paragraphs[:signature]) if p.text.strip())
    assert closing.paragraph_format.keep_with_next


@pytest.mark.parametrize("findings", [1, 2, 5, 6, 19])
def test_pdf_signature_takes_the_closing_text_with_it(pdf_writer, findings):
    """The page holding 成文日期 also holds the last body paragraph (特此通知。), with or without 附件说明.

    Before the fix, 2, 5, 6 and 19 findings left 特此通知。 at the foot of one page and the signature alone on the next.
    """
    pdf = pdf_writer.render(rectification_notice(findings))
    pages = [p.extract_text().replace(" ", "") for p in PdfReader(io.BytesIO(pdf)).pages]
    signed = [n for n, text in enumerate(pages) if re.search(r"2024年5月6日(?!印发)", text)]
    assert len(signed) == 1, signed
    assert "特此通知。" in pages[signed[0]], (signed, len(pages))


def _heading_and_table(before: int):
    """`before` paragraphs, then a heading, a captioned table and a paragraph."""
    doc = rectification_notice()
    body = tuple(Paragraph(f"第{n + 1}段：" + "根据有关规定对你单位的用能设备进行了节能监察。" * 2) for n in range(before)) + (
        Heading(1, "预警等级"),
        Table(("市州", "指标", "预警等级"), tuple((f"市{n}", "能源消费总量", "一级") for n in range(6)),
              caption="节能目标完成进度预警表"),
        Paragraph("特此通报。"))
    return dataclasses.replace(doc, body=body, attachments=())


def test_pdf_keeps_a_heading_and_a_table_caption_with_the_table(pdf_writer):
    """A heading and a table's caption are on the page of the table's first row, wherever the page breaks.

    Before the fix, a 预警通报 ended its first page with 一、预警等级 and the caption, the table on the next."""
    broke = 0
    for before in range(0, 13):
        pdf = pdf_writer.render(_heading_and_table(before))
        pages = [p.extract_text().replace(" ", "") for p in PdfReader(io.BytesIO(pdf)).pages]
        page_of = {mark: next(n for n, text in enumerate(pages) if mark in text)
                   for mark in ("预警等级", "节能目标完成进度预警表", "市0")}
        assert len(set(page_of.values())) == 1, (before, page_of)
        broke += page_of["市0"] > 0
    assert broke, "no case put the table on a later page: the test shows nothing"


def test_docx_keeps_a_table_caption_with_the_table():
    d = _docx(_heading_and_table(3))
    caption = next(p for p in d.paragraphs if p.text == "节能目标完成进度预警表")
    heading = next(p for p in d.paragraphs if "预警等级" in p.text)
    assert caption.paragraph_format.keep_with_next and heading.paragraph_format.keep_with_next
