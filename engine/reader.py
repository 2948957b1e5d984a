"""Read the tables of an input file (CSV, XLSX or JSON, by its extension): RawTable, what the three readers share,
and the file's SHA-256."""

from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.errors import InputError
from engine.lang import tr

HEAD_ROWS = 15  # rows scanned for the header (title rows above it are skipped)
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass
class RawTable:
    """One table of an input file: its first rows for header detection, and all its rows in chunks."""

    name: str  # sheet name ("" for CSV and JSON)
    head: pd.DataFrame
    chunks: object  # callable returning an iterator of DataFrames whose index is the 0-based row number
    hidden: set = field(default_factory=set)  # hidden column positions (XLSX)
    notes: list = field(default_factory=list)  # what the reader did that a user should know
    data_chunks: object = None  # callable(first data row) -> chunks that may leave out the rows above it (CSV)
    records_only: bool = False  # every row under the header is a record (JSON objects): none is read as units


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def sniff_encoding(blocks, path: str) -> str:
    """UTF-8 (with or without BOM) when every byte decodes as UTF-8, else GB18030 (Excel's 'CSV' on Chinese Windows).

    `blocks` is a callable giving the file's bytes block by block: the whole file is checked, not a prefix. UTF-8 is
    checked by pyarrow (no text made of the bytes: a quarter of the time); where it fails, the decoders below say
    at which byte."""
    if _utf8_valid(blocks):
        return ENCODINGS[0]
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


def _utf8_valid(blocks) -> bool:
    """Whether the bytes of all blocks, one after another, are UTF-8 as Python's strict decoder takes it (pyarrow's
    check, RFC 3629: no overlong form, no surrogate, nothing above U+10FFFF; a character cut between two blocks is
    checked whole)."""
    import pyarrow as pa

    carry = b""
    for block in blocks():
        view = memoryview(block)
        if carry:  # the character cut at the end of the block before: its first bytes and the rest of it here
            rest = 0
            while rest < min(3, len(view)) and view[rest] & 0xC0 == 0x80:
                rest += 1
            carry += bytes(view[:rest])
            view = view[rest:]
            if not len(view) and len(carry) < _utf8_length(carry[0]):  # (a block shorter than the character)
                continue
            if not _utf8_piece(pa, carry):
                return False
            carry = b""
        cut = len(view)
        for back in range(1, min(4, len(view)) + 1):  # the last character's first byte: a cut one waits for the rest
            if view[-back] & 0xC0 != 0x80:
                if view[-back] >= 0xC0:  # (a lead byte: it and the bytes after it are the last character)
                    cut = len(view) - back
                break
        if not _utf8_piece(pa, view[:cut]):
            return False
        carry = bytes(view[cut:])
    return not carry or _utf8_piece(pa, carry)


def _utf8_length(lead: int) -> int:
    """The bytes of a UTF-8 character by its first byte (1 for a byte no character starts with)."""
    return 2 if 0xC0 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else 4 if 0xF0 <= lead < 0xF8 else 1


def _utf8_piece(pa, data) -> bool:
    array = pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.py_buffer(struct.pack("<qq", 0, len(data))),
                                                         pa.py_buffer(data)])
    try:
        array.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def read_tables(path: Path, shown: str) -> list[RawTable]:
    """Every table in a file; InputError when the file cannot be read at all."""
    from engine.csv_reader import read_csv  # (the three readers build on this module)
    from engine.json_reader import read_json
    from engine.xlsx_reader import read_xlsx

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
