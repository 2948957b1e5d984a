"""Format-neutral model of a Chinese official document (公文) after GB/T 9704-2012, for the DOCX and PDF writers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Union

CN_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Issuer:
    """One issuing authority: its full name (署名), the name used in the 发文机关标志, and its seal."""

    name: str
    mark_name: str = ""     # 发文机关标志 name (全称或规范化简称); "" → name
    seal: bool = True       # draw the seal position (印章) over this authority's 署名
    seal_text: str = ""     # text inside the seal placeholder; "" → the authority's name

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("an issuing authority needs a name")

    @property
    def mark(self) -> str:
        return self.mark_name or self.name


@dataclass(frozen=True)
class Header:
    """版头: the issuing authorities (one, or several for a joint document), 发文字号 and the mark's suffix."""

    issuers: tuple[Issuer, ...]
    doc_number: str                 # 发文字号, e.g. 甘发改环资〔2024〕12号
    mark_suffix: str = "文件"       # "文件" after the authority names in the 发文机关标志; "" for none

    def __post_init__(self) -> None:
        object.__setattr__(self, "issuers", tuple(self.issuers))
        if not self.issuers:
            raise ValueError("a document needs at least one issuing authority")
        if not all(isinstance(i, Issuer) for i in self.issuers):
            raise TypeError("issuers must be Issuer objects")


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph (first line indented two characters)."""

    text: str


@dataclass(frozen=True)
class Heading:
    """A numbered heading: level 1 一、 (黑体), 2 （一） (楷体), 3 1. and 4 （1） (仿宋); numbers are counted per level.

    `text` may run on after the heading (a heading that opens its paragraph) when `run_in` is given.
    """

    level: int
    text: str
    run_in: str = ""

    def __post_init__(self) -> None:
        if self.level not in (1, 2, 3, 4):
            raise ValueError(f"heading level must be 1 to 4, got {self.level!r}")


@dataclass(frozen=True)
class FindingItem:
    """A numbered finding paragraph: 1. 2. … counted across the document, with an optional lead phrase."""

    text: str
    lead: str = ""   # e.g. the record or check it is about, set before the text


@dataclass(frozen=True)
class Table:
    """A narrow table (a few columns): header row, body rows, relative column widths, optional caption."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...] = ()
    caption: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", tuple(self.header))
        object.__setattr__(self, "rows", tuple(tuple(r) for r in self.rows))
        object.__setattr__(self, "widths", tuple(self.widths))
        n = len(self.header)
        if not n:
            raise ValueError("a table needs a header row")
        for i, row in enumerate(self.rows):
            if len(row) != n:
                raise ValueError(f"table row {i + 1} has {len(row)} cells, the header has {n}")
        if self.widths and (len(self.widths) != n or min(self.widths) <= 0):
            raise ValueError("table widths must be one positive number per column")

    @property
    def fractions(self) -> tuple[float, ...]:
        widths = self.widths or (1.0,) * len(self.header)
        total = sum(widths)
        return tuple(w / total for w in widths)


Block = Union[Paragraph, Heading, FindingItem, Table]
BLOCK_TYPES = (Paragraph, Heading, FindingItem, Table)


@dataclass(frozen=True)
class Colophon:
    """版记: 抄送机关, 印发机关 and 印发日期."""

    copy_to: tuple[str, ...] = ()
    printer: str = ""        # 印发机关
    print_date: str = ""     # 印发日期, e.g. 2024年5月6日 (written with 印发 after it)

    def __post_init__(self) -> None:
        object.__setattr__(self, "copy_to", tuple(self.copy_to))


@dataclass(frozen=True)
class OfficialDocument:
    """A whole 公文: 版头, 标题, 主送机关, body, 附件说明, signatures with 成文日期, and 版记."""

    header: Header
    title: str
    addressees: tuple[str, ...]
    body: tuple[Block, ...]
    date: str                                   # 成文日期, e.g. 2024年5月6日 (see cn_date)
    attachments: tuple[str, ...] = ()           # 附件说明: attachment names, numbered when more than one
    colophon: Colophon = field(default_factory=Colophon)
    note: str = ""                              # 附注, set in parentheses under the date

    def __post_init__(self) -> None:
        for name in ("addressees", "body", "attachments"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.title.strip():
            raise ValueError("a document needs a title")
        for block in self.body:
            if not isinstance(block, BLOCK_TYPES):
                raise TypeError(f"unknown body block {type(block).__name__}")

    @property
    def issuers(self) -> tuple[Issuer, ...]:
        return self.header.issuers

    @property
    def addressee_line(self) -> str:
        return "、".join(self.addressees) + "：" if self.addressees else ""

    def attachment_lines(self) -> list[str]:
        """The 附件说明 lines: 附件：name, or 附件：1．name / 2．name … when there are several."""
        if len(self.attachments) == 1:
            return ["附件：" + self.attachments[0]]
        return [("附件：" if i == 0 else "") + f"{i + 1}．{a}" for i, a in enumerate(self.attachments)]


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (up to 99)."""
    if not 0 < n < 100:
        raise ValueError(f"cannot write {n} in Chinese numerals here")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CN_DIGITS[tens] + "十")
    return head + (CN_DIGITS[ones] if ones else "")


def cn_date(date: datetime.date) -> str:
    """成文日期 in Arabic numerals without padding, as GB/T 9704-2012 asks: 2024年5月6日."""
    return f"{date.year}年{date.month}月{date.day}日"


def heading_label(level: int, n: int) -> str:
    """The number of the n-th heading of a level: 一、 （一） 1. （1）."""
    if level == 1:
        return cn_number(n) + "、"
    if level == 2:
        return "（" + cn_number(n) + "）"
    if level == 3:
        return f"{n}."
    return f"（{n}）"


def numbered(body: tuple[Block, ...]) -> list[tuple[str, Block]]:
    """Each block with its label: heading numbers restart under a higher heading; findings count 1. 2. … throughout."""
    counts = [0, 0, 0, 0, 0]
    findings = 0
    out: list[tuple[str, Block]] = []
    for block in body:
        label = ""
        if isinstance(block, Heading):
            counts[block.level] += 1
            for deeper in range(block.level + 1, 5):
                counts[deeper] = 0
            label = heading_label(block.level, counts[block.level])
        elif isinstance(block, FindingItem):
            findings += 1
            label = f"{findings}."
        out.append((label, block))
    return out


def display_width(text: str) -> float:
    """Width in character cells: ASCII (half-width) counts ½, everything else 1."""
    return sum(0.5 if ord(c) < 0x7F else 1.0 for c in text)
