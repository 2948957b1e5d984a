"""Read raw tables from CSV (any common encoding and delimiter, in chunks), XLSX (sheets, merged cells, hidden columns) and JSON."""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from engine.errors import InputError, os_problem
from engine.lang import tr

HEAD_ROWS = 15  # rows scanned for the header (title rows above it are skipped)
CHUNK_ROWS = 50_000
MAX_JSON_BYTES = 64 << 20
MAX_JSON_DEPTH = 20
MAX_XLSX_BYTES = 200 << 20
SNIFF_BYTES = 256 << 10
EXTRA_COLUMNS = 8  # room for rows a little wider than the first 256 KiB showed
ENCODINGS = ("utf-8-sig", "gb18030")
DELIMITERS = ",\t;"


@dataclass
class RawTable:
    """One table of an input file: its first rows for header detection, and all its rows in chunks."""

    name: str  # sheet name ("" for CSV and JSON)
    head: pd.DataFrame
    chunks: object  # callable returning an iterator of DataFrames whose index is the 0-based row number
    hidden: set = field(default_factory=set)  # hidden column positions (XLSX)
    notes: list = field(default_factory=list)  # what the reader did that a user should know
    data_chunks: object = None  # callable(first data row) -> chunks that may leave out the rows above it (CSV)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


# What the CSV parser (pandas) and Python's json module say, as a person reads it in Chinese (a message not listed
# keeps the library's words).
CSV_PROBLEMS = ((re.compile(r"EOF inside string starting at row (\d+)"), lambda m: f"从第{int(m[1]) + 1}行开始的引号没有闭合"),
                (re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)"),
                 lambda m: f"第{m[2]}行有 {m[3]} 个单元格，应为 {m[1]} 个"))
JSON_PROBLEMS = {"Expecting value": "此处应有一个值", "Expecting property name enclosed in double quotes": "此处应有用双引号括起的键名",
                 "Expecting ':' delimiter": "此处应有冒号", "Expecting ',' delimiter": "此处应有逗号",
                 "Unterminated string starting at": "字符串没有结束", "Invalid control character at": "有不允许的控制字符",
                 "Invalid \\escape": "有无效的转义符", "Invalid \\uXXXX escape": "有无效的 \\uXXXX 转义符",
                 "Extra data": "数据结束后还有多余的内容"}


def _csv_problem(exc: Exception) -> str:
    detail = _reason(exc).replace('Error tokenizing data. C error: ', '')
    for pattern, chinese in CSV_PROBLEMS:
        found = pattern.search(detail)
        if found:
            return tr(chinese(found), detail)
    return detail


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        problem = next((zh for en, zh in JSON_PROBLEMS.items() if exc.msg.startswith(en)), exc.msg)
        return tr(f"第{exc.lineno}行第{exc.colno}列：{problem}", _reason(exc))
    return _reason(exc)


# ---------------------------------------------------------------- CSV

def sniff_encoding(blocks, path: str) -> str:
    """UTF-8 (with or without BOM) when every byte decodes as UTF-8, else GB18030 (Excel's 'CSV' on Chinese Windows).

    `blocks` is a callable giving the file's bytes block by block: the whole file is checked, not a prefix."""
    failures = []
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            for block in blocks():
                decoder.decode(block, final=False)
                offset += len(block)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            name = encoding.replace('-sig', '').upper()
            failures.append(tr(f"按 {name} 在第 {offset + exc.start} 字节出错", f"{name} fails at byte {offset + exc.start}"))
    raise InputError(tr("无法识别文字编码（" + "；".join(failures) + "）", "cannot decode the text (" + "; ".join(failures) + ")"),
                     file=path, fix=tr("在 Excel 中另存为“CSV UTF-8”或 GBK 编码的 CSV",
                                       "save the file from Excel as 'CSV UTF-8' or as CSV in GBK"))


def _file_blocks(path: Path):
    def blocks():
        with path.open("rb") as handle:
            yield from iter(lambda: handle.read(1 << 20), b"")
    return blocks


def sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: sum(line.count(d) for line in lines) for d in DELIMITERS}
        return max(counts, key=counts.get) if max(counts.values()) else ","


