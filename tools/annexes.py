"""Build-time tool: parse the annex tables (附件1–6) of the 2017 Gansu energy plan text into rules/parameters/ (make annexes)."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

__all__ = ["extract_annexes", "write_tables", "main", "INDICATOR_IDS"]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT / "rules" / "sources" / "energy_plan_2017.txt"
DEFAULT_OUT_DIR = REPO_ROOT / "rules" / "parameters"
DOCUMENT_ID = "energy-plan"

# Tolerance for "key project reduction == emissions x ratio" (tonnes).
ROW_TOLERANCE_T = 0.01

# Stable ASCII ids for the Annex 2 indicators, keyed by the Chinese name as it
# appears after folding (size-band rows carry the band in full-width brackets).
INDICATOR_IDS: dict[str, str] = {
    "单位工业增加值（规模以上）能耗": "industrial_value_added_energy_intensity",
    "火电供电煤耗": "thermal_power_supply_coal_consumption",
    "吨钢综合能耗": "steel_comprehensive_energy_per_t",
    "水泥熟料综合能耗": "cement_clinker_comprehensive_energy_per_t",
    "电解铝液交流电耗": "electrolytic_aluminium_ac_power_per_t",
    "炼油综合能耗": "oil_refining_comprehensive_energy_per_t",
    "乙烯综合能耗": "ethylene_comprehensive_energy_per_t",
    "合成氨综合能耗": "synthetic_ammonia_comprehensive_energy_per_t",
    "铜冶炼综合能耗": "copper_smelting_comprehensive_energy_per_t",
    "城镇既有居住建筑节能改造累计面积": "urban_existing_residential_retrofit_area_cumulative",
    "城镇公共建筑节能改造累计面积": "urban_public_building_retrofit_area_cumulative",
    "城镇新建绿色建筑标准执行率": "urban_new_building_green_standard_rate",
    "铁路单位运输工作量综合能耗": "railway_energy_per_converted_t_km",
    "营运车辆单位运输周转量能耗下降率": "commercial_vehicle_energy_per_turnover_reduction",
    "营运船舶单位运输周转量能耗下降率": "commercial_vessel_energy_per_turnover_reduction",
    "民航业单位运输周转量能耗": "civil_aviation_energy_per_t_km",
    "新生产乘用车平均油耗": "new_passenger_car_fuel_consumption",
    "公共机构单位建筑面积能耗": "public_institution_energy_per_floor_area",
    "公共机构人均能耗": "public_institution_energy_per_capita",
    "燃煤工业锅炉（运行）效率": "coal_industrial_boiler_operating_efficiency",
    "电动机系统效率": "electric_motor_system_efficiency",
    "一级能效容积式空气压缩机市场占有率（小于55kW）": "grade1_air_compressor_market_share_lt_55kw",
    "一级能效容积式空气压缩机市场占有率（55kW至220kW）": "grade1_air_compressor_market_share_55_220kw",
    "一级能效容积式空气压缩机市场占有率（大于220kW）": "grade1_air_compressor_market_share_gt_220kw",
    "一级能效电力变压器市场占有率": "grade1_power_transformer_market_share",
    "二级以上能效房间空调器市场占有率": "grade2plus_room_air_conditioner_market_share",
    "二级以上能效电冰箱市场占有率": "grade2plus_refrigerator_market_share",
    "二级以上能效家用燃气热水器市场占有率": "grade2plus_household_gas_water_heater_market_share",
}

SECTOR_EN = {
    "工业": "industry",
    "建筑": "buildings",
    "交通运输": "transport",
    "公共机构": "public_institutions",
    "终端用能设备": "end_use_equipment",
}


@dataclass(frozen=True)
class _Spec:
    number: int
    name: str
    kind: str  # "energy" | "pollutant" | "indicators"
    title_en: str
    pollutant_zh: str | None = None


_SPECS = [
    _Spec(1, "annex1_energy_targets", "energy",
          "13th FYP energy consumption total and intensity ('dual control') targets by prefecture"),
    _Spec(2, "annex2_indicators", "indicators",
          "13th FYP energy-saving indicators for main sectors and departments"),
    _Spec(3, "annex3_cod", "pollutant",
          "13th FYP chemical oxygen demand (COD) emission total control plan by prefecture", "化学需氧量"),
    _Spec(4, "annex4_nh3n", "pollutant",
          "13th FYP ammonia nitrogen (NH3-N) emission total control plan by prefecture", "氨氮"),
    _Spec(5, "annex5_so2", "pollutant",
          "13th FYP sulphur dioxide (SO2) emission total control plan by prefecture", "二氧化硫"),
    _Spec(6, "annex6_nox", "pollutant",
          "13th FYP nitrogen oxides (NOx) emission total control plan by prefecture", "氮氧化物"),
]

ENERGY_COLUMNS = [
    "prefecture", "label", "intensity_reduction_pct", "consumption_2015_10k_tce",
    "increment_target_10k_tce", "consumption_cap_2020_10k_tce",
]
POLLUTANT_COLUMNS = [
    "prefecture", "label", "emissions_2015_t", "reduction_ratio_pct", "key_project_reduction_t",
]
INDICATOR_COLUMNS = [
    "indicator", "sector", "name_zh", "unit", "value_2015", "target_2020", "change", "change_is_rate",
]

_HEADING_RE = re.compile(r"^[\s\u3000\xa0]*附件\s*(\d+)[\s\u3000\xa0]*$")
_WS_RE = re.compile(r"[\s\u3000\xa0\u2002\u2003\u2009\ufeff]+")
_NUMBER_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_CHANGE_RE = re.compile(
    r"^(?P<qual>[<>≤≥＜＞]?)"
    r"(?:[［\[](?P<rate>[+-]?\d+(?:\.\d+)?)[%％][］\]]|(?P<abs>[+-]?\d+(?:\.\d+)?))$"
)
_BRACKET_RE = re.compile(r"[（(][^（()）]*[）)]")
_UNIT_RE = re.compile(r"[（(]([^（()）]*)[）)]$")
PROVINCE_KEY = "全省"


def _clean(text: str) -> str:
    """Remove every kind of space (ASCII, tab, full-width, no-break)."""
    return _WS_RE.sub("", text)


def _is_blank(line: str) -> bool:
    return _clean(line) == ""


@dataclass
class _Row:
    line_no: int  # 1-based line number of the row's first cell
    cells: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"line {self.line_no}: {' | '.join(repr(r) for r in self.raw)}"


@dataclass
class _Block:
    number: int
    heading_line: int
    title: str
    responsible: str
    rows: list[_Row]
    notes: str | None


def _split_blocks(text: str) -> dict[int, _Block]:
    lines = text.splitlines()
    starts = [(i, int(m.group(1))) for i, line in enumerate(lines) if (m := _HEADING_RE.match(line))]
    blocks: dict[int, _Block] = {}
    for k, (start, number) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        where = f"附件{number} (line {start + 1})"
        i = start + 1
        while i < end and _is_blank(lines[i]):
            i += 1
        if i >= end:
            raise ValueError(f"{where}: no title line after the heading")
        title = lines[i].strip(" \t\u3000\xa0")
        i += 1
        while i < end and _is_blank(lines[i]):
            i += 1
        if i >= end or "责任部门" not in lines[i]:
            raise ValueError(f"{where}: expected a 责任部门 line at line {i + 1}")
        responsible = _clean(lines[i])
        i += 1
        rows: list[_Row] = []
        current: _Row | None = None
        notes = None
        for j in range(i, end):
            line = lines[j]
            # A line led by a tab is a cell, even when empty; any other blank
            # line ends the current row.
            if not line.startswith("\t") and _is_blank(line):
                current = None
                continue
            if not line.startswith("\t") and _clean(line).startswith("注"):
                notes = line.strip(" \t\u3000\xa0")
                break
            if line.startswith("\t"):
                if current is None:
                    current = _Row(line_no=j + 1)
                    rows.append(current)
                current.cells.append(_clean(line))
                current.raw.append(line)
            else:
                # A line without a leading tab continues the previous cell
                # (line break inside a table cell).
                if current is None or not current.cells:
                    raise ValueError(
                        f"附件{number}: continuation text outside a table cell at line {j + 1}: {line!r}"
                    )
                current.cells[-1] += _clean(line)
                current.raw.append(line)
        blocks[number] = _Block(number, start + 1, title, responsible, rows, notes)
    return blocks


def _number(text: str, annex: int, row: _Row, what: str) -> float:
    if not _NUMBER_RE.match(text):
        raise ValueError(f"附件{annex}: {what} {text!r} is not a number; {row.describe()}")
    return float(text)


def _unit_of(header: str) -> str | None:
    m = _UNIT_RE.search(header)
    return m.group(1) if m else None


def _decimals(number_text: str) -> int:
    return len(number_text.split(".")[1]) if "." in number_text else 0


def _prefecture_key(label: str) -> str:
    return _BRACKET_RE.sub("", label)


CAP_COLUMN = "cap_2020_t"


def _printed_cap(emissions_2015: float, ratio_pct: float) -> float:
    """2015 emissions less the reduction ratio, at the annex's printed precision (two decimals, half up)."""
    cap = Decimal(str(emissions_2015)) * (1 - Decimal(str(ratio_pct)) / 100)
    return float(cap.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _check(text: str, holds: bool, details: list) -> dict:
    return {"check": text, "holds": bool(holds), "details": details}


def _r(x: float, nd: int = 2) -> float:
    return float(round(x, nd))


def _num(x: float) -> float | int:
    x = _r(x, 6)
    return int(x) if float(x).is_integer() else x


# --------------------------------------------------------------------------
# Statements in the plan body that the annex totals can be compared with.
# --------------------------------------------------------------------------

def _body_energy_targets(text: str) -> dict | None:
    m = re.search(
        r"全省万元国内生产总值能耗比2015年下降(?P<pct>\d+(?:\.\d+)?)%.*?"
        r"能源消费增量控制目标为(?P<inc>\d+(?:\.\d+)?)万吨标准煤，"
        r"能源消费总量控制在(?P<cap>\d+(?:\.\d+)?)万吨标准煤以内",
        text,
    )
    if not m:
        return None
    return {k: float(v) for k, v in m.groupdict().items()} | {"statement": m.group(0)}


def _body_pollutant_targets(text: str) -> dict[str, dict] | None:
    m = re.search(r"全省(?P<names>[^，。]*?)排放总量分别控制在(?P<caps>[^，。]*?)以内，比2015年分别下降(?P<pcts>[^。]*?)。",
                  text)
    if not m:
        return None
    names = re.split(r"[、和]", m.group("names"))
    caps = re.findall(r"(\d+(?:\.\d+)?)万吨", m.group("caps"))
    pcts = re.findall(r"(\d+(?:\.\d+)?)%", m.group("pcts"))
    if not (len(names) == len(caps) == len(pcts)):
        return None
    return {
        n: {"cap_2020_t": float(c) * 10000, "cap_text": c, "reduction_pct": float(p), "statement": m.group(0)}
        for n, c, p in zip(names, caps, pcts)
    }


# --------------------------------------------------------------------------
# Annex parsers
# --------------------------------------------------------------------------

def _header_labels(rows: list[_Row]) -> list[str]:
    """Combine one or more header rows position by position."""
    width = max(len(r.cells) for r in rows)
    return ["".join(r.cells[k] if k < len(r.cells) else "" for r in rows) for k in range(width)]


def _parse_region_table(spec: _Spec, block: _Block, text: str) -> tuple[pd.DataFrame, dict]:
    n = spec.number
    if not block.rows:
        raise ValueError(f"附件{n}: table has no rows")
    header_row, data_rows = block.rows[0], block.rows[1:]
    headers = header_row.cells
    value_cols = ENERGY_COLUMNS[2:] if spec.kind == "energy" else POLLUTANT_COLUMNS[2:]
    if len(headers) != 1 + len(value_cols):
        raise ValueError(f"附件{n}: expected {1 + len(value_cols)} header cells; header {header_row.describe()}")
    records = []
    for row in data_rows:
        if len(row.cells) != 1 + len(value_cols) or _NUMBER_RE.match(row.cells[0] or "0"):
            raise ValueError(
                f"附件{n}: expected a label and {len(value_cols)} numbers, got {len(row.cells)} cells; "
                f"{row.describe()}"
            )
        label = row.cells[0]
        rec = {"prefecture": _prefecture_key(label), "label": label}
        for col, cell, head in zip(value_cols, row.cells[1:], headers[1:]):
            rec[col] = _number(cell, n, row, f"{head}")
        records.append(rec)
    keys = [r["prefecture"] for r in records]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"附件{n}: duplicate row labels {dupes}")

    columns = ENERGY_COLUMNS if spec.kind == "energy" else POLLUTANT_COLUMNS
    if spec.kind != "energy":
        for rec in records:
            rec[CAP_COLUMN] = _printed_cap(rec["emissions_2015_t"], rec["reduction_ratio_pct"])
        columns = columns + [CAP_COLUMN]
    df = pd.DataFrame.from_records(records, columns=columns)
    if spec.kind == "energy":
        for col in value_cols:
            if all(float(v).is_integer() for v in df[col]):
                df[col] = df[col].astype("int64")

    col_meta = {
        "prefecture": {"label": headers[0], "unit": None,
                       "description": "row label without spaces and without the bracketed part (key)"},
        "label": {"label": headers[0], "unit": None, "description": "row label as printed, spaces removed"},
    }
    for col, head in zip(value_cols, headers[1:]):
        col_meta[col] = {"label": head, "unit": _unit_of(head)}
    if spec.kind != "energy":
        col_meta[CAP_COLUMN] = {
            "label": "2020年排放总量控制目标(吨)", "unit": "吨",
            "description": "derived, not printed: 2015年排放量 × (1 − 2020年减排比例), rounded half-up to the two "
                           "decimals in which the annex prints tonnes; a 2020 value equal to it meets the target"}

    if spec.kind == "energy":
        checks = _energy_checks(df, text)
    else:
        checks = _pollutant_checks(df, spec, text)
    return df, _metadata(spec, block, col_meta, checks)


