"""The wording of each letter type, built from findings and settings into format-neutral Letters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.letter_config import settings_for
from engine.letter_model import FindingItem, Heading, Letter, Paragraph, Table
from engine.letter_text import (article_label, check_sentence, cn_date, document_citation, sentence,
                                short_citation)


@dataclass
class Context:
    """What every builder needs: settings, issuing bodies, documents, schemas, measures and the issue date."""

    config: dict
    authorities: dict
    documents: dict
    schemas: dict
    measures: dict  # measure name -> {zh, article, quote, notice}
    issue_date: dt.date

    def deadline(self, days: int) -> dt.date:
        return self.issue_date + dt.timedelta(days=days)


class Citer:
    """Cites documents in full the first time a letter names them, by short title after that."""

    def __init__(self, documents: dict):
        self.documents, self.seen = documents, set()

    def doc(self, key: str) -> str:
        document = self.documents[key]
        if key in self.seen:
            return short_citation(document)
        self.seen.add(key)
        return document_citation(document)

    def provision(self, key: str, article: str) -> str:
        return f"{self.doc(key)}{article_label(article)}"


def you(region: str) -> str:
    """How a notice addresses a prefecture: 你市, 你州, or 你地区."""
    if region.endswith("州"):
        return "你州"
    if region.endswith("市"):
        return "你市"
    return "你地区"


def _fill(text: str, **values) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def issuers_for(cfg: dict, acting: tuple, authorities: dict) -> tuple:
    """The configured authority when the article names it, else the first the article names; co-issuers likewise."""
    preferred = cfg.get("issuing_authority", "")
    named = [a for a in acting if a in authorities]
    lead = preferred if preferred in named else (named[0] if named else preferred)
    co = [a for a in cfg.get("co_issuing_authorities") or [] if a in named and a != lead]
    return (lead, *co)


def _signature(issuers: tuple, authorities: dict) -> tuple:
    names = []
    for issuer in issuers:
        name = authorities[issuer]["name"]
        if name not in names:
            names.append(name)
    return tuple(names)


def _self(issuers: tuple, authorities: dict) -> str:
    if len(issuers) == 1:
        return authorities[issuers[0]]["self"]
    return "、".join(issuers)  # joint letters name the authorities as the documents do, e.g. 省发展改革委、省环保厅


def _region_name(finding) -> str:
    return finding.subject.region or finding.subject.name


def _copy_to(items, region: str, recipient: str, year="") -> tuple:
    out = []
    for item in items:
        text = _fill(item, region=region, recipient=recipient, year=year)
        if "{" not in text and text not in out and text != recipient:
            out.append(text)
    return tuple(out)


def _kind_label(ctx: Context, finding) -> str:
    schema = ctx.schemas.get(finding.subject.kind)
    title = schema.title if schema is not None else ""
    return str(title.get("zh", "")) if isinstance(title, dict) else str(title or "")


def _object_line(ctx: Context, finding) -> str:
    """The record as a reader identifies it: 锅炉（注册代码：GL-2010-033）."""
    schema = ctx.schemas.get(finding.subject.kind)
    s = finding.subject
    label = _kind_label(ctx, finding)
    id_label = schema.fields[schema.id_field].label if schema is not None and schema.id_field in schema.fields else "编号"
    if s.kind in ("project",):
        return f"“{s.name}”（{id_label}：{s.id}）"
    if s.id and s.id != s.name:
        return f"{label}（{id_label}：{s.id}）" if label else f"{id_label}{s.id}"
    return s.name or label


def _breached(finding) -> list[str]:
    return [check_sentence(c) for c in finding.checks if getattr(c, "breached", None) is True]


def _quoted_basis(citer: Citer, document: str, article: str, quote: str, cited_article: str) -> str:
    where = "该条" if article == cited_article else citer.provision(document, article)
    return f"（{where}：“{quote}”）"


def _finding_item(ctx: Context, citer: Citer, items: list) -> FindingItem:
    """One numbered paragraph for one fact: what was found, the provision (or, for the same duty, both), actions."""
    main = items[0]
    parts = []
    facts = _breached(main)
    if facts:
        parts.append("经查，" + "；".join(facts) + "。")
    provisions = [f"{citer.provision(f.citation.document, f.citation.article)}“{f.citation.quote}”" for f in items]
    parts.append("不符合" + "和".join(provisions) + "的规定。")
    actions, seen = [], set()
    for f in items:
        for action in f.required_actions:
            if action.text in seen:
                continue
            seen.add(action.text)
            basis = "" if action.quote == f.citation.quote else _quoted_basis(
                citer, action.document, action.article, action.quote, f.citation.article)
            actions.append(action.text + basis)
    if actions:
        parts.append("应当" + "；".join(actions) + "。")
    for f in items:
        for c in f.consequences:
            parts.append(f"{citer.provision(c.document, c.article)}规定：“{c.quote}”。")
    return FindingItem("".join(parts), lead=f"{_object_line(ctx, main)}{main.title}")


def _merge_same_duty(findings: list) -> list[list]:
    """Findings on one record stating one duty in two documents (same_duty) become one item."""
    groups: list[list] = []
    placed: dict = {}
    for f in findings:
        key = (f.source.file, f.source.row)
        partner = next((g for g in placed.get(key, []) if f.rule_id in g[0].same_duty or g[0].rule_id in f.same_duty
                        or any(f.rule_id in x.same_duty or x.rule_id in f.same_duty for x in g)), None)
        if partner is not None:
            partner.append(f)
        else:
            group = [f]
            groups.append(group)
            placed.setdefault(key, []).append(group)
    for group in groups:  # the energy plan (the later and more specific document) first
        group.sort(key=lambda f: (f.citation.document != "energy-plan", f.rule_id))
    return groups


def _missing_paras(ctx: Context, items: list, deadline: dt.date) -> list:
    lines = [f"{n}. {_object_line(ctx, f)}{f.title}：{'；'.join(f.missing) or '有关数据'}。" for n, f in enumerate(items, 1)]
    return [Paragraph(f"下列事项因资料缺失或者无法识别，暂不能认定，不属于本通知书认定的问题，请于{cn_date(deadline)}前补充提供："),
            *(Paragraph(line) for line in lines)]


def _entry(f) -> dict:
    """The inspector's working record of one finding in a letter (never printed in the letter)."""
    return {"rule_id": f.rule_id, "status": f.status, "force": f.force, "file": f.source.file, "row": f.source.row,
            "subject": f"{f.subject.kind}:{f.subject.id}", "message": f.message, "interpretation": f.interpretation,
            "derived_from": [list(d) for d in f.derived_from]}