def read_csv(path: Path, shown: str) -> RawTable:
    try:
        with path.open("rb") as handle:
            prefix = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(tr(f"无法读取文件（{os_problem(exc)}）",
                            f"cannot read file ({os_problem(exc)})"), file=shown) from None
    if not prefix.strip():
        raise InputError(tr("文件是空的", "the file is empty"), file=shown, fix=tr("重新导出表格", "export the table again"))
    encoding = sniff_encoding(_file_blocks(path), shown)
    text = prefix.decode(encoding, errors="ignore")
    delimiter = sniff_delimiter(text)
    # Name the columns: pandas would otherwise take the width of the first line (a one-cell title) for the table's.
    whole = len(prefix) < SNIFF_BYTES
    lines = text.splitlines() if whole else text.splitlines()[:-1]  # the last line of a prefix may be cut
    widest = max((len(row) for row in csv.reader(lines or [""], delimiter=delimiter)), default=1)
    if not whole:  # the prefix may not hold a whole row (a title cell of megabytes): count the first rows themselves
        widest = max(widest, _first_rows_width(path, encoding, delimiter))
    names = list(range(widest + EXTRA_COLUMNS))

    def pandas_chunks(nrows: int | None = None) -> Iterator[pd.DataFrame]:
        """pandas' reading of the rows (index: the 0-based row in the file), the reference."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)  # never drop cells of a too-wide row
                reader = pd.read_csv(path, header=None, names=names, index_col=False, dtype=str,
                                     keep_default_na=False, sep=delimiter, encoding=encoding, skip_blank_lines=False,
                                     chunksize=None if nrows else CHUNK_ROWS, nrows=nrows, engine="c",
                                     on_bad_lines="error")
                yield from ([reader] if nrows else reader)
        except pd.errors.ParserWarning:
            raise InputError(tr(f"有一行超过 {len(names)} 个单元格，比表格其余部分宽",
                                f"a row has more than {len(names)} cells, wider than the rest of the table"),
                             file=shown,
                             fix=tr("删去多出的单元格（常见原因：值里有未加引号的逗号）",
                                    "remove the stray cells (often an unquoted comma inside a value)")) from None
        except UnicodeDecodeError as exc:
            name = encoding.replace('-sig', '').upper()
            raise InputError(tr(f"第 {exc.start} 字节附近有不是 {name} 文字的字节",
                                f"bytes that are not {encoding} text near byte {exc.start}"), file=shown,
                             fix=tr("整个文件用同一种编码保存（CSV UTF-8）",
                                    "save the whole file in one encoding (CSV UTF-8)")) from None
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            detail = _csv_problem(exc)
            raise InputError(tr(f"不是可读的 CSV 表格（{detail}）", f"not a readable CSV table ({detail})"), file=shown,
                             fix=tr("检查每行的列数是否相同、引号是否成对",
                                    "check that every row has the same number of columns and quotes are "
                                    "closed")) from None
        except pd.errors.EmptyDataError:
            return

    if ARROW_CSV and encoding == "utf-8-sig" and widest >= 2:  # pyarrow reads the data rows; the head (for finding the header) is pandas' reading of the first rows
        head = _head_of(lambda: pandas_chunks(nrows=min(HEAD_ROWS, CHUNK_ROWS)), shown)  # (= the first chunk's)
        data_chunks = functools.partial(_arrow_chunks, path, delimiter, widest, len(names), pandas_chunks)
        chunks = functools.partial(data_chunks, 0)
    else:
        chunks, data_chunks = pandas_chunks, None
        head = _head_of(chunks, shown)
    notes = []
    if encoding != "utf-8-sig":
        notes.append(tr("按 GB18030/GBK 编码读取（不是 UTF-8）", "read as GB18030/GBK text (not UTF-8)"))
    if delimiter != ",":
        shown_delimiter = 'TAB' if delimiter == chr(9) else repr(delimiter)
        notes.append(tr(f"列以 {shown_delimiter} 分隔", f"columns separated by {shown_delimiter}"))
    return RawTable("", head, chunks, notes=notes, data_chunks=data_chunks)


# pyarrow's CSV reader (multi-threaded, cells dictionary-encoded as they are parsed) reads the data rows of a file
# where they are plain: UTF-8, no quote character from the first data row on (no quoted cells, so a row is a line: \n,
# \r\n or \r ends it) and no NUL byte. The rows above (titles, the header, which may quote a cell like "全硫St,d") are
# counted here, as pandas counts them, when each of their quoted cells is a whole cell without a line break in it.
# pyarrow's rows are then exactly pandas' rows (tests/test_loading_property.py compares them): each row of the table's
# width, a blank line a row of empty cells. A row of another width (pandas pads a shorter row, refuses a much wider
# one) stops pyarrow: pandas reads the file on from that block's first row, so nothing is read differently.
ARROW_CSV = True  # (tests switch it off to compare with pandas alone)
ARROW_BLOCK = 4 << 20  # bytes pyarrow parses at a time (about 50,000 rows of 80 bytes)
ARROW_THREADS = True
HEAD_BYTES = 1 << 20  # the rows above the data are looked for in this many bytes


def _data_offset(path: Path, delimiter: str, first: int) -> int | None:
    """The byte offset of row `first` (0-based), counting rows as pandas does, when the rows above it are plain and
    no quote character and no NUL byte come after it; None otherwise."""
    sep, quote = ord(delimiter), ord('"')
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            end = handle.seek(0, 2)
            if b"\x00" in head:
                return None
            position = 3 if first and head.startswith(codecs.BOM_UTF8) else 0  # (pyarrow skips a BOM at 0 itself)
            rows = 0
            while rows < first:
                if position >= len(head):
                    return None if len(head) < end else position  # (a file of fewer rows: nothing below)
                at_start = True
                while position < len(head):  # one row
                    byte = head[position]
                    if at_start and byte == quote:  # a quoted cell: "…", "" inside, then a delimiter or a line end
                        close = position + 1
                        while True:
                            close = head.find(b'"', close)
                            if close < 0:
                                return None
                            if head[close + 1:close + 2] == b'"':
                                close += 2
                                continue
                            break
                        inside = head[position + 1:close]
                        if b"\r" in inside or b"\n" in inside or head[close + 1:close + 2] not in (b"", delimiter.encode(),
                                                                                               b"\r", b"\n"):
                            return None
                        position, at_start = close + 1, False
                        continue
                    position += 1
                    if byte == sep:
                        at_start = True
                    elif byte in (10, 13):
                        if byte == 13 and head[position:position + 1] == b"\n":
                            position += 1
                        break
                    elif byte == quote:
                        return None
                    else:
                        at_start = False
                rows += 1
            if position >= len(head) and len(head) < end:  # (the rows above the data fill the bytes looked at)
                return None
            bom = 3 if not position and head[:3] == codecs.BOM_UTF8 else 0
            if head[position + bom:position + bom + 3] == codecs.BOM_UTF8:  # a U+FEFF starting the data: pyarrow drops
                return None                                                # it, pandas keeps it (or drops two)
            if b'"' in head[position:]:
                return None
            handle.seek(len(head))
            for block in iter(lambda: handle.read(1 << 20), b""):  # the rest, a block at a time (no mapping)
                if b'"' in block or b"\x00" in block:
                    return None
            return position
    except OSError:
        return None


class ArrowChunk:
    """Rows of a CSV file as pyarrow read them: a record batch of dictionary-encoded text columns, `start` the
    0-based file row of its first row. `frame()` is the DataFrame pandas' reader gives for the same rows."""

    def __init__(self, batch, start: int, names: int):
        self.batch, self.start, self.names = batch, start, names

    def __len__(self) -> int:
        return self.batch.num_rows

    @property
    def index(self) -> pd.RangeIndex:
        return pd.RangeIndex(self.start, self.start + self.batch.num_rows)

    @property
    def width(self) -> int:
        return self.batch.num_columns

    def column(self, position: int):
        return self.batch.column(position)

    def rows_from(self, first: int) -> "ArrowChunk":
        """The rows from file row `first` on."""
        if first <= self.start:
            return self
        return ArrowChunk(self.batch.slice(first - self.start), max(first, self.start), self.names)

    def row(self, position: int) -> list:
        return [self.batch.column(p)[position].as_py() for p in range(self.width)]

    def frame(self) -> pd.DataFrame:
        columns = {p: self.batch.column(p).to_pylist() for p in range(self.width)}
        frame = pd.DataFrame(columns, index=self.index, dtype=object)
        for p in range(self.width, self.names):
            frame[p] = np.nan
        return frame


