"""Bad input files and broken rule files: each gives the exact user-visible error (where, what, how to fix) and the
documented exit code, never a traceback.

Commands run in a subprocess (`python -m engine.cli …` from the repository root), through the real entry point
`engine.cli.main`; `rules validate` (which evaluates nothing) runs through the same `main` in this process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CORE_RULES, cli_run, copy_core_rules, yaml_file


@pytest.fixture(autouse=True, scope="module")
def _both_readers(both_readers):
    """Every table read in this module goes through the column-wise and the row-by-row reader, which must agree."""


ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SCHEMAS = ROOT / "inputs" / "schemas"
BOILERS = "inputs/samples/boilers.csv"
AS_OF = "2021-12-31"
KINDS = tuple(yaml_file(p)["kind"] for p in sorted(SCHEMAS.glob("*.yaml")))

BOILER_HEADER = "使用单位,锅炉编号,市州,燃料种类,测试类型,出厂日期,测试日期,额定蒸发量（t/h）,热效率（%）"
PREFECTURE_HEADER = "市州,年度,单位GDP能耗累计降幅（%）,能源消费总量（万吨标准煤）"


# Input tests and broken-rule tests run against a copy of rules/ holding only these nine rules, so that their exact
# expectations hold while rules/ grows (and each run loads 9 rule files, not all of them).
CORE: list = []  # ["--rules", <core copy>, "--schemas", SCHEMAS], set once per module




@pytest.fixture(scope="module", autouse=True)
def _core_rules(tmp_path_factory):
    CORE[:] = ["--rules", copy_core_rules(tmp_path_factory.mktemp("core") / "rules"), "--schemas", SCHEMAS]


def run(*args, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`ecocheck ARGS` in this process (engine.cli.main under click's test isolation); never a traceback."""
    return cli_run(*args, cwd=cwd)