def _energy_checks(df: pd.DataFrame, text: str) -> list[dict]:
    checks = []
    bad = []
    for r in df.itertuples(index=False):
        total = r.consumption_2015_10k_tce + r.increment_target_10k_tce
        if not math.isclose(total, r.consumption_cap_2020_10k_tce, abs_tol=1e-9):
            bad.append({"prefecture": r.prefecture, "consumption_2015": _num(r.consumption_2015_10k_tce),
                        "increment": _num(r.increment_target_10k_tce), "sum": _num(total),
                        "cap_2020": _num(r.consumption_cap_2020_10k_tce),
                        "difference": _num(total - r.consumption_cap_2020_10k_tce)})
    checks.append(_check(
        "consumption_2015_10k_tce + increment_target_10k_tce == consumption_cap_2020_10k_tce for every row",
        not bad, bad or [f"holds for all {len(df)} rows"]))

    is_prov = df["prefecture"] == PROVINCE_KEY
    if is_prov.sum() != 1:
        checks.append(_check(f"exactly one {PROVINCE_KEY} row", False, [f"found {int(is_prov.sum())}"]))
        return checks
    prov = df[is_prov].iloc[0]
    pref = df[~is_prov]
    for col in ENERGY_COLUMNS[3:]:
        s = pref[col].sum()
        diff = s - prov[col]
        checks.append(_check(
            f"sum of {len(pref)} prefecture rows of {col} == {PROVINCE_KEY} row",
            math.isclose(s, prov[col], abs_tol=1e-9),
            [{"sum_of_prefectures": _num(s), "province_row": _num(prov[col]),
              "difference_sum_minus_province": _num(diff)}]))
    col = "intensity_reduction_pct"
    lo, hi = pref[col].min(), pref[col].max()
    wmean = (pref[col] * pref["consumption_2015_10k_tce"]).sum() / pref["consumption_2015_10k_tce"].sum()
    checks.append(_check(
        f"{col} is a rate (not additive): {PROVINCE_KEY} value lies within the range of prefecture values",
        lo <= prov[col] <= hi,
        [{"province_row": _num(prov[col]), "prefecture_min": _num(lo), "prefecture_max": _num(hi),
          "sum_of_prefectures": _num(pref[col].sum()),
          "mean_weighted_by_2015_consumption": _r(wmean),
          "difference_weighted_mean_minus_province": _r(wmean - prov[col])}]))

    body = _body_energy_targets(text)
    if body is None:
        checks.append(_check(f"{PROVINCE_KEY} row agrees with the 主要目标 paragraph of the plan", False,
                             ["statement not found in the text"]))
    else:
        pairs = [("intensity_reduction_pct", body["pct"]), ("increment_target_10k_tce", body["inc"]),
                 ("consumption_cap_2020_10k_tce", body["cap"])]
        details = [{"column": c, "province_row": _num(prov[c]), "plan_text": _num(v),
                    "difference": _num(prov[c] - v)} for c, v in pairs]
        checks.append(_check(
            f"{PROVINCE_KEY} row agrees with the 主要目标 paragraph of the plan: {body['statement']}",
            all(math.isclose(prov[c], v, abs_tol=1e-9) for c, v in pairs), details))
    return checks


