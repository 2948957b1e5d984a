"""Hostile and oversized XLSX files: each is read correctly or refused with an InputError that names the file and
the fix — never a hang, a traceback or memory without bound (issue 13, item 3). Outcomes only: nothing is timed here
(benchmarks/bench_hostile.py measures time and memory)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from engine import xlsx_reader
from engine.errors import InputError
from engine.reader import read_tables
from engine.records import load_file
from engine.runner import evaluate_records, regions_of
from tests import xlsxkit
from tests.xlsxkit import BOILER_HEADER, BOILER_ROW, DATE, PERCENT, Sheet, row, write_xlsx

AS_OF = dt.date(2021, 12, 31)
BOILER_VALUES = {"unit_name": "兰州某热力有限公司", "boiler_id": "GL-1", "region": "兰州", "fuel": "coal",
                 "test_type": "acceptance", "manufactured_on": dt.date(2021, 3, 15),
                 "tested_on": dt.date(2021, 10, 20), "capacity_t_h": 20.0, "efficiency_pct": 78.6}


@pytest.fixture(autouse=True, scope="module")
def _both_readers(both_readers):
    """The column-wise and the row-by-row reader must agree on every table read here."""


def load(path, ruleset):
    return load_file(Path(path), ruleset.schemas, regions_of(ruleset))


def refused(path: Path, *fragments: str) -> InputError:
    with pytest.raises(InputError) as caught:
        read_tables(path, str(path))
    error = caught.value
    assert error.file == str(path) and error.fix, str(error)
    for fragment in fragments:
        assert fragment in str(error), str(error)
    return error


def frame_of(path: Path):
    [table] = read_tables(path, str(path))
    return next(table.chunks())


def boiler_table(path: Path, *more_rows: str, after: str = "", before: str = "", prolog: str = "") -> Path:
    return write_xlsx(path, [Sheet("锅炉", [row(1, BOILER_HEADER), row(2, BOILER_ROW), *more_rows], before=before,
                                   after=after, prolog=prolog)])


# ------------------------------------------------------------------------------------------------ styled empty cells

@pytest.fixture(scope="module")
def million_styled(tmp_path_factory) -> Path:
    """A boiler and its header inside 1,000 × 1,000 formatted empty cells (one million)."""
    return xlsxkit.styled_around_table(tmp_path_factory.mktemp("styled") / "styled.xlsx")


def test_a_million_styled_empty_cells_are_read_as_the_table_they_surround(million_styled):
    frame = frame_of(million_styled)
    assert frame.shape == (2, 9)  # trailing empty rows and columns trimmed as they stream
    assert list(frame.iloc[0]) == BOILER_HEADER and list(frame.iloc[1]) == BOILER_ROW


def test_styled_empty_cells_give_no_rows_and_no_rejections(tmp_path, ruleset):
    loaded = load(xlsxkit.styled_around_table(tmp_path / "styled.xlsx", rows=300, columns=300), ruleset)
    assert [r.values for r in loaded.records] == [BOILER_VALUES]
    assert (loaded.tables[0].rows, loaded.tables[0].evaluated, loaded.tables[0].rejected) == (1, 1, 0)


def test_a_row_wider_than_excel_allows_is_refused(tmp_path):
    refused(xlsxkit.styled_row(tmp_path / "wide.xlsx", cells=40_000), "工作表“锅炉”", "超过 16,384 个单元格或部分",
            "重新另存为 .xlsx")


def test_a_full_row_of_styled_cells_is_still_read(tmp_path):
    path = boiler_table(tmp_path / "b.xlsx", row(3, (), styled_to=16_384))
    assert frame_of(path).shape == (2, 9)


# ------------------------------------------------------------------------------------------------ zip bombs

def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    path = xlsxkit.zip_bomb(tmp_path / "bomb.xlsx", unpacked=xlsx_reader.MAX_XLSX_UNPACKED + (1 << 20))
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(xlsx_reader, "_read_sheet", lambda *a: pytest.fail("the bomb was opened"))
    refused(path, "xl/worksheets/sheet1.xml", f"超过 ecocheck 从 XLSX 文件读取的 {xlsx_reader.MAX_XLSX_UNPACKED >> 20} MiB",
            "大表格请另存为 CSV")


def test_a_member_that_declares_less_than_it_holds_gives_no_more(tmp_path):
    """zipfile never reads past a member's declared size (and then finds the CRC wrong): declared sizes bound
    what is unpacked, so checking them is enough."""
    path = boiler_table(tmp_path / "liar.xlsx", *(row(n, BOILER_ROW) for n in range(3, 2000)))
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml")
    entry = data.index(b"PK\x01\x02")  # central directory entries, up to the sheet's
    while data[entry + 46:entry + 46 + len(info.filename)] != info.filename.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24:entry + 28] = (1000).to_bytes(4, "little")  # central directory: uncompressed size
    path.write_bytes(bytes(data))
    refused(path, "不是可读的 XLSX 工作簿")


def test_a_zip_listing_too_many_members_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_XLSX_DIRECTORY", 8 << 10)
    path = boiler_table(tmp_path / "many.xlsx")
    with zipfile.ZipFile(path, "a") as archive:
        for n in range(300):
            archive.writestr(f"xl/media/pad{n}.bin", b"")
    refused(path, "压缩包列出 306 个成员", "多于任何 XLSX 文件")


def test_a_part_read_whole_is_limited(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_XLSX_PART", 1 << 10)  # (content types, the list of sheets, relations)
    path = tmp_path / "big_workbook.xlsx"
    write_xlsx(path, [Sheet(f"表{n}", [row(1, ["x"])]) for n in range(40)])
    refused(path, "解压后有 5 KiB，超过 ecocheck 对 XLSX 文件这一部分读取的 1 KiB", "重新另存为 .xlsx")


# ------------------------------------------------------------------------------------------------ sheets over the limits

def test_rows_past_the_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_XLSX_ROWS", 1_000)
    path = xlsxkit.boilers(tmp_path / "many.xlsx", 1_500)
    refused(path, "工作表“锅炉”的数据一直到第 1,001 行", "读取的 1,000 行", "大表格请另存为 CSV")


def test_rows_at_the_limit_are_read(tmp_path, monkeypatch, ruleset):
    monkeypatch.setattr(xlsx_reader, "MAX_XLSX_ROWS", 1_000)
    path = xlsxkit.boilers(tmp_path / "many.xlsx", 999)
    loaded = load(path, ruleset)
    assert (loaded.tables[0].rows, loaded.tables[0].evaluated) == (999, 999)


def test_one_stray_cell_far_below_the_table_is_named(tmp_path):
    path = boiler_table(tmp_path / "stray.xlsx", row(1_048_576, ["x"]))
    refused(path, "数据一直到第 1,048,576 行", "删除表格下方远处的零散单元格")


def test_one_stray_cell_far_right_of_the_table_is_named(tmp_path):
    path = boiler_table(tmp_path / "stray.xlsx", *(row(n, BOILER_ROW) for n in range(3, 200)),
                        '<row r="200"><c r="XFD200" t="inlineStr"><is><t>x</t></is></c></row>')
    refused(path, "数据一直到 XFD 列、第 200 行", f"读取的 {xlsx_reader.MAX_XLSX_CELLS:,} 个单元格",
            "删除表格右方或下方远处的零散单元格")


def test_the_cell_limit_counts_every_sheet_of_the_workbook(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_XLSX_CELLS", 30)
    table = [row(1, BOILER_HEADER), row(2, BOILER_ROW)]
    write_xlsx(tmp_path / "one.xlsx", [Sheet("锅炉", table)])
    assert frame_of(tmp_path / "one.xlsx").shape == (2, 9)
    path = write_xlsx(tmp_path / "two.xlsx", [Sheet("锅炉", table), Sheet("锅炉2", table)])
    refused(path, "工作表“锅炉2”", "连同前面的工作表，超过 ecocheck 从一个 XLSX 文件读取的 30 个单元格")


def test_a_shared_string_table_past_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_XLSX_STRINGS", 100)
    refused(xlsxkit.boilers(tmp_path / "b.xlsx", 200), "不同的文字超过 100 个")


def test_too_many_merged_ranges_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_XLSX_MERGES", 50)
    merges = "".join(f'<mergeCell ref="J{n}:K{n}"/>' for n in range(1, 60))
    path = boiler_table(tmp_path / "m.xlsx", after=f'<mergeCells count="59">{merges}</mergeCells>')
    refused(path, "合并区域超过 50 个", "取消合并单元格")


def test_a_merged_range_to_the_last_row_of_excel_costs_only_the_rows_there_are(tmp_path, ruleset):
    more = [row(n, [None] + BOILER_ROW[1:]) for n in range(3, 6)]
    path = boiler_table(tmp_path / "m.xlsx", *more, after='<mergeCells count="1"><mergeCell ref="A2:A1048576"/>'
                                                         '</mergeCells>')
    loaded = load(path, ruleset)
    assert [r.values["unit_name"] for r in loaded.records] == ["兰州某热力有限公司"] * 4


def test_overlapping_merged_ranges_over_too_many_cells_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_reader, "MAX_XLSX_CELLS", 200)
    merges = "".join('<mergeCell ref="A2:I20"/>' for _ in range(3))
    path = boiler_table(tmp_path / "m.xlsx", *(row(n, BOILER_ROW) for n in range(3, 21)),
                        after=f'<mergeCells count="3">{merges}</mergeCells>')
    refused(path, "合并区域覆盖超过 200 个单元格", "取消合并单元格")


# ------------------------------------------------------------------------------------------------ hostile XML

def test_a_sheet_with_a_million_hyperlinks_after_the_table_is_read(tmp_path):
    links = '<hyperlink ref="A1" display="x"/>' * 200_000
    path = boiler_table(tmp_path / "links.xlsx", after=f"<hyperlinks>{links}</hyperlinks>")
    assert frame_of(path).shape == (2, 9)


def test_entities_are_not_expanded(tmp_path):
    laughs = '<!DOCTYPE worksheet [<!ENTITY a "lol">' + "".join(
        f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9)) + "]>"
    path = boiler_table(tmp_path / "laughs.xlsx", '<row r="3"><c r="A3" t="inlineStr"><is><t>&j;</t></is></c></row>',
                        prolog=laughs)
    try:
        frame = frame_of(path)
    except InputError as error:
        assert "不是可读的 XLSX 工作簿" in str(error)
    else:
        assert "lol" not in str(frame.iloc[2, 0])


def test_a_part_that_is_not_a_worksheet_is_refused(tmp_path):
    path = boiler_table(tmp_path / "b.xlsx")
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = b"<html><body>" + b"<p/>" * 100_000 + b"</body></html>"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    refused(path, "不是可读的 XLSX 工作簿", "is not a worksheet part")


def test_an_unreadable_cell_is_named(tmp_path):
    path = boiler_table(tmp_path / "b.xlsx", '<row r="3"><c r="B3" t="s"><v>99999</v></c></row>')
    refused(path, "工作表“锅炉”第 3 行", "有单元格不是可读的值")


# ------------------------------------------------------------------------------------------------ what Excel shows

def test_percent_cells_keep_every_digit(tmp_path, ruleset):
    """Excel stores 79.99996% as 0.7999996: it is under 80%, not '80%' (six significant digits)."""
    cells = [row(2, BOILER_ROW[:8] + [0.7999996], styles={9: PERCENT}),
             row(3, ["兰州某热力有限公司", "GL-2"] + BOILER_ROW[2:8] + [0.853], styles={9: PERCENT})]
    path = write_xlsx(tmp_path / "p.xlsx", [Sheet("锅炉", [row(1, BOILER_HEADER)] + cells)])
    assert list(frame_of(path).iloc[1:, 8]) == ["79.99996%", "85.3%"]
    loaded = load(path, ruleset)
    assert [r.values["efficiency_pct"] for r in loaded.records] == [79.99996, 85.3]
    results, _ = evaluate_records(ruleset, loaded.records, AS_OF)
    assert {r.subject.id: r.status for r in results if r.rule_id == "BOILER-001"} == {
        "GL-1": "violation", "GL-2": "compliant"}


@pytest.mark.parametrize("value, shown", [(0.7999996, "79.99996%"), (0.853, "85.3%"), (0.81, "81%"), (1, "100%"),
                                          (0.0001, "0.01%"), (1e-20, "0.000000000000000001%"), (12.5, "1250%")])
def test_percent_text(value, shown):
    assert xlsx_reader._percent_text(value) == shown


def test_values_read_as_openpyxl_reads_them(tmp_path):
    """Shared and inline strings (runs, a phonetic guide), numbers, dates, booleans, errors, a formula's text result,
    cells without a reference: the same values as openpyxl's own reader (data_only) gives."""
    strings = {"兰州某热力有限公司": 0}
    cells = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><r><t>锅炉</t></r><r><t>编号</t></r>'
             '<rPh sb="0" eb="2"><t>guolu</t></rPh></is></c><c r="C1"><v>20</v></c><c r="D1"><v>78.6</v></c>'
             f'<c r="E1" s="{DATE}"><v>44270</v></c><c r="F1" t="b"><v>1</v></c><c r="G1" t="e"><v>#DIV/0!</v></c>'
             '<c r="H1" t="str"><f>A1&amp;"x"</f><v>兰州x</v></c><c r="I1"><v>1E+22</v></c></row>'
             '<row><c><v>1</v></c><c t="inlineStr"><is><t xml:space="preserve"> a b </t></is></c><c><v>-0.5</v></c>'
             "</row>")
    path = write_xlsx(tmp_path / "v.xlsx", [Sheet("表", [cells])], strings=strings)
    ours = frame_of(path)
    theirs = list(openpyxl.load_workbook(path, data_only=True)["表"].iter_rows(values_only=True))
    assert [list(r) for r in ours.itertuples(index=False)] == [list(r) for r in theirs]


