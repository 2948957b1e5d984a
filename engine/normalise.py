"""Turn spreadsheet cell text into typed values (numbers, dates, booleans, enums, region names) or say why not."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from engine.conditions import exact_float, to_number
from engine.lang import tr
from engine.json_reader import Conflict, Nested
from engine.schemas import FieldSpec, normalise_header
from engine.xlsx_reader import Unsaved

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
        closest = self.spellings[suggestion[0]] if suggestion else ""
        raise ValueProblem(tr(f"“{text}”不是甘肃省的市州" + (f"；最接近的名称：{closest}" if closest else ""),
                              f"'{text}' is not a known prefecture of Gansu" +
                              (f"; closest known name: {closest}" if closest else "")))


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


def is_blank(value) -> bool:
    """An empty cell (no text at all): a row of only these is no row. A 'no data' mark (无, —) is not blank."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


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


MAX_NUMBER_TEXT = 64  # characters: a longer cell is not a number anyone wrote
SMALLEST = Decimal("1e-15")  # a non-zero value nearer zero than this is a unit or typing error
READABLE = (Decimal("1e-40"), Decimal("1e40"))  # magnitudes any unit conversion can bring into range


def parse_number(value, spec: FieldSpec) -> float:
    """A number as written (Decimal, never rounded), checked against the field's range and returned as the float
    that compares with every limit exactly as the written value does (conditions.exact_float)."""
    return checked_number(read_number(value, spec), spec, value)


def read_number(value, spec: FieldSpec) -> Decimal:
    """The decimal a cell holds, exactly as written (a trailing % allowed in a % field; 1,234.5 thousands commas)."""
    if isinstance(value, bool):
        raise ValueProblem(tr(f"“{value}”不是数值", f"'{value}' is not a number"))
    if isinstance(value, (int, float, Decimal)):
        number = to_number(value)
    else:
        text = _text(value).replace(" ", "")
        if spec.unit == "%" and text.endswith("%"):
            text = text[:-1]
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):
            text = text.replace(",", "")
        number = None
        if len(text) <= MAX_NUMBER_TEXT and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            number = to_number(text)
    if number is None or not number.is_finite():
        raise ValueProblem(tr(f"“{quoted(value)}”不是数值" + (f"（单位 {spec.unit}）" if spec.unit else ""),
                              f"'{quoted(value)}' is not a number" + (f" in {spec.unit}" if spec.unit else "")))
    if number and not READABLE[0] <= number.copy_abs() <= READABLE[1]:  # (arithmetic on 1e999999999 would overflow)
        _out_of_range(number, spec, value)
    return number


def _out_of_range(number: Decimal, spec: FieldSpec, written):
    """Raise the reason a value of absurd magnitude is refused (before any unit arithmetic on it)."""
    large = number.copy_abs() > 1
    if large and spec.max is not None or not large and spec.min is not None and spec.min > 0:
        raise ValueProblem(outside_range(written, spec))
    raise ValueProblem(tr(f"“{quoted(written)}”太{'大' if large else '小'}，不可能是实测值" + ("" if large else "；请检查单位"),
                          f"{quoted(written)} is too {'large' if large else 'small'} to be a real measurement"
                          + ("" if large else "; check the unit")))


def outside_range(written, spec: FieldSpec, converted: str = "") -> str:
    """The reason a value is outside its field's possible range (`converted`: the value in the field's unit)."""
    unit = f" {spec.unit}" if spec.unit else ""
    return tr(f"“{quoted(written)}”" + (f"（折合 {converted}{unit}）" if converted else "") +
              f"超出可能的范围 {spec.min}–{spec.max}{unit}",
              f"{quoted(written)}" + (f" ({converted}{unit})" if converted else "") +
              f" is outside the possible range {spec.min}–{spec.max}{unit}")


def checked_number(number: Decimal, spec: FieldSpec, written, converted: bool = False) -> float | int:
    """A decimal in the field's unit (`converted` from the written one), checked against the field's range
    exactly, as the field's type."""
    if spec.min is not None and number < Decimal(str(spec.min)) or \
            spec.max is not None and number > Decimal(str(spec.max)):
        raise ValueProblem(outside_range(written, spec, plain_number(number) if converted else ""))
    if number.copy_abs() >= MAX_NUMBER or number and number.copy_abs() < SMALLEST:
        _out_of_range(number, spec, written)
    if spec.type == "integer":
        if number != number.to_integral_value():
            raise ValueProblem(tr(f"“{quoted(written)}”不是整数", f"'{quoted(written)}' is not a whole number"))
        return int(number)
    return exact_float(number)