def _pollutant_checks(df: pd.DataFrame, spec: _Spec, text: str) -> list[dict]:
    checks = []
    matches, mismatches = [], []
    for r in df.itertuples(index=False):
        expected = r.emissions_2015_t * r.reduction_ratio_pct / 100
        diff = r.key_project_reduction_t - expected
        if abs(diff) <= ROW_TOLERANCE_T + 1e-9:
            matches.append(r.prefecture)
        else:
            mismatches.append({
                "prefecture": r.prefecture,
                "emissions_2015_t": _num(r.emissions_2015_t),
                "reduction_ratio_pct": _num(r.reduction_ratio_pct),
                "emissions_x_ratio_t": _r(expected),
                "key_project_reduction_t": _num(r.key_project_reduction_t),
                "difference_t": _r(diff),
                "key_over_expected": _r(r.key_project_reduction_t / expected, 4) if expected else None,
                "implied_ratio_pct": _r(100 * r.key_project_reduction_t / r.emissions_2015_t, 3)
                if r.emissions_2015_t else None,
            })
    checks.append(_check(
        f"key_project_reduction_t == emissions_2015_t x reduction_ratio_pct / 100 within {ROW_TOLERANCE_T} t",
        not mismatches,
        [{"matching_rows": matches}, {"non_matching_rows": mismatches}]))

    total = float(df["emissions_2015_t"].sum())
    key_total = float(df["key_project_reduction_t"].sum())
    ratio_total = float((df["emissions_2015_t"] * df["reduction_ratio_pct"] / 100).sum())
    details: list = [{"sum_emissions_2015_t": _r(total), "rows": len(df),
                      "sum_key_project_reduction_t": _r(key_total),
                      "sum_emissions_x_ratio_t": _r(ratio_total),
                      "weighted_reduction_pct": _r(100 * ratio_total / total, 3) if total else None}]
    body = (_body_pollutant_targets(text) or {}).get(spec.pollutant_zh)
    if body is None:
        details.append("no provincial 2020 cap found in the plan text to compare with")
        holds = False
        text_check = f"sum of 2015 emissions over {len(df)} rows (no provincial statement to compare)"
    else:
        cap, pct = body["cap_2020_t"], body["reduction_pct"]
        # Read the printed figures as rounded: the cap to half a unit of its
        # last printed digit (in 万吨), the percentage to +-0.05.
        cap_half_unit = 0.5 * 10 ** -_decimals(body["cap_text"]) * 10000
        implied_pct = 100 * (1 - cap / total) if total else math.nan
        implied_lo = 100 * (1 - (cap + cap_half_unit) / total) if total else math.nan
        implied_hi = 100 * (1 - (cap - cap_half_unit) / total) if total else math.nan
        holds = implied_lo <= pct + 0.05 and implied_hi >= pct - 0.05
        details.append({
            "plan_text_cap_2020_t": _r(cap), "plan_text_reduction_pct": _num(pct),
            "implied_2015_total_t": _r(cap / (1 - pct / 100)),
            "difference_sum_minus_implied_2015_t": _r(total - cap / (1 - pct / 100)),
            "sum_times_1_minus_pct_t": _r(total * (1 - pct / 100)),
            "difference_vs_cap_t": _r(total * (1 - pct / 100) - cap),
            "implied_reduction_pct_from_sum_and_cap": _r(implied_pct, 3),
            "required_reduction_t": _r(total - cap),
        })
        details.append(f"printed figures read as rounded: cap ±{_num(cap_half_unit)} t, percentage ±0.05 "
                       f"(implied reduction range {_r(implied_lo, 3)}–{_r(implied_hi, 3)} %)")
        text_check = (f"sum of 2015 emissions over {len(df)} rows is consistent with the provincial 2020 cap "
                      f"{body['cap_text']}万吨 and reduction {_num(pct)}% stated in the plan "
                      f"({body['statement']})")
    checks.append(_check(text_check, holds, details))
    if body is not None:
        wpct = 100 * ratio_total / total if total else math.nan
        checks.append(_check(
            f"2015-emission-weighted mean of reduction_ratio_pct == provincial reduction {_num(body['reduction_pct'])}% "
            "stated in the plan (within 0.05)",
            abs(wpct - body["reduction_pct"]) <= 0.05,
            [{"weighted_reduction_pct": _r(wpct, 3), "plan_text_reduction_pct": _num(body["reduction_pct"]),
              "difference": _r(wpct - body["reduction_pct"], 3)}]))
    return checks


