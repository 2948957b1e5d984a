"""An XLSX workbook of plain tables written as its XML, a row at a time: the parts and markup openpyxl's write-only
mode writes, with its two cell styles (a bold header on a fill; text wrapped at the top), at about a microsecond a cell
where openpyxl takes twenty."""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import zipfile
from pathlib import Path

from openpyxl.utils import absolute_coordinate, quote_sheetname
from openpyxl.utils import get_column_letter as column_letter

from engine.safe_text import escape_char

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER, WRAP = 1, 2  # the cell styles (cellXfs) of styles.xml below
MAX_COLUMNS = 16_384  # Excel's

# Characters XML 1.0 cannot hold (a record value's controls are escaped before they get here: safe_text.for_document;
# the noncharacters U+FFFE and U+FFFF are not), shown as their escape
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})

STYLES = (
    f'<styleSheet xmlns="{MAIN}"><numFmts count="0"/><fonts count="2"><font><name val="Calibri"/><family val="2"/>'
    '<color theme="1"/><sz val="11"/><scheme val="minor"/></font><font><b val="1"/></font></fonts><fills count="3">'
    '<fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill><fill><patternFill '
    'patternType="solid"><fgColor rgb="00DDE5F0"/></patternFill></fill></fills><borders count="1"><border><left/>'
    '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
    'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/><xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0"/><xf numFmtId="0" fontId="0" fillId="0" '
    'borderId="0" applyAlignment="1" xfId="0"><alignment vertical="top" wrapText="1"/></xf></cellXfs><cellStyles '
    'count="1"><cellStyle name="Normal" xfId="0" builtinId="0" hidden="0"/></cellStyles><tableStyles count="0" '
    'defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/></styleSheet>')


def _xml_text(text: str) -> str:
    if _NOT_XML.search(text):
        text = _NOT_XML.sub(lambda m: escape_char(m.group()), text)
    return text.translate(_ESCAPES)


def _text_markup(text: str, style: int | None) -> str:
    """A text cell's markup after `<c r="…"`: its style (`style`, else WRAP for a text of several lines), an inline
    string (none for an empty text), with xml:space where spaces begin or end it (as openpyxl writes it)."""
    kind = style if style is not None else (WRAP if "\n" in text else None)
    styled = "" if kind is None else f' s="{kind}"'
    if not text:
        return f'{styled} t="inlineStr"></c>'
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'{styled} t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>'