def plain_number(number: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 0.00005, 85.3."""
    return format(number.normalize(), "f")


def quoted(value) -> str:
    """A cell as quoted in a reason: long cells cut, so that a reason stays one readable line."""
    text = str(value) if not isinstance(value, int) or abs(value) < 10 ** 30 else tr("超过30位的数",
                                                                                     "a number of over 30 digits")
    return text if len(text) <= 40 else text[:40] + "…"


DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
TIME_OF_DAY = re.compile(r"(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")
FIRST_DAY = dt.date(1900, 1, 1)  # no record of these documents is dated earlier
LAST_DAY = dt.date(2099, 12, 31)  # nor later: a date beyond is a typing error
SERIAL_FROM = dt.date(1990, 1, 1)  # an Excel day number is read only for dates from here (32874): 20211 is a typo


def parse_date(value, spec: FieldSpec | None = None, today: dt.date | None = None) -> dt.date:
    """A calendar date from a date cell, an Excel day number or text; refused when implausible: before 1900, after
    2099, or (for a field recording something that has happened, `past: true`) after today."""
    day = _date_of(value)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueProblem(tr(f"“{quoted(value)}”不是可信的日期（早于{FIRST_DAY.year}年或晚于{LAST_DAY.year}年）",
                              f"'{quoted(value)}' is not a plausible date (before {FIRST_DAY.year} or after "
                              f"{LAST_DAY.year})"))
    today = today or dt.date.today()
    if spec is not None and spec.past and day > today:
        raise ValueProblem(tr(f"“{quoted(value)}”晚于今天（{today.isoformat()}）：{spec.label}记的是已经发生的事，"
                              f"请检查年份",
                              f"'{quoted(value)}' is after today ({today.isoformat()}): {spec.label} records what "
                              f"has happened; check the year"))
    return day


SERIAL_DAYS = (32874, 73050)  # Excel day numbers of 1990-01-01 and 2099-12-31


def _serial(number, value) -> dt.date:
    """An Excel day number (days since 1899-12-30) in the plausible range, or ValueProblem."""
    if float(number).is_integer() and SERIAL_DAYS[0] <= number <= SERIAL_DAYS[1]:
        return EXCEL_EPOCH + dt.timedelta(days=int(number))
    raise ValueProblem(tr(f"“{quoted(value)}”不是日期（数字只在 {SERIAL_FROM.isoformat()} 至 {LAST_DAY.isoformat()} "
                          f"之间才按 Excel 日期序号读取；请写成 2017-01-01）",
                          f"'{quoted(value)}' is not a date (a number is read as an Excel day number only for "
                          f"{SERIAL_FROM.isoformat()}–{LAST_DAY.isoformat()}; write 2017-01-01)"))


def _date_of(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return _serial(value, value)
    text = _text(value)
    if len(text) > MAX_NUMBER_TEXT:
        raise ValueProblem(tr(f"“{quoted(value)}”不是日期", f"'{quoted(value)}' is not a date"))
    time = TIME_OF_DAY.search(text)
    if time:
        hour, minute, second = int(time.group(1)), int(time.group(2)), int(time.group(3) or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueProblem(tr(f"“{quoted(value)}”中的时刻不存在（{time.group(0).strip()}）",
                                  f"'{quoted(value)}' has a time of day that does not exist ({time.group(0).strip()})"))
        text = text[:time.start()]
    text = text.replace(" ", "")
    for pattern in DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                raise ValueProblem(tr(f"“{quoted(value)}”不是日历上有的日期",
                                      f"'{quoted(value)}' is not a real calendar date")) from None
    if re.fullmatch(r"\d{5}(\.0)?", text):
        return _serial(int(float(text)), value)
    raise ValueProblem(tr(f"“{quoted(value)}”不是日期（请写成 2017-01-01、2017/1/1 或 2017年1月1日）",
                          f"'{quoted(value)}' is not a date (write 2017-01-01, 2017/1/1 or 2017年1月1日)"))


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    key = normalise_header(value)
    if key in TRUE_TOKENS:
        return True
    if key in FALSE_TOKENS:
        return False
    raise ValueProblem(tr(f"“{value}”不是“是”或“否”", f"'{value}' is not yes/no (write 是 or 否)"))


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
    raise ValueProblem(tr(f"“{value}”不是可选的值：", f"'{value}' is not one of: ") + "、".join(choices))


def parse_value(value, spec: FieldSpec, regions: Regions):
    """The typed value of a cell, None when the cell is empty or a 'no data' mark; ValueProblem when unreadable."""
    if isinstance(value, Unsaved):
        raise ValueProblem(tr(f"公式 {value} 没有保存的计算结果；请用 Excel 打开文件后重新保存",
                              f"formula {value} has no saved result; open the file in Excel and save it again"))
    if isinstance(value, Nested):
        raise ValueProblem(tr(f"{value} 是嵌套的 JSON 值，不是单个值", f"{value} is a nested JSON value, not a single value"))
    if isinstance(value, Conflict):
        raise ValueProblem(tr(f"{value}；请保留正确的一个", f"{value}; keep the right one"))
    if is_missing(value):
        return None
    if spec.type in ("number", "integer"):
        return parse_number(value, spec)
    if spec.type == "date":
        return parse_date(value, spec)
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
