"""The 预警通报: a format-neutral Letter (officialdoc blocks) announcing the warning levels of a period."""

from __future__ import annotations

import datetime as dt

from engine import annual_targets as A
from engine import warning as W
from engine.letter_builders import Citer, _fill, _signature, issuers_for
from engine.letter_model import Heading, Letter, Paragraph, Table
from engine.letter_text import cn_date

BASIS_QUOTE = "及时公布各地区、重点行业、重点单位节能减排目标完成情况，发布预警信息"
ARTICLE = "十.（三十九）"
ACTING = ("省发展改革委", "省环保厅", "省统计局")  # the 牵头单位 of 十.（三十九）
ENTRY_RULE = "预警"  # the rule_id of a warning's working-record entry: a warning rests on no rule


def latest_period(warnings: list) -> list:
    """The within-year warnings of the last period each prefecture reported in the latest year."""
    inside = [w for w in warnings if w.span == 12]
    if not inside:
        return []
    year = max(w.year for w in inside)
    last: dict = {}
    for w in inside:
        if w.year == year and w.elapsed >= last.get(w.prefecture, 0):
            last[w.prefecture] = w.elapsed
    return [w for w in inside if w.year == year and w.elapsed == last[w.prefecture]]


def build(warnings: list, config: dict, authorities: dict, documents: dict, cutoffs: dict, issue_date: dt.date,
          doc_number: str) -> Letter | None:
    """One notice for the latest period of the within-year warnings (None when there are none)."""
    chosen = latest_period(warnings)
    if not chosen:
        return None
    cfg = config["early_warning"]
    issuers = issuers_for(cfg, ACTING, authorities)
    me = authorities[issuers[0]]["self"] if len(issuers) == 1 else "、".join(issuers)
    year = chosen[0].year
    months = sorted({w.elapsed for w in chosen})
    period = f"{year}年1—{months[-1]}月" if len(months) == 1 else f"{year}年"
    citer = Citer(documents)
    blocks = [Paragraph(f"根据{citer.provision('energy-plan', ARTICLE)}“{BASIS_QUOTE}”的要求，"
                        f"现将{period}各市州节能目标完成进度和预警情况通报如下。")]
    blocks.append(Heading(1, "预警等级"))
    rows = []
    order = sorted(chosen, key=lambda w: (w.level, w.region, w.indicator))
    for w in order:
        ind = A.INDICATORS[w.indicator]
        name = "单位GDP能耗同比降幅" if w.indicator == "intensity" else ind.zh
        unit = ind.unit
        rows.append((w.region, name, f"{W._n(w.actual)}{unit}", f"{W._n(w.target)}{unit}（{A.BASIS_ZH[w.basis]}）",
                     W.LEVEL_ZH[w.level]))
    blocks.append(Table(("市州", "指标", "至本期", "年度目标", "预警等级"), rows, widths=(3, 4, 3, 5, 3),
                        caption=f"{period}节能目标完成进度预警"))
    flagged = [w for w in order if w.level in (W.RED, W.YELLOW)]
    if flagged:
        blocks.append(Heading(1, "需要关注的市州"))
        for w in flagged:
            ind = A.INDICATORS[w.indicator]
            if w.indicator == "intensity":
                fact = (f"{w.label}单位GDP能耗同比降低{W._n(w.actual)}%，年度要求降低{W._n(w.target)}%，"
                        f"进度比{w.ratio * 100:.1f}%")
            else:
                fact = (f"{w.label}能源消费量{W._n(w.actual)}{ind.unit}，按时间进度预计全年{W._n(w.projected)}{ind.unit}，"
                        f"年度目标{W._n(w.target)}{ind.unit}")
            blocks.append(Paragraph(f"{w.region}：{fact}，预警等级为{w.level_zh}；{w.advice()}。"))
    blocks.append(Heading(1, "说明"))
    c, r = cutoffs["cap"], cutoffs["reduction"]
    blocks.append(Paragraph(
        f"预警等级是{me}按时间进度对目标完成进度的提示，不是考核结论。能源消费量按“至本期累计÷已过月数×12”预计全年，"
        f"预计值超过年度目标{(c['red_above'] - 1) * 100:.0f}%以上的为一级（红色，形势十分严峻），超过年度目标的为二级（黄色，形势比较严峻），"
        f"其余为三级（绿色，进展基本顺利）；单位GDP能耗同比降幅低于年度要求的为二级，"
        f"{'不降反升' if r['red_below'] == 0 else '进度比低于' + format(r['red_below'] * 100, '.0f') + '%'}的为一级。"))
    derived = [w for w in chosen if w.basis == A.DERIVED]
    if derived:
        names = "、".join(dict.fromkeys(w.region for w in derived))
        blocks.append(Paragraph(f"{names}的{year}年度目标未经省上下达，表中所列为按“十三五”五年目标和时间进度推算的进度目标，"
                                f"只作为判断进度的参照。"))
    issued = [w for w in chosen if w.basis == A.ISSUED]
    if issued:
        sources = "；".join(dict.fromkeys(s for w in issued for s in w.source.split("；")))
        blocks.append(Paragraph(f"表中注明“省上下达”的年度目标见{sources}。"))
    blocks.append(Heading(1, "有关要求"))
    deadline = issue_date + dt.timedelta(days=int(cfg.get("deadline_days", 15)))
    for text in cfg["requirements"]:
        blocks.append(Paragraph(_fill(text, deadline=cn_date(deadline), self=me, year=year, period=period)))
    return Letter(
        letter_type="early_warning", label=cfg["label"], authorities=_signature(issuers, authorities),
        doc_number=doc_number, title=_fill(cfg["title"], period=period, year=year), addressee=cfg["addressee"],
        blocks=tuple(blocks), issue_date=issue_date, copy_to=tuple(cfg["copy_to"]),
        printing_office=authorities[issuers[0]]["office"], recipient=f"{period}预警通报",
        record={"findings": [_entry(w) for w in chosen], "issuers": list(issuers)})


def _entry(w) -> dict:
    """The working record of one warning (same shape as a finding's entry; a warning rests on no rule)."""
    return {"rule_id": ENTRY_RULE, "status": W.LEVEL_ZH[w.level], "force": "—", "file": w.file, "row": w.row,
            "subject": f"prefecture_period:{w.prefecture}/{w.year}", "message": "；".join(W.table_rows([w])[0]),
            "interpretation": f"目标来源：{A.BASIS_ZH[w.basis]}（{w.source}）", "derived_from": []}
