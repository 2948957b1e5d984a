"""Annual progress targets of the prefectures for 2016–2019: issued by the province (a table the user supplies) or
derived from the five-year targets of Annexes 1 and 3–6 (an estimate, never an issued target).

The documents set five-year targets only; 十.（四十） leaves the annual ones to the province
("各市州要根据省上下达的任务明确年度工作目标"). A target the province issued is read from `annual_targets.csv` (or .xlsx)
in the directory given by `--params DIR`, each row naming its document, 文号 and date. Where none is issued, a
progress target is derived in proportion to elapsed time, linearly or geometrically, and every output says so.
For 2020 the five-year target of the annex is the target (the plan issued it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from engine.errors import ParameterError
from engine.lang import tr
from engine.normalise import ValueProblem, parse_date
from engine.schemas import normalise_header

BASE_YEAR, FINAL_YEAR = 2015, 2020
ANNUAL_YEARS = (2016, 2017, 2018, 2019)
METHODS = ("linear", "geometric")
METHOD_ZH = {"linear": "线性（按时间进度等分）", "geometric": "几何（按时间进度等比）"}
TABLE_NAME = "annual_targets"
ISSUED, DERIVED, ANNEX = "issued", "derived", "annex"
BASIS_ZH = {ISSUED: "省上下达", DERIVED: "推算（非下达）", ANNEX: "五年目标（附件）"}
EMISSIONS = ("cod", "nh3n", "so2", "nox")


@dataclass(frozen=True)
class Indicator:
    key: str
    zh: str
    unit: str
    field: str  # the prefecture_year field holding the actual value
    direction: str  # at_least (a reduction to reach) | at_most (a cap not to exceed)
    annex: str  # where the five-year target is
    spellings: tuple


INDICATORS = {i.key: i for i in (
    Indicator("intensity", "单位GDP能耗累计降幅（比2015年）", "%", "intensity_reduction_pct", "at_least", "附件1",
              ("能耗强度", "单位GDP能耗降幅", "单位GDP能耗累计降幅", "单位生产总值能耗降幅", "能耗强度累计降幅")),
    Indicator("consumption", "能源消费总量", "万吨标准煤", "energy_consumption_10k_tce", "at_most", "附件1",
              ("能源消费总量", "能耗总量", "能源消费总量控制目标")),
    Indicator("cod", "化学需氧量排放量", "吨", "cod_t", "at_most", "附件3", ("化学需氧量", "COD", "化学需氧量排放量")),
    Indicator("nh3n", "氨氮排放量", "吨", "nh3n_t", "at_most", "附件4", ("氨氮", "NH3-N", "氨氮排放量")),
    Indicator("so2", "二氧化硫排放量", "吨", "so2_t", "at_most", "附件5", ("二氧化硫", "SO2", "二氧化硫排放量")),
    Indicator("nox", "氮氧化物排放量", "吨", "nox_t", "at_most", "附件6", ("氮氧化物", "NOx", "氮氧化物排放量")),
)}
ANNEX_TABLES = {"cod": "annex3_cod", "nh3n": "annex4_nh3n", "so2": "annex5_so2", "nox": "annex6_nox"}

# The issued table: column -> (Chinese header, spellings accepted, what to write)
COLUMNS = {
    "prefecture": ("市州", ("市州", "地区", "prefecture"), "市州名称，如 兰州市、甘南州"),
    "year": ("年度", ("年度", "年份", "year"), "2016—2019 的年份"),
    "indicator": ("指标", ("指标", "考核指标", "indicator"),
                  "能耗强度、能源消费总量、化学需氧量、氨氮、二氧化硫、氮氧化物之一"),
    "target": ("年度目标值", ("年度目标值", "目标值", "目标", "target"),
               "能耗强度写比2015年累计降幅（%）；其余写该年度控制量（上限）"),
    "unit": ("单位", ("单位", "unit"), "%、万吨标准煤 或 吨（可空，空则按指标的单位）"),
    "document": ("下达文件", ("下达文件", "文件名称", "文件", "document"), "下达年度目标的文件标题"),
    "doc_number": ("文号", ("文号", "发文字号", "doc number"), "如 甘发改环资〔2018〕100号"),
    "issued_on": ("印发日期", ("印发日期", "成文日期", "日期", "issued on"), "如 2018-03-01"),
}

# Record fields the targets are put into (prefecture_year), for the rules.
ISSUED_FIELDS = {"intensity": "issued_intensity_target_pct", "consumption": "issued_consumption_target_10k_tce",
                 "cod": "issued_cod_target_t", "nh3n": "issued_nh3n_target_t", "so2": "issued_so2_target_t",
                 "nox": "issued_nox_target_t"}
DERIVED_FIELDS = {"intensity": "derived_intensity_target_pct", "consumption": "derived_consumption_target_10k_tce",
                  "cod": "derived_cod_target_t", "nh3n": "derived_nh3n_target_t", "so2": "derived_so2_target_t",
                  "nox": "derived_nox_target_t"}
SOURCE_FIELDS = {"intensity": "issued_intensity_target_source", "consumption": "issued_consumption_target_source",
                 "emissions": "issued_emissions_target_source"}
METHOD_FIELD = "derived_target_method"
TARGET_FIELDS = (*ISSUED_FIELDS.values(), *DERIVED_FIELDS.values(), *SOURCE_FIELDS.values(), METHOD_FIELD)


@dataclass(frozen=True)
class IssuedTarget:
    prefecture: str
    year: int
    indicator: str
    value: float
    document: str
    doc_number: str
    issued_on: dt.date
    file: str
    row: int

    def source(self) -> str:
        return f"{self.document}（{self.doc_number}，{self.issued_on.year}年{self.issued_on.month}月{self.issued_on.day}日）"


@dataclass(frozen=True)
class Target:
    """The target of one prefecture, year and indicator, and where it comes from."""

    value: float
    basis: str  # issued | derived | annex
    source: str  # the document (issued, annex) or how it was derived


# ------------------------------------------------------------------------------------------ derivation

def _round(value: float, places: int = 2) -> float:
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def progress_share(year: int) -> float:
    """Share of the five-year period elapsed at the end of `year` (2015 → 0, 2020 → 1)."""
    return (year - BASE_YEAR) / (FINAL_YEAR - BASE_YEAR)


def derive_reduction(five_year_pct: float, year: int, method: str) -> float:
    """Cumulative reduction (%) to reach by the end of `year`, from the five-year reduction R (%).

    linear: R × t/5;  geometric: 1 − (1 − R)^(t/5) (the same rate of reduction every year); t = year − 2015.
    """
    t = progress_share(year)
    if method == "linear":
        return _round(five_year_pct * t)
    if method == "geometric":
        return _round(100 * (1 - (1 - five_year_pct / 100) ** t))
    raise ValueError(method)


def derive_cap(base: float, final: float, year: int, method: str) -> float:
    """The quantity allowed at the end of `year` on the way from the 2015 value to the 2020 target.

    linear: base + (final − base) × t/5;  geometric: base × (final/base)^(t/5) (the same growth or fall rate
    every year); t = year − 2015.
    """
    t = progress_share(year)
    if method == "linear":
        return _round(base + (final - base) * t)
    if method == "geometric":
        if base <= 0:
            return _round(base + (final - base) * t)
        return _round(base * (final / base) ** t)
    raise ValueError(method)


def method_text(method: str, year: int) -> str:
    share = f"{year - BASE_YEAR}/{FINAL_YEAR - BASE_YEAR}"
    formula = ("五年目标×已过年数/5" if method == "linear" else "按五年目标折算的年均等比速率累计")
    return (f"{year}年度目标未经省上下达，系由“十三五”五年目标按{METHOD_ZH[method]}方法推算（时间进度{share}，"
            f"{formula}），为推算值，不是下达的目标")


def five_year(params, indicator: str, prefecture: str):
    """(2015 value, 2020 target, annex) of a prefecture, or None where the annex has no row for it."""
    if indicator in ("intensity", "consumption"):
        row = params.table("annex1_energy_targets").row(prefecture)
        if row is None:
            return None
        if indicator == "intensity":
            return 0.0, row["intensity_reduction_pct"], "附件1"
        return row["consumption_2015_10k_tce"], row["consumption_cap_2020_10k_tce"], "附件1"
    row = params.table(ANNEX_TABLES[indicator]).row(prefecture)
    if row is None:
        return None
    return row["emissions_2015_t"], row["cap_2020_t"], INDICATORS[indicator].annex


def derived_target(params, indicator: str, prefecture: str, year: int, method: str) -> Target | None:
    found = five_year(params, indicator, prefecture)
    if found is None or not BASE_YEAR < year <= FINAL_YEAR:
        return None
    base, final, annex = found
    if year == FINAL_YEAR:
        return Target(float(final), ANNEX, f"甘政发〔2017〕54号{annex}")
    value = derive_reduction(final, year, method) if indicator == "intensity" else derive_cap(base, final, year, method)
    return Target(value, DERIVED, method_text(method, year))


# ------------------------------------------------------------------------------------------ the issued table

class AnnualTargets:
    """Issued annual targets by (prefecture, year, indicator)."""

    def __init__(self, rows: list[IssuedTarget] = (), path: str = ""):
        self.rows = list(rows)
        self.path = path
        self.by_key = {(r.prefecture, r.year, r.indicator): r for r in self.rows}

    def get(self, prefecture: str, year: int, indicator: str) -> IssuedTarget | None:
        return self.by_key.get((prefecture, year, indicator))

    def __len__(self) -> int:
        return len(self.rows)


def _indicator_key(text: str) -> str | None:
    norm = normalise_header(text)
    for key, ind in INDICATORS.items():
        if norm in {normalise_header(s) for s in (key, ind.zh, *ind.spellings)}:
            return key
    return None


def _read_rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook
        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        return [["" if v is None else (v.date().isoformat() if isinstance(v, dt.datetime) else str(v)) for v in row]
                for row in sheet.iter_rows(values_only=True)]
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ParameterError(tr("不是 UTF-8 或 GB18030 编码的文本", "not UTF-8 or GB18030 text"), file=str(path),
                             fix=tr("把表格存为 UTF-8 编码的 CSV", "save the table as UTF-8 CSV"))
    return list(csv.reader(io.StringIO(text)))


def load_issued(path: Path, regions) -> AnnualTargets:
    """Read and validate the issued annual targets; an error names the file, row, field and the fix."""
    path = Path(path)
    rows = [r for r in _read_rows(path)]
    if not rows:
        raise ParameterError(tr("表格是空的", "the table is empty"), file=str(path),
                             fix=tr("从 `ecocheck template annual_targets` 写出的空白表开始填写",
                                    "start from `ecocheck template annual_targets`"))
    header = [normalise_header(h.split("（")[0].split("(")[0]) for h in rows[0]]
    where: dict = {}
    for column, (label, spellings, _hint) in COLUMNS.items():
        names = {normalise_header(s) for s in (label, *spellings)}
        found = [i for i, h in enumerate(header) if h in names]
        if not found:
            raise ParameterError(tr(f"缺少“{label}”列",
                                    f"column '{label}' is missing"), file=str(path), row=1, field=label,
                                 fix=tr("表头：", "headers: ") + "、".join(c[0] for c in COLUMNS.values()))
        where[column] = found[0]
    out: list[IssuedTarget] = []
    seen: dict = {}
    for number, raw in enumerate(rows[1:], start=2):
        cells = {c: (raw[i].strip() if i < len(raw) else "") for c, i in where.items()}
        if not any(cells.values()):
            continue

        def fail(column: str, message: str, fix: str = ""):
            raise ParameterError(message, file=str(path), row=number, field=COLUMNS[column][0],
                                 fix=fix or tr(f"请填写{COLUMNS[column][2]}", f"write {COLUMNS[column][2]}"))
        for column in COLUMNS:
            if column != "unit" and not cells[column]:
                fail(column, tr(f"“{COLUMNS[column][0]}”为空", f"'{COLUMNS[column][0]}' is empty"))
        try:
            prefecture = regions.canonical(cells["prefecture"])
        except ValueProblem as exc:
            fail("prefecture", str(exc))
        if prefecture == "全省":
            fail("prefecture", tr("全省不作为市州考核", "全省 is not assessed as a prefecture"),
                 tr("逐个列出各市州", "list the prefectures (市州) one by one"))
        try:
            year = int(float(cells["year"]))
        except ValueError:
            fail("year", tr(f"“{cells['year']}”不是年份", f"'{cells['year']}' is not a year"))
        if year not in ANNUAL_YEARS:
            fail("year", tr(f"{year} 不是2016—2019年中的年度考核年份（2020年按附件中的目标判断）",
                            f"{year} is not an annual assessment year of 2016–2019 (2020 is judged against the "
                            f"annexes)"))
        indicator = _indicator_key(cells["indicator"])
        if indicator is None:
            fail("indicator", tr(f"“{cells['indicator']}”不是考核指标", f"'{cells['indicator']}' is not an indicator"))
        try:
            value = float(cells["target"].replace(",", "").rstrip("%"))
        except ValueError:
            fail("target", tr(f"“{cells['target']}”不是数值", f"'{cells['target']}' is not a number"))
        if not math.isfinite(value) or (indicator != "intensity" and value < 0) or abs(value) > 1e9:
            fail("target", tr(f"“{cells['target']}”不是可能的目标值", f"'{cells['target']}' is not a possible target"))
        unit = cells["unit"]
        ind = INDICATORS[indicator]
        if unit and normalise_header(unit) != normalise_header(ind.unit):
            fail("unit", tr(f"单位“{unit}”不是{ind.zh}的单位（{ind.unit}）",
                            f"unit '{unit}' is not the unit of {ind.zh} ({ind.unit})"),
                 tr(f"把值换算为 {ind.unit}，或不填单位", f"convert the value to {ind.unit} or leave the unit empty"))
        try:
            issued_on = parse_date(cells["issued_on"])
        except (ValueProblem, ValueError):
            fail("issued_on", tr(f"“{cells['issued_on']}”不是日期", f"'{cells['issued_on']}' is not a date"))
        if not dt.date(year - 1, 1, 1) <= issued_on <= dt.date(year + 1, 12, 31):
            fail("issued_on", tr(f"{issued_on} 与目标年度 {year} 相去太远",
                                 f"{issued_on} is not a date near the target year {year}"),
                 tr("填写下达文件的印发日期", "write the date the document was issued"))
        key = (prefecture, year, indicator)
        if key in seen:
            fail("indicator", tr(f"{prefecture} {year}年 {ind.zh} 已在第{seen[key]}行给出",
                                 f"{prefecture} {year} {ind.zh} is already given in row {seen[key]}"),
                 tr("每个市州、年度和指标只写一行", "keep one row per prefecture, year and indicator"))
        seen[key] = number
        out.append(IssuedTarget(prefecture, year, indicator, value, cells["document"], cells["doc_number"],
                                issued_on, str(path), number))
    # the four pollutants are assessed together (十.（四十一）总量减排目标): all four or none for a prefecture-year
    groups: dict = {}
    for r in out:
        if r.indicator in EMISSIONS:
            groups.setdefault((r.prefecture, r.year), []).append(r)
    for (prefecture, year), items in groups.items():
        have = {r.indicator for r in items}
        if have != set(EMISSIONS):
            lacking = "、".join(INDICATORS[k].zh for k in EMISSIONS if k not in have)
            raise ParameterError(tr(f"{prefecture} {year}年：污染物目标不全（缺{lacking}）",
                                    f"{prefecture} {year}: the pollutant targets are incomplete (lacking {lacking})"),
                                 file=str(path), row=min(r.row for r in items), field=COLUMNS["indicator"][0],
                                 fix=tr("一个市州一个年度的四项污染物要么全给，要么都不给",
                                        "give all four pollutants of a prefecture and year, or none of them"))
    return AnnualTargets(out, str(path))


def find_table(directory: Path | None) -> Path | None:
    """annual_targets.csv or .xlsx in a `--params` directory, if there is one."""
    if directory is None:
        return None
    for suffix in (".csv", ".xlsx"):
        candidate = Path(directory) / f"{TABLE_NAME}{suffix}"
        if candidate.exists():
            return candidate
    return None


def template_csv() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for label, _s, _h in COLUMNS.values()])

    return "\ufeff" + buffer.getvalue()


def template_xlsx(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    sheet = book.active
    sheet.title = "年度目标"
    sheet.append([label for label, _s, _h in COLUMNS.values()])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    notes = book.create_sheet("填表说明")
    notes.append(["列", "填写说明"])
    for label, _s, hint in COLUMNS.values():
        notes.append([label, hint])
    notes.append(["", "每行一个市州、年度和指标；四项主要污染物须同时给出或都不给出。未给出下达目标的，ecocheck按五年目标推算并注明为推算值。"])
    book.save(path)


# ------------------------------------------------------------------------------------------ records

@dataclass(frozen=True)
class Settings:
    """How a run finds annual targets: the issued table (may be empty) and the derivation method."""

    issued: AnnualTargets
    method: str = "linear"

    def manifest_entry(self) -> dict:
        return {"issued_table": self.issued.path or None, "issued_rows": len(self.issued),
                "derivation_method": self.method}


def settings(params_dir: Path | None, method: str, regions) -> Settings:
    """The run's annual-target settings from `--params DIR` and `--annual-method`."""
    if method not in METHODS:
        raise ParameterError(tr(f"未知的推算方法“{method}”", f"unknown derivation method '{method}'"),
                             fix=tr("用 linear 或 geometric", "use linear or geometric"))
    table = find_table(params_dir)
    if params_dir is not None and table is None and not (Path(params_dir) / "external_limits.csv").is_file():
        raise ParameterError(tr(f"参数目录中没有 {TABLE_NAME}.csv 或 {TABLE_NAME}.xlsx，也没有 external_limits.csv",
                                f"no {TABLE_NAME}.csv or {TABLE_NAME}.xlsx, nor external_limits.csv, in the parameter "
                                f"directory"),
                             file=str(params_dir),
                             fix=tr("用 `ecocheck template annual_targets` 写出一份再填写",
                                    "write one from `ecocheck template annual_targets`"))
    return Settings(load_issued(table, regions) if table else AnnualTargets(), method)


