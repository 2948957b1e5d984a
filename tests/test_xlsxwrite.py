"""The workbook written as its XML (engine/xlsxwrite.py) reads back, in openpyxl, as the same cells, styles, widths,
frozen header and filter as openpyxl's own write-only writer gives for the same rows."""

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from engine.xlsxwrite import HEADER, Book, column_letter

# Texts with what XML escapes (& < > " '), line breaks (a wrapped cell), spaces at either end, CJK, and numbers
TEXT = st.text(alphabet=st.sampled_from(list("ab &<>\"'\n中文 1.-=")), max_size=8)
VALUE = TEXT | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False, width=32)
ROWS = st.lists(st.lists(VALUE, min_size=1, max_size=4), max_size=12)


def _openpyxl_book(path, rows, widths):
    """The rows as workbook.Sheet wrote them with openpyxl before."""
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("表")
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[column_letter(n)].width = width
    ws.freeze_panes = "A2"
    header = []
    for name in ("甲", "乙", "丙", "丁"):
        cell = WriteOnlyCell(ws, name)
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDE5F0")
        header.append(cell)
    ws.append(header)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str) and "\n" in value:
                value = WriteOnlyCell(ws, value)
                value.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(value)
        ws.append(cells)
    ws.auto_filter.ref = f"A1:D{len(rows) + 1}"
    book.save(path)


def _cells(path) -> list:
    ws = openpyxl.load_workbook(path)["表"]
    return [(c.coordinate, c.value, c.font.b, c.fill.fgColor.rgb, c.alignment.wrap_text, c.alignment.vertical)
            for row in ws.iter_rows() for c in row]


@settings(max_examples=60, deadline=None)
@given(ROWS)
def test_rows_read_back_as_openpyxl_wrote_them(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("x")
    widths = [12, 28, 7, 40]
    book = Book()
    sheet = book.add_sheet("表", widths)
    sheet.add(["甲", "乙", "丙", "丁"], style=HEADER)
    for row in rows:
        sheet.add(row)
    book.save(folder / "new.xlsx")
    _openpyxl_book(folder / "old.xlsx", rows, widths)
    assert _cells(folder / "new.xlsx") == _cells(folder / "old.xlsx")
    new, old = openpyxl.load_workbook(folder / "new.xlsx")["表"], openpyxl.load_workbook(folder / "old.xlsx")["表"]
    assert (new.freeze_panes, new.auto_filter.ref) == (old.freeze_panes, old.auto_filter.ref) == ("A2", f"A1:D{len(rows) + 1}")
    assert [new.column_dimensions[column_letter(n)].width for n in range(1, 5)] == widths


def test_characters_xml_cannot_hold_are_shown_as_escapes(tmp_path):
    """openpyxl's writer stops at U+FFFE (lxml refuses it); here it is written as its escape, like other hidden
    characters in documents (safe_text.escape_char)."""
    book = Book()
    sheet = book.add_sheet("表", [10, 10])
    sheet.add(["名称", "值"], style=HEADER)
    sheet.add(["某单位\ufffe", "a\x01b"])
    book.save(tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx")["表"]
    assert [c.value for c in ws[2]] == ["某单位\\ufffe", "a\\x01b"]


def test_column_letters():
    assert [column_letter(n) for n in (1, 26, 27, 52, 53, 702, 703, 16384)] == \
        ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]
