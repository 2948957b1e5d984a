"""Chinese for people: what ecocheck tells a person (CLI lines, errors, rejection reasons, notes, click's own words,
--help) is Chinese by default, English only where an English word is the term; `--lang en` or ECOCHECK_LANG=en gives
English (engine/lang.py)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from engine import lang
from engine.conditions import OPERATORS
from engine.report_writers import REJECT_COLUMNS, REJECT_COLUMNS_ZH
from engine.records import load_file
from engine.runner import regions_of
from tests.conftest import ROOT, cli_run, copy_core_rules

AS_OF = "2021-12-31"
BOILER_HEADER = "使用单位,锅炉编号,市州,燃料种类,测试类型,出厂日期,测试日期,额定蒸发量（t/h）,热效率（%）"
# One row of every common mistake: a misspelt prefecture, an impossible date, a word for a number; a row without its
# id; a total row; a value out of range; a lone fraction; a row with cells right of the header.
BAD_BOILERS = "\n".join([
    BOILER_HEADER,
    "兰州某热力,GL-1,兰洲市,燃煤,验收,2021-02-30,2021-10-20,20,八十五",
    "兰州某热力,,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,70",
    "兰州某热力,GL-3,兰州市,燃煤,验收,2021-03-15,2099-10-20,20,185",
    "兰州某热力,GL-4,兰州市,燃煤,验收,2021-03-15,2021-10-20,1e999999999,78",
    "兰州某热力,GL-5,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,78,多余,单元格",
    "合计,,,,,,,,",
]) + "\n"
SAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "inputs" / "samples").iterdir()
                 if p.suffix in (".csv", ".xlsx", ".json"))


@pytest.fixture
def inputs(tmp_path) -> dict:
    """Files a careless export gives: bad values, a file that is not text, broken JSON, unknown headers, a GBK file
    separated by tabs under a title row with its units in the header."""
    bad = tmp_path / "boilers_bad.csv"
    bad.write_text(BAD_BOILERS, encoding="utf-8")
    undecodable = tmp_path / "random.csv"
    undecodable.write_bytes(bytes(range(128, 256)) * 8)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"项目代码": "P-1",]', encoding="utf-8")
    unknown = tmp_path / "other.csv"
    unknown.write_text("colour,weight\nred,3\n", encoding="utf-8")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(("2021年市州考核表\t\t\n市州\t年度\t化学需氧量排放量（万吨）\n兰州市\t2020\t3.6\n").encode("gb18030"))
    return {"bad": bad, "undecodable": undecodable, "broken": broken, "unknown": unknown, "gbk": gbk}


def rejects_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


# ---------------------------------------------------------------- the mechanism

def test_tr_gives_the_text_of_the_current_language(monkeypatch):
    monkeypatch.delenv(lang.ENVIRONMENT, raising=False)
    try:
        assert lang.current() == "zh" and lang.tr("中文", "English") == "中文"
        monkeypatch.setenv(lang.ENVIRONMENT, "en_US.UTF-8")
        assert lang.current() == "en" and lang.tr("中文", "English") == "English"
        lang.set_language("zh")  # --lang wins over the environment
        assert lang.tr("中文", "English") == "中文"
        monkeypatch.setenv(lang.ENVIRONMENT, "fr")  # a language ecocheck does not speak: Chinese
        lang.set_language(None)
        assert lang.current() == "zh"
        with pytest.raises(ValueError):
            lang.set_language("fr")
    finally:
        lang.set_language(None)


def test_lang_holds_for_one_run_only(tmp_path, ruleset):
    path = tmp_path / "b.csv"
    path.write_text(BAD_BOILERS, encoding="utf-8")
    assert "Error:" in cli_run("--lang", "en", "check", tmp_path / "nothing.csv", "--as-of", AS_OF).stderr
    loaded = load_file(path, ruleset.schemas, regions_of(ruleset))  # the library, after the run: Chinese again
    assert any("不是甘肃省的市州" in r.reason for r in loaded.rejected)


# ---------------------------------------------------------------- Chinese by default

def test_an_unreadable_file_is_an_error_in_chinese(inputs):
    proc = cli_run("check", inputs["undecodable"], "--as-of", AS_OF)
    assert proc.returncode == 3
    assert proc.stderr.startswith(f"错误：{inputs['undecodable']}：无法识别文字编码"), proc.stderr
    assert "处理办法：在 Excel 中另存为“CSV UTF-8”" in proc.stderr
    assert "Error" not in proc.stderr and "Fix" not in proc.stderr


def test_rejections_and_notes_in_chinese(inputs, tmp_path):
    rejects = tmp_path / "rejects.csv"
    proc = cli_run("check", inputs["bad"], inputs["gbk"], "--as-of", AS_OF, "--fail-on", "none", "--rejects", rejects)
    assert proc.returncode == 0, proc.stderr
    rows = rejects_of(rejects)
    assert tuple(rows[0]) == REJECT_COLUMNS_ZH
    reasons = {row[4] for row in rows[1:]}
    for expected in ("“兰洲市”不是甘肃省的市州；最接近的名称：兰州", "“2021-02-30”不是日历上有的日期",
                     "“八十五”不是数值（单位 %）", "说明行或合计行，不是一条记录", "“185”超出可能的范围 0–100 %",
                     "“1e999999999”太大，不可能是实测值"):
        assert expected in reasons, (expected, reasons)
    assert any(r.startswith("锅炉编号（boiler_id）为空：没有编号的记录无法在发现事项中指明；请填写锅炉编号") for r in reasons)
    assert any("“2099-10-20”晚于今天" in r for r in reasons)
    assert any(r.startswith("该行在最后一个表头右边还有 2 个填了值的单元格") for r in reasons)
    for line in ("文件：", f"{inputs['bad']} [锅炉]：读取 6 = 评估 3 + 拒收 3",
                 "注：按 GB18030/GBK 编码读取（不是 UTF-8）", "注：列以 TAB 分隔", "注：表头在第2行；上面的 1 行作为标题跳过",
                 "注：化学需氧量排放量：由 万吨 换算为 吨（×10000）", "结果：违反 1，差距 0，无法判定", f"已写入 {rejects}"):
        assert line in proc.stdout + proc.stderr, line


def test_the_findings_workbook_gives_the_reasons_in_chinese(inputs, tmp_path):
    import openpyxl
    out = tmp_path / "发现事项.xlsx"
    proc = cli_run("check", inputs["bad"], "--as-of", AS_OF, "--format", "xlsx", "--output", out, "--fail-on", "none")
    assert proc.returncode == 0, proc.stderr
    sheet = openpyxl.load_workbook(out, read_only=True)["拒收记录"]
    reasons = [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "“兰洲市”不是甘肃省的市州；最接近的名称：兰州" in reasons and "说明行或合计行，不是一条记录" in reasons


def test_clicks_own_words_are_chinese():
    proc = cli_run("check", "--bogus")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["用法： ecocheck check [选项] 路径...", "运行 ecocheck check --help 查看帮助。", "",
                                        "错误：没有 --bogus 这个选项。"]
    assert "错误：缺少参数 '路径...'" in cli_run("check").stderr
    assert "错误：'--format' 的值无效：“pdf”不是 'csv', 'json', 'table', 'xlsx' 之一。" in \
        cli_run("check", "x.csv", "--format", "pdf").stderr
    assert "错误：没有 nosuch 这个命令。" in cli_run("nosuch").stderr
    assert cli_run("--version").stdout.startswith("ecocheck，版本 ")


def test_help_is_chinese_and_english_with_lang_en():
    chinese = cli_run("check", "--help").stdout
    assert chinese.startswith("用法： ecocheck check [选项] 路径...")
    assert "选项:" in chinese and "--rules 目录" in chinese and "显示本帮助并退出。" in chinese
    assert "[默认：table]" in chinese and "Usage" not in chinese and "Options" not in chinese
    english = cli_run("--lang", "en", "check", "--help").stdout
    assert english.startswith("Usage: ecocheck check [OPTIONS] PATHS...")
    assert "Options:" in english and "--rules DIRECTORY" in english and "Show this message and exit." in english
    assert "Write the rejected rows and values" in english  # the English help written in engine/cli.py
    top = cli_run("--help").stdout
    assert "命令:" in top and "--lang [zh|en]" in top


def test_help_options_stay_aligned_with_chinese_placeholders():
    lines = cli_run("letters", "--help").stdout.splitlines()
    from engine.help_zh import _display_width
    starts = {_display_width(line[:line.index(help_text)])
              for line in lines for help_text in ("输出目录", "规则目录", "覆盖默认设置", "把拒收的行") if help_text in line}
    assert len(starts) == 1, starts  # every help text starts in the same terminal column


# ---------------------------------------------------------------- English on request

def _english_run(inputs, tmp_path, *before):
    rejects = tmp_path / "rejects_en.csv"
    proc = cli_run(*before, "check", inputs["bad"], inputs["undecodable"], "--as-of", AS_OF, "--rejects", rejects)
    return proc, rejects_of(rejects)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_english_with_lang_en_or_ecocheck_lang(inputs, tmp_path, monkeypatch, how):
    if how == "option":
        proc, rows = _english_run(inputs, tmp_path, "--lang", "en")
    else:
        monkeypatch.setenv("ECOCHECK_LANG", "en")
        proc, rows = _english_run(inputs, tmp_path)
    assert proc.returncode == 3
    assert f"Error: {inputs['undecodable']}: cannot decode the text" in proc.stderr
    assert " Fix: save the file from Excel as 'CSV UTF-8'" in proc.stderr
    assert tuple(rows[0]) == REJECT_COLUMNS
    reasons = {row[4] for row in rows[1:]}
    assert "'兰洲市' is not a known prefecture of Gansu; closest known name: 兰州" in reasons
    assert "'八十五' is not a number in %" in reasons and "a note or total row, not a record" in reasons
    assert {row[5] for row in rows[1:]} == {"row", "value"}
    assert f"{inputs['bad']} [boiler]: read 6 = evaluated 3 + rejected 3" in proc.stdout
    assert "results: violation" in proc.stdout and "wrote " in proc.stderr
    assert not re.search(r"[\u4e00-\u9fff]", proc.stderr.replace(str(inputs["bad"]), ""))  # no Chinese word


def test_lang_zh_overrides_the_environment(inputs, monkeypatch):
    monkeypatch.setenv("ECOCHECK_LANG", "en")
    proc = cli_run("--lang", "zh", "check", inputs["undecodable"], "--as-of", AS_OF)
    assert proc.stderr.startswith("错误：")
    assert cli_run("check", "--bogus").stderr.endswith("Error: No such option '--bogus'.\n")


def test_english_in_a_child_process(inputs):
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "--lang", "en", "check", str(inputs["broken"])],
                          cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert proc.returncode == 3
    assert "Error: " in proc.stderr and "not valid JSON (Expecting property name" in proc.stderr


def test_both_readers_give_the_same_english_reasons(both_readers, tmp_path, ruleset):
    path = tmp_path / "b.csv"
    path.write_text(BAD_BOILERS, encoding="utf-8")
    lang.set_language("en")
    try:
        loaded = load_file(path, ruleset.schemas, regions_of(ruleset))  # (both_readers compares the two readers)
    finally:
        lang.set_language(None)
    reasons = [r.reason for r in loaded.rejected]
    assert "'2021-02-30' is not a real calendar date" in reasons
    assert any(r.startswith("锅炉编号 (boiler_id) is empty: a record without its id") for r in reasons)


# ---------------------------------------------------------------- no English words for people

TERMS = {"ecocheck", "CSV", "UTF", "GBK", "GB", "TAB", "JSON", "XLSX", "HTML", "MD", "DOCX", "PDF", "Excel", "YAML",
         "GDP", "SHA", "MiB", "Ad", "St", "d", "YYYY", "MM", "DD"}  # formats, encodings, date forms and the
# names of indicators as forms write them


def english_words(text: str) -> set[str]:
    """The English words of a text, leaving out file paths and names, numbers, ids, --options and units with digits."""
    words = set()
    for run in re.findall(r"[A-Za-z0-9_.\-/\\:%@+'~|\[\]]+", text):
        run = run.strip("'[]|:")
        if not run or run.startswith("-") or re.search(r"[/\\.\d_~]", run):
            continue
        words.update(re.findall(r"[A-Za-z]+", run))
    return words


def _allowed(ruleset, inputs: dict) -> set[str]:
    """The terms; identifiers (record kinds, field names, operators, command names); the records' own text."""
    from engine.cli import cli
    identifiers = set(ruleset.schemas) | {name for s in ruleset.schemas.values() for name in s.fields}
    commands = set(cli.commands) | set(cli.commands["rules"].commands)
    every = [*cli.commands.values(), *cli.commands["rules"].commands.values()]
    choices = {str(c) for command in every for param in command.params if isinstance(param.type, click.Choice)
               for c in param.type.choices}  # enum keys an option takes: csv, violation, geometric …
    record_text = english_words(inputs["unknown"].read_text(encoding="utf-8"))  # (quoted in its error: colour, weight)
    return TERMS | identifiers | set(OPERATORS) | commands | choices | record_text