def test_formula_without_a_saved_result(tmp_path, ruleset):
    path = boiler_table(tmp_path / "f.xlsx", '<row r="3"><c r="A3"><f>1+1</f></c><c r="B3"><f t="shared" ref="B3:B4" '
                                             'si="0">A3*2</f></c></row><row r="4"><c r="B4"><f t="shared" si="0"/></c>'
                                             "</row>")
    [table] = read_tables(path, str(path))
    frame = next(table.chunks())
    assert [frame.iloc[2, 0], frame.iloc[2, 1], frame.iloc[3, 1]] == ["=1+1", "=A3*2", "=A4*2"]
    assert all(isinstance(v, xlsx_reader.Unsaved) for v in (frame.iloc[2, 0], frame.iloc[3, 1]))
    assert "没有保存计算结果的公式单元格按不可读的值处理" in table.notes


def test_hidden_columns_and_merges_come_from_the_sheet_xml(tmp_path, ruleset):
    """<cols> before the cells and <mergeCells> after them, read in the same pass: a hidden outdated efficiency
    column is ignored where a visible one exists; a unit name merged down is copied to each boiler."""
    header = ["热效率（%）"] + BOILER_HEADER
    rows = [row(1, header), row(2, [50.0] + BOILER_ROW), row(3, [50.0, None, "GL-2"] + BOILER_ROW[2:])]
    path = write_xlsx(tmp_path / "h.xlsx", [Sheet(
        "锅炉", rows, before='<cols><col min="1" max="1" width="9" hidden="1"/></cols>',
        after='<mergeCells count="1"><mergeCell ref="B2:B3"/></mergeCells>')])
    loaded = load(path, ruleset)
    assert [r.values for r in loaded.records] == [BOILER_VALUES, dict(BOILER_VALUES, boiler_id="GL-2")]
    assert loaded.tables[0].unknown_columns == []
