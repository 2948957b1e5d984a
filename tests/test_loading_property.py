"""Property tests of the loader: whatever is in the cells or the bytes of a file, `load_file` either returns with
every non-blank row accounted for (rows == evaluated + rejected, records == evaluated), or raises an
engine.errors.EcocheckError — never anything else, and quickly.

Files are written to a fresh temporary directory per example (tmp_path is function-scoped, which hypothesis
does not reset between examples). Sizes are for CI (scaled: ten times as many examples under
`--hypothesis-profile=long`).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from engine.errors import EcocheckError
from engine.normalise import is_blank
from engine.records import load_file
from engine.runner import load_rules, regions_of
from tests.conftest import scaled


@pytest.fixture(autouse=True, scope="module")
def _both_readers(both_readers):
    """Every table read in this module goes through the column-wise and the row-by-row reader, which must agree."""


BOILER_HEADER = ["使用单位", "锅炉编号", "市州", "燃料种类", "测试类型", "出厂日期", "测试日期", "额定蒸发量（t/h）",
                 "热效率（%）"]
SECONDS = 5  # no single file may take longer than this to load or fail

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TOKENS = ["", " ", "—", "/", "无", "未检测", "-", "是", "否", "√", "×", "Y", "N", "燃煤", "天然气", "验收", "运行",
          "兰州市", "甘南藏族自治州", "嘉峪关区", "2017-01-01", "2017年1月1日", "2017.1.1", "2017/1/1", "43831",
          "2017-02-30", "85.3%", "0.853", "８５．３", "1,234.5", "1e308", "-0", "nan", "inf", "合计", "注：备注",
          "说明：本表", "%", "t/h", "万吨", "（吨）", "=1+2", "+cmd", "-1+1", "@SUM(A1)", "=cmd|' /C calc'!A0",
          "<script>alert(1)</script>", "../../x", "\t=1", "\r\n", "\x00", "\ufeff", "\u2028", "𠮷", "GL-1"]

CELL = st.one_of(
    st.sampled_from(TOKENS),
    st.text(max_size=12),
    st.text(alphabet="０１２３４５６７８９．，％－＋　（）ＡＢＣ", max_size=8),
    st.from_regex(r"[+\-]?\d{1,7}([.,]\d{1,4})?%?", fullmatch=True),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Lo", "Nd", "Zs", "Cc", "Po", "Sm"]), max_size=8),
)


@functools.lru_cache(maxsize=None)
def rules_and_regions():
    """Loaded once per module, not as fixtures: hypothesis would print the whole rule set with every failure."""
    ruleset = load_rules()
    return ruleset, regions_of(ruleset)


def accounted(loaded):
    """The accounting invariants of a loaded file."""
    for table in loaded.tables:
        assert table.rows == table.evaluated + table.rejected, table
        row_rejections = [r for r in loaded.rejected if r.file == table.path and r.scope == "row"]
        assert table.rejected == len(row_rejections), table
        assert len([r for r in loaded.records if r.source.file == table.path]) == table.evaluated, table
    assert len(loaded.records) == sum(t.evaluated for t in loaded.tables)
    for rejection in loaded.rejected:
        assert rejection.scope in ("row", "value") and rejection.reason
    for record in loaded.records:
        assert record.id and record.values


def load_or_error(path: Path):
    """The loaded file, or None when it raised an EcocheckError; anything else fails the test."""
    ruleset, regions = rules_and_regions()
    started = time.monotonic()
    try:
        loaded = load_file(path, ruleset.schemas, regions)
    except EcocheckError as exc:
        assert str(exc)
        loaded = None
    assert time.monotonic() - started < SECONDS, path
    if loaded is not None:
        accounted(loaded)
    return loaded


def blank(cells) -> bool:
    """A row the reader skips uncounted: no text in any cell. A row of only 'no data' marks (无, /, —) is counted
    and rejected (records.marks_only), not skipped."""
    return all(is_blank(c) for c in cells)


def expected_rows(loaded, data_rows) -> int:
    unit_row = any("读作各列的单位" in n for n in loaded.tables[0].notes)
    return sum(not blank(r) for r in data_rows[1 if unit_row else 0:])


ROWS = st.lists(st.lists(CELL, min_size=9, max_size=9), min_size=0, max_size=12)


# ------------------------------------------------------------------------------------------------ cells

@settings(max_examples=scaled(60), **SETTINGS)
@given(rows=ROWS, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
       delimiter=st.sampled_from([",", "\t"]))
@example(rows=[["=cmd|' /C calc'!A0", "GL-1", "兰州", "燃煤", "验收", "2021-01-01", "", "", "0.853"]],
         encoding="utf-8", delimiter=",")
@example(rows=[["GL-1"] * 9, ["", "", "", "", "/", "", "", "", ""]], encoding="utf-8", delimiter=",")
def test_csv_cells(rows, encoding, delimiter):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([BOILER_HEADER] + rows)
    try:
        data = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "boilers.csv"
        path.write_bytes(data)
        loaded = load_or_error(path)
    assert loaded is not None, "a CSV with the boiler header row must be readable whatever its cells hold"
    assert [t.kind for t in loaded.tables] == ["boiler"]
    assert loaded.tables[0].rows == expected_rows(loaded, rows)


def _xlsx_cell(value):
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


XLSX_CELL = st.one_of(
    CELL,
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    st.none(),
)


@settings(max_examples=scaled(40), **SETTINGS)
@given(rows=st.lists(st.lists(XLSX_CELL, min_size=9, max_size=9), min_size=0, max_size=10),
       percent=st.sets(st.integers(min_value=0, max_value=8), max_size=3),
       titles=st.integers(min_value=0, max_value=2))
def test_xlsx_cells(rows, percent, titles):
    rows = [[_xlsx_cell(v) for v in row] for row in rows]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for n in range(titles):
        sheet.append([f"标题{n}"])
    sheet.append(BOILER_HEADER)
    for row in rows:
        sheet.append(row)
        for position in range(9):
            cell = sheet.cell(row=sheet.max_row, column=position + 1)
            if isinstance(cell.value, str) and cell.data_type == "f":
                cell.data_type = "s"  # text that looks like a formula stays text
            if position in percent and isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = "0.0%"
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "boilers.xlsx"
        workbook.save(path)
        loaded = load_or_error(path)
    assert loaded is not None, "a sheet with the boiler header row must be readable whatever its cells hold"
    assert [t.kind for t in loaded.tables] == ["boiler"]
    assert loaded.tables[0].rows == expected_rows(loaded, rows)


# ------------------------------------------------------------------------------------------------ bytes

HEADER_BYTES = (",".join(BOILER_HEADER) + "\r\n").encode("utf-8")


@settings(max_examples=scaled(80), **SETTINGS)
@given(data=st.binary(max_size=600), with_header=st.booleans())
@example(data=b"\x00\x00\x00", with_header=True)
@example(data=b'"unclosed,quote\n', with_header=True)
@example(data=b"\xff\xfe", with_header=False)
def test_random_bytes_csv(data, with_header):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.csv"
        path.write_bytes((HEADER_BYTES if with_header else b"") + data)
        load_or_error(path)


UTF8_PIECES = st.sampled_from([b"a", "兰".encode(), "𝄞".encode(), "é".encode(), b"\xef\xbb\xbf",  # (valid)
                                b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x80", b"\xe5\x85", b"\xff"])


@settings(max_examples=scaled(200), **SETTINGS)
@given(data=st.one_of(st.binary(max_size=40), st.lists(UTF8_PIECES, max_size=12).map(b"".join)),
       size=st.integers(min_value=1, max_value=7))
@example(data="兰州".encode(), size=1)
@example(data=b"\xf0\x9d\x84", size=3)  # (a character cut at the end of the file)
def test_pyarrow_takes_as_utf8_what_python_decodes(data, size):
    """reader._utf8_valid (pyarrow's check, block by block, a character cut between blocks checked whole) is
    Python's strict UTF-8 decoder's verdict."""
    from engine.reader import _utf8_valid

    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert _utf8_valid(lambda: (data[k:k + size] for k in range(0, len(data), size))) == expected


@settings(max_examples=scaled(60), **SETTINGS)
@given(data=st.binary(max_size=600))
@example(data=b"[" * 5000)
@example(data=b"[{\"\xe9\x94\x85\xe7\x82\x89\xe7\xbc\x96\xe5\x8f\xb7\": 1e999}]")
@example(data=b"NaN")
def test_random_bytes_json(data):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.json"
        path.write_bytes(data)
        load_or_error(path)


JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), CELL),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(BOILER_HEADER + ["x", "records"]), children, max_size=3)),
    max_leaves=12,
)


@settings(max_examples=scaled(40), **SETTINGS)
@given(records=st.one_of(
    st.lists(st.dictionaries(st.sampled_from(BOILER_HEADER + ["备注", ""]), JSON_VALUE, max_size=9), max_size=6),
    JSON_VALUE))
def test_random_json_structures(records):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.json"
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
        load_or_error(path)


def _valid_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(BOILER_HEADER)
    workbook.active.append(["某公司", "GL-1", "兰州市", "燃煤", "验收", dt.datetime(2021, 3, 1), None, 10, 78.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


VALID_XLSX = _valid_xlsx()


@settings(max_examples=scaled(60), **SETTINGS)
@given(data=st.one_of(
    st.binary(max_size=600),
    st.builds(lambda cut: VALID_XLSX[:cut], st.integers(min_value=0, max_value=len(VALID_XLSX))),
    st.builds(lambda at, junk: VALID_XLSX[:at] + junk + VALID_XLSX[at + len(junk):],
              st.integers(min_value=0, max_value=len(VALID_XLSX)), st.binary(min_size=1, max_size=16)),
))
@example(data=VALID_XLSX)
@example(data=b"PK\x03\x04")
def test_random_bytes_xlsx(data):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "x.xlsx"
        path.write_bytes(data)
        loaded = load_or_error(path)
    if data == VALID_XLSX:
        assert loaded is not None and [r.id for r in loaded.records] == ["GL-1"]


# ------------------------------------------------------------------------------------------------ the two CSV readers
# pyarrow reads a CSV file's data rows where its rows are plain (engine.csv_reader.ARROW_CSV); pandas' reading is the
# reference. Whatever the bytes, the rows both give (cells and row numbers) and everything loaded from them must be
# the same; pyarrow hands over to pandas at a row it cannot read as pandas does (mid-file too: small blocks).

CLEAN_CELL = st.one_of(st.sampled_from(["", "GL-1", "85.3", "2021-01-01", "兰州市", "无", " x ", "合计", "注：x", "\u3000"]),
                       st.text(alphabet=st.characters(codec="utf-8", exclude_characters='"\r\n\x00,;\t'), max_size=8))
PLAIN_CELL = st.one_of(CELL, st.sampled_from(["", " ", "a,b", "x\ty", "1;2", "\r", "\n", "\r\n", "\"q\"", "GL-9", "85"]))


def _rows_of(chunks, first: int) -> list:
    """(file row, cells) of every row from `first` on; the cells beyond the last non-empty column dropped."""
    import numpy as np
    from engine.csv_reader import ArrowChunk

    out = []
    for chunk in chunks:
        frame = chunk.frame() if isinstance(chunk, ArrowChunk) else chunk
        for index, cells in zip(frame.index, frame.itertuples(index=False, name=None)):
            if index < first:
                continue
            cells = ["" if c is None or (isinstance(c, float) and np.isnan(c)) else c for c in cells]
            while cells and cells[-1] == "":
                cells.pop()
            out.append((int(index), cells))
    return out


@settings(max_examples=scaled(30), **SETTINGS)
@given(rows=st.one_of(st.just(10), st.integers(2, 11)).flatmap(lambda width: st.lists(st.one_of(  # 10: the header's
           st.lists(CLEAN_CELL, min_size=width, max_size=width),  # mostly rows of one width: cells without quotes
           st.lists(CLEAN_CELL, min_size=width, max_size=width),  # or line breaks
           st.lists(PLAIN_CELL, min_size=1, max_size=12)), min_size=0, max_size=14)),
       delimiter=st.sampled_from([",", "\t", ";"]), endings=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1),
       bom=st.booleans(), header=st.booleans(), title=st.sampled_from(["", "2021年锅炉能效测试汇总表", "表,一", "表\n一"]),
       blank=st.integers(0, 3), quoted=st.lists(st.booleans()), small=st.booleans())
@example(rows=[["1", "2"], ["3", "4"]], delimiter=",", endings=["\r\n"], bom=True, header=True, title="表,一",
         blank=1, quoted=[True], small=True)
@example(rows=[["\ufeff"]], delimiter=",", endings=["\n"], bom=False, header=False, title="表,一", blank=0, quoted=[],
         small=False)  # U+FEFF starting the first data row: pandas keeps it, pyarrow would drop it as a BOM
@example(rows=[["\ufeffa", "b"], ["\ufeff", "c"]], delimiter=",", endings=["\n"], bom=True, header=False, title="",
         blank=0, quoted=[], small=True)  # two BOMs: pandas drops both, pyarrow one
def test_pyarrow_and_pandas_read_the_same_rows(rows, delimiter, endings, bom, header, title, blank, quoted, small):
    import engine.csv_reader as csv_reader

    lines = ([[title]] if title else []) + ([BOILER_HEADER[:2] + ["全硫St,d（%）"] + BOILER_HEADER[2:]] if header
                                            else []) + rows
    lines[blank:blank] = [[]] * (blank if blank <= len(lines) else 0)

    def line(n: int, cells: list) -> str:
        ending = endings[n % len(endings)]
        if quoted and quoted[n % len(quoted)]:  # csv quotes a cell holding the delimiter, a quote or a line break
            buffer = io.StringIO()
            csv.writer(buffer, delimiter=delimiter, lineterminator=ending).writerow(cells)
            return buffer.getvalue()
        return delimiter.join(cells) + ending

    text = "".join(line(n, cells) for n, cells in enumerate(lines))
    data = ("\ufeff" if bom else "") + text
    with tempfile.TemporaryDirectory() as directory, pytest.MonkeyPatch.context() as patch:
        path = Path(directory) / "b.csv"
        path.write_bytes(data.encode("utf-8"))
        if small:  # blocks of a few rows: pyarrow may stop (and pandas go on) after chunks were read
            patch.setattr(csv_reader, "ARROW_BLOCK", 64)
            patch.setattr(csv_reader, "CHUNK_ROWS", 3)
        try:
            pandas_table = csv_reader.read_csv(path, "b.csv") if not patch.setattr(csv_reader, "ARROW_CSV", False) else None
        except EcocheckError as exc:
            pandas_table, pandas_error = None, str(exc)
        patch.setattr(csv_reader, "ARROW_CSV", True)
        try:
            arrow_table = csv_reader.read_csv(path, "b.csv")
        except EcocheckError as exc:
            arrow_table, arrow_error = None, str(exc)
        if pandas_table is None and arrow_table is not None:
            # pandas finds the header in its first chunk, pyarrow's path in the first rows only: a fault further down
            # (an unclosed quote) stops pandas on opening and pyarrow's path when it reaches it — with the same error
            with pytest.raises(EcocheckError) as raised:
                _rows_of(arrow_table.data_chunks(0) if arrow_table.data_chunks else arrow_table.chunks(), 0)
            assert str(raised.value) == pandas_error
            return
        assert (pandas_table is None) == (arrow_table is None)
        if pandas_table is None:
            assert arrow_error == pandas_error
            return
        assert arrow_table.head.fillna("").values.tolist() == pandas_table.head.fillna("").values.tolist()
        assert arrow_table.notes == pandas_table.notes
        for first in sorted({0, 1, 2, len(lines) // 2}):
            try:
                expected = _rows_of(pandas_table.chunks(), first)
            except EcocheckError as exc:
                expected = str(exc)
            try:
                found = _rows_of(arrow_table.data_chunks(first) if arrow_table.data_chunks else arrow_table.chunks(),
                                 first)
            except EcocheckError as exc:
                found = str(exc)
            assert found == expected, first
        if header:  # and everything loaded from them
            patch.setattr(csv_reader, "ARROW_CSV", False)
            reference = load_or_error(path)
            patch.setattr(csv_reader, "ARROW_CSV", True)
            loaded = load_or_error(path)
            assert (loaded is None) == (reference is None)
            if loaded is not None:
                assert loaded.records == reference.records
                assert loaded.rejected == reference.rejected
                assert [t.manifest_entry() for t in loaded.tables] == [t.manifest_entry() for t in reference.tables]


def test_pyarrow_trims_the_characters_str_strip_strips():
    """columnread strips cells with pyarrow's utf8_trim_whitespace: the same characters as str.strip, every one."""
    import sys

    import pyarrow as pa
    import pyarrow.compute as pc

    points = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    trimmed = pc.utf8_trim_whitespace(pa.array([c + "a" + c for c in points])).to_pylist()
    assert [c for c, t in zip(points, trimmed) if (t == "a") != c.isspace()] == []
    lowered = [c for c in points if c.lower()[:1].isascii() and c.lower()[:1].isalpha() and not c.isascii()]
    assert sorted(lowered) == ["\u0130", "\u212a"]  # İ and the Kelvin sign (columnread._starts_lower relies on it)


def test_re2_case_folds_to_the_letters_of_the_note_prefixes_what_lower_gives():
    """columnread._starts_lower matches ASCII note prefixes with RE2's (?i:…): for each of their letters, the
    characters RE2 folds to it are the characters str.lower gives it for."""
    import sys

    import pyarrow as pa
    import pyarrow.compute as pc

    from engine.records import NOTE_PREFIXES

    characters = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    points = pa.array(characters)
    lowered = [c.lower() for c in characters]
    letters = sorted({c for prefix in NOTE_PREFIXES if prefix.isascii() for c in prefix.lower()})
    assert letters
    for letter in letters:
        folded = pc.match_substring_regex(points, f"^(?i:{letter})$").to_numpy(zero_copy_only=False)
        assert [characters[n] for n in np.flatnonzero(folded)] == \
            [c for c, low in zip(characters, lowered) if low == letter]


def test_note_prefixes_are_found_by_first_byte_and_expression_as_by_the_expression_alone():
    """columnread._starts_lower runs its expression only on texts whose first byte a prefix can begin with: for every
    character followed by each prefix's rest (and on a slice, where the offsets do not start at 0), what it finds is
    what the expression finds on all the texts."""
    import sys

    import pyarrow as pa
    import pyarrow.compute as pc

    from engine.columnread import _prefix_pattern, _starts_lower
    from engine.records import NOTE_PREFIXES

    characters = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    pattern = _prefix_pattern(tuple(NOTE_PREFIXES))
    for rest in ["", *{prefix[1:] for prefix in NOTE_PREFIXES}]:
        texts = pa.array([""] + [c + rest for c in characters])
        for part in (texts, texts.slice(3, 500_000)):
            expected = pc.match_substring_regex(part, pattern).to_numpy(zero_copy_only=False)
            assert (_starts_lower(part, NOTE_PREFIXES) == expected).all(), rest
            assert rest != "ote" or expected.sum() >= 2  # (n and N)