def _slices(path: Path, offset: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of the file from `offset` on, in pieces of about ARROW_BLOCK bytes that end at a line end."""
    with path.open("rb") as handle:
        handle.seek(offset)
        carry = b""
        while True:
            block = handle.read(ARROW_BLOCK)
            data = carry + block if carry else block
            if not block:
                if data:
                    yield offset, data
                return
            cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1))  # (a \r at the end may have its \n next)
            if cut < 0:
                carry = data
                continue
            yield offset, data[:cut + 1]
            offset, carry = offset + cut + 1, data[cut + 1:]


def _arrow_chunks(path: Path, delimiter: str, width: int, names: int, pandas_chunks, first: int = 0):
    """The rows from `first` on, read by pyarrow in chunks of at most CHUNK_ROWS rows; from a row pyarrow cannot
    read as pandas does, pandas reads the rest.

    The file is handed to pyarrow a piece at a time (about ARROW_BLOCK bytes, each parsed on several threads), the next
    piece parsed while the rows of this one are checked: pyarrow's own streaming reader reads far ahead (60 MB and
    more held while the rules run)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    from concurrent.futures import ThreadPoolExecutor

    columns = [f"c{p}" for p in range(width)]
    text = pa.dictionary(pa.int32(), pa.string())
    options = dict(
        read_options=pa_csv.ReadOptions(column_names=columns, block_size=max(ARROW_BLOCK // 4, 1 << 10),
                                        use_threads=ARROW_THREADS),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                          escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(column_types={c: text for c in columns}, strings_can_be_null=False,
                                              quoted_strings_can_be_null=False, null_values=[], true_values=[],
                                              false_values=[], check_utf8=True))

    def parse(piece):
        at, data = piece
        if at and data.startswith(codecs.BOM_UTF8):  # a row starting with U+FEFF: pyarrow would drop it as a BOM
            return None
        try:
            return pa_csv.read_csv(pa.py_buffer(data), **options)
        except (pa.ArrowInvalid, OSError):  # a row of another width (or longer than a block)
            return None

    row, read, done = first, False, False
    offset = _data_offset(path, delimiter, first)
    if offset is not None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pieces = _slices(path, offset)
            piece = next(pieces, None)
            done = piece is None  # (no row below the header)
            pending = pool.submit(parse, piece) if piece is not None else None
            while not done:
                table = pending.result()
                if table is None:
                    break
                piece = next(pieces, None)
                if piece is not None:
                    pending = pool.submit(parse, piece)  # (parsed while this piece's rows are checked)
                for batch in table.to_batches():
                    for start in range(0, batch.num_rows, CHUNK_ROWS):
                        part = batch.slice(start, CHUNK_ROWS) if batch.num_rows > CHUNK_ROWS else batch
                        yield ArrowChunk(part, row, names)
                        row, read = row + part.num_rows, True
                if piece is None:
                    done = True
                    break
    if done:
        if not read:  # no row below the header: one empty chunk, as pandas gives
            yield ArrowChunk(pa.RecordBatch.from_arrays([pa.array([], text) for _ in columns], names=columns), row,
                             names)
        return
    for chunk in pandas_chunks():  # from the top: pandas' skiprows does not count rows ended by \r as it reads them
        part = chunk.loc[chunk.index >= row]
        if len(part) or not read:
            yield part
            read = True


def _first_rows_width(path: Path, encoding: str, delimiter: str, rows: int = HEAD_ROWS * 4) -> int:
    """The widest of a CSV file's first rows, however long their cells."""
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        with path.open(encoding=encoding, newline="", errors="replace") as handle:
            return max((len(row) for row in itertools.islice(csv.reader(handle, delimiter=delimiter), rows)),
                       default=1)
    except csv.Error:
        return 1
    finally:
        csv.field_size_limit(limit)


def _head_of(chunks, shown: str) -> pd.DataFrame:
    for chunk in chunks():
        return chunk.head(HEAD_ROWS)
    raise InputError(tr("文件中没有数据行", "the file has no rows"), file=shown)


# ---------------------------------------------------------------- XLSX
# A workbook is streamed: the sizes its zip declares are checked before anything is unpacked; each sheet's XML is
# parsed once, 64 KiB at a time (lxml), for its cells, merged ranges and hidden columns together; only cells holding a
# value are kept (trailing empty rows and columns cost nothing), and rows, cells, texts, styles and merged ranges have
# a budget. Cells that are formatted but empty (a fill over a million cells) cost parsing time, never memory.

NOT_DATA_SHEETS = {"填表说明", "说明", "选项", "instructions", "readme"}
# The limits bound time and memory: parsing costs about 0.1 s per MiB of sheet XML (a million empty styled cells are
# 20 MiB) and a few µs per cell holding a value, which is then kept (about 100 bytes). A table of more than 65,536 rows
# (the old .xls format's limit) is an export, not a form filled in, and CSV is the format for it.
MAX_XLSX_UNPACKED = 48 << 20  # the workbook's XML parts together, as the zip declares them unpacked
MAX_XLSX_DIRECTORY = 1 << 20  # the zip's list of members (an XLSX file has a few dozen)
MAX_XLSX_PART = 1 << 20  # each part read whole: content types, the workbook (its list of sheets), its relations
MAX_XLSX_CHILDREN = 16_384  # cells in a row (Excel's number of columns), parts of a cell or of a text
MAX_XLSX_ROWS = 65_536  # per sheet, counted to its last row holding a value
MAX_XLSX_CELLS = 800_000  # the workbook's sheets together, each its rows × columns up to its last value
MAX_XLSX_STRINGS = MAX_XLSX_CELLS  # entries of the shared-string table
MAX_XLSX_STYLES = 100_000  # cell formats and number formats (Excel allows 64,000)
MAX_XLSX_MERGES = 100_000  # merged ranges per sheet
def _large_table_fix() -> str:
    return tr("大表格请另存为 CSV（分块读取，没有这些限制）", "save large tables as CSV (read in chunks, without these limits)")


def _unmerge_fix() -> str:
    return tr("取消合并单元格（开始 > 合并后居中），或", "unmerge the cells (开始 > 合并后居中), or ") + _large_table_fix()


def _xlsx_fix() -> str:
    return tr("用 Excel 打开，重新另存为 .xlsx", "open it in Excel and save it again as .xlsx")

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
(_WORKSHEET, _ROW, _VALUE, _FORMULA, _INLINE, _TEXT, _PHONETIC, _COL, _MERGE, _SST, _SI, _STYLESHEET, _XF, _NUMFMT,
 _NUMFMTS, _CELLXFS) = (_NS + tag for tag in ("worksheet", "row", "v", "f", "is", "t", "rPh", "col", "mergeCell", "sst",
                                              "si", "styleSheet", "xf", "numFmt", "numFmts", "cellXfs"))
_DIGITS = "0123456789"


class Unsaved(str):
    """A formula cell whose result was never saved (the file was written by a program, not Excel)."""


def _stream(source, root: str, wanted: tuple, what: str, shown: str):
    """The elements named `wanted` of an XML part, each as it ends, read in 64 KiB blocks (lxml). Memory stays flat
    whatever the part holds: after each block, what has been parsed outside the wanted elements is freed, and a wanted
    element with more than MAX_XLSX_CHILDREN parts (a row of a million styled cells) is refused. The caller clears
    each element it is given."""
    from lxml import etree

    parser = etree.XMLPullParser(events=("start", "end"), tag=(root,) + wanted, resolve_entities=False,
                                 no_network=True, huge_tree=False, remove_comments=True, remove_pis=True)
    top = None
    while True:
        block = source.read(1 << 16)
        if block:
            parser.feed(block)
        else:
            parser.close()
        for event, element in parser.read_events():
            if event == "end":
                if element is not top:
                    yield element
            elif top is None:
                if element.tag != root:
                    raise ValueError(f"{what} is not a {root.rsplit('}', 1)[-1]} part")
                top = element
        if not block:
            return
        if top is None:
            raise ValueError(f"{what} is not a {root.rsplit('}', 1)[-1]} part")
        element, inside = top, False
        while element is not None and len(element):  # down the elements still open: the last child at each level
            inside = inside or element.tag in wanted
            if not inside:
                del element[:-1]
            elif len(element) > MAX_XLSX_CHILDREN:
                tag = element.tag.rsplit('}', 1)[-1]
                raise InputError(tr(f"{what}：一个 <{tag}> 有超过 {MAX_XLSX_CHILDREN:,} 个单元格或部分（Excel 的上限）",
                                    f"{what}: a <{tag}> with more than {MAX_XLSX_CHILDREN:,} cells or parts "
                                    f"(Excel's limit)"), file=shown, fix=_xlsx_fix())
            element = element[-1]


def _check_zip(path: Path, shown: str) -> None:
    """Refuse a zip whose list of members is longer than an XLSX file's, before zipfile reads it all."""
    import zipfile

    with path.open("rb") as handle:
        end = zipfile._EndRecData(handle)  # (the end record zipfile itself reads first)
    if end and end[zipfile._ECD_SIZE] > MAX_XLSX_DIRECTORY:
        members, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE] >> 10
        raise InputError(tr(f"压缩包列出 {members:,} 个成员（{size:,} KiB），多于任何 XLSX 文件",
                            f"the zip lists {members:,} members ({size:,} KiB), more than an XLSX file has"),
                         file=shown, fix=_xlsx_fix())


