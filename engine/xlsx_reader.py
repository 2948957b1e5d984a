"""Read the visible sheets of an XLSX workbook, streamed, as Excel shows them (merged cells, hidden columns, saved
formula results), within budgets of bytes, rows, cells, texts and styles.

A workbook is streamed: the sizes its zip declares are checked before anything is unpacked; each sheet's XML is
parsed once, 64 KiB at a time (lxml), for its cells, merged ranges and hidden columns together; only cells holding a
value are kept (trailing empty rows and columns cost nothing), and rows, cells, texts, styles and merged ranges have
a budget. Cells that are formatted but empty (a fill over a million cells) cost parsing time, never memory."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from engine.errors import InputError
from engine.lang import tr
from engine.reader import HEAD_ROWS, RawTable, _reason

MAX_XLSX_BYTES = 200 << 20
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
