"""Which findings go into which letter, to whom and from whom, in what order, under which 发文字号; and which go into none
(with the reason, for the inspector's working record)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from engine import letter_builders as B
from engine.findings import Finding
from engine.letter_config import settings_for

NO_LETTER = ("", "none")
REGIONAL_MEASURES = ("hold_high_energy_projects", "suspend_eia_key_pollutants")
UNIT_MEASURES = ("suspend_unit_high_energy_projects",)


@dataclass(frozen=True)
class Unsent:
    """A finding that goes into no letter, and why (shown in the inspector's working record)."""

    finding: Finding
    reason: str


class _Numbers:
    """发文字号 per prefix within a run: {prefix}〔{year}〕{n}号."""

    def __init__(self, authorities: dict, year: int, first: int = 1):
        self.authorities, self.year, self.first, self.next = authorities, year, first, {}

    def take(self, issuers: tuple) -> str:
        prefix = self.authorities[issuers[0]]["prefix"]
        n = self.next.get(prefix, self.first)
        self.next[prefix] = n + 1
        return f"{prefix}〔{self.year}〕{n}号"


def _acting(findings: Iterable[Finding]) -> tuple:
    return tuple(dict.fromkeys(a for f in findings for a in f.acting))


def _order(f: Finding) -> tuple:
    return (f.subject.kind, f.subject.id, f.rule_id, f.source.file, f.source.row)


def plan_letters(findings: Iterable[Finding], ctx: B.Context, first_number: int = 1) -> tuple[list, list]:
    """Every letter the findings call for, and the findings that go into none (with the reason)."""
    findings = list(findings)
    numbers = _Numbers(ctx.authorities, ctx.issue_date.year, first_number)
    letters, unsent = [], []
    facility, facility_open, assessment, assessment_open = {}, [], {}, []
    basis_of: dict = {}  # (measure, key) -> deriving findings
    chains = []
    for f in findings:
        if f.status == "gap":
            unsent.append(Unsent(f, "目标类或倡导类条款：只报告差距，不列入通知书"))
        elif f.letter == "project_suspension":  # chain rules: they go into the notice of the measure they join
            chains.append(f)
        elif f.letter in NO_LETTER:
            unsent.append(Unsent(f, "该条款不发通知书（见规则的适用说明）"))
        elif f.letter == "facility_rectification":
            if not f.subject.recipient:
                who = "制造单位" if f.binds == "manufacturer" else "义务人"
                unsent.append(Unsent(f, f"记录未载明{who}，无法确定通知书的主送单位"))
            elif f.status == "violation":
                variant = f.subject.kind if f.subject.kind in ctx.config["facility_rectification"].get("by_kind", {}) else ""
                cfg = settings_for(ctx.config, "facility_rectification", variant)
                issuers = B.issuers_for(cfg, f.acting, ctx.authorities)
                facility.setdefault((f.subject.recipient, variant, issuers), []).append(f)
            else:
                facility_open.append(f)
        elif f.letter == "prefecture_assessment":
            if f.status == "violation":
                assessment.setdefault(f.period, []).append(f)
            else:
                assessment_open.append(f)
        if f.status == "violation":
            for measure in f.measures:
                key = f.subject.region if measure in REGIONAL_MEASURES else (f.subject.recipient or f.subject.name)
                basis_of.setdefault((measure, key), []).append(f)

    for (recipient, variant, issuers), items in sorted(facility.items(), key=lambda kv: kv[0][:2]):
        open_items = [f for f in facility_open if f.subject.recipient == recipient
                      and (f.subject.kind == variant or not variant)]
        for f in open_items:
            facility_open.remove(f)
        letters.append(B.facility_rectification(ctx, recipient, variant, issuers, sorted(items, key=_order),
                                                sorted(open_items, key=_order), numbers.take(issuers)))
    unsent += [Unsent(f, "资料不全暂不能认定，且该单位无须发出通知书的问题") for f in facility_open]

    cfg = ctx.config["prefecture_assessment"]
    latest: dict = {}  # prefecture government -> its latest assessed year with a violation in the run
    for year, items in assessment.items():
        for f in items:
            if year is not None and year > latest.get(f.subject.recipient, -1):
                latest[f.subject.recipient] = year
    for year, items in sorted(assessment.items(), key=lambda kv: str(kv[0])):
        issuers = B.issuers_for(cfg, _acting(items), ctx.authorities)
        open_items = [f for f in assessment_open if f.period == year]
        letters.append(B.prefecture_assessment(ctx, year, items, open_items, issuers, numbers.take(issuers)))
        for f in items:
            if latest.get(f.subject.recipient) != year:
                continue  # 约谈 follows an assessment once: only the prefecture's latest assessed year calls for it
            for c in f.consequences:
                if "约谈" in c.quote:
                    icfg = ctx.config["interview_notice"]
                    ii = B.issuers_for(icfg, f.acting, ctx.authorities)
                    letters.append(B.interview_notice(ctx, f, c, ii, numbers.take(ii)))
                    break
    years = set(assessment)
    unsent += [Unsent(f, "考核数据不全暂不能认定，且本年度无未完成目标的市州") for f in assessment_open
               if f.period not in years]

    attached = set()
    for (measure, key), basis in sorted(basis_of.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        basis_keys = {(b.rule_id, b.source.file, b.source.row) for b in basis}
        projects = [c for c in chains if c.status == "violation"
                    and any((d[0], d[1], d[2]) in basis_keys and d[4] == measure for d in c.derived_from)]
        attached |= {id(p) for p in projects}
        projects.sort(key=_order)
        if measure in REGIONAL_MEASURES:
            rcfg = settings_for(ctx.config, "restriction_notice", measure)
            issuers = B.issuers_for(rcfg, _acting(basis), ctx.authorities)
            letters.append(B.restriction_notice(ctx, measure, basis, projects, issuers, numbers.take(issuers)))
        else:
            pcfg = ctx.config["project_suspension"]
            issuers = B.issuers_for(pcfg, _acting(basis), ctx.authorities)
            letters.append(B.project_suspension(ctx, measure, basis, projects, issuers, numbers.take(issuers)))
    for c in chains:
        if id(c) in attached:
            continue
        reason = ("措施所依据的考核记录不在本次输入中" if c.status == "violation"
                  else "所在地区或单位的考核结果不全，不能确定是否处于措施之下")
        unsent.append(Unsent(c, reason))
    return letters, unsent


def numbers_used(letters: list) -> dict:
    """{发文字号 prefix: [first, last]} of a run's letters, for the run's manifest."""
    used: dict = {}
    for letter in letters:
        match = re.match(r"^(.*)〔(\d{4})〕(\d+)号$", letter.doc_number)
        if match:
            low, high = used.get(match[1], (int(match[3]), int(match[3])))
            used[match[1]] = [min(low, int(match[3])), max(high, int(match[3]))]
    return used