def target_for(params, settings: Settings, prefecture: str, year: int, indicator: str) -> Target | None:
    if year in ANNUAL_YEARS:
        issued = settings.issued.get(prefecture, year, indicator)
        if issued is not None:
            return Target(issued.value, ISSUED, issued.source())
    return derived_target(params, indicator, prefecture, year, settings.method)


def attach(records, params, settings: Settings) -> int:
    """Put the annual targets of 2016–2019 into prefecture_year records (fields the annual rules compare with).

    Values a user wrote into these fields are discarded: a target counts as issued only through the table.
    Returns the number of records given targets.
    """
    count = 0
    for record in records:
        if record.kind != "prefecture_year":
            continue
        for name in TARGET_FIELDS:
            record.values.pop(name, None)
        prefecture, year = record.values.get("prefecture"), record.values.get("year")
        if not isinstance(year, int) or year not in ANNUAL_YEARS or prefecture in (None, "全省"):
            continue
        derived_any = False
        sources: dict = {}
        for key in INDICATORS:
            target = target_for(params, settings, str(prefecture), year, key)
            if target is None:
                continue
            if target.basis == ISSUED:
                record.values[ISSUED_FIELDS[key]] = target.value
                group = "emissions" if key in EMISSIONS else key
                sources.setdefault(group, [])
                if target.source not in sources[group]:
                    sources[group].append(target.source)
            else:
                record.values[DERIVED_FIELDS[key]] = target.value
                derived_any = True
        for group, texts in sources.items():
            record.values[SOURCE_FIELDS[group]] = "省上下达：" + "；".join(texts)
        if derived_any:
            record.values[METHOD_FIELD] = method_text(settings.method, year)
        count += 1
    return count
