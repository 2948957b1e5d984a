"""Turn spreadsheet cell text into typed values (numbers, dates, booleans, enums, region names) or say why not."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import unicodedata
from dataclasses import dataclass

from engine.conditions import rounded, to_number
from engine.reader import Nested, Unsaved
from engine.schemas import FieldSpec, normalise_header

MISSING_TOKENS = {"", "-", "—", "——", "--", "/", "\\", "无", "未检测", "未测", "不详", "暂无", "n/a", "na", "nan",
                  "none", "null", "#n/a", "缺失", "空"}
TRUE_TOKENS = {"是", "y", "yes", "true", "t", "1", "√", "✓", "✔", "完成", "已完成", "达标", "高耗能"}
FALSE_TOKENS = {"否", "n", "no", "false", "f", "0", "×", "✗", "✘", "x", "未完成", "不达标", "非高耗能"}
EXCEL_EPOCH = dt.date(1899, 12, 30)
MAX_NUMBER = 10 ** 15  # no quantity in these records comes near this; larger is a typing error


class ValueProblem(ValueError):
    """A cell value that cannot be read as its field's type; the message says why and what would be right."""


@dataclass(frozen=True)
class Regions:
    """Prefecture names: every known spelling -> the region key used by the parameter tables."""

    spellings: dict  # normalised spelling -> key
    governments: dict  # key -> government name
    official: dict  # key -> official name

    def canonical(self, text: str) -> str:
        key = normalise_header(text)
        if key in self.spellings:
            return self.spellings[key]
        suggestion = difflib.get_close_matches(key, list(self.spellings), n=1, cutoff=0.5)
        hint = f"; closest known name: {self.spellings[suggestion[0]]}" if suggestion else ""
        raise ValueProblem(f"'{text}' is not a known prefecture of Gansu{hint}")


def load_regions(table) -> Regions:
    """Regions from the `regions` parameter table."""
    spellings, governments, official = {}, {}, {}
    for key, rows in table.rows.items():
        row = rows[0]
        names = [key, row.get("label"), row.get("official_name")] + str(row.get("aliases") or "").split(";")
        for name in names:
            if name:
                spellings[normalise_header(name)] = key
        governments[key] = str(row.get("government") or key)
        official[key] = str(row.get("official_name") or key)
    return Regions(spellings, governments, official)


def is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        text = value.strip()
        return not text or (len(text) < 8 and normalise_header(text) in MISSING_TOKENS)
    return False


def _text(value) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_number(value, spec: FieldSpec) -> float:
    if isinstance(value, bool):
        raise ValueProblem(f"'{value}' is not a number")
    if isinstance(value, (int, float)):
        number = to_number(value)
    else:
        text = _text(value).replace(" ", "")
        if spec.unit == "%" and text.endswith("%"):
            text = text[:-1]
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
            text = text.replace(",", "")
        number = to_number(text) if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) else None
    if number is None or not number.is_finite():
        raise ValueProblem(f"'{value}' is not a number" + (f" in {spec.unit}" if spec.unit else ""))
    if spec.min is not None and number < spec.min or spec.max is not None and number > spec.max:
        raise ValueProblem(f"{value} is outside the possible range {spec.min}–{spec.max}"
                           + (f" {spec.unit}" if spec.unit else ""))
    if abs(number) >= MAX_NUMBER:
        raise ValueProblem(f"{value} is too large to be a real measurement")
    result = rounded(number)
    if spec.type == "integer":
        if result != int(result):
            raise ValueProblem(f"'{value}' is not a whole number")
        result = int(result)
    if spec.min is not None and result < spec.min or spec.max is not None and result > spec.max:
        raise ValueProblem(f"{value} is outside the possible range {spec.min}–{spec.max}"
                           + (f" {spec.unit}" if spec.unit else ""))
    return result


DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466 and float(value).is_integer():  # an Excel serial day number
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueProblem(f"'{value}' is not a date")
    text = re.sub(r"(?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$", "", _text(value)).replace(" ", "")
    for pattern in DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                raise ValueProblem(f"'{value}' is not a real calendar date") from None
    if re.fullmatch(r"\d{5}(\.0)?", text):
        return EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    raise ValueProblem(f"'{value}' is not a date (write 2017-01-01, 2017/1/1 or 2017年1月1日)")


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    key = normalise_header(value)
    if key in TRUE_TOKENS:
        return True
    if key in FALSE_TOKENS:
        return False
    raise ValueProblem(f"'{value}' is not yes/no (write 是 or 否)")


_ENUM_MAPS: dict = {}


def _enum_map(spec: FieldSpec) -> dict:
    """Every spelling of an enum field (normalised) -> its canonical value, built once per field."""
    found = _ENUM_MAPS.get(id(spec))
    if found is None or found[0] is not spec:
        mapping = {}
        for canonical, spellings in spec.values.items():
            mapping[normalise_header(canonical)] = canonical
            for spelling in spellings:
                mapping.setdefault(normalise_header(spelling), canonical)
        found = _ENUM_MAPS[id(spec)] = (spec, mapping)
    return found[1]


def parse_enum(value, spec: FieldSpec) -> str:
    canonical = _enum_map(spec).get(normalise_header(str(value)))
    if canonical is not None:
        return canonical
    choices = [s for spellings in spec.values.values() for s in spellings[:1]]
    raise ValueProblem(f"'{value}' is not one of: " + "、".join(choices))


def parse_value(value, spec: FieldSpec, regions: Regions):
    """The typed value of a cell, None when the cell is empty or a 'no data' mark; ValueProblem when unreadable."""
    if isinstance(value, Unsaved):
        raise ValueProblem(f"formula {value} has no saved result; open the file in Excel and save it again")
    if isinstance(value, Nested):
        raise ValueProblem(f"{value} is a nested JSON value, not a single value")
    if is_missing(value):
        return None
    if spec.type in ("number", "integer"):
        return parse_number(value, spec)
    if spec.type == "date":
        return parse_date(value)
    if spec.type == "bool":
        return parse_bool(value)
    if spec.type == "enum":
        return parse_enum(value, spec)
    if spec.type == "region":
        return regions.canonical(str(value))
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text