class SheetPart:
    """One sheet: its column widths and its rows as XML in a temporary file (memory does not follow the rows)."""

    def __init__(self, title: str, widths: list):
        if len(widths) > MAX_COLUMNS:
            raise ValueError(f"{len(widths)} columns: Excel holds {MAX_COLUMNS}")
        self.title, self.widths = title, list(widths)
        self.rows, self.width = 0, len(widths)
        self._letters = [column_letter(n) for n in range(1, len(widths) + 1)]
        self._file = tempfile.TemporaryFile()
        self._pending: list = []
        self._texts: dict = {}  # (text, style) -> the cell's markup after its reference: a repeated text escaped once

    def add(self, values, style: int | None = None) -> None:
        """A row of text and numbers (None: an empty cell); a text holding a line break is wrapped (WRAP), unless
        `style` is given for every cell (HEADER)."""
        self.rows += 1
        number = self.rows
        letters = self._letters
        cells = []
        for n, value in enumerate(values):
            ref = f"{letters[n] if n < len(letters) else column_letter(n + 1)}{number}"
            if value is None:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                shown = "" if isinstance(value, float) and (math.isnan(value) or math.isinf(value)) else "%.16g" % value
                cells.append(f'<c r="{ref}" t="n"><v>{shown}</v></c>')
                continue
            text = str(value)
            markup = self._texts.get((text, style))
            if markup is None:
                if len(self._texts) > 50_000:  # (memory follows the variety of the texts, not the rows)
                    self._texts.clear()
                markup = self._texts[(text, style)] = _text_markup(text, style)
            cells.append(f'<c r="{ref}"{markup}')
        self._pending.append(f'<row r="{number}">{"".join(cells)}</row>')
        if len(self._pending) >= 1_000:
            self._flush()

    def _flush(self) -> None:
        self._file.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def filter_ref(self) -> str:
        return f"A1:{column_letter(max(self.width, 1))}{max(self.rows, 1)}"

    def write_to(self, archive: zipfile.ZipFile, name: str) -> None:
        self._flush()
        cols = "".join(f'<col width="{w}" customWidth="1" min="{n}" max="{n}"/>'
                       for n, w in enumerate(self.widths, start=1))
        head = (f'<worksheet xmlns="{MAIN}"><sheetPr><outlinePr summaryBelow="1" summaryRight="1"/><pageSetUpPr/>'
                '</sheetPr><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A1" sqref="A1"/>'
                '</sheetView></sheetViews><sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>'
                + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>")
        tail = (f'</sheetData><autoFilter ref="{self.filter_ref()}"/><pageMargins left="0.75" right="0.75" top="1" '
                'bottom="1" header="0.5" footer="0.5"/></worksheet>')
        size = self._file.tell()
        self._file.seek(0)
        with archive.open(name, "w", force_zip64=size > (1 << 30)) as part:
            part.write(head.encode("utf-8"))
            while True:
                block = self._file.read(1 << 20)
                if not block:
                    break
                part.write(block)
            part.write(tail.encode("utf-8"))
        self._file.close()


class Book:
    """A workbook of SheetParts, written to a file by `save`."""

    def __init__(self):
        self.sheets: list[SheetPart] = []

    def add_sheet(self, title: str, widths: list) -> SheetPart:
        sheet = SheetPart(title, widths)
        self.sheets.append(sheet)
        return sheet

    def save(self, path) -> Path:
        from openpyxl.writer.theme import theme_xml  # (the theme the styles' colours refer to)

        path = Path(path)
        count = len(self.sheets)
        sheet_types = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
                              'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                              for n in range(1, count + 1))
        types = (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/theme/theme1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/><Override '
            'PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.extended-properties+xml"/>{sheet_types}<Override '
            'PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        root_rels = (
            f'<Relationships xmlns="{RELS}"><Relationship Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml" '
            f'Id="rId1"/><Relationship Type="{RELS}/metadata/core-properties" Target="docProps/core.xml" Id="rId2"/>'
            f'<Relationship Type="{DOC_RELS}/extended-properties" Target="docProps/app.xml" Id="rId3"/>'
            '</Relationships>')
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        core = (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">'
            '<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">ecocheck</dc:creator><dcterms:created '
            'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created><dcterms:modified '
            'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>')
        app = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
               '<Application>ecocheck</Application></Properties>')
        sheets = "".join(f'<sheet xmlns:r="{DOC_RELS}" name="{_xml_text(s.title)}" sheetId="{n}" state="visible" '
                         f'r:id="rId{n}"/>' for n, s in enumerate(self.sheets, start=1))
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">'
            f"{_xml_text(quote_sheetname(s.title))}!{absolute_coordinate(s.filter_ref())}</definedName>"
            for n, s in enumerate(self.sheets))
        workbook = (
            f'<workbook xmlns="{MAIN}"><workbookPr/><workbookProtection/><bookViews><workbookView visibility="visible" '
            'minimized="0" showHorizontalScroll="1" showVerticalScroll="1" showSheetTabs="1" tabRatio="600" '
            f'firstSheet="0" activeTab="0" autoFilterDateGrouping="1"/></bookViews><sheets>{sheets}</sheets>'
            + (f"<definedNames>{filters}</definedNames>" if filters else "")
            + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')
        sheet_rels = "".join(f'<Relationship Type="{DOC_RELS}/worksheet" Target="/xl/worksheets/sheet{n}.xml" '
                             f'Id="rId{n}"/>' for n in range(1, count + 1))
        workbook_rels = (
            f'<Relationships xmlns="{RELS}">{sheet_rels}<Relationship Type="{DOC_RELS}/styles" Target="styles.xml" '
            f'Id="rId{count + 1}"/><Relationship Type="{DOC_RELS}/theme" Target="theme/theme1.xml" '
            f'Id="rId{count + 2}"/></Relationships>')
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, text in (("[Content_Types].xml", types), ("_rels/.rels", root_rels),
                               ("docProps/app.xml", app), ("docProps/core.xml", core),
                               ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
                               ("xl/styles.xml", STYLES), ("xl/theme/theme1.xml", theme_xml)):
                archive.writestr(name, text.encode("utf-8"))
            for n, sheet in enumerate(self.sheets, start=1):
                sheet.write_to(archive, f"xl/worksheets/sheet{n}.xml")
        return path


__all__ = ["Book", "SheetPart", "HEADER", "WRAP", "column_letter"]