def _parse_indicators(spec: _Spec, block: _Block) -> tuple[pd.DataFrame, dict]:
    n = spec.number
    section_idx = [k for k, r in enumerate(block.rows) if len(r.cells) == 1 and r.cells[0].endswith(("：", ":"))]
    if not section_idx or section_idx[0] == 0:
        raise ValueError(f"附件{n}: no header rows before the first section line")
    header_rows = block.rows[: section_idx[0]]
    headers = _header_labels(header_rows)
    if len(headers) != 5:
        raise ValueError(f"附件{n}: expected 5 header columns, got {headers}; {header_rows[0].describe()}")
    records = []
    qualified = []
    sector = None
    base_name = None  # name of a merged (multi-row) indicator cell
    for row in block.rows[section_idx[0]:]:
        cells = row.cells
        if len(cells) == 1 and cells[0].endswith(("：", ":")):
            sector = cells[0].rstrip("：:")
            base_name = None
            continue
        if len(cells) == 5:
            name, unit, v15, v20, change = cells
            if not name:
                raise ValueError(f"附件{n}: indicator name is empty; {row.describe()}")
            base_name = None
        elif len(cells) == 6:
            name, band, unit, v15, v20, change = cells
            if name:
                base_name = name
            elif base_name is None:
                raise ValueError(f"附件{n}: sub-row without a preceding indicator name; {row.describe()}")
            if not band:
                raise ValueError(f"附件{n}: sub-row without a size band; {row.describe()}")
            name = f"{base_name}（{band}）"
        else:
            raise ValueError(f"附件{n}: expected 5 or 6 cells, got {len(cells)}; {row.describe()}")
        if name not in INDICATOR_IDS:
            raise ValueError(f"附件{n}: indicator {name!r} has no id in INDICATOR_IDS; {row.describe()}")
        m = _CHANGE_RE.match(change) if change else None
        if change and not m:
            raise ValueError(f"附件{n}: cannot parse change {change!r}; {row.describe()}")
        rec = {
            "indicator": INDICATOR_IDS[name],
            "sector": sector,
            "name_zh": name,
            "unit": unit or None,
            "value_2015": _number(v15, n, row, "2015 value") if v15 else math.nan,
            "target_2020": _number(v20, n, row, "2020 target") if v20 else math.nan,
            "change": math.nan,
            "change_is_rate": False,
        }
        if m:
            rec["change_is_rate"] = m.group("rate") is not None
            rec["change"] = float(m.group("rate") if rec["change_is_rate"] else m.group("abs"))
            if m.group("qual"):
                qualified.append({"indicator": rec["indicator"], "column": "change", "printed": change,
                                  "stored": rec["change"],
                                  "remark": f"printed with the qualifier {m.group('qual')!r}, "
                                            "which the numeric column cannot hold"})
        if sector is None:
            raise ValueError(f"附件{n}: indicator row before any section line; {row.describe()}")
        records.append(rec)
    df = pd.DataFrame.from_records(records, columns=INDICATOR_COLUMNS)
    dup = df["indicator"][df["indicator"].duplicated()].tolist()
    if dup:
        raise ValueError(f"附件{n}: indicator ids used twice: {dup}")

    col_meta = {
        "indicator": {"label": None, "unit": None,
                      "description": "stable ASCII id assigned in tools/annexes.py INDICATOR_IDS"},
        "sector": {"label": None, "unit": None,
                   "description": "section line of the table: "
                                  + "、".join(f"{k} ({v})" for k, v in SECTOR_EN.items())},
        "name_zh": {"label": headers[0], "unit": None,
                    "description": "indicator as printed (size band appended in （） for split rows)"},
        "unit": {"label": headers[1], "unit": None},
        "value_2015": {"label": headers[2], "unit": "see unit column"},
        "target_2020": {"label": headers[3], "unit": "see unit column"},
        "change": {"label": headers[4], "unit": "unit column, or % when change_is_rate",
                   "description": "absolute change, or rate of change in % when printed in ［］"},
        "change_is_rate": {"label": None, "unit": None,
                           "description": "true when the change was printed in ［］ (注：［］内为变化率)"},
    }
    meta = _metadata(spec, block, col_meta, _indicator_checks(df))
    if qualified:
        meta["qualified_values"] = qualified
    return df, meta