def _check_unpacked(archive, shown: str) -> None:
    """Refuse a zip bomb before unpacking it: the XML parts' declared sizes (a zip member never gives more bytes than
    it declares) against MAX_XLSX_UNPACKED."""
    parts = [i for i in archive.infolist() if i.filename.lower().endswith((".xml", ".rels", ".vml"))]
    unpacked = sum(i.file_size for i in parts)
    if unpacked > MAX_XLSX_UNPACKED:
        biggest = max(parts, key=lambda i: i.file_size)
        total, part = f"{unpacked / (1 << 20):,.0f}", f"{biggest.file_size / (1 << 20):,.0f}"
        raise InputError(tr(f"工作簿的 XML 解压后有 {total} MiB（最大的部分 {biggest.filename}：{part} MiB），超过 "
                            f"ecocheck 从 XLSX 文件读取的 {MAX_XLSX_UNPACKED >> 20} MiB（压缩炸弹，或表格太大不宜用 XLSX）",
                            f"the workbook's XML unpacks to {total} MiB (the largest part, {biggest.filename}: {part} "
                            f"MiB), more than the {MAX_XLSX_UNPACKED >> 20} MiB ecocheck reads from an XLSX file (a zip "
                            f"bomb, or a table too large for XLSX)"), file=shown, fix=_large_table_fix())


