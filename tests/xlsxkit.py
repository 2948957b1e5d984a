"""Write XLSX files as raw XML in a zip, fast and with exactly the XML wanted: the hostile workbooks of
tests/test_hostile_xlsx.py and benchmarks/bench_hostile.py."""

from __future__ import annotations

import random
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable
from xml.sax.saxutils import escape

from openpyxl.utils.cell import get_column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"

# cell styles (s="…"): cellXfs of STYLES
STYLED, PERCENT, DATE = 1, 2, 3  # a fill (formatted, no number format); 0.0%; yyyy-mm-dd
STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="0.0%"/></numFmts>
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>
<fill><patternFill patternType="solid"><fgColor rgb="FFFFFF00"/></patternFill></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="0" fillId="2" borderId="0" xfId="0" applyFill="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""

BOILER_HEADER = ["使用单位", "锅炉编号", "市州", "燃料种类", "测试类型", "出厂日期", "测试日期", "额定蒸发量（t/h）",
                 "热效率（%）"]
BOILER_ROW = ["兰州某热力有限公司", "GL-1", "兰州市", "燃煤", "验收", "2021-03-15", "2021-10-20", 20, 78.6]
REGIONS = ["兰州市", "嘉峪关市", "金昌市", "酒泉市", "张掖市", "武威市", "白银市", "天水市", "平凉市", "庆阳市",
           "定西市", "陇南市", "甘南州", "临夏州"]

_LETTERS: list = [""]


def letter(column: int) -> str:
    """Column letters of a 1-based column number, remembered."""
    while len(_LETTERS) <= column:
        _LETTERS.append(get_column_letter(len(_LETTERS)))
    return _LETTERS[column]


def cell(column: int, row: int, value=None, style: int | None = None, strings: dict | None = None) -> str:
    """One <c>: text as a shared string when `strings` (text -> index) is given, else inline; a number; or, with
    value None, an empty cell (styled when `style` is given)."""
    ref = f'r="{letter(column)}{row}"' + (f' s="{style}"' if style is not None else "")
    if value is None:
        return f"<c {ref}/>"
    if isinstance(value, str):
        if strings is not None:
            return f'<c {ref} t="s"><v>{strings.setdefault(value, len(strings))}</v></c>'
        return f'<c {ref} t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c {ref} t="b"><v>{int(value)}</v></c>'
    return f"<c {ref}><v>{value!r}</v></c>"


def row(number: int, values: Iterable = (), styled_to: int = 0, strings: dict | None = None,
        styles: dict | None = None) -> str:
    """One <row>: `values` from column A (None: no cell), then empty styled cells up to column `styled_to`;
    styles maps a column (1-based) to the style of its value."""
    values, styles = list(values), styles or {}
    cells = [cell(c, number, v, styles.get(c), strings) for c, v in enumerate(values, 1) if v is not None]
    cells += [f'<c r="{letter(c)}{number}" s="{STYLED}"/>' for c in range(len(values) + 1, styled_to + 1)]
    return f'<row r="{number}">{"".join(cells)}</row>'


@dataclass
class Sheet:
    name: str
    rows: Iterable[str]  # <row> elements (or any XML that goes inside <sheetData>)
    before: str = ""  # XML before <sheetData> (<cols>)
    after: str = ""  # XML after </sheetData> (<mergeCells>, <hyperlinks>)
    state: str = "visible"
    prolog: str = ""  # XML between the declaration and <worksheet> (a DOCTYPE)