def _indicator_checks(df: pd.DataFrame) -> list[dict]:
    checks = []
    both = df["value_2015"].notna() & df["target_2020"].notna()
    absolute = df[both & df["change"].notna() & ~df["change_is_rate"]]
    bad = []
    for r in absolute.itertuples(index=False):
        diff = r.target_2020 - r.value_2015
        if not math.isclose(diff, r.change, abs_tol=1e-6):
            bad.append({"indicator": r.indicator, "value_2015": r.value_2015, "target_2020": r.target_2020,
                        "change": r.change, "target_minus_2015": _r(diff, 6)})
    checks.append(_check("target_2020 - value_2015 == change for rows with an absolute change",
                         not bad, bad or [f"holds for all {len(absolute)} rows"]))

    rates = df[both & df["change"].notna() & df["change_is_rate"]]
    bad, ok = [], []
    for r in rates.itertuples(index=False):
        pct = 100 * (r.target_2020 / r.value_2015 - 1)
        entry = {"indicator": r.indicator, "computed_rate_pct": _r(pct, 3), "printed_rate_pct": r.change,
                 "difference": _r(pct - r.change, 3)}
        (ok if abs(pct - r.change) <= 0.05 else bad).append(entry)
    checks.append(_check("100 x (target_2020 / value_2015 - 1) == change (within 0.05) for rows with a rate "
                         "and both values", not bad, ok + bad))

    missing = df[both & df["change"].isna()]
    checks.append(_check("every row with both a 2015 value and a 2020 target has a printed change",
                         missing.empty,
                         [{"indicator": r.indicator, "value_2015": r.value_2015, "target_2020": r.target_2020,
                           "target_minus_2015": _r(r.target_2020 - r.value_2015, 6)}
                          for r in missing.itertuples(index=False)]))
    return checks


