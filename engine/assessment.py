"""The annual assessment (目标责任评价考核) of each prefecture and year: target, actual, progress ratio and grade for
energy intensity, total energy consumption and the four key pollutants, with the target's source.

This is a report of results, not a legal finding: violations come only from the rules (binding ones only against
targets the province issued). A grade against a derived target is marked as such. Grade cut-offs are configuration
(templates/assessment.yaml), documented as assumptions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from engine import annual_targets as A
from engine import resources
from engine.errors import ConfigError
from engine.lang import tr
from engine.safe_text import for_document
from engine.yamlio import load_yaml

DEFAULT_CONFIG = resources.templates_dir() / "assessment.yaml"
EXCEEDED, MET, BASIC, MISSED = "超额完成", "完成", "基本完成", "未完成"
NUMBER_KEYS = {"grades": ("exceeded_min", "met_min", "basic_min"),
               "warning.cap": ("yellow_above", "red_above"), "warning.reduction": ("yellow_below", "red_below")}


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(path: Path | None = None) -> dict:
    """Grade and warning cut-offs: the defaults merged with the user's YAML; checked for type and order."""
    config = load_yaml(DEFAULT_CONFIG, ConfigError)
    source = str(DEFAULT_CONFIG)
    if path is not None:
        user = load_yaml(Path(path), ConfigError) or {}
        if not isinstance(user, dict):
            raise ConfigError(tr("考核设置应是映射（键: 值）", "the assessment configuration must be a mapping"), file=str(path))
        for key in user:
            if key not in ("grades", "warning"):
                raise ConfigError(tr(f"未知的键“{key}”", f"unknown key '{key}'"), file=str(path), field=key,
                                  fix=tr("可用的键：grades、warning", "keys: grades, warning"))
        config, source = _merge(config, user), str(path)
    for where, keys in NUMBER_KEYS.items():
        node = config
        for part in where.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ConfigError(tr(f"“{where}”应是映射（键: 值）", f"'{where}' must be a mapping"), file=source, field=where)
        for key in keys:
            value = node.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(tr(f"“{where}.{key}”应是数值", f"'{where}.{key}' must be a number"), file=source,
                                  field=f"{where}.{key}")
    g = config["grades"]
    if not g["basic_min"] <= g["met_min"] <= g["exceeded_min"]:
        raise ConfigError(tr("grades 应满足 basic_min ≤ met_min ≤ exceeded_min",
                             "grades must satisfy basic_min ≤ met_min ≤ exceeded_min"), file=source, field="grades")
    w = config["warning"]
    if not w["cap"]["yellow_above"] <= w["cap"]["red_above"]:
        raise ConfigError(tr("warning.cap 应满足 yellow_above ≤ red_above",
                             "warning.cap must satisfy yellow_above ≤ red_above"),
                          file=source, field="warning.cap")
    if not w["reduction"]["red_below"] <= w["reduction"]["yellow_below"]:
        raise ConfigError(tr("warning.reduction 应满足 red_below ≤ yellow_below",
                             "warning.reduction must satisfy red_below ≤ yellow_below"), file=source,
                          field="warning.reduction")
    return config


def progress_ratio(indicator: str, actual: float, target: float) -> float | None:
    """p ≥ 1 when the target is met: actual/target for a reduction, target/actual for a cap (None if undefined)."""
    if A.INDICATORS[indicator].direction == "at_least":
        return round(actual / target, 4) if target > 0 else None
    return round(target / actual, 4) if actual > 0 else None


def met(indicator: str, actual: float, target: float) -> bool:
    if A.INDICATORS[indicator].direction == "at_least":
        return actual >= target
    return actual <= target


def grade(indicator: str, actual: float, target: float, grades: dict) -> str:
    """The grade by the configured cut-offs; a number that misses its target is never graded 完成 or better."""
    p = progress_ratio(indicator, actual, target)
    if not met(indicator, actual, target):
        return BASIC if p is not None and p >= grades["basic_min"] and grades["basic_min"] < grades["met_min"] else MISSED
    if p is not None and p >= grades["exceeded_min"]:
        return EXCEEDED
    return MET


