"""Each type of letter the demo sends, laid out as a PDF and a DOCX: page size, margins, pages and words read back."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess

import docx
import pytest
from pypdf import PdfReader

from engine.docx_writer import render_docx
from engine.pdf_writer import PdfWriter
from engine.runner import check, sample_paths

from letterkit import plan
from test_officialdoc import _chars

TYPES = ("facility_rectification", "prefecture_assessment", "interview_notice", "restriction_notice",
         "project_suspension")


@pytest.fixture(scope="module")
def letters(ruleset):
    report = check(sample_paths(), ruleset, dt.date(2026, 12, 1)).report
    planned, _ = plan(ruleset, report)
    first = {}
    for letter in planned:
        first.setdefault(letter.letter_type, letter)
    assert set(first) == set(TYPES)
    # the one-finding rectification notice of the sample boilers (a coal boiler in a heating network area)
    first["one_finding"] = next(x for x in planned if x.letter_type == "facility_rectification"
                                and x.addressee == "白银某化工有限公司" and len(x.record["findings"]) == 1)
    return first


@pytest.fixture(scope="module")
def pdfs(letters):
    writer = PdfWriter()
    return {key: writer.render(letter.document("（印章）")) for key, letter in letters.items()}


def _squashed(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


@pytest.mark.parametrize("key", TYPES + ("one_finding",))
def test_pdf_geometry_and_text_layer(letters, pdfs, key):
    letter, pdf = letters[key], pdfs[key]
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    assert round(float(page.mediabox.width) * 25.4 / 72) == 210 and round(float(page.mediabox.height) * 25.4 / 72) == 297
    runs = _chars(pdf, 0)
    assert abs(min(x for _, x, _, _ in runs) - 28) <= 1.0  # 订口 28 mm: the text block's left edge
    text = _squashed(pdf)
    assert re.sub(r"\s+", "", letter.title) in text and letter.doc_number in text
    finding = next(b for b in letter.blocks if type(b).__name__ in ("FindingItem", "Paragraph"))
    assert re.sub(r"\s+", "", finding.text)[:20] in text
    assert letter.addressee in text


def test_a_one_finding_notice_fits_on_two_pages(pdfs):
    assert len(PdfReader(io.BytesIO(pdfs["one_finding"])).pages) <= 2


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
@pytest.mark.parametrize("key", TYPES)
def test_page_one_renders_with_the_red_mark(pdfs, tmp_path, key):
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdfs[key])
    ppm = subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", str(path)], check=True,
                         capture_output=True).stdout
    magic, width, height = ppm.split()[:3]
    assert magic == b"P6" and abs(int(height) / int(width) - 297 / 210) < 0.01
    pixels = ppm[ppm.index(b"255\n") + 4:]
    red_rows = {i // 3 // int(width) for i in range(0, len(pixels), 3)
                if pixels[i] > 200 and pixels[i + 1] < 80 and pixels[i + 2] < 80}
    assert red_rows and min(red_rows) / 30 * 25.4 == pytest.approx(37 + 35, abs=3)  # mark 35 mm into the block


@pytest.mark.parametrize("key", TYPES)
def test_docx_reads_back(letters, key):
    letter = letters[key]
    document = docx.Document(io.BytesIO(render_docx(letter.document("（印章）"))))
    section = document.sections[0]
    assert abs(section.page_width.mm - 210) < 1 and abs(section.page_height.mm - 297) < 1
    assert abs(section.top_margin.mm - 37) < 1 and abs(section.left_margin.mm - 28) < 1
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert letter.title in text.replace("\n", "") or re.sub(r"\s", "", letter.title) in re.sub(r"\s", "", text)
    assert letter.doc_number in text and letter.addressee in text