# ------------------------------------------------------------------------------------------- 限期整改通知书

def facility_rectification(ctx: Context, recipient: str, variant: str, issuers: tuple, violations: list,
                           indeterminates: list, doc_number: str) -> Letter:
    cfg = settings_for(ctx.config, "facility_rectification", variant)
    citer = Citer(ctx.documents)
    me = _self(issuers, ctx.authorities)
    deadline = ctx.deadline(cfg["deadline_days"])
    region = _region_name(violations[0])
    docs = _documents_cited(citer, violations)
    basis = _fill(cfg["basis"], documents=docs, region=region, recipient=recipient)
    blocks = [Paragraph(f"根据{basis}，{me}对你单位{cfg['activity']}，发现下列不符合规定的情形：")]
    for items in _merge_same_duty(violations):
        blocks.append(_finding_item(ctx, citer, items))
    fill = {"deadline": cn_date(deadline), "self": me, "region": region, "recipient": recipient}
    requirements = "".join(sentence(_fill(item, **fill)) for item in cfg["requirements"])
    blocks.append(Paragraph(f"现责令你单位于{cn_date(deadline)}前按照上述规定完成整改。{requirements}"))
    if indeterminates:
        blocks += _missing_paras(ctx, indeterminates, deadline)
    closing = "".join(sentence(_fill(cfg[key], **fill)) for key in ("noncompliance", "appeal") if cfg[key])
    if closing:
        blocks.append(Paragraph(closing))
    blocks.append(Paragraph("特此通知。"))
    title = _fill(cfg["title"], recipient=recipient, region=region)
    return _letter(ctx, "facility_rectification", cfg, issuers, doc_number, title, recipient, blocks,
                   _copy_to(cfg["copy_to"], region, recipient), recipient, violations + indeterminates)


def _documents_cited(citer: Citer, findings: list) -> str:
    """《document》（文号）article、article … for the documents and articles the findings cite, in order."""
    by_document: dict = {}
    for f in findings:
        articles = by_document.setdefault(f.citation.document, [])
        if f.citation.article not in articles:
            articles.append(f.citation.article)
    return "和".join(citer.doc(key) + "、".join(article_label(a) for a in articles) for key, articles in by_document.items())


# ------------------------------------------------------------------------------------------- 考核结果报告

