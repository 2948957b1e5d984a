"""Read a CSV file (any common encoding and delimiter) in chunks: pandas reads the head and is the reference, pyarrow
reads the data rows where they are plain."""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import re
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from engine.errors import InputError, os_problem
from engine.lang import tr
from engine.reader import HEAD_ROWS, RawTable, _reason, sniff_encoding

CHUNK_ROWS = 50_000
SNIFF_BYTES = 256 << 10
EXTRA_COLUMNS = 8  # room for rows a little wider than the first 256 KiB showed
DELIMITERS = ",\t;"

# What the CSV parser (pandas) says, as a person reads it in Chinese (a message not listed keeps the library's words).
CSV_PROBLEMS = ((re.compile(r"EOF inside string starting at row (\d+)"), lambda m: f"从第{int(m[1]) + 1}行开始的引号没有闭合"),
                (re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)"),
                 lambda m: f"第{m[2]}行有 {m[3]} 个单元格，应为 {m[1]} 个"))


def _csv_problem(exc: Exception) -> str:
    detail = _reason(exc).replace('Error tokenizing data. C error: ', '')
    for pattern, chinese in CSV_PROBLEMS:
        found = pattern.search(detail)
        if found:
            return tr(chinese(found), detail)
    return detail


def _file_blocks(path: Path, size: int = 1 << 20):
    """A callable giving the file's bytes in blocks of `size`, each next block read on another thread while this one
    is checked (a read lets go of the GIL: the whole-file encoding check of 1M rows, 62 MB, 40-49 -> 28 ms)."""
    def blocks():
        from concurrent.futures import ThreadPoolExecutor

        with path.open("rb") as handle, ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(handle.read, size)
            while True:
                block = pending.result()
                if not block:
                    return
                pending = pool.submit(handle.read, size)
                yield block
    return blocks