def write_xlsx(path: Path, sheets: list[Sheet], strings: dict | None = None, level: int = 6) -> Path:
    """A workbook of `sheets`; `strings` is the shared-string table the sheets' cells were written with (text ->
    index). Sheet XML is streamed into the zip, so a sheet may be larger than memory."""
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{SHEET_TYPE}"/>'
                        for n in range(1, len(sheets) + 1))
    if strings is not None:
        overrides += ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                      'officedocument.spreadsheetml.sharedStrings+xml"/>')
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{overrides}</Types>")
    package_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PACKAGE_RELS}">'
                    f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    listed = "".join(f'<sheet name="{escape(s.name)}" sheetId="{n}" r:id="rId{n}"'
                     + ("" if s.state == "visible" else f' state="{s.state}"') + "/>"
                     for n, s in enumerate(sheets, 1))
    workbook = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" '
                f'xmlns:r="{RELS}"><sheets>{listed}</sheets></workbook>')
    targets = [(f"{RELS}/worksheet", f"worksheets/sheet{n}.xml") for n in range(1, len(sheets) + 1)]
    targets.append((f"{RELS}/styles", "styles.xml"))
    if strings is not None:
        targets.append((f"{RELS}/sharedStrings", "sharedStrings.xml"))
    workbook_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PACKAGE_RELS}">'
                     + "".join(f'<Relationship Id="rId{n}" Type="{kind}" Target="{target}"/>'
                               for n, (kind, target) in enumerate(targets, 1)) + "</Relationships>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", package_rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        archive.writestr("xl/styles.xml", STYLES)
        for n, sheet in enumerate(sheets, 1):
            with archive.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as part:
                part.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{sheet.prolog}'
                           f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">{sheet.before}<sheetData>'.encode())
                buffer, size = [], 0
                for xml in sheet.rows:
                    buffer.append(xml)
                    size += len(xml)
                    if size >= 1 << 20:
                        part.write("".join(buffer).encode())
                        buffer, size = [], 0
                part.write(("".join(buffer) + f"</sheetData>{sheet.after}</worksheet>").encode())
        if strings is not None:  # (written last: the sheets fill the table)
            items = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in strings)
            archive.writestr("xl/sharedStrings.xml",
                             f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" '
                             f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>')
    return path


# ---------------------------------------------------------------- the hostile and the large workbooks

def styled_around_table(path: Path, rows: int = 1000, columns: int = 1000) -> Path:
    """A boiler header and one boiler in a sheet formatted (a fill, no values) over rows × columns cells: about a
    million empty styled cells at the defaults."""
    lines = [row(1, BOILER_HEADER, columns), row(2, BOILER_ROW, columns)]
    lines += (row(n, (), columns) for n in range(3, rows + 1))
    return write_xlsx(path, [Sheet("锅炉", lines)])


def styled_row(path: Path, cells: int = 1_000_000) -> Path:
    """A boiler table whose third row has `cells` empty styled cells (Excel's rows end at 16,384)."""
    wide = '<row r="3">' + f'<c s="{STYLED}"/>' * cells + "</row>"
    return write_xlsx(path, [Sheet("锅炉", [row(1, BOILER_HEADER), row(2, BOILER_ROW), wide])])


def zip_bomb(path: Path, unpacked: int = 1 << 30) -> Path:
    """A boiler table followed by `unpacked` bytes of empty styled cells in one row, deflated (about 200:1)."""
    block = f'<c s="{STYLED}"/>' * (1 << 16)

    def rows():
        yield row(1, BOILER_HEADER)
        yield row(2, BOILER_ROW)
        yield '<row r="3">'
        for _ in range(unpacked // len(block) + 1):
            yield block
        yield "</row>"
    return write_xlsx(path, [Sheet("锅炉", rows())], level=1)


def boilers(path: Path, count: int, extra_columns: int = 0, seed: int = 7) -> Path:
    """`count` boiler rows of real values (text as shared strings, as Excel writes them; some efficiencies under
    the limit), one sheet; `extra_columns` more columns of numbers (备注1 …) make it wider."""
    rng = random.Random(seed)
    strings: dict = {}
    header = BOILER_HEADER + ["是否在集中供热供气管网覆盖范围内", "是否在用"]
    header += [f"备注{n}" for n in range(1, extra_columns + 1)]

    def rows():
        yield row(1, header, strings=strings)
        for n in range(count):
            efficiency = round(rng.uniform(60, 97), 1)
            yield row(n + 2, [f"单位{n % 5000}", f"GL-{n:07d}", rng.choice(REGIONS), rng.choice(["燃煤", "燃气"]),
                              "验收", 42736 + n % 1500, 43466 + n % 700, rng.choice([2, 4, 10, 20]), efficiency,
                              "否", "是"] + [n % 997] * extra_columns, strings=strings, styles={6: DATE, 7: DATE})
    return write_xlsx(path, [Sheet("锅炉", rows())], strings=strings)