def prefecture_assessment(ctx: Context, year, findings: list, indeterminates: list, issuers: tuple,
                          doc_number: str) -> Letter:
    cfg = ctx.config["prefecture_assessment"]
    citer = Citer(ctx.documents)
    year_text = str(year) if year is not None else "本"
    plan = "energy-plan"
    blocks = [Paragraph(f"根据{citer.provision(plan, '十.（四十一）')}“省政府每年组织开展市州人民政府节能减排目标责任评价考核”"
                   f"的规定，现将{year_text}年度考核中核查发现的未完成目标任务情况报告如下。")]
    blocks.append(Heading(1, "未完成目标任务的情况"))
    by_region: dict = {}
    for f in findings:
        by_region.setdefault(_region_name(f), []).append(f)
    for n, (region, items) in enumerate(by_region.items(), 1):
        blocks.append(Heading(2, region))
        shown: dict = {}  # fact -> the item that states it: one fact, one line
        items = sorted(items, key=lambda f: len(_breached(f)))
        for m, f in enumerate(items, 1):
            facts = _breached(f)
            new = [x for x in facts if x not in shown]
            earlier = sorted({shown[x] for x in facts if x in shown})
            text = "；".join(new)
            if earlier:
                text += ("；" if text else "") + "以及" + "、".join(f"第{e}项" for e in earlier) + "所列情形"
            blocks.append(Paragraph(f"{m}. {f.title}：{text or '见考核数据'}。"))
            for x in new:
                shown[x] = m
    consequences: dict = {}
    for f in findings:
        for c in f.consequences:
            consequences.setdefault((c.document, c.article, c.quote), []).append(_region_name(f))
    blocks.append(Heading(1, "依照规定应予实施的措施"))
    if consequences:
        for n, ((document, article, quote), regions) in enumerate(consequences.items(), 1):
            names = "、".join(dict.fromkeys(regions))
            blocks.append(Paragraph(f"{n}. {citer.provision(document, article)}规定：“{quote}”。涉及：{names}。"))
    else:
        blocks.append(Paragraph("上述情形，文件未规定处理措施。"))
    if indeterminates:
        blocks.append(Heading(1, "暂不能认定的事项"))
        for n, f in enumerate(indeterminates, 1):
            blocks.append(Paragraph(f"{n}. {_region_name(f)}，{f.title}：{'；'.join(f.missing) or '有关数据缺失'}。"))
    blocks.append(Paragraph(cfg["closing"]))
    return _letter(ctx, "prefecture_assessment", cfg, issuers, doc_number, _fill(cfg["title"], year=year_text),
                   cfg["addressee"], blocks, _copy_to(cfg["copy_to"], "", cfg["addressee"]), f"{year_text}年度考核结果",
                   findings + indeterminates)


def _assessment_facts(findings: list) -> str:
    """根据2019年度…考核结果，你市能源消费总量为…；根据2020年度…考核结果，… (one clause per assessment year)."""
    by_year: dict = {}
    for f in findings:
        by_year.setdefault(f.period, []).extend(_breached(f))
    clauses = []
    for period in sorted(by_year, key=lambda p: (p is None, p)):
        year = f"{period}年度" if period is not None else ""
        facts = list(dict.fromkeys(by_year[period]))
        clauses.append(f"根据{year}市州人民政府节能减排目标责任评价考核结果，{you(_region_name(findings[0]))}"
                       + ("；".join(facts) if facts else "未完成目标任务"))
    return "；".join(clauses)


# ------------------------------------------------------------------------------------------- 约谈通知

def _when(me: str, time: str, addressee: str) -> str:
    if time in ("", "另行通知"):
        return f"{me}将约谈{addressee}人民政府，具体时间、地点另行通知。"
    return f"{me}定于{time}约谈{addressee}人民政府。"


def interview_notice(ctx: Context, finding, consequence, issuers: tuple, doc_number: str) -> Letter:
    cfg = ctx.config["interview_notice"]
    citer = Citer(ctx.documents)
    region, recipient = _region_name(finding), finding.subject.recipient or _region_name(finding)
    me = _self(issuers, ctx.authorities)
    fill = {"region": region, "recipient": recipient, "self": me, "year": finding.period or "", "you": you(region)}
    decision = sentence(cfg["decision_reference"]) if cfg["decision_reference"] else ""
    blocks = [Paragraph(f"{_assessment_facts([finding])}。{citer.provision(consequence.document, consequence.article)}规定："
                   f"“{consequence.quote}”。{decision}{_when(me, _fill(cfg['time'], **fill), you(region))}"
                   "现将有关事项通知如下："),
              Heading(1, "约谈时间和地点"),
              Paragraph(f"时间：{_fill(cfg['time'], **fill)}；地点：{_fill(cfg['place'], **fill)}。"),
              Heading(1, "参加人员"),
              Paragraph("；".join(_fill(a, **fill) for a in cfg["attendees"]) + "。")]
    if cfg["requirements"]:
        blocks.append(Heading(1, "有关要求"))
        blocks += _requirements(cfg["requirements"], fill)
    blocks.append(Paragraph("特此通知。"))
    return _letter(ctx, "interview_notice", cfg, issuers, doc_number, _fill(cfg["title"], **fill), recipient,
                   blocks, _copy_to(cfg["copy_to"], region, recipient), recipient, [finding])


# ------------------------------------------------------------------------------------------- 措施通知

