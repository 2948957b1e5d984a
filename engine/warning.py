"""Early warning (预警) from cumulative progress: within a year (monthly or quarterly prefecture_period records) and
across the five years (prefecture_year records of 2016–2019), progress against elapsed time in three levels.

一级（红色）形势十分严峻, 二级（黄色）形势比较严峻, 三级（绿色）进展基本顺利 — the traffic-light convention of the national
双控 barometer; the cut-offs are configuration (templates/assessment.yaml), not figures of the documents. A warning is
a notice of progress, never a finding of a missed target: it derives no measure.

Cap (能源消费总量): projected = value so far × whole period / elapsed (linear in time, no seasonality);
  r = projected / target; gap per remaining month = (projected − target) / months remaining.
Reduction (单位GDP能耗): q = reduction so far / reduction required for the period; the remaining months must average
  (required × months − so far × elapsed) / months remaining (equal weight per month).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import annual_targets as A

RED, YELLOW, GREEN = 1, 2, 3
LEVEL_ZH = {RED: "一级（红色）", YELLOW: "二级（黄色）", GREEN: "三级（绿色）"}
LEVEL_WORDS = {RED: "形势十分严峻", YELLOW: "形势比较严峻", GREEN: "进展基本顺利"}
LEVEL_COLOURS = {RED: "#e53935", YELLOW: "#fdd835", GREEN: "#43a047", None: "#e0e0e0"}


@dataclass(frozen=True)
class Warning:
    """The warning of one prefecture, one indicator, at the end of one period."""

    prefecture: str
    region: str
    year: int
    elapsed: int  # months elapsed in the assessed period
    span: int  # months in the whole period (12 within a year, 60 for the five years)
    label: str  # e.g. 2019年1—6月, 2016—2018年
    indicator: str
    actual: float  # value so far (cumulative)
    target: float  # the target for the period
    basis: str  # issued | derived | annex
    source: str
    projected: float  # projected end-of-period value
    ratio: float  # r (caps) or q (reductions)
    level: int
    per_month: float | None  # caps: the cut needed each remaining month; reductions: the average still needed
    quarter: int | None = None  # for the grid
    file: str = ""
    row: int = 0

    @property
    def level_zh(self) -> str:
        return f"{LEVEL_ZH[self.level]}{LEVEL_WORDS[self.level]}"

    def advice(self) -> str:
        unit = A.INDICATORS[self.indicator].unit
        remaining = self.span - self.elapsed
        if remaining <= 0 or self.per_month is None:
            return "本期已结束"
        if self.span == 60 and self.indicator == "intensity":
            if self.per_month <= 0:
                return "累计降幅已达到五年目标"
            return f"至2020年末累计降幅尚需再提高{_n(self.per_month)}个百分点（剩余{remaining}个月）"
        if A.INDICATORS[self.indicator].direction == "at_most":
            if abs(self.per_month) < 0.005:
                return f"按当前进度恰可达到目标，剩余{remaining}个月不得超过当前进度"
            if self.per_month < 0:
                return f"按当前进度可在目标以内，剩余{remaining}个月每月尚余{_n(-self.per_month)}{unit}"
            return f"剩余{remaining}个月每月需比当前进度少用{_n(self.per_month)}{unit}"
        return f"剩余{remaining}个月同比降幅平均需达到{_n(self.per_month)}%"


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def cap_level(ratio: float, cfg: dict) -> int:
    if ratio > cfg["red_above"]:
        return RED
    if ratio > cfg["yellow_above"]:
        return YELLOW
    return GREEN


def reduction_level(ratio: float, cfg: dict) -> int:
    if ratio < cfg["red_below"]:
        return RED
    if ratio < cfg["yellow_below"]:
        return YELLOW
    return GREEN


def cap_warning(so_far: float, target: float, elapsed: int, span: int, cfg: dict, base: float = 0.0):
    """(projected, r, level, per-month gap) for a cap; `base` is the starting value (the 2015 level across years)."""
    projected = base + (so_far - base) * span / elapsed
    ratio = projected / target
    per_month = (projected - target) / (span - elapsed) if span > elapsed else None
    return round(projected, 2), round(ratio, 4), cap_level(ratio, cfg), None if per_month is None else round(per_month, 2)


def reduction_warning(so_far: float, required: float, elapsed: int, span: int, cfg: dict):
    """(projected, q, level, average still needed) for a reduction (%, so far and required for the whole period)."""
    ratio = so_far / required if required > 0 else (1.0 if so_far >= 0 else -1.0)
    need = (required * span - so_far * elapsed) / (span - elapsed) if span > elapsed else None
    return round(so_far, 2), round(ratio, 4), reduction_level(ratio, cfg), None if need is None else round(need, 2)


def required_yoy(params, settings, prefecture: str, year: int):
    """The year-on-year intensity reduction (%) a year requires, from the cumulative targets of it and the year before
    (1 − (1 − r_y)/(1 − r_y−1)); with the weaker basis of the two (derived if either is)."""
    this = A.target_for(params, settings, prefecture, year, "intensity")
    if this is None:
        return None
    before = A.target_for(params, settings, prefecture, year - 1, "intensity") if year - 1 > A.BASE_YEAR else None
    r_before = before.value if before is not None else 0.0
    value = round(100 * (1 - (1 - this.value / 100) / (1 - r_before / 100)), 2)
    basis = A.DERIVED if A.DERIVED in (this.basis, getattr(before, "basis", None)) else this.basis
    sources = [this.source] + ([before.source] if before is not None and before.source != this.source else [])
    return A.Target(value, basis, "；".join(sources))


def _period_label(year: int, months: int, kind: str, period: int) -> str:
    if kind == "quarter":
        return f"{year}年1—{months}月（第{'一二三四'[period - 1]}季度末）"
    return f"{year}年1—{months}月" if months > 1 else f"{year}年1月"


def within_year(records, params, settings, config: dict) -> tuple[list[Warning], list[str]]:
    """Warnings from prefecture_period records; problems (a period missing before a single-period value, …)."""
    cfg = config["warning"]
    groups: dict = {}
    for record in records:
        if record.kind != "prefecture_period":
            continue
        v = record.values
        if None in (v.get("prefecture"), v.get("year"), v.get("period_type"), v.get("period")):
            continue
        groups.setdefault((v["prefecture"], v["year"], v["period_type"]), []).append(record)
    out, problems = [], []
    for (prefecture, year, kind), items in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1], kv[0][2])):
        step = 3 if kind == "quarter" else 1
        items.sort(key=lambda r: r.values["period"])
        running, expected, broken = 0.0, 1, False
        for record in items:
            v = record.values
            months = v["period"] * step
            if months > 12:
                problems.append(f"{record.region}{year}年第{v['period']}季度不存在（{record.source.file} 第{record.source.row}行）")
                continue
            consumption = v.get("energy_consumption_10k_tce")
            if v.get("cumulative") is True:
                so_far = consumption
            else:
                if v["period"] != expected or broken:
                    broken = True
                    problems.append(f"{record.region}{year}年当期数据不连续，自第{v['period']}期起无法累计")
                    so_far = None
                else:
                    so_far = None if consumption is None else running + consumption
                    running = so_far if so_far is not None else running
                    broken = consumption is None
                expected = v["period"] + 1
            quarter = (months - 1) // 3 + 1 if months % 3 == 0 else None
            label = _period_label(year, months, kind, v["period"])
            common = dict(prefecture=str(prefecture), region=record.region, year=year, elapsed=months, span=12,
                          label=label, quarter=quarter, file=record.source.file, row=record.source.row)
            target = A.target_for(params, settings, str(prefecture), year, "consumption")
            if so_far is not None and target is not None and months > 0:
                projected, ratio, level, gap = cap_warning(so_far, target.value, months, 12, cfg["cap"])
                out.append(Warning(indicator="consumption", actual=so_far, target=target.value, basis=target.basis,
                                   source=target.source, projected=projected, ratio=ratio, level=level,
                                   per_month=gap, **common))
            yoy = v.get("intensity_reduction_yoy_pct") if v.get("cumulative") is True else None
            required = required_yoy(params, settings, str(prefecture), year)
            if yoy is not None and required is not None:
                projected, ratio, level, need = reduction_warning(yoy, required.value, months, 12, cfg["reduction"])
                out.append(Warning(indicator="intensity", actual=yoy, target=required.value, basis=required.basis,
                                   source=required.source, projected=projected, ratio=ratio, level=level,
                                   per_month=need, **common))
    return out, problems


def across_years(records, params, settings, config: dict) -> list[Warning]:
    """Warnings for the five-year period from prefecture_year records of 2016–2019 (projected 2020 vs the annex)."""
    cfg = config["warning"]
    out = []
    for record in records:
        v = record.values
        if record.kind != "prefecture_year" or v.get("year") not in A.ANNUAL_YEARS or v.get("prefecture") in (None, "全省"):
            continue
        prefecture, year = str(v["prefecture"]), v["year"]
        elapsed = (year - A.BASE_YEAR) * 12
        common = dict(prefecture=prefecture, region=record.region, year=year, elapsed=elapsed, span=60,
                      label=f"{'2016' if year == 2016 else '2016—' + str(year)}年（“十三五”时间进度{year - A.BASE_YEAR}/5）", file=record.source.file,
                      row=record.source.row)
        for key in ("consumption", "intensity"):
            found = A.five_year(params, key, prefecture)
            actual = v.get(A.INDICATORS[key].field)
            if found is None or not isinstance(actual, (int, float)) or isinstance(actual, bool):
                continue
            base, final, annex = found
            source = f"甘政发〔2017〕54号{annex}（五年目标）"
            if key == "consumption":
                projected, ratio, level, gap = cap_warning(float(actual), final, elapsed, 60, cfg["cap"], base=base)
            else:  # the cumulative reduction extrapolated to 2020 against the five-year reduction
                projected = round(float(actual) * 60 / elapsed, 2)
                ratio = round(projected / final, 4) if final > 0 else 1.0
                level, gap = reduction_level(ratio, cfg["reduction"]), round(final - float(actual), 2)
            out.append(Warning(indicator=key, actual=float(actual), target=float(final), basis=A.ANNEX, source=source,
                               projected=projected, ratio=ratio, level=level, per_month=gap, **common))
    return out


def grid(warnings: list[Warning]) -> tuple[list[str], list[str], dict]:
    """Prefectures × quarters (within-year warnings at quarter ends): the worst level of the indicators."""
    cells: dict = {}
    order: dict = {}
    for w in warnings:
        if w.span != 12 or w.quarter is None:
            continue
        column = f"{w.year}年第{'一二三四'[w.quarter - 1]}季度"
        order[column] = (w.year, w.quarter)
        key = (w.region, column)
        cells[key] = min(cells.get(key, GREEN + 1), w.level)
    rows = list(dict.fromkeys(w.region for w in warnings if (w.region, f"{w.year}年第{'一二三四'[(w.quarter or 1) - 1]}季度") in cells))
    columns = sorted(order, key=order.get)
    return rows, columns, cells


TABLE_HEADER = ("市州", "时段", "指标", "目标", "目标来源", "至本期累计", "期末预计", "进度比", "预警等级", "说明")


def table_rows(warnings: list[Warning]) -> list[tuple]:
    out = []
    for w in warnings:
        ind = A.INDICATORS[w.indicator]
        if w.indicator == "intensity" and w.span == 12:
            name, target_text = "单位GDP能耗同比降幅", f"{_n(w.target)}%"
        else:
            name, target_text = ind.zh, f"{_n(w.target)}{ind.unit}"
        out.append((w.region, w.label, name, target_text, A.BASIS_ZH[w.basis], f"{_n(w.actual)}{ind.unit}",
                    f"{_n(w.projected)}{ind.unit}", f"{w.ratio * 100:.1f}%", w.level_zh, w.advice()))
    return out