def _metadata(spec: _Spec, block: _Block, columns: dict, checks: list[dict]) -> dict:
    return {
        "table": spec.name,
        "title": {"zh": block.title, "en": spec.title_en},
        "source": {"document": DOCUMENT_ID, "annex": f"附件{spec.number}", "responsible": block.responsible},
        "key": "indicator" if spec.kind == "indicators" else "prefecture",
        "columns": columns,
        "notes": block.notes,
        "checks": checks,
    }


def extract_annexes(text: str) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Parse 附件1–6 of the plan text into {table name: (data frame, metadata)}."""
    blocks = _split_blocks(text)
    tables: dict[str, tuple[pd.DataFrame, dict]] = {}
    for spec in _SPECS:
        block = blocks.get(spec.number)
        if block is None:
            raise ValueError(f"附件{spec.number}: heading not found in the text")
        if spec.kind == "indicators":
            tables[spec.name] = _parse_indicators(spec, block)
        else:
            tables[spec.name] = _parse_region_table(spec, block, text)
    return tables


def write_tables(tables: dict[str, tuple[pd.DataFrame, dict]], out_dir: Path) -> list[Path]:
    """Write <name>.csv (UTF-8, no index) and <name>.yaml (metadata) for each table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (df, meta) in tables.items():
        csv_path = out_dir / f"{name}.csv"
        df.to_csv(csv_path, index=False, encoding="utf-8", lineterminator="\n")
        yaml_path = out_dir / f"{name}.yaml"
        yaml_path.write_text(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False), encoding="utf-8")
        written += [csv_path, yaml_path]
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 2:
        print("usage: python tools/annexes.py [SOURCE_TXT [OUT_DIR]]", file=sys.stderr)
        return 2
    source = Path(args[0]) if args else DEFAULT_SOURCE
    out_dir = Path(args[1]) if len(args) > 1 else DEFAULT_OUT_DIR
    tables = extract_annexes(source.read_text(encoding="utf-8"))
    for path in write_tables(tables, out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
