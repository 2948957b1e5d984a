"""A letter to one recipient: the official document (公文) it becomes, and the working record behind it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from engine.officialdoc import (Colophon, FindingItem, Header, Heading, Issuer, OfficialDocument, Paragraph, Table,
                                cn_date, numbered)

__all__ = ["Letter", "Heading", "Paragraph", "Table", "FindingItem"]


@dataclass(frozen=True)
class Letter:
    """One letter to one recipient from one or more issuing authorities."""

    letter_type: str
    label: str  # the kind of document, e.g. 限期整改通知书
    authorities: tuple  # full names of the issuing bodies; several for a joint letter
    doc_number: str
    title: str
    addressee: str
    blocks: tuple  # officialdoc blocks: Heading (numbered by level), Paragraph, FindingItem, Table
    issue_date: dt.date
    copy_to: tuple = ()
    printing_office: str = ""
    attachments: tuple = ()  # 附件说明: names of attachments (none are generated today)
    recipient: str = ""  # who the file is named after
    record: dict = field(default_factory=dict, compare=False)  # the inspector's working record of this letter

    def document(self, seal_text: str = "") -> OfficialDocument:
        """The letter as a 公文 for the DOCX and PDF writers."""
        issuers = tuple(Issuer(name, seal_text=seal_text) for name in self.authorities)
        return OfficialDocument(
            header=Header(issuers, self.doc_number), title=self.title, addressees=(self.addressee,),
            body=self.blocks, date=cn_date(self.issue_date), attachments=self.attachments,
            colophon=Colophon(self.copy_to, self.printing_office, cn_date(self.issue_date)))

    def numbered(self) -> list:
        """(label, block) for every block: 一、 （一） 1. （1） counted by level."""
        return numbered(self.blocks)

    def text(self) -> str:
        """Every word a reader sees, in reading order (for checks of the wording)."""
        parts = [*self.authorities, self.doc_number, self.title, self.addressee]
        for label, block in self.numbered():
            if isinstance(block, Table):
                parts += list(block.header) + [cell for row in block.rows for cell in row]
            else:
                lead = getattr(block, "lead", "")
                parts.append(label + (lead + "：" if lead else "") + block.text)
        parts += list(self.attachments) + list(self.authorities) + list(self.copy_to) + [self.printing_office]
        return "\n".join(str(p) for p in parts if p)