def run_subprocess(*args, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python -m engine.cli ARGS` in a child process, as a user runs it: for the few tests of the real process."""
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    return proc


def check(path, *args) -> subprocess.CompletedProcess:
    return run("check", path, "--as-of", AS_OF, *args, *CORE)


def check_json(*args) -> tuple[subprocess.CompletedProcess, dict]:
    proc = run("check", *args, "--as-of", AS_OF, "--format", "json", *CORE)
    return proc, json.loads(proc.stdout)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def assert_input_error(proc, path: Path, *fragments: str):
    """Exit 3; stderr has `错误：<file>：…` and every fragment; no internal error."""
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    assert f"错误：{path}：" in proc.stderr, proc.stderr
    assert "内部错误" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


# ------------------------------------------------------------------ files that cannot be read

def test_unclosed_quote(tmp_path):
    path = write(tmp_path / "unclosed.csv", f'{BOILER_HEADER}\n"兰州某热力,GL-1,兰州市\nx,y\n')
    assert_input_error(check(path), path, "不是可读的 CSV 表格", "引号是否成对")


ROW = "兰州某热力,GL-{n},兰州市,燃煤,验收,2021-03-15,2021-10-20,20,78"


@pytest.mark.parametrize("extra", [3, 40])
def test_ragged_rows_are_not_silently_cut(tmp_path, extra):
    path = write(tmp_path / "ragged.csv", f"{BOILER_HEADER}\n{ROW.format(n=1)}\n{ROW.format(n=2)}{',x' * extra}\n"
                                          f"{ROW.format(n=3)}\n")
    proc, report = check_json(path)
    notes = " ".join(str(n) for entry in report["manifest"]["inputs"] for n in entry.get("notes", []))
    flagged = (proc.returncode == 3 and f"错误：{path}" in proc.stderr
               or any(r["row"] == 3 for r in report["rejected"])
               or re.search(r"(row|line) 3\b|第3行", notes))
    assert flagged, (proc.returncode, report["rejected"], notes)


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "random.csv"
    path.write_bytes(bytes(range(128, 256)) * 16)
    proc = check(path)
    assert_input_error(proc, path, "无法识别文字编码", "处理办法：在 Excel 中另存为")
    assert "utf-8" in proc.stderr.lower() and "gb18030" in proc.stderr.lower()


def test_gbk_encoded_csv_is_read(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(f"{BOILER_HEADER}\n兰州某热力,GL-1,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,78\n".encode("gb18030"))
    proc, report = check_json(path)
    assert proc.returncode == 1
    assert [(f["rule_id"], f["subject"]["name"]) for f in report["findings"]] == [("BOILER-001", "兰州某热力")]


def test_empty_json(tmp_path):
    path = write(tmp_path / "empty.json", "")
    assert_input_error(check(path), path, "空的")


def test_empty_xlsx(tmp_path):
    path = write(tmp_path / "empty.xlsx", "")
    assert_input_error(check(path), path, "不是可读的 XLSX 工作簿", "重新另存为 .xlsx")


@pytest.mark.parametrize("name,text", [("empty.csv", ""), ("blank.csv", "\n\n\n")])
def test_empty_csv_is_named(tmp_path, name, text):
    path = write(tmp_path / name, text)
    assert_input_error(check(path), path, "空的")


def test_one_column_csv_is_read(tmp_path):
    path = write(tmp_path / "onecolumn.csv", "锅炉编号\nGL-1\n")
    proc, report = check_json(path)
    assert proc.returncode == 0, proc.stderr
    entry = report["manifest"]["inputs"][0]
    assert (entry["kind"], entry["rows"], entry["evaluated"]) == ("boiler", 1, 1)


def test_empty_csv_does_not_stop_the_other_files(tmp_path):
    path = write(tmp_path / "empty.csv", "")
    proc = run("check", BOILERS, path, "--as-of", AS_OF, *CORE)
    assert proc.returncode == 3
    assert "GL-2021-001" in proc.stdout
    assert f"错误：{path}：" in proc.stderr


def test_header_only_csv_has_no_records(tmp_path):
    path = write(tmp_path / "header.csv", BOILER_HEADER + "\n")
    proc = check(path, "--format", "json")
    assert "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    assert report["manifest"]["inputs"][0]["rows"] == 0 and report["findings"] == []


@pytest.mark.parametrize("text", ['{"a": 1}', '"just text"'])
def test_json_that_is_not_a_list(tmp_path, text):
    path = write(tmp_path / "records.json", text)
    assert_input_error(check(path), path, "JSON 应是记录的列表")


def test_invalid_json(tmp_path):
    path = write(tmp_path / "broken.json", '[{"项目代码": "P-1",]')
    assert_input_error(check(path), path, "不是有效的 JSON", "第1行第17列：此处应有用双引号括起的键名")


def test_deeply_nested_json(tmp_path):
    path = write(tmp_path / "deep.json", '{"records": ' + "[" * 10000 + "]" * 10000 + "}")
    assert_input_error(check(path), path, "JSON")


def test_moderately_nested_json_is_refused_with_the_fix(tmp_path):
    path = write(tmp_path / "deep.json", json.dumps([{"项目代码": "P-1", "x": json.loads("[" * 30 + "]" * 30)}]))
    assert_input_error(check(path), path, "JSON 嵌套超过", "给出扁平记录的列表")


def test_deeply_nested_json_beside_a_good_file(tmp_path):
    path = write(tmp_path / "deep.json", "[" * 10000 + "]" * 10000)
    proc = run("check", BOILERS, path, "--as-of", AS_OF, *CORE)
    assert proc.returncode == 3
    assert "GL-2021-001" in proc.stdout
    assert f"错误：{path}：" in proc.stderr


def test_json_item_that_is_not_an_object_is_rejected(tmp_path):
    path = write(tmp_path / "projects.json", json.dumps([
        {"项目代码": "P-1", "项目名称": "某项目", "建设单位": "某公司", "所在市州": "兰州",
         "是否高耗能项目": "否", "是否新增排放重点污染物": "否", "审批状态": "待审批"},
        "just a string",
    ], ensure_ascii=False))
    proc, report = check_json(path)
    entry = report["manifest"]["inputs"][0]
    assert (entry["rows"], entry["evaluated"], entry["rejected"]) == (2, 1, 1)
    assert [r["row"] for r in report["rejected"] if r["scope"] == "row"] == [3]
    assert all(f["subject"]["id"] == "P-1" for f in report["findings"])


def test_unsupported_suffix(tmp_path):
    path = write(tmp_path / "boilers.ods", "x")
    assert_input_error(check(path), path, "不支持的文件类型“.ods”", ".csv、.xlsx 或 .json")


def test_unknown_headers_list_the_kinds(tmp_path):
    path = write(tmp_path / "other.csv", "colour,weight\nred,3\n")
    proc = check(path)
    assert_input_error(proc, path, "不是 ecocheck 认识的记录类型", "第一行为：colour、weight", "--kind")
    for kind in KINDS:
        assert kind in proc.stderr


def test_a_generic_name_column_alone_is_not_a_record_kind(tmp_path):
    path = write(tmp_path / "fruit.csv", "名称,数量\n苹果,3\n")
    assert_input_error(check(path), path, "不是 ecocheck 认识的记录类型")


def test_given_kind_without_its_id_column(tmp_path):
    path = write(tmp_path / "boilers.csv", "使用单位,市州\n某厂,兰州\n")
    assert_input_error(check(path, "--kind", "boiler"), path, "没有“锅炉编号”（boiler_id）列",
                       "增加一列，表头写“锅炉编号”")


def test_the_suggested_template_command_gives_headers_check_reads(tmp_path):
    path = write(tmp_path / "other.csv", "colour,weight\nred,3\n")
    assert "ecocheck template 类型" in check(path).stderr
    template = tmp_path / "boiler_template.csv"
    proc = run("template", "boiler", "--format", "csv", "--out", template)
    assert proc.returncode == 0, proc.stderr
    # One record under the template's own headers, in the template's own column order.
    text = template.read_text(encoding="utf-8-sig")
    header = text.splitlines()[0].split(",")
    values = {"使用单位": "兰州某热力", "锅炉编号": "GL-1", "市州": "兰州市", "燃料种类": "燃煤", "出厂日期": "2021-03-15",
              "测试类型": "验收", "测试日期": "2021-10-20", "热效率（%）": "78", "额定蒸发量（t/h）": "20"}
    assert {"锅炉编号", "热效率（%）", "出厂日期"} <= set(header), header
    text = text.rstrip("\r\n") + "\n" + ",".join(values.get(h, "") for h in header) + "\n"
    template.write_text(text, encoding="utf-8")
    proc, report = check_json(template)
    assert report["manifest"]["inputs"][0]["kind"] == "boiler"
    assert [(f["rule_id"], f["status"]) for f in report["findings"]] == [("BOILER-001", "violation")]


def test_template_unknown_kind_is_a_usage_error(tmp_path):
    proc = run("template", "nosuchkind", "--out", tmp_path / "x.csv")
    assert proc.returncode == 2
    assert "没有“nosuchkind”这种记录类型" in proc.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("command", ["check", "letters"])
def test_unknown_kind_is_a_usage_error(tmp_path, command):
    args = [command, BOILERS, "--kind", "nosuchkind", "--as-of", AS_OF]
    if command == "letters":
        args += ["--out", tmp_path / "out"]
    proc = run(*args, *CORE)
    assert proc.returncode == 2, proc.stderr
    assert "错误：没有“nosuchkind”这种记录类型" in proc.stderr
    listed = re.findall(r"（([a-z_]+)）", proc.stderr.split("记录类型：", 1)[1])  # 锅炉（boiler）、…
    assert sorted(listed) == sorted(KINDS)


# ------------------------------------------------------------------ broken rule files

@pytest.fixture
def rules_copy(tmp_path) -> Path:
    return copy_core_rules(tmp_path / "rules")


def validate(directory: Path) -> subprocess.CompletedProcess:
    """`ecocheck rules validate DIRECTORY --schemas inputs/schemas`, in this process through engine.cli.main (no
    rule is evaluated, so nothing is left behind), with its exit code, stdout and stderr."""
    from engine.cli import main

    args = ["rules", "validate", str(directory), "--schemas", str(SCHEMAS)]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    proc = subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def edit(path: Path, old: str, new: str):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def assert_rule_error(proc, path: Path, *fragments: str):
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.startswith(f"错误：{path}"), proc.stderr
    assert "规则有效" not in proc.stdout
    assert "内部错误" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


def test_copied_rules_validate(rules_copy):
    proc = validate(rules_copy)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"规则有效：共 {len(CORE_RULES)} 条")


def test_typo_operator(rules_copy):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "  op: lt\n", "  op: lte\n")
    assert_rule_error(validate(path.parents[1]), path, "规则 BOILER-001", "when.op", "未知的运算符“lte”",
                      "可用的运算符：eq, ne, lt, le")


def test_typo_operator_suggests_le(rules_copy):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "  op: lt\n", "  op: lte\n")
    assert "是否应为“le”" in validate(rules_copy).stderr


def test_typo_operator_makes_check_exit_3(rules_copy):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "  op: lt\n", "  op: lte\n")
    proc = run("check", BOILERS, "--rules", rules_copy, "--schemas", SCHEMAS, "--as-of", AS_OF)
    assert_rule_error(proc, path, "未知的运算符“lte”")
    assert proc.stdout == ""


def test_unknown_field(rules_copy):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "  field: efficiency_pct\n", "  field: efficency_pct\n")
    assert_rule_error(validate(rules_copy), path, "规则 BOILER-001", "字段“when”",
                      "“efficency_pct”不是 boiler 的字段", "是否应为“efficiency_pct”",
                      "boiler 的字段：")


@pytest.mark.parametrize("placeholder", ["{name!r}", "{checks:>20}"])
def test_message_placeholder_with_a_format(rules_copy, placeholder):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "热效率不达标：{checks}", f"热效率不达标：{placeholder}")
    assert_rule_error(validate(rules_copy), path, "规则 BOILER-001", "finding.message", "带了格式说明或转换",
                      "占位符只写名称，如 {name}")


def test_article_that_does_not_exist(rules_copy):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "article: 三.（十三）", "article: 三.（九十）")
    assert_rule_error(validate(rules_copy), path, "规则 BOILER-001", "source.article",
                      "甘肃省“十三五”节能减排综合工作方案中没有条款“三.（九十）”",
                      "按印发文本写条款")


def test_quote_not_in_the_article(rules_copy):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "quote: 到2020年新生产燃煤锅炉效率不低于80%\nforce", "quote: 到2020年新生产燃煤锅炉效率不低于85%\nforce")
    assert_rule_error(validate(rules_copy), path, "规则 BOILER-001", "source.quote",
                      "引文不在 三.（十三） 的原文中", "从条文中原样抄录")


def test_missing_indeterminate_example(rules_copy):
    path = rules_copy / "coal" / "COAL-001.yaml"
    rule = yaml_file(path)
    rule["examples"] = [e for e in rule["examples"] if e["expect"] != "indeterminate"]
    path.write_text(yaml.safe_dump(rule, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert_rule_error(validate(rules_copy), path, "规则 COAL-001", "字段“examples”",
                      "没有 expect: indeterminate 的示例")


def test_duplicate_id(rules_copy):
    first = rules_copy / "boilers" / "BOILER-001.yaml"
    second = rules_copy / "coal" / "BOILER-001.yaml"
    shutil.copy(first, second)
    assert_rule_error(validate(rules_copy), second, "规则 BOILER-001", f"编号“BOILER-001”也被 {first} 使用")


def test_id_not_matching_file_name(rules_copy):
    path = rules_copy / "coal" / "COAL-001.yaml"
    edit(path, "id: COAL-001", "id: COAL-002")
    assert_rule_error(validate(rules_copy), path, "字段“id”", "与文件名“COAL-001”不符")


def test_invalid_yaml_names_the_line(rules_copy):
    path = rules_copy / "boilers" / "BOILER-002.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("severity:"))
    lines[number - 1] = "severity: major: oops\n"
    path.write_text("".join(lines), encoding="utf-8")
    assert_rule_error(validate(rules_copy), path, "YAML 格式有误", f"第{number}行第")


def test_unknown_top_level_key(rules_copy):
    path = rules_copy / "boilers" / "BOILER-003.yaml"
    edit(path, "severity: minor", "severity: minor\nseverty: minor")
    assert_rule_error(validate(rules_copy), path, "未知的键“severty”", "是否应为“severity”")


def test_bad_severity(rules_copy):
    path = rules_copy / "boilers" / "BOILER-003.yaml"
    edit(path, "severity: minor", "severity: high")
    assert_rule_error(validate(rules_copy), path, "字段“severity”", "severity“high”不是 critical, major, minor 之一")


LIMIT = "  value: {param: provision_thresholds.value, key: new_coal_boiler_efficiency_min_pct}\n"
WHEN = "when:\n  field: efficiency_pct\n  op: lt\n" + LIMIT


@pytest.mark.parametrize("old,new", [
    (LIMIT, "  value: 80\n"),  # block style
    (LIMIT, "  value: 80  # 新生产燃煤锅炉 80%\n"),  # a trailing comment
    (WHEN, "when: {field: efficiency_pct, op: lt, value: 80}\n"),  # flow style
    (WHEN, "when:\n  any:\n    - {field: efficiency_pct, op: lt, value: 79.5}\n    - {field: efficiency_pct, op: absent}\n"),
])
def test_a_number_copied_into_a_condition_is_refused(rules_copy, old, new):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, old, new)
    assert_rule_error(validate(rules_copy), path, "规则 BOILER-001", "字段“when", ".value”",
                      "写在规则里的数字", "限值不抄进规则", "rules/parameters/", "value: {param: 表.列, key: 行键}")


def test_a_number_in_an_applicability_filter_is_no_limit(rules_copy):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "      - {field: fuel, op: eq, value: coal}\n",
         "      - {field: fuel, op: eq, value: coal}\n      - {field: efficiency_pct, op: ge, value: 0}\n")
    assert validate(rules_copy).returncode == 0


@pytest.mark.parametrize("old,new,line,key", [
    ("severity: major\n", "severity: major\nseverity: critical\n", 5, "severity"),  # appended at the top level
    ("  op: lt\n", "  op: lt\n  op: le\n", None, "op"),  # inside a condition
    ("{field: fuel, op: eq, value: coal}", "{field: fuel, op: eq, value: coal, value: gas}", None, "value"),  # flow
])
def test_a_key_given_twice_is_refused(rules_copy, old, new, line, key):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, old, new)
    proc = validate(rules_copy)
    assert_rule_error(proc, path, f"的键“{key}”重复", "行已有", "处理办法：删去其中一个")
    if line is not None:
        assert f"第{line + 1}行的键“severity”重复（第{line}行已有）" in proc.stderr


def test_a_rule_is_out_of_force_after_its_until_date(rules_copy):
    path = rules_copy / "boilers" / "BOILER-001.yaml"
    edit(path, "in_force: {from: 2021-01-01}", "in_force: {from: 2021-01-01, until: 2021-06-30}")
    listed = {day: run("rules", "list", "--rules", rules_copy, "--schemas", SCHEMAS, "--as-of", day).stdout
              for day in ("2021-06-30", "2021-07-01")}
    assert "BOILER-001" in listed["2021-06-30"] and "BOILER-001" not in listed["2021-07-01"]
    assert "BOILER-002" in listed["2021-07-01"]


def test_a_dated_parameter_table_gives_the_value_in_force_on_a_date(tmp_path):
    from engine.errors import ParameterError
    from engine.params import load_table
    (tmp_path / "caps.yaml").write_text("source: {document: energy-plan}\nkey: region\ndated_by: since\n"
                                        "columns: {cap: {unit: 万吨}}\n", encoding="utf-8")
    csv_path = tmp_path / "caps.csv"
    csv_path.write_text("region,since,cap\n兰州,2016-01-01,10\n兰州,2018-01-01,8\n", encoding="utf-8")
    table = load_table(csv_path)
    assert table.value("cap", "兰州", dt.date(2015, 12, 31)) is None  # none in force yet
    assert table.value("cap", "兰州", dt.date(2017, 6, 1)) == 10
    assert table.value("cap", "兰州", dt.date(2018, 1, 1)) == 8
    csv_path.write_text("region,since,cap\n兰州,2016-13-01,10\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="不是日期"):
        load_table(csv_path)


def test_validate_a_directory_that_does_not_exist(tmp_path):
    missing = tmp_path / "nothing"
    assert_rule_error(validate(missing), missing, "找不到规则目录")


# ------------------------------------------------------------------ value problems and row accounting

def test_unreadable_value_keeps_the_row_and_makes_the_rule_indeterminate(tmp_path):
    path = write(tmp_path / "boilers.csv", f"{BOILER_HEADER}\n"
                                           "兰州某热力,GL-9,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,abc\n")
    proc, report = check_json(path)
    assert proc.returncode == 0  # no violation: only an indeterminate
    entry = report["manifest"]["inputs"][0]
    assert (entry["rows"], entry["evaluated"], entry["rejected"]) == (1, 1, 0)
    finding = next(f for f in report["findings"] if f["rule_id"] == "BOILER-001")
    assert finding["status"] == "indeterminate"
    assert finding["subject"]["id"] == "GL-9" and finding["source"]["row"] == 2
    assert "热效率" in finding["message"] and "“abc”" in finding["message"]
    assert [(r["row"], r["column"], r["value"], r["scope"]) for r in report["rejected"]] == \
        [(2, "热效率", "abc", "value")]
    assert "“abc”不是数值" in report["rejected"][0]["reason"]


def test_out_of_range_value_is_set_aside(tmp_path):
    path = write(tmp_path / "boilers.csv", f"{BOILER_HEADER}\n"
                                           "兰州某热力,GL-9,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,150\n")
    proc, report = check_json(path)
    assert [(f["rule_id"], f["status"]) for f in report["findings"]] == [("BOILER-001", "indeterminate")]
    rejected = report["rejected"][0]
    assert (rejected["column"], rejected["value"], rejected["scope"]) == ("热效率", "150", "value")
    assert "0–100" in rejected["reason"]


def test_row_without_its_id_is_rejected_and_accounted(tmp_path):
    path = write(tmp_path / "boilers.csv", f"{BOILER_HEADER}\n"
                                           "兰州某热力,GL-1,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,78.6\n"
                                           "兰州某热力,,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,70\n"
                                           "兰州某热力,GL-3,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,abc\n")
    proc, report = check_json(path)
    assert proc.returncode == 1
    entry = report["manifest"]["inputs"][0]
    assert (entry["rows"], entry["evaluated"], entry["rejected"]) == (3, 2, 1)
    assert entry["rows"] == entry["evaluated"] + entry["rejected"]
    rows = [r for r in report["rejected"] if r["scope"] == "row"]
    assert len(rows) == 1
    assert (rows[0]["row"], rows[0]["column"]) == (3, "锅炉编号")
    assert "锅炉编号" in rows[0]["reason"] and "请填写锅炉编号" in rows[0]["reason"]
    assert report["summary"]["rejected_rows"] == 1
    assert {f["subject"]["id"] for f in report["findings"]} == {"GL-1", "GL-3"}
    # The table tells the same accounting.
    proc = check(path)
    assert re.search(r"读取 3 = 评估 2 \+ 拒收 1", proc.stdout)


def test_unknown_prefecture_name_is_a_value_problem(tmp_path):
    path = write(tmp_path / "boilers.csv", f"{BOILER_HEADER}\n"
                                           "某热力,GL-1,兰洲市,燃煤,验收,2021-03-15,2021-10-20,20,78.6\n")
    proc, report = check_json(path)
    rejected = report["rejected"][0]
    assert (rejected["column"], rejected["value"], rejected["scope"]) == ("市州", "兰洲市", "value")
    assert "不是甘肃省的市州" in rejected["reason"] and "兰州" in rejected["reason"]
    assert report["manifest"]["inputs"][0]["evaluated"] == 1


def test_one_record_breaking_two_rules_gives_two_findings(tmp_path):
    # 兰州: intensity fell 10% (target 20%) and consumption 3000 (cap 2899): PREF-001 and PREF-002.
    path = write(tmp_path / "prefectures.csv", f"{PREFECTURE_HEADER}\n兰州市,2020,10,3000\n")
    proc, report = check_json(path)
    assert proc.returncode == 1
    violations = [f for f in report["findings"] if f["status"] == "violation"]
    assert sorted(f["rule_id"] for f in violations) == ["PREF-001", "PREF-002"]
    assert {(f["subject"]["id"], f["source"]["row"]) for f in violations} == {("兰州/2020", 2)}
    by_rule = {f["rule_id"]: f for f in violations}
    assert float(by_rule["PREF-001"]["observed"]["intensity_reduction_pct"]) == 10
    assert float(by_rule["PREF-002"]["observed"]["energy_consumption_10k_tce"]) == 3000
    assert report["manifest"]["inputs"][0]["evaluated"] == 1