@dataclass(frozen=True)
class Row:
    """One line of the 考核结果 table."""

    prefecture: str  # region key
    region: str  # official name
    year: int
    indicator: str
    target: float | None
    basis: str | None  # issued | derived | annex | None (no target)
    source: str
    actual: float | None
    ratio: float | None
    grade: str  # a grade, or 无法评价 (no actual value) / 无目标
    file: str
    row: int

    @property
    def indicator_zh(self) -> str:
        return A.INDICATORS[self.indicator].zh

    @property
    def unit(self) -> str:
        return A.INDICATORS[self.indicator].unit

    @property
    def basis_zh(self) -> str:
        return A.BASIS_ZH.get(self.basis, "—")


def assess(records, params, settings: A.Settings, config: dict) -> list[Row]:
    """Every prefecture_year record (not 全省) × indicator, in input order, 2016–2020."""
    rows = []
    for record in records:
        if record.kind != "prefecture_year":
            continue
        prefecture, year = record.values.get("prefecture"), record.values.get("year")
        if prefecture in (None, "全省") or not isinstance(year, int) or not A.BASE_YEAR < year <= A.FINAL_YEAR:
            continue
        for key, ind in A.INDICATORS.items():
            target = A.target_for(params, settings, str(prefecture), year, key)
            actual = record.values.get(ind.field)
            actual = float(actual) if isinstance(actual, (int, float)) and not isinstance(actual, bool) else None
            if target is None:
                verdict, ratio = "无目标", None
            elif actual is None:
                verdict, ratio = "无法评价（数据缺失）", None
            else:
                verdict = grade(key, actual, target.value, config["grades"])
                ratio = progress_ratio(key, actual, target.value)
            rows.append(Row(str(prefecture), record.region or str(prefecture), year, key,
                            None if target is None else target.value, None if target is None else target.basis,
                            "" if target is None else target.source, actual, ratio, verdict,
                            record.source.file, record.source.row))
    return rows


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


TABLE_HEADER = ("市州", "年度", "考核指标", "单位", "年度目标", "目标来源", "实际完成", "完成率", "考核等级", "目标说明")


def table_rows(rows: list[Row]) -> list[tuple]:
    out = []
    for r in rows:
        ratio = "—" if r.ratio is None else f"{r.ratio * 100:.1f}%"
        grade_text = r.grade + ("（按推算目标）" if r.basis == A.DERIVED and r.grade in (EXCEEDED, MET, BASIC, MISSED) else "")
        out.append((r.region, str(r.year), r.indicator_zh, r.unit, fmt(r.target), r.basis_zh, fmt(r.actual), ratio,
                    grade_text, r.source))
    return out


NOTES = (
    "完成率：降幅类指标为实际累计降幅÷目标降幅，总量类指标为目标值÷实际值；不低于100%为完成目标。",
    "目标来源“省上下达”为用户提供的年度目标表所载文件；“推算（非下达）”为按五年目标和时间进度推算的估计值，"
    "不是下达的目标，按推算目标评出的等级只反映进度，不作为未完成省上下达目标的认定依据；2020年度按附件1、附件3—附件6的五年目标。",
    "等级分界为本工具的可配置默认值（templates/assessment.yaml），不是文件规定；数值未达到目标的不评为完成。",
)