def _check_part(archive, name: str, shown: str) -> None:
    """A part read whole (not streamed) must be small."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return
    if info.file_size > MAX_XLSX_PART:
        raise InputError(tr(f"{name} 解压后有 {info.file_size >> 10:,} KiB，超过 ecocheck 对 XLSX 文件这一部分读取的 "
                            f"{MAX_XLSX_PART >> 10:,} KiB",
                            f"{name} unpacks to {info.file_size >> 10:,} KiB, more than the {MAX_XLSX_PART >> 10:,} "
                            f"KiB ecocheck reads of this part of an XLSX file"), file=shown, fix=_xlsx_fix())


def _text_of(element) -> str:
    """The text of a shared or inline string: its runs, without the phonetic guide (as openpyxl reads it)."""
    if len(element) == 1 and element[0].tag == _TEXT:
        return element[0].text or ""
    return "".join(t.text or "" for t in element.iter(_TEXT) if t.getparent().tag != _PHONETIC)


def _shared_strings(archive, part: str, shown: str) -> list:
    strings = []
    with archive.open(part) as source:
        for item in _stream(source, _SST, (_SI,), part, shown):
            strings.append(_text_of(item).replace("x005F_", ""))
            item.clear()
            if len(strings) > MAX_XLSX_STRINGS:
                raise InputError(tr(f"工作簿中不同的文字超过 {MAX_XLSX_STRINGS:,} 个",
                                    f"more than {MAX_XLSX_STRINGS:,} different texts in the workbook"), file=shown,
                                 fix=_large_table_fix())
    return strings


def _styles(archive, shown: str) -> dict:
    """How each cell style whose number format is not plain shows a number: {"7": "date" | "duration" | "percent"}
    (keyed by the style number as a cell's s="7" gives it)."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
    from openpyxl.xml.constants import ARC_STYLE

    shown_as = {}
    if ARC_STYLE not in archive.namelist():
        return shown_as
    custom, kinds, seen, style = {}, {}, 0, 0
    with archive.open(ARC_STYLE) as source:
        for element in _stream(source, _STYLESHEET, (_NUMFMT, _XF), ARC_STYLE, shown):
            seen += 1
            if seen > MAX_XLSX_STYLES:
                raise InputError(tr(f"单元格格式超过 {MAX_XLSX_STYLES:,} 种（Excel 最多 64,000 种）",
                                    f"more than {MAX_XLSX_STYLES:,} cell formats (Excel allows 64,000)"), file=shown,
                                 fix=_xlsx_fix() + tr("；删除不用的单元格样式", "; remove unused cell styles"))
            if element.tag == _NUMFMT:
                if element.getparent().tag == _NUMFMTS:  # (not a conditional format's)
                    custom[element.get("numFmtId")] = element.get("formatCode")
            elif element.getparent().tag == _CELLXFS:  # (not the named styles' xf: cellXfs numbers the cells' styles)
                number = element.get("numFmtId", "0")
                code = custom.get(number)
                if code is None and number.isdigit():
                    code = BUILTIN_FORMATS.get(int(number))
                if code not in kinds:
                    kinds[code] = ("duration" if is_timedelta_format(code) else "date" if is_date_format(code)
                                   else "percent" if "%" in str(code or "") else None)
                if kinds[code]:
                    shown_as[str(style)] = kinds[code]
                style += 1
            element.clear()
    return shown_as


@dataclass
class _Book:
    """What reading a sheet's cells needs from the rest of the workbook."""

    archive: object
    strings: list
    shown_as: dict  # style number -> "date" | "duration" | "percent"
    epoch: object
    cells_left: int  # of MAX_XLSX_CELLS, after the sheets read so far
    seen: dict = field(default_factory=dict)

    def number(self, text: str, shown_as: str):
        """A number formatted as a date, a duration or a percentage, as Excel shows it; the values a table repeats
        (dates) are converted once."""
        from openpyxl.utils.datetime import from_excel

        key = (text, shown_as)
        found = self.seen.get(key)
        if found is None:
            value = _number(text)
            if shown_as == "percent":
                found = _percent_text(value)
            else:
                try:
                    found = from_excel(value, self.epoch, timedelta=shown_as == "duration")
                except (OverflowError, ValueError):
                    found = "#VALUE!"  # (a serial out of range: openpyxl reads it so)
            if len(self.seen) < 100_000:
                self.seen[key] = found
        return found


def _open_book(reader, shown: str):
    """(_Book, [(sheet name, state, XML part)]); the workbook's list of sheets and relations are read by openpyxl."""
    from openpyxl.packaging.relationship import get_rels_path
    from openpyxl.reader.excel import _find_workbook_part
    from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS

    _check_unpacked(reader.archive, shown)
    _check_part(reader.archive, ARC_CONTENT_TYPES, shown)
    reader.read_manifest()
    workbook_part = _find_workbook_part(reader.package).PartName[1:]
    for part in (workbook_part, get_rels_path(workbook_part)):
        _check_part(reader.archive, part, shown)
    reader.read_workbook()
    sheets = [(sheet.name, sheet.state, rel.target) for sheet, rel in reader.parser.find_sheets()
              if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
    strings_part = reader.package.find(SHARED_STRINGS)
    strings = _shared_strings(reader.archive, strings_part.PartName[1:], shown) if strings_part is not None else []
    return _Book(reader.archive, strings, _styles(reader.archive, shown), reader.wb.epoch, MAX_XLSX_CELLS), sheets


def _number(text: str):
    return float(text) if "." in text or "e" in text or "E" in text else int(text)


def _other_value(kind: str, text: str):
    """The saved value of a cell of type b, d, str or e (numbers and shared strings are read in _read_sheet)."""
    if kind == "b":
        return bool(int(text))
    if kind == "d":
        from openpyxl.utils.datetime import from_ISO8601

        return from_ISO8601(text)
    return text  # "str" (a formula's text result), "e" (an error such as #DIV/0!)


def _percent_text(value):
    """A number shown as a percentage (Excel stores 85.3% as 0.853) as the text '85.3%': the exact decimal of the
    stored number × 100, never rounded (0.7999996 is '79.99996%', not '80%')."""
    if isinstance(value, float) and not math.isfinite(value):
        return value
    return format((Decimal(repr(value)) * 100).normalize(), "f") + "%"


def _unsaved(formula, coordinate: str, shared: dict) -> Unsaved:
    """A formula without a saved result, as its text ('=70+8.6'); a shared formula's other cells take the first
    cell's formula, moved (as openpyxl reads it)."""
    from openpyxl.formula.translate import Translator

    text = "=" + (formula.text or "")
    first = shared.get(formula.get("si")) if formula.get("t") == "shared" and not formula.text else None
    if first is not None:
        try:
            text = Translator(*first).translate_formula(coordinate)
        except Exception:  # (a reference moved off the sheet: the first cell's formula)
            text = first[0]
    return Unsaved(str(text)[:100])


_COLUMNS: dict = {}


def _column_of(cell, row) -> int:
    """A cell's column number, from its reference ('AB7': 28), remembered by letters (openpyxl works it out anew
    each time); a cell without one is numbered by its place in the row."""
    reference = cell.get("r")
    if reference is None:
        return row.index(cell) + 1
    letters = reference.rstrip(_DIGITS)
    found = _COLUMNS.get(letters)
    if found is None:
        from openpyxl.utils.cell import column_index_from_string

        found = _COLUMNS[letters] = column_index_from_string(letters)
    return found


@dataclass
class _Sheet:
    rows: list  # up to the last row holding a value: a list up to its last value, or () for an empty row
    width: int  # up to the last column holding a value
    merges: list  # (min_col, min_row, max_col, max_row), 1-based
    hidden: set  # hidden column positions (0-based) within the width
    unsaved: bool


def _inline_and_formulas(row, number: int, cells: dict, shared: dict) -> bool:
    """Add a row's inline strings, and its formulas without a saved result (as Unsaved) to `cells`; whether there
    were such formulas. `shared` keeps the first cell of each shared formula."""
    from openpyxl.utils.cell import get_column_letter

    unsaved = False
    for inline in row.iter(_INLINE):
        cell = inline.getparent()
        if cell.get("t") == "inlineStr":
            cells[_column_of(cell, row)] = _text_of(inline)
    for formula in row.iter(_FORMULA):
        cell = formula.getparent()
        column = _column_of(cell, row)
        reference = cell.get("r") or f"{get_column_letter(column)}{number}"
        if formula.get("t") == "shared" and formula.text:
            shared.setdefault(formula.get("si"), ("=" + formula.text, reference))
        if column not in cells:
            cells[column], unsaved = _unsaved(formula, reference, shared), True
    return unsaved


def _read_sheet(book: _Book, part: str, title: str, shown: str) -> _Sheet:
    """One sheet's cells that hold a value, its merged ranges and hidden columns, in one streaming pass."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    rows, width, unsaved, shared = [], 0, False, {}
    hidden_ranges, merges = [], []
    strings, shown_as, columns = book.strings, book.shown_as, _COLUMNS
    number = 0
    with book.archive.open(part) as source:
        for element in _stream(source, _WORKSHEET, (_ROW, _COL, _MERGE), tr(f"工作表“{title}”", f"sheet '{title}'"), shown):
            if element.tag == _COL:
                if element.get("hidden") in ("1", "true"):
                    start = int(element.get("min", "0"))
                    hidden_ranges.append((start, max(start, int(element.get("max", "0")))))
                element.clear()
                continue
            if element.tag == _MERGE:
                if len(merges) >= MAX_XLSX_MERGES:
                    raise InputError(tr(f"工作表“{title}”的合并区域超过 {MAX_XLSX_MERGES:,} 个",
                                        f"sheet '{title}' has more than {MAX_XLSX_MERGES:,} merged ranges"),
                                     file=shown, fix=_unmerge_fix())
                try:
                    merges.append(range_boundaries(element.get("ref", "")))
                except (TypeError, ValueError):
                    pass  # (not a range: nothing to merge)
                element.clear()
                continue
            given = element.get("r")
            given = int(float(given)) if given else number + 1
            if given <= number:  # (a row out of order is not read, as openpyxl does)
                element.clear()
                continue
            number = given
            cells = {}
            try:  # only the cells holding something are looked at: styled empty cells cost no Python
                for saved in element.iter(_VALUE):  # a cell's saved value: what Excel shows (a formula's result)
                    text = saved.text
                    if not text:
                        continue
                    cell = saved.getparent()
                    reference = cell.get("r")
                    column = columns.get(reference.rstrip(_DIGITS)) if reference is not None else None
                    if column is None:
                        column = _column_of(cell, element)
                    kind = cell.get("t")
                    if kind == "s":
                        cells[column] = strings[int(text)]
                    elif kind is None or kind == "n":
                        style = cell.get("s")
                        how = shown_as.get(style) if style is not None else None
                        cells[column] = _number(text) if how is None else book.number(text, how)
                    else:
                        cells[column] = _other_value(kind, text)
                if next(element.iter(_INLINE, _FORMULA), None) is not None:
                    unsaved = _inline_and_formulas(element, number, cells, shared) or unsaved
            except (ValueError, IndexError, OverflowError, TypeError) as exc:
                raise InputError(tr(f"工作表“{title}”第 {number} 行：有单元格不是可读的值（{type(exc).__name__}："
                                    f"{_reason(exc)}）",
                                    f"sheet '{title}', row {number}: a cell that is not a readable value "
                                    f"({type(exc).__name__}: {_reason(exc)})"), file=shown, fix=_xlsx_fix()) from None
            element.clear()
            if not cells:
                continue
            widest = max(cells)
            width = max(width, widest)
            if number > MAX_XLSX_ROWS:
                raise InputError(tr(f"工作表“{title}”的数据一直到第 {number:,} 行，超过 ecocheck 从一个 XLSX 工作表读取的 "
                                    f"{MAX_XLSX_ROWS:,} 行",
                                    f"sheet '{title}' has values down to row {number:,}, more than the "
                                    f"{MAX_XLSX_ROWS:,} rows ecocheck reads from an XLSX sheet"), file=shown,
                                 fix=_large_table_fix() + tr("，或删除表格下方远处的零散单元格",
                                                             ", or delete stray cells far below the table"))
            if number * width > book.cells_left:
                letter = get_column_letter(width)
                raise InputError(tr(f"工作表“{title}”的数据一直到 {letter} 列、第 {number:,} 行：连同前面的工作表，超过 "
                                    f"ecocheck 从一个 XLSX 文件读取的 {MAX_XLSX_CELLS:,} 个单元格",
                                    f"sheet '{title}' has values out to column {letter} and down to row {number:,}: "
                                    f"with the sheets before it, more than the {MAX_XLSX_CELLS:,} cells ecocheck "
                                    f"reads from an XLSX file"), file=shown,
                                 fix=_large_table_fix() + tr("，或删除表格右方或下方远处的零散单元格",
                                                             ", or delete stray cells far right of or below the table"))
            rows.extend([()] * (number - 1 - len(rows)))
            row = [None] * widest
            for column, value in cells.items():
                row[column - 1] = value
            rows.append(row)
    book.cells_left -= len(rows) * width
    hidden = {c - 1 for start, end in hidden_ranges for c in range(max(start, 1), min(end, width) + 1)}
    return _Sheet(rows, width, merges, hidden, unsaved)


def _apply_merges(rows: list, merges, fill_all: bool, shown: str, title: str) -> None:
    """Merged ranges as Excel shows them: the top-left cell's value, the other cells' cleared. Header rows (fill_all):
    the value in every cell of every range; data rows: only in ranges of one column (a unit name merged over its
    boilers). `rows` are all as wide as the table."""
    budget = MAX_XLSX_CELLS
    for min_col, min_row, max_col, max_row in merges:
        if min_row > len(rows) or min_col > len(rows[0]):
            continue
        last_row, last_col = min(max_row, len(rows)), min(max_col, len(rows[0]))
        budget -= (last_row - min_row + 1) * (last_col - min_col + 1)
        if budget < 0:
            raise InputError(tr(f"工作表“{title}”的合并区域覆盖超过 {MAX_XLSX_CELLS:,} 个单元格",
                                f"sheet '{title}' has merged ranges over more than {MAX_XLSX_CELLS:,} cells"),
                             file=shown, fix=_unmerge_fix())
        value = rows[min_row - 1][min_col - 1]
        shown_value = value if fill_all or min_col == max_col else None
        for r in range(min_row - 1, last_row):
            rows[r][min_col - 1:last_col] = [shown_value] * (last_col - min_col + 1)
        rows[min_row - 1][min_col - 1] = value


def read_xlsx(path: Path, shown: str) -> list[RawTable]:
    from openpyxl.reader.excel import ExcelReader

    if path.stat().st_size > MAX_XLSX_BYTES:
        raise InputError(tr(f"XLSX 文件超过 {MAX_XLSX_BYTES >> 20} MiB", f"XLSX file larger than {MAX_XLSX_BYTES >> 20} MiB"),
                         file=shown, fix=_large_table_fix())
    tables, skipped, read, reader = [], [], [], None
    try:
        _check_zip(path, shown)
        reader = ExcelReader(str(path), read_only=True, data_only=True, keep_links=False)
        book, sheets = _open_book(reader, shown)
        for title, state, part in sheets:
            if title.strip().lower() in NOT_DATA_SHEETS or state != "visible":
                skipped.append(title)
                continue
            read.append((title, _read_sheet(book, part, title, shown)))
    except InputError:
        raise
    except Exception as exc:  # a broken zip or XML part: zipfile, lxml and openpyxl raise many unrelated types
        raise InputError(tr(f"不是可读的 XLSX 工作簿（{type(exc).__name__}：{_reason(exc)}）",
                            f"not a readable XLSX workbook ({type(exc).__name__}: {_reason(exc)})"), file=shown,
                         fix=_xlsx_fix()) from None
    finally:
        if reader is not None:
            reader.archive.close()
    for title, sheet in read:
        if not sheet.rows:
            continue
        rows, sheet.rows = sheet.rows, None
        for n, row in enumerate(rows):
            if not row:
                rows[n] = [None] * sheet.width
            elif len(row) < sheet.width:
                row.extend([None] * (sheet.width - len(row)))
        head = [list(r) for r in rows[:HEAD_ROWS + 2]]
        _apply_merges(head, sheet.merges, True, shown, title)
        _apply_merges(rows, sheet.merges, False, shown, title)
        frame = pd.DataFrame(rows, dtype=object)
        del rows
        notes = [tr("没有保存计算结果的公式单元格按不可读的值处理",
                    "formula cells without a saved result were read as unreadable values")] if sheet.unsaved else []
        tables.append(RawTable(title, pd.DataFrame(head, dtype=object), lambda frame=frame: iter([frame]),
                               hidden=sheet.hidden, notes=notes))
    if not tables:
        raise InputError(tr("工作簿中没有含数据行的工作表" + (f"（已跳过：{'、'.join(skipped)}）" if skipped else ""),
                            "the workbook has no sheet with rows" + (f" (skipped: {', '.join(skipped)})" if skipped
                                                                     else "")), file=shown)
    if skipped:
        tables[0].notes.append(tr("跳过填表说明、选项列表或隐藏的工作表：" + "、".join(skipped),
                                  "sheet(s) skipped as instructions, lists or hidden: " + ", ".join(skipped)))
    return tables


# ---------------------------------------------------------------- JSON

def _depth(value) -> int:
    stack, deepest = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def read_json(path: Path, shown: str) -> RawTable:
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise InputError(tr(f"JSON 文件超过 {MAX_JSON_BYTES >> 20} MiB",
                            f"JSON file larger than {MAX_JSON_BYTES >> 20} MiB"),
                         file=shown, fix=tr("拆分文件，或把记录存成 CSV（分块读取）",
                                            "split it, or give the records as CSV (read in chunks)"))
    data = path.read_bytes()
    if not data.strip():
        raise InputError(tr("文件是空的", "the file is empty"), file=shown)
    try:
        # Numbers as written (Decimal: 79.99999999999999999 is not 80.0); a repeated key is kept as a conflict.
        parsed = json.loads(data.decode(sniff_encoding(lambda: iter([data]), shown)), parse_float=Decimal,
                            parse_int=_json_int, object_pairs_hook=_json_object)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(tr(f"不是有效的 JSON（{_json_problem(exc)}）", f"not valid JSON ({_json_problem(exc)})"),
                         file=shown) from None
    except RecursionError:
        raise _too_deep(shown) from None
    if _depth(parsed) > MAX_JSON_DEPTH:
        raise _too_deep(shown)
    if isinstance(parsed, dict) and isinstance(parsed.get("records"), list):
        parsed = parsed["records"]
    if not isinstance(parsed, list):
        raise InputError(tr("JSON 应是记录的列表，或 {\"records\": [...]}",
                            "JSON must be a list of records or {\"records\": [...]}"),
                         file=shown)
    headers: list[str] = []
    for item in parsed:
        if isinstance(item, dict):
            headers.extend(str(k) for k in item if str(k) not in headers)
    rows = [list(headers)]
    for item in parsed:
        if isinstance(item, dict) and any(not (v is None or isinstance(v, str) and not v.strip()) for v in item.values()):
            values = {str(k): v for k, v in item.items()}
            rows.append([_json_cell(values.get(h)) for h in headers])
        else:  # not an object, or an object without a value: counted and rejected, never skipped as blank
            text = json.dumps(item, ensure_ascii=False, default=str)[:200]
            rows.append([NotARecord(text) if not isinstance(item, dict) else EmptyRecord(text)]
                        + [None] * max(0, len(headers) - 1))
    width = max(len(r) for r in rows) or 1
    frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
    return RawTable("", frame.head(HEAD_ROWS), lambda: iter([frame]))


def _too_deep(shown: str) -> InputError:
    return InputError(tr(f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层", f"JSON nested more than {MAX_JSON_DEPTH} levels"), file=shown,
                      fix=tr("给出扁平记录的列表：[{\"字段\": 值, …}, …]",
                             "give a list of flat records: [{\"field\": value, …}, …]"))


MAX_JSON_DIGITS = 30  # an integer longer than this is no measurement (and Python refuses over 4,300 digits)


def _json_int(text: str):
    return int(text) if len(text.lstrip("-")) <= MAX_JSON_DIGITS else Decimal(text)


def _json_object(pairs: list) -> dict:
    """A JSON object; a key given twice with different values keeps both, as a Conflict the reader rejects."""
    out: dict = {}
    for key, value in pairs:
        if key in out and out[key] != value:
            earlier = out[key].values if isinstance(out[key], Conflict) else (out[key],)
            values = " / ".join(_json_text(v) for v in (*earlier, value))
            out[key] = Conflict(tr(f"出现 {len(earlier) + 1} 次，值各不相同：{values}",
                                   f"given {len(earlier) + 1} times with different values: {values}"),
                                (*earlier, value))
        else:
            out[key] = value
    return out


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:60]


class Conflict(str):
    """A value given twice, differently (a repeated JSON key, or two columns of one field that disagree): rejected
    with both values named."""

    def __new__(cls, text: str, values: tuple = ()):
        made = super().__new__(cls, text)
        made.values = values
        return made


class EmptyRecord(str):
    """A JSON object with no value in it ({} or every value null): its row is rejected."""


class NotARecord(str):
    """A JSON list item that is not an object: its row is rejected."""


class Nested(str):
    """A JSON value that is an object or a list, not a cell value: rejected as unreadable."""


def _json_cell(value):
    if isinstance(value, (dict, list)):
        return Nested(json.dumps(value, ensure_ascii=False, default=str)[:200])
    return value


def read_tables(path: Path, shown: str) -> list[RawTable]:
    """Every table in a file; InputError when the file cannot be read at all."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(tr("文件不存在", "file not found") if not path.exists() else tr("不是文件", "not a file"), file=shown)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, shown)
    if suffix == ".json":
        return [read_json(path, shown)]
    if suffix in (".csv", ".txt", ".tsv"):
        return [read_csv(path, shown)]
    raise InputError(tr(f"不支持的文件类型“{suffix or '（无扩展名）'}”", f"unsupported file type '{suffix or '(none)'}'"),
                     file=shown, fix=tr("请给出 .csv、.xlsx 或 .json 文件", "give .csv, .xlsx or .json files"))


def sha256_of(path: Path) -> str:
    import hashlib
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

