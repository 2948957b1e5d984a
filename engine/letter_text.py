"""Wording shared by every letter: documents and articles as printed, values with units, gaps, dates, numbering."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from engine.operators import OPS

_DIGITS = "零一二三四五六七八九"
_ITEM = re.compile(r"^(?P<part>[一二三四五六七八九十]+)(?:\.（(?P<article>[一二三四五六七八九十]+)）)?(?:\.(?P<item>\d+))?$")


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十, 35 → 三十五 (for 一、 / （一） numbering up to 99)."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    text = ("" if tens == 1 else _DIGITS[tens]) + "十" if tens else ""
    return text + (_DIGITS[ones] if ones else "")


def cn_date(day: dt.date) -> str:
    """A date as in Chinese official documents: 2026年11月21日 (no zero padding)."""
    return f"{day.year}年{day.month}月{day.day}日"


def article_label(label: str) -> str:
    """An article as a reader cites it: 三.（十三） → 第三部分第（十三）条; 四.（一）.5 → 第四部分第（一）条第5项; 附件2 stays."""
    match = _ITEM.match(label)
    if not match:
        return label
    text = f"第{match['part']}部分"
    if match["article"]:
        text += f"第（{match['article']}）条"
    if match["item"]:
        text += f"第{match['item']}项"
    return text


def bare_title(title: str) -> str:
    """A title for use inside 《》: title marks inside it become 〈〉 (GB/T 15834)."""
    title = title.strip()
    if title.startswith("《") and title.endswith("》"):
        title = title[1:-1]
    return title.replace("《", "〈").replace("》", "〉")


def document_citation(document) -> str:
    """《title》（文号）, or （issuer date印发） when the document has no 文号 on record."""
    title = f"《{bare_title(document.title)}》"
    if document.number:
        return f"{title}（{document.number}）"
    issued = document.issued
    try:
        issued = cn_date(dt.date.fromisoformat(issued))
    except ValueError:
        pass
    return f"{title}（{document.issuer}{issued}印发）" if document.issuer else title


def short_citation(document) -> str:
    """《title》 alone, for the second and later mentions."""
    return f"《{bare_title(document.title)}》"


def format_value(value: Any) -> str:
    """A value at the precision it was given (no trailing zeros added or float noise shown)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value != value:
            return "—"
        return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return cn_date(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(format_value(v) for v in value)
    return str(value)


def with_unit(value: Any, unit: str) -> str:
    text = format_value(value)
    if text == "—" or not unit:
        return text
    return f"{text} {unit}" if unit[0].isascii() and unit[0].isalpha() else f"{text}{unit}"


def gap_text(gap: Any, unit: str) -> str:
    """The size of a shortfall: 7.6个百分点 for percentages, else the amount with its unit."""
    if isinstance(gap, bool) or not isinstance(gap, (int, float, Decimal)):
        return ""
    amount = format_value(abs(gap))
    if unit in ("%", "％"):
        return f"{amount}个百分点"
    return with_unit(abs(gap), unit)



def check_sentence(check) -> str:
    """One breached check as a sentence: 热效率为72.4%，低于要求的80%，相差7.6个百分点."""
    label, unit = check.label or check.field, check.unit or ""
    if check.op in ("eq", "in"):
        return f"{label}：{check.observed}" if check.observed not in ("", "—") else f"{label}未填报"
    if check.op == "not_in":
        return f"{label}为{check.observed}，不属于{check.limit}"
    if check.op == "absent":
        return f"{label}未填报"
    if check.op == "present":
        return f"{label}为{check.observed}"
    observed = with_unit(check.observed, unit) if check.observed not in ("", "—") else "—"
    limit = with_unit(check.limit, unit) if check.limit not in ("", "—") else "—"
    relation = OPS[check.op].relation if check.op in OPS else ""
    text = f"{label}为{observed}，{relation}要求的{limit}"
    gap = gap_text(check.gap, unit)
    return text + (f"，相差{gap}" if gap and check.gap != 0 else "")


def sentence(text: Any) -> str:
    """The text with a closing 。 unless it already ends with a sentence mark."""
    text = str(text).strip()
    return text if not text or text.endswith(tuple("。；！？：")) else text + "。"
