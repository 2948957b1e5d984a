"""Blank input files for a record kind (CSV or XLSX with a unit row, drop-down lists and filling notes)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from engine.schemas import Schema

TYPE_HINTS = {"string": "文本", "number": "数字", "integer": "整数", "bool": "是/否", "date": "日期 2017-01-01",
              "enum": "从下拉列表选择", "region": "市州名称"}


def input_fields(schema: Schema) -> list:
    """The fields a user fills in (not those ecocheck computes, such as the annual targets it attaches)."""
    from engine.annual_targets import TARGET_FIELDS
    return [s for s in schema.fields.values() if s.name not in TARGET_FIELDS]


def header_of(spec) -> str:
    return f"{spec.label}（{spec.unit}）" if spec.unit else spec.label


def choices(spec, regions) -> list[str]:
    if spec.type == "bool":
        return ["是", "否"]
    if spec.type == "enum":
        return [spellings[0] if spellings else value for value, spellings in spec.values.items()]
    if spec.type == "region":
        return [regions.official[key] for key in regions.official]
    return []


def template_csv(schema: Schema) -> str:
    """A header row, with units in brackets, saved with a BOM so Excel shows the Chinese headers."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([header_of(s) for s in input_fields(schema)])
    return "\ufeff" + buffer.getvalue()


def template_xlsx(schema: Schema, regions, path: Path) -> None:
    """Headers, a unit row under them, drop-down lists for enumerated fields, and a sheet of filling notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = re.sub(r"[\[\]:*?/\\]", "、", schema.title.get("zh", schema.kind))[:31] or schema.kind
    lists = workbook.create_sheet("选项")
    notes = workbook.create_sheet("填表说明")
    notes.append(["列", "字段", "类型", "单位", "必填", "可选值"])
    for n, spec in enumerate(input_fields(schema), start=1):
        column = get_column_letter(n)
        sheet.cell(row=1, column=n, value=spec.label).font = Font(bold=True, color="FFFFFF" if spec.required else "000000")
        sheet.cell(row=1, column=n).fill = PatternFill("solid", fgColor="C00000" if spec.required else "D9D9D9")
        sheet.cell(row=2, column=n, value=spec.unit or None)
        sheet.column_dimensions[column].width = max(12, len(spec.label) * 2 + 4)
        options = choices(spec, regions)
        if options:
            for m, option in enumerate(options, start=1):
                lists.cell(row=m, column=n, value=option)
            rule = DataValidation(type="list", formula1=f"=选项!${column}$1:${column}${len(options)}",
                                  allow_blank=True, showErrorMessage=True,
                                  error=f"请从列表中选择{spec.label}", errorTitle="无效的值")
            sheet.add_data_validation(rule)
            rule.add(f"{column}3:{column}5000")
        notes.append([spec.label, spec.name, TYPE_HINTS.get(spec.type, spec.type), spec.unit,
                      "是" if spec.required else "否", "、".join(options[:20])])
    lists.sheet_state = "hidden"
    sheet.freeze_panes = "A3"
    workbook.save(path)