def write_xlsx(rows: list[Row], path: Path, title: str = "市州人民政府节能减排目标责任评价考核结果") -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    book = Workbook()
    sheet = book.active
    sheet.title = "考核结果"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(list(TABLE_HEADER))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for r, text_row in zip(rows, table_rows(rows)):
        values = [for_document(v) if isinstance(v, str) else v for v in text_row]  # controls shown as escapes
        values[4] = r.target if r.target is not None else "—"
        values[6] = r.actual if r.actual is not None else "—"
        values[7] = r.ratio if r.ratio is not None else "—"
        sheet.append(values)
        if r.ratio is not None:
            sheet.cell(sheet.max_row, 8).number_format = "0.0%"
    sheet.append([])
    for note in NOTES:
        sheet.append(["注：" + note])
    for column, width in zip("ABCDEFGHIJ", (14, 7, 26, 11, 12, 13, 12, 9, 18, 70)):
        sheet.column_dimensions[column].width = width
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_html(rows: list[Row], path: Path, env, title: str = "市州人民政府节能减排目标责任评价考核结果") -> Path:
    text = env.get_template("assessment.html.j2").render(title=title, header=TABLE_HEADER, rows=table_rows(rows),
                                                          notes=NOTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ all outputs of a run

def read_records(paths, ruleset) -> tuple[list, list]:
    """prefecture_year and prefecture_period records of the input files (other kinds are left to `check`), and the
    table reports of the files they came from."""
    from engine.records import stream_file
    from engine.runner import regions_of
    regions = regions_of(ruleset)
    records, tables = [], []
    for path in paths:
        for table, items, _rejections in stream_file(Path(path), ruleset.schemas, regions, None, None):
            if table.kind in ("prefecture_year", "prefecture_period"):
                records.extend(items)
                if not any(table is t for t in tables):
                    tables.append(table)
    return records, tables


def write_outputs(records, ruleset, settings: A.Settings, config: dict, out: Path, letter_config: dict,
                  authorities: dict, issue_date, formats=("html", "md", "docx", "pdf"), first_number: int = 1,
                  tables=(), numbering=None) -> list[Path]:
    """考核结果 (xlsx, html), 预警 table (html), charts (svg) and the 预警通报 in every format; returns paths written.
    `numbering`: the run store's (letters → letters with their 文号 from the register); without it the 预警通报
    takes `first_number`."""
    from engine import assessment_charts as charts, warning
    from engine import warning_letter
    from engine.letters import make_environment, write_letters
    from engine.letter_builders import issuers_for
    out = Path(out)
    params = ruleset.params
    env = make_environment()
    rows = assess(records, params, settings, config)
    written = [write_xlsx(rows, out / "考核结果.xlsx"), write_html(rows, out / "考核结果.html", env)]
    inside, problems = warning.within_year(records, params, settings, config)
    across = warning.across_years(records, params, settings, config)
    text = env.get_template("assessment.html.j2").render(
        title="节能目标完成进度预警", header=warning.TABLE_HEADER, rows=warning.table_rows(inside + across),
        notes=(WARNING_NOTES[0], WARNING_NOTES[1], cutoff_note(config), WARNING_NOTES[2], *problems))
    (out / "预警.html").write_text(text, encoding="utf-8")
    written.append(out / "预警.html")
    for prefecture, region in dict.fromkeys((r.prefecture, r.region) for r in rows):
        written.append(charts.paths_chart(rows, params, settings, prefecture, region,
                                          out / "charts" / f"目标路径_{region}.svg"))
    grid = charts.warning_grid_chart(inside, out / "charts" / "预警等级_按季度.svg")
    if grid:
        written.append(grid)
    cfg = letter_config["early_warning"]
    issuers = issuers_for(cfg, warning_letter.ACTING, authorities)
    number = f"{authorities[issuers[0]]['prefix']}〔{issue_date.year}〕{first_number}号"
    letter = warning_letter.build(inside, letter_config, authorities, ruleset.documents, config["warning"],
                                  issue_date, number)
    if letter is not None:
        if numbering is not None:
            (letter,) = numbering([letter])
        for fmt in formats:
            written += write_letters([letter], [], run_manifest(ruleset, issue_date, tables, settings), letter_config,
                                     out / f"预警通报-{fmt}", fmt, issue_date)
    return written


WARNING_NOTES = (
    "年内预警：能源消费量按“至本期累计÷已过月数×12”预计全年（不考虑季节性），与年度目标比较；单位GDP能耗以同比降幅与该年度要求的降幅比较，"
    "年度要求降幅由累计降幅目标换算：1−(1−本年累计目标)/(1−上年累计目标)。",
    "跨年预警：2016—2019年度记录按时间进度外推至2020年，与附件1的五年目标比较。",
    "目标来源为“推算（非下达）”的，目标系按五年目标推算的估计值，不是省上下达的目标。",
)


def cutoff_note(config: dict) -> str:
    c, r = config["warning"]["cap"], config["warning"]["reduction"]
    return (f"预警等级分界为本工具的可配置设置（templates/assessment.yaml），不是文件规定：能源消费量预计值与目标之比大于"
            f"{c['red_above'] * 100:.0f}%为一级（红色），大于{c['yellow_above'] * 100:.0f}%为二级（黄色）；能耗强度降幅进度比低于"
            f"{r['red_below'] * 100:.0f}%为一级，低于{r['yellow_below'] * 100:.0f}%为二级；其余为三级（绿色）。"
            f"预警是进度提示，不是考核结论，不产生任何处理措施。")


def run_manifest(ruleset, as_of, tables, settings: A.Settings) -> dict:
    from engine.runner import manifest
    entry = manifest(ruleset, as_of, list(tables), [])
    entry["annual_targets"] = settings.manifest_entry()
    return entry