def _project_table(projects: list) -> Table:
    rows = tuple((str(n), p.subject.name, p.subject.recipient, p.subject.id) for n, p in enumerate(projects, 1))
    return Table(("序号", "项目名称", "建设单位", "项目代码"), rows, widths=(1, 5, 4, 5))


def restriction_notice(ctx: Context, measure: str, basis: list, projects: list, issuers: tuple,
                       doc_number: str) -> Letter:
    """A notice carrying out a regional measure (缓批限批, 暂停环评审批), naming the assessment it rests on."""
    cfg = settings_for(ctx.config, "restriction_notice", measure)
    entry = ctx.measures[measure]
    citer = Citer(ctx.documents)
    first = basis[0]
    region, recipient = _region_name(first), first.subject.recipient or _region_name(first)
    me = _self(issuers, ctx.authorities)
    deadline = ctx.deadline(cfg["deadline_days"])
    fill = {"region": region, "recipient": recipient, "self": me, "deadline": cn_date(deadline),
            "year": first.period or "", "you": you(region)}
    decision = sentence(cfg["decision_reference"]) if cfg["decision_reference"] else ""
    facts = _assessment_facts(basis)
    notice = _fill(entry["notice"], you=you(region))
    blocks = [Paragraph(f"{facts}。{citer.provision('energy-plan', entry['article'])}规定：“{entry['quote']}”。"
                   f"{decision}自本通知印发之日起，{notice}。"),
              Paragraph(sentence(_fill(cfg["measure_duration"], **fill)))]
    if projects:
        blocks.append(Paragraph(f"经核查，本次核查的项目中，下列位于{you(region)}的待审批项目属于本措施范围："))
        blocks.append(_project_table(projects))
    blocks += _requirements(cfg["requirements"], fill)
    blocks.append(Paragraph("特此通知。"))
    return _letter(ctx, "restriction_notice", cfg, issuers, doc_number, _fill(cfg["title"], **fill), recipient,
                   blocks, _copy_to(cfg["copy_to"], region, recipient), f"{recipient}_{entry['zh']}",
                   basis + projects, measure=measure)


def project_suspension(ctx: Context, measure: str, basis: list, projects: list, issuers: tuple,
                       doc_number: str) -> Letter:
    """A notice carrying out the measure on a key unit: its new and expanded high-energy projects suspended."""
    cfg = ctx.config["project_suspension"]
    entry = ctx.measures[measure]
    citer = Citer(ctx.documents)
    first = basis[0]
    recipient = first.subject.recipient or first.subject.name
    region = _region_name(first)
    me = _self(issuers, ctx.authorities)
    deadline = ctx.deadline(cfg["deadline_days"])
    fill = {"region": region, "recipient": recipient, "self": me, "deadline": cn_date(deadline), "you": "你单位"}
    decision = sentence(cfg["decision_reference"]) if cfg["decision_reference"] else ""
    facts = []
    for f in basis:
        year = f"{f.period}年度" if f.period is not None else ""
        facts.append(f"你单位{year}节能目标责任评价考核" + ("，" + "；".join(_breached(f)) if _breached(f) else "结果为未完成"))
    blocks = [Paragraph("；".join(facts) + f"。{citer.provision('energy-plan', entry['article'])}规定：“{entry['quote']}”。"
                   f"{decision}自本通知印发之日起，{_fill(entry['notice'], you='你单位')}。"),
              Paragraph(sentence(_fill(cfg["measure_duration"], **fill)))]
    if projects:
        blocks.append(Paragraph("经核查，你单位下列待审批项目属于本措施范围："))
        blocks.append(_project_table(projects))
    blocks += _requirements(cfg["requirements"], fill)
    blocks.append(Paragraph("特此通知。"))
    return _letter(ctx, "project_suspension", cfg, issuers, doc_number, _fill(cfg["title"], **fill), recipient,
                   blocks, _copy_to(cfg["copy_to"], region, recipient), recipient, basis + projects, measure=measure)


def _letter(ctx: Context, letter_type: str, cfg: dict, issuers: tuple, doc_number: str, title: str, addressee: str,
            blocks: list, copy_to: tuple, recipient: str, findings: list, **record) -> Letter:
    """A Letter signed by the issuers, printed by the first one's office, with its working record."""
    return Letter(letter_type=letter_type, label=cfg["label"], authorities=_signature(issuers, ctx.authorities),
                  doc_number=doc_number, title=title, addressee=addressee, blocks=tuple(blocks),
                  issue_date=ctx.issue_date, copy_to=copy_to, printing_office=ctx.authorities[issuers[0]]["office"],
                  recipient=recipient, record={"findings": [_entry(f) for f in findings], "issuers": list(issuers),
                                               **record})


def _requirements(items, fill: dict) -> list:
    return [Paragraph(f"{n}. " + sentence(_fill(item, **fill))) for n, item in enumerate(items, 1)]