def sniff_delimiter(text: str) -> str:
    """The delimiter of the first lines: the one that splits them into the most cells where csv's Sniffer finds
    several equally likely (it then prefers ","; a tab-separated export of a header like 全硫St,d（%） and a cell like
    1,234 has one comma and six tabs a line); "," unless another one separates two cells that hold text somewhere (in
    a file of one column, a row of only ";" is a cell, not a blank row of a semicolon file)."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: sum(line.count(d) for line in lines) for d in DELIMITERS}
        found = max(counts, key=counts.get) if max(counts.values()) else ","
    if found in DELIMITERS:
        cells = {d: sum(len(row) for row in csv.reader(lines, delimiter=d)) for d in DELIMITERS}
        most = max(DELIMITERS, key=lambda d: (cells[d], d == found))
        if cells[most] > cells[found] and _splits_text(lines, most):
            found = most
    if found != "," and not _splits_text(lines, found):
        return ","
    return found


def _splits_text(lines: list, delimiter: str) -> bool:
    """Whether the delimiter separates two cells that hold text on some line."""
    return any(sum(1 for cell in line.split(delimiter) if cell.strip()) >= 2 for line in lines)


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
ARROW_BLOCK = 1 << 20  # bytes pyarrow parses at a time (about 12,000 rows of 80 bytes, 16,000 of 65); measured on 1M
# rows, three runs of each alternated (2026-12-02, 13:00 UTC; JSON identical): 4 MiB pieces took 1.56–2.68 s (coal
# samples) and 1.84–1.94 s (boilers) at peak RSS 209–210 and 204–207 MiB; 1 MiB pieces 1.74–2.26 s and 1.97–2.49 s at
# 178–181 and 166–169 MiB (coal samples within 3× their 62 MiB CSV); 512 KiB 2.20–3.14 s and 2.79–3.40 s at 170–173 and
# 164–166 MiB. A batch's working memory follows its piece; the per-batch steps (pyarrow calls, findings parts) are
# paid four times as often as with 4 MiB, which the work taken out of them since the first measurement (4 MiB then
# chosen over 4 blocks of 1 MiB a piece, at 0.3–2.1 s more a run) has made small.
BLOCKS_PER_PIECE = 1  # parse blocks per piece; each block is one batch of rows
ARROW_THREADS = True
HEAD_BYTES = 1 << 20  # the rows above the data are looked for in this many bytes
MANY_CELLS = 1_000  # (many_cells)


def many_cells(distinct: int, rows: int) -> bool:
    """Whether a column with this many distinct cells in this many rows is one of many distinct cells (ids, names):
    more than MANY_CELLS and more than half as many as rows. pyarrow parses such a column, from its second piece on,
    as plain text, not dictionary-encoded (a dictionary as long as the column: 0.1 s of the parser's 0.5 s on 1M
    coal samples, for their sample numbers); columnread reads it chunk by chunk, each row a cell of its own."""
    return distinct > max(MANY_CELLS, rows // 2)


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


def _slices(path: Path, offset: int) -> Iterator[tuple[int, memoryview]]:
    """(offset, bytes) of the file from `offset` on, in pieces of about ARROW_BLOCK bytes that end at a line end (each
    piece read into a buffer of its own after the part of a line the piece before left: no copy of the piece)."""
    with path.open("rb") as handle:
        handle.seek(offset)
        carry = b""
        while True:
            buffer = bytearray(len(carry) + ARROW_BLOCK)
            buffer[:len(carry)] = carry
            read = handle.readinto(memoryview(buffer)[len(carry):])
            data = memoryview(buffer)[:len(carry) + read]
            if not read:
                if len(data):
                    yield offset, data
                return
            cut = max(buffer.rfind(b"\n", 0, len(data)), buffer.rfind(b"\r", 0, len(data) - 1))  # (a \r at the end
            if cut < 0:                                                                        # may have its \n next)
                carry = bytes(data)
                continue
            yield offset, data[:cut + 1]
            offset, carry = offset + cut + 1, bytes(data[cut + 1:])


def _arrow_chunks(path: Path, delimiter: str, width: int, names: int, pandas_chunks, first: int = 0):
    """The rows from `first` on, read by pyarrow in chunks of at most CHUNK_ROWS rows; from a row pyarrow cannot
    read as pandas does, pandas reads the rest.

    The file is handed to pyarrow a piece at a time (about ARROW_BLOCK bytes, in BLOCKS_PER_PIECE blocks), the next
    piece parsed while the rows of this one are checked: pyarrow's own streaming reader reads far ahead (60 MB and
    more held while the rules run)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    from concurrent.futures import ThreadPoolExecutor

    columns = [f"c{p}" for p in range(width)]
    text = pa.dictionary(pa.int32(), pa.string())

    def options_for(plain: frozenset) -> dict:
        """The reader's options, the columns at positions `plain` parsed as plain text, the others dictionary-encoded."""
        return dict(
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                              escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pa.string() if p in plain else text for p, c in enumerate(columns)},
                strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[], true_values=[],
                false_values=[], check_utf8=True))

    options = options_for(frozenset())

    def parse(piece, options):
        at, data = piece
        if at and bytes(data[:3]) == codecs.BOM_UTF8:  # a row starting with U+FEFF: pyarrow would drop it as a BOM
            return None
        # (blocks of the piece's own size: a block size of ARROW_BLOCK would leave the few bytes of the line the piece
        # before left over for a block, and a batch, of one row)
        block = max(-(-len(data) // BLOCKS_PER_PIECE) + ARROW_BLOCK // 64, 1 << 10)
        try:
            return pa_csv.read_csv(pa.py_buffer(data), **options, read_options=pa_csv.ReadOptions(
                column_names=columns, block_size=block, use_threads=ARROW_THREADS))
        except (pa.ArrowInvalid, OSError):  # a row of another width (or longer than a block)
            return None

    row, read, done = first, False, False
    offset = _data_offset(path, delimiter, first)
    if offset is not None:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pieces = _slices(path, offset)
            piece = next(pieces, None)
            done = piece is None  # (no row below the header)
            pending = pool.submit(parse, piece, options) if piece is not None else None
            first_piece = True
            while not done:
                table = pending.result()
                if table is None:
                    break
                if first_piece and table.num_rows:  # (the columns of many distinct cells parsed as plain text after it)
                    first_piece = False
                    cells = [table.column(p).chunk(0) for p in range(width)]
                    plain = frozenset(p for p, c in enumerate(cells) if many_cells(len(c.dictionary), len(c)))
                    if plain:
                        options = options_for(plain)
                piece = next(pieces, None)
                if piece is not None:
                    pending = pool.submit(parse, piece, options)  # (parsed while this piece's rows are checked)
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
