"""Test helpers: run records written as text through the whole check and plan the letters they call for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.letter_builders import Context
from engine.letter_config import load_authorities, load_letter_config
from engine.letter_plan import plan_letters
from engine.letters import render_letters
from engine.runner import check

ISSUE = dt.date(2026, 11, 21)
AS_OF = dt.date(2026, 1, 1)


def write(tmp_path: Path, files: dict) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text.strip() + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def run(ruleset, tmp_path: Path, files: dict, as_of: dt.date = AS_OF):
    result = check(write(tmp_path, files), ruleset, as_of, keep_results=True)
    assert not result.failed, result.failed
    return result.report


def context(ruleset, config: dict | None = None, issue_date: dt.date = ISSUE) -> Context:
    return Context(config=config or load_letter_config(None), authorities=load_authorities(),
                   documents=ruleset.documents, schemas=ruleset.schemas, measures=ruleset.measures,
                   issue_date=issue_date)


def plan(ruleset, report, config: dict | None = None):
    return plan_letters(report.findings, context(ruleset, config))


def render(ruleset, report, out: Path, fmt: str = "html", config: dict | None = None):
    return render_letters(report.findings, report.manifest, config or load_letter_config(None), out, fmt, ISSUE,
                          documents=ruleset.documents, schemas=ruleset.schemas, measures=ruleset.measures)


def states(report, rule_id: str) -> list[str]:
    return [r.status for r in report.results if r.rule_id == rule_id]


PREFECTURE_HEADER = ("市州,年度,单位GDP能耗累计降幅（%）,能源消费总量（万吨标准煤）,化学需氧量排放量（吨）,氨氮排放量（吨）,"
                     "二氧化硫排放量（吨）,氮氧化物排放量（吨）,环境质量改善目标是否完成")
PROJECT_HEADER = "项目代码,项目名称,建设单位,项目单位统一社会信用代码,所在市州,是否高耗能项目,是否新增排放重点污染物,审批状态,建设性质"
KEY_UNIT_HEADER = "单位名称,统一社会信用代码,所在市州,考核年度,节能目标完成情况"
