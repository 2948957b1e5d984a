"""The terminal table of a check (`--format table`, the default): three lines a finding, then the accounting, as a
finding-by-finding reference writes it; from Findings and from the stored headlines alike, in both languages."""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest

from engine import runner
from engine.findings import Report
from engine.lang import set_language, tr
from engine.report_writers import accounting_lines, write_table
from engine.safe_text import for_terminal
from tests.conftest import ROOT

SAMPLES = ROOT / "inputs" / "samples"


def _reference(report: Report) -> str:
    """Each finding written on its own: the table as it was before texts that repeat were escaped once."""
    t = for_terminal
    out = io.StringIO()
    for f in report.findings:
        if tr("zh", "en") == "zh":
            mark = {"violation": "违反", "gap": "差距"}.get(f.status, "无法判定")
            kind = report.kind_titles.get(f.subject.kind, f.subject.kind)
            out.write(f"[{mark}] {t(f.rule_id)} {t(kind)}：{t(f.subject.id)} {t(f.subject.name)}"
                      f"（{t(f.source.file)} 第{f.source.row}行）\n")
        else:
            mark = {"violation": "violation", "gap": "gap"}.get(f.status, "indeterminate")
            out.write(f"[{mark}] {t(f.rule_id)} {t(f.subject.kind)}:{t(f.subject.id)} {t(f.subject.name)} "
                      f"({t(f.source.file)} row {f.source.row})\n")
        out.write(f"    {t(f.message)}\n")
        out.write(tr(f"    依据 {t(f.citation.document_title)} {t(f.citation.article)}\n",
                     f"    basis: {t(f.citation.document_title)} {t(f.citation.article)}\n"))
    return out.getvalue()


def _generated(directory) -> list:
    """Coal samples and boilers as plain CSVs (read column-wise: their findings stored as JSON and read back as
    headlines), with units and regions that repeat and a unit name that needs escaping."""
    rng = random.Random(3)
    regions = ["兰州市", "酒泉市", "天水市"]
    coal = directory / "coal.csv"
    bidi = "\u202e"
    rows = [f"S-{n},经销点{n % 7}{bidi if n % 50 == 0 else ''},{rng.choice(regions)},烟煤,"
            f"{rng.choice(['9.5', '17.2', '', '16'])},{rng.choice(['0.5', '1.2', '未检测'])},2020-0{1 + n % 9}-15"
            for n in range(600)]
    coal.write_text("样品编号,销售单位,市州,煤种,灰分Ad（%）,\"全硫St,d（%）\",抽检日期\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    boilers = directory / "boilers.csv"
    rows = [f"单位{n % 5},GL-{n},{rng.choice(regions)},{rng.choice(['燃煤', '燃气'])},验收,2019-03-01,2020-05-01,4,"
            f"{rng.choice(['70.5', '95', '91', ''])},{rng.choice(['是', '否'])},是" for n in range(600)]
    boilers.write_text("使用单位,锅炉编号,市州,燃料种类,测试类型,出厂日期,测试日期,额定蒸发量（t/h）,热效率（%）,"
                       "是否在集中供热供气管网覆盖范围内,是否在用\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return [coal, boilers]


@pytest.fixture(scope="module", params=["samples", "generated"])
def sample_report(ruleset, request, tmp_path_factory):
    paths = sorted(p for p in SAMPLES.iterdir() if p.is_file()) if request.param == "samples" else \
        _generated(tmp_path_factory.mktemp("table"))
    report = runner.check(paths, ruleset, dt.date(2021, 12, 31)).report
    if request.param == "generated":  # (stored as JSON text, read back as headlines)
        assert {type(h).__name__ for h in report.findings.headlines()} == {"Headline"}
    return report


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_table_is_each_finding_written_on_its_own(sample_report, language):
    set_language(language)
    try:
        out = io.StringIO()
        write_table(sample_report, out)
        expected = _reference(sample_report)
        findings = list(sample_report.findings)
        articles = {(f.citation.document_title, f.citation.article) for f in findings}
        assert len(findings) > 100 and len(articles) > 1  # (many findings, under several provisions)
        text = out.getvalue()
        assert text.startswith(expected)
        assert text[len(expected):].startswith("\n" + "\n".join(accounting_lines(
            sample_report.manifest, sample_report.duplicates, sample_report.kind_titles)) + "\n")
    finally:
        set_language(None)