def test_typical_runs_speak_chinese(inputs, tmp_path, ruleset):
    """check on the samples with bad and unreadable files, letters, rules validate (good and broken rules), a usage
    error and --help: no English word on stdout or stderr but the terms, file names, ids and options."""
    bad_rules = copy_core_rules(tmp_path / "rules")
    rule = bad_rules / "boilers" / "BOILER-001.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("  op: lt\n", "  op: lte\n", 1), encoding="utf-8")
    files = [*SAMPLES, *(inputs[k] for k in ("bad", "undecodable", "broken", "unknown", "gbk"))]
    runs = [
        ("check", *files, "--as-of", AS_OF, "--rejects", tmp_path / "rejects.csv"),
        ("letters", *files, "--out", tmp_path / "letters", "--as-of", AS_OF, "--issued-on", AS_OF),
        ("letters", *SAMPLES, "--out", tmp_path / "letters"),  # a used folder
        ("rules", "validate"),
        ("rules", "validate", bad_rules),
        ("check", inputs["bad"], "--as-of", "31/12/2021"),
        ("assess", "inputs/samples/prefectures_2016_2020.csv", "inputs/samples/prefecture_periods_2019.csv", "--out",
         tmp_path / "assessment", "--params", "inputs/samples/params", "--issued-on", AS_OF),
        ("check", "--help"),
        ("template", "锅炉炉", "--out", tmp_path / "t.xlsx"),
    ]
    allowed = _allowed(ruleset, inputs) | {"lte"}  # (the broken rule's own typo, quoted in its error)
    for args in runs:
        proc = cli_run(*args)
        shown = proc.stdout + proc.stderr
        assert re.search(r"[\u4e00-\u9fff]", shown), args
        found = english_words(shown) - allowed
        assert not found, (args[:2], sorted(found), shown[-2000:])
    reasons = " ".join(row[4] for row in rejects_of(tmp_path / "rejects.csv")[1:])
    assert not english_words(reasons) - allowed, sorted(english_words(reasons) - allowed)
