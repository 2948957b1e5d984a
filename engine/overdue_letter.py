"""The 逾期未整改通知书: to a party whose 限期整改通知书 named violations that a run after its deadline finds again. It
restates the earlier notice and each violation as that notice did, repeats that notice's own words on
non-compliance, and names no sanction of its own."""

from __future__ import annotations

import datetime as dt

from engine.letter_builders import Context, _copy_to, _fill, _finding_item, _letter, _merge_same_duty, _self, Citer
from engine.letter_config import settings_for
from engine.letter_model import Letter, Paragraph
from engine.letter_text import cn_date, sentence

from engine.letter_schema import FOLLOWED_BY_OVERDUE_NOTICE as FOLLOWS  # (the notices whose deadline is to rectify)


def overdue_notice(ctx: Context, earlier: dict, violations: list, doc_number: str, checked_on: dt.date) -> Letter:
    """`earlier`: the notice as the store keeps it (doc_number, title, issued_on, deadline, addressee, issuers)."""
    cfg = ctx.config["overdue_notice"]
    issuers = tuple(earlier["issuers"])
    first = settings_for(ctx.config, "facility_rectification", violations[0].subject.kind)
    citer = Citer(ctx.documents)
    me = _self(issuers, ctx.authorities)
    recipient = earlier["addressee"]
    region = violations[0].subject.region or violations[0].subject.name
    deadline = ctx.deadline(cfg["deadline_days"])
    fill = {"deadline": cn_date(deadline), "self": me, "region": region, "recipient": recipient}
    blocks = [Paragraph(f"{me}于{cn_date(dt.date.fromisoformat(earlier['issued_on']))}向你单位发出"
                        f"《{earlier['title']}》（{earlier['doc_number']}），责令你单位于"
                        f"{cn_date(dt.date.fromisoformat(earlier['deadline']))}前完成整改。"
                        f"经核查（核查基准日{cn_date(checked_on)}），下列问题逾期仍未整改：")]
    for items in _merge_same_duty(violations):
        blocks.append(_finding_item(ctx, citer, items))
    if first.get("noncompliance"):
        blocks.append(Paragraph(f"该通知书已告知：“{sentence(_fill(first['noncompliance'], **fill))}”"))
    requirements = "".join(sentence(_fill(item, **fill)) for item in cfg["requirements"])
    if requirements:
        blocks.append(Paragraph(requirements))
    blocks.append(Paragraph("特此通知。"))
    return _letter(ctx, "overdue_notice", cfg, issuers, doc_number, _fill(cfg["title"], recipient=recipient,
                                                                         region=region),
                   recipient, blocks, _copy_to(cfg["copy_to"], region, recipient), recipient, violations,
                   follows=earlier["doc_number"])
