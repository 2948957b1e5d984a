"""A format-neutral official letter (公文): 版头, 主体 and 版记 as data, rendered to HTML, Markdown, DOCX or PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A numbered heading: level 1 一、 level 2 （一） level 3 1. level 4 （1）; `text` holds the number."""

    level: int
    text: str


@dataclass(frozen=True)
class Para:
    """A body paragraph (first line indented by two characters)."""

    text: str
    bold: bool = False


@dataclass(frozen=True)
class Table:
    """A narrow table for a reader (at most four columns at 156 mm)."""

    headers: tuple
    rows: tuple  # tuples of cell texts


@dataclass(frozen=True)
class Letter:
    """One letter to one recipient from one or more issuing authorities."""

    letter_type: str
    label: str  # the kind of document, e.g. 限期整改通知书
    authorities: tuple  # full names of the issuing bodies; several for a joint letter
    doc_number: str
    title: str
    addressee: str
    blocks: tuple  # Heading | Para | Table
    issue_date: dt.date
    copy_to: tuple = ()
    printing_office: str = ""
    attachments: tuple = ()  # 附件说明: names of attachments (none are generated today)
    recipient: str = ""  # who the file is named after
    record: dict = field(default_factory=dict, compare=False)  # the inspector's working record of this letter

    def text(self) -> str:
        """Every word a reader sees, in reading order (for checks of the wording)."""
        parts = [*self.authorities, self.doc_number, self.title, self.addressee]
        for block in self.blocks:
            if isinstance(block, Table):
                parts += list(block.headers) + [cell for row in block.rows for cell in row]
            else:
                parts.append(block.text)
        parts += list(self.attachments) + list(self.authorities) + list(self.copy_to) + [self.printing_office]
        return "\n".join(str(p) for p in parts if p)
