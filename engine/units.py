"""Units named in headers: recognise them and convert a column to the unit its schema field states, or refuse."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from engine.lang import tr

# unit spelling (normalised) -> (dimension, factor to the dimension's base unit)
UNITS = {
    "%": ("fraction", Decimal("0.01")), "百分比": ("fraction", Decimal("0.01")), "‰": ("fraction", Decimal("0.001")),
    "mg/kg": ("fraction", Decimal("0.000001")), "ppm": ("fraction", Decimal("0.000001")),
    "μg/g": ("fraction", Decimal("0.000001")), "ug/g": ("fraction", Decimal("0.000001")),
    "t": ("mass", Decimal(1)), "吨": ("mass", Decimal(1)), "万吨": ("mass", Decimal(10000)),
    "kg": ("mass", Decimal("0.001")), "千克": ("mass", Decimal("0.001")), "公斤": ("mass", Decimal("0.001")),
    "吨标准煤": ("energy", Decimal(1)), "tce": ("energy", Decimal(1)), "吨标煤": ("energy", Decimal(1)),
    "万吨标准煤": ("energy", Decimal(10000)), "万吨标煤": ("energy", Decimal(10000)),
    "万tce": ("energy", Decimal(10000)), "千克标准煤": ("energy", Decimal("0.001")), "kgce": ("energy", Decimal("0.001")),
    "m2": ("area", Decimal(1)), "m²": ("area", Decimal(1)), "平方米": ("area", Decimal(1)),
    "万平方米": ("area", Decimal(10000)), "万m2": ("area", Decimal(10000)), "万m²": ("area", Decimal(10000)),
    "kw": ("power", Decimal(1)), "千瓦": ("power", Decimal(1)), "万千瓦": ("power", Decimal(10000)),
    "mw": ("power", Decimal(1000)), "兆瓦": ("power", Decimal(1000)), "gw": ("power", Decimal(1000000)),
    "t/h": ("steam", Decimal(1)), "吨/小时": ("steam", Decimal(1)), "蒸吨/小时": ("steam", Decimal(1)),
    "蒸吨": ("steam", Decimal(1)),
}


class UnitProblem(ValueError):
    """A header's unit that cannot be converted to the schema's unit."""


def normalise_unit(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    text = re.sub(r"\s+", "", text)
    return text.replace("²", "2").replace("m^2", "m2").replace("平方米", "平方米")


_BY_SPELLING = {normalise_unit(spelling): meaning for spelling, meaning in UNITS.items()}


def _lookup(unit: str):
    return _BY_SPELLING.get(normalise_unit(unit))


def factor(header_unit: str, schema_unit: str) -> Decimal | None:
    """Multiply a value in header_unit by this to get schema_unit; None when no conversion is needed or known
    to be the same unit; UnitProblem when the two units cannot be compared."""
    if not header_unit or not schema_unit or normalise_unit(header_unit) == normalise_unit(schema_unit):
        return None
    given, wanted = _lookup(header_unit), _lookup(schema_unit)
    if given is None:
        raise UnitProblem(tr(f"表头中的单位“{header_unit}”ecocheck 不认识；该字段的单位是 {schema_unit}",
                             f"unit '{header_unit}' in the header is not one ecocheck knows; the field is in "
                             f"{schema_unit}"))
    if wanted is None or given[0] != wanted[0]:
        raise UnitProblem(tr(f"表头中的单位“{header_unit}”不能换算成 {schema_unit}",
                             f"unit '{header_unit}' in the header cannot be converted to {schema_unit}"))
    ratio = given[1] / wanted[1]
    return None if ratio == 1 else ratio


UNIT_CHARACTERS = re.compile(r"^[A-Za-z%‰°℃²³·/\.\-0-9μ元万亿千百吨克米瓦时升标准煤油气当量二氧化碳人天年次台辆套个户公里平方立方千瓦小蒸]+$")


def is_known_unit(text) -> bool:
    return _lookup(unit_of_cell(text)) is not None


PLAIN_NUMBER = re.compile(r"[+\-]?(\d+\.?\d*|\.\d+)([eE][+\-]?\d+)?")


def looks_like_unit(text) -> bool:
    """Whether a cell of a row under the header reads as a unit ('%', '（吨）', 't/h', '单位：万吨', 'mg/m³'); a plain
    number (0.853, 12) is a value, never a unit."""
    cleaned = unit_of_cell(text)
    if not cleaned or len(cleaned) > 16 or PLAIN_NUMBER.fullmatch(cleaned):
        return False
    return _lookup(cleaned) is not None or bool(UNIT_CHARACTERS.match(cleaned))


def unit_of_cell(text) -> str:
    cleaned = re.sub(r"^[\(（\[]|[\)）\]]$", "", unicodedata.normalize("NFKC", str(text)).strip())
    return re.sub(r"^单位[:：]", "", cleaned)
