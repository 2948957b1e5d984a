"""End-to-end tests of the ecocheck command line: `check`, `rules …`, `letters` and `demo`, run as a user runs them.

Commands run in this process through the real entry point `engine.cli.main` (which turns errors into `错误：…` and
exit codes) under click's test isolation; a few (`samples`, the CSV bytes, usage and input errors) run in a child
process (`python -m engine.cli …`) exactly as on a terminal.
Expected values are worked out here from the sample inputs and parameter tables, not copied from the tool's output.
Runs on the bundled samples use the bundled rules; runs on made-up inputs use a copy of rules/ that holds only the
nine rules they are written for (see CORE_RULES).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml

from engine import __version__
from engine.rules import rule_files as engine_rule_files
from tests.conftest import cli_run, copy_core_rules, yaml_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "inputs" / "samples"
SCHEMAS = ROOT / "inputs" / "schemas"
RULES = ROOT / "rules"
AS_OF = "2021-12-31"

BOILERS = "inputs/samples/boilers.csv"
COAL = "inputs/samples/coal_samples.xlsx"
PREFECTURES = "inputs/samples/prefectures_2020.csv"
PROJECTS = "inputs/samples/projects.json"
# The four sample files the expectations below are worked out from (inputs/samples/ may hold more).
SAMPLE_ARGS = [BOILERS, COAL, PREFECTURES, PROJECTS]
ALL_SAMPLES = [str(p.relative_to(ROOT)) for p in sorted(SAMPLES.iterdir())
               if p.is_file() and p.suffix.lower() in (".csv", ".xlsx", ".json")]
CHAIN_RULES = ("PROJ-001", "PROJ-002")

BOILER_HEADER = "使用单位,锅炉编号,市州,燃料种类,测试类型,出厂日期,测试日期,额定蒸发量（t/h）,热效率（%）"
COAL_HEADER = '样品编号,销售单位,市州,煤种,灰分Ad（%）,"全硫St,d（%）",抽检日期'


# ------------------------------------------------------------------ helpers

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


def check_json(*args) -> tuple[subprocess.CompletedProcess, dict]:
    proc = run("check", *args, "--format", "json")
    return proc, json.loads(proc.stdout)


def write_csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def findings_of(report: dict, rule_id: str | None = None, subject_id: str | None = None,
                status: str | None = None) -> list[dict]:
    return [f for f in report["findings"]
            if (rule_id is None or f["rule_id"] == rule_id)
            and (subject_id is None or f["subject"]["id"] == subject_id)
            and (status is None or f["status"] == status)]


def one(items: list):
    assert len(items) == 1, items
    return items[0]


def rule_files() -> list[Path]:
    return engine_rule_files(RULES)


def schemas() -> list[dict]:
    return [yaml_file(p) for p in sorted(SCHEMAS.glob("*.yaml"))]


def param_rows(table: str) -> list[dict]:
    with open(RULES / "parameters" / f"{table}.csv", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def region_key(name: str) -> str:
    """The parameter-table key of a prefecture name, from regions.csv (key, label, official name, aliases)."""
    for row in param_rows("regions"):
        names = {row["region"], row["label"], row["official_name"], *row["aliases"].split(";")}
        if name in names:
            return row["region"]
    raise KeyError(name)


def threshold(provision: str) -> float:
    return float(next(r["value"] for r in param_rows("provision_thresholds") if r["provision"] == provision))


def coal_rows() -> tuple[int, list[dict]]:
    """(spreadsheet row of the header, data rows as dicts with their spreadsheet row) read with openpyxl."""
    sheet = openpyxl.load_workbook(ROOT / COAL, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if "样品编号" in r)
    header = rows[header_at]
    data = []
    for i, r in enumerate(rows[header_at + 1:], start=header_at + 2):
        if all(c is None or str(c).strip() == "" for c in r):
            continue
        data.append({"_row": i, **dict(zip(header, r))})
    return header_at + 1, data


# The nine rules the expectations on made-up inputs are written for; a copy of rules/ holding only these keeps
# those tests exact while rules/ grows (and each run loads 9 rule files, not all of them).


@pytest.fixture(scope="module")
def core(tmp_path_factory) -> list:
    """`--rules <copy with the nine core rules> --schemas inputs/schemas`."""
    return ["--rules", copy_core_rules(tmp_path_factory.mktemp("core") / "rules"), "--schemas", SCHEMAS]


@pytest.fixture(scope="module")
def samples():
    """`check` on all four sample files, as of 2021-12-31, as JSON (in a real child process)."""
    proc = run_subprocess("check", *SAMPLE_ARGS, "--as-of", AS_OF, "--format", "json")
    return proc, json.loads(proc.stdout)


# ------------------------------------------------------------------ check: the JSON contract

def test_samples_exit_1_because_there_are_violations(samples):
    proc, report = samples
    assert proc.returncode == 1, proc.stderr
    assert findings_of(report, status="violation")


def test_json_has_manifest_summary_findings_rejected(samples):
    _, report = samples
    assert {"manifest", "summary", "findings", "rejected"} <= set(report)
    manifest = report["manifest"]
    assert manifest["tool_version"] == __version__
    assert re.fullmatch(r"[0-9a-f]{8,64}", manifest["rules_fingerprint"])
    assert manifest["as_of"] == AS_OF
    assert [i["path"] for i in manifest["inputs"]] == SAMPLE_ARGS


def test_check_every_bundled_sample_file():
    """`check inputs/samples/*`: every file read, every row accounted for."""
    proc, report = check_json(*ALL_SAMPLES, "--as-of", AS_OF)
    assert proc.returncode == 1, proc.stderr
    assert [i["path"] for i in report["manifest"]["inputs"]] == ALL_SAMPLES
    assert report["manifest"]["failed_inputs"] == []
    for entry in report["manifest"]["inputs"]:
        assert entry["rows"] == entry["evaluated"] + entry["rejected"], entry
    assert set(SAMPLE_ARGS) <= set(ALL_SAMPLES)


def test_manifest_inputs_hash_and_account_for_every_row(samples):
    _, report = samples
    for entry in report["manifest"]["inputs"]:
        assert entry["sha256"] == hashlib.sha256((ROOT / entry["path"]).read_bytes()).hexdigest()
        assert entry["rows"] == entry["evaluated"] + entry["rejected"], entry


def test_manifest_row_counts_match_the_sample_files(samples):
    _, report = samples
    inputs = {i["path"]: i for i in report["manifest"]["inputs"]}

    with open(ROOT / BOILERS, encoding="utf-8-sig", newline="") as fh:
        boiler_rows = list(csv.reader(fh))[1:]
    assert (inputs[BOILERS]["rows"], inputs[BOILERS]["evaluated"], inputs[BOILERS]["rejected"]) == \
        (len(boiler_rows), len(boiler_rows), 0)

    with open(ROOT / PREFECTURES, encoding="utf-8-sig", newline="") as fh:
        prefecture_rows = list(csv.reader(fh))[1:]
    assert inputs[PREFECTURES]["rows"] == inputs[PREFECTURES]["evaluated"] == len(prefecture_rows)

    projects = json.loads((ROOT / PROJECTS).read_text(encoding="utf-8"))
    assert inputs[PROJECTS]["rows"] == inputs[PROJECTS]["evaluated"] == len(projects)

    # The coal workbook has a title row, the header, the samples and a note row (注：…) under the table.
    _, data = coal_rows()
    notes = [r for r in data if str(r["样品编号"]).startswith("注")]
    assert len(notes) == 1
    assert inputs[COAL]["rows"] == len(data)
    assert inputs[COAL]["evaluated"] == len(data) - len(notes)
    assert inputs[COAL]["rejected"] == len(notes)
    rejected = one([r for r in report["rejected"] if r["file"] == COAL])
    assert rejected["row"] == notes[0]["_row"] and rejected["scope"] == "row"


def test_summary_agrees_with_findings_and_manifest(samples):
    _, report = samples
    summary = report["summary"]
    assert summary["violation"] == len(findings_of(report, status="violation"))
    assert summary["indeterminate"] == len(findings_of(report, status="indeterminate"))
    assert summary["rejected_rows"] == sum(i["rejected"] for i in report["manifest"]["inputs"])


def test_every_finding_has_the_documented_fields(samples):
    _, report = samples
    documents = {p.stem: p for p in rule_files()}
    for f in report["findings"]:
        assert f["rule_id"] in documents
        assert f["status"] in ("violation", "gap", "indeterminate")
        assert f["severity"] in ("critical", "major", "minor")
        assert {"kind", "id", "name", "region"} <= set(f["subject"])
        assert f["source"]["file"] in SAMPLE_ARGS and isinstance(f["source"]["row"], int) and f["source"]["row"] >= 2
        assert isinstance(f["observed"], dict) and isinstance(f["limit"], dict)
        assert {"document", "article", "quote"} <= set(f["citation"])
        assert f["message"]
        assert isinstance(f["required_actions"], list) and isinstance(f["consequences"], list)
        # The citation is the one written in the rule file.
        rule = yaml_file(documents[f["rule_id"]])
        assert (f["citation"]["document"], f["citation"]["article"], f["citation"]["quote"]) == \
            (rule["source"]["document"], rule["source"]["article"], rule["source"]["quote"])
        if f["status"] in ("violation", "gap"):  # quoted actions, each with the article it rests on
            assert [(a["text"], a["quote"]) for a in f["required_actions"]] == \
                [(a["text"], a["quote"]) for a in rule["finding"]["required_actions"]]
            assert all(a["article"] and a["document"] == rule["source"]["document"] for a in f["required_actions"])
        else:  # an indeterminate names the missing data
            assert f["missing"]


def test_boiler_001_violation_for_gl_2021_001(samples):
    _, report = samples
    with open(ROOT / BOILERS, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    position = next(i for i, r in enumerate(rows) if r["锅炉编号"] == "GL-2021-001")
    efficiency = float(rows[position]["热效率（%）"])
    limit = threshold("new_coal_boiler_efficiency_min_pct")
    assert (efficiency, limit) == (78.6, 80.0)

    f = one(findings_of(report, "BOILER-001", "GL-2021-001"))
    assert f["status"] == "violation" and f["severity"] == "major"
    assert f["source"] == {"file": BOILERS, "row": position + 2}  # header is row 1
    assert f["source"]["row"] == 2
    assert float(f["observed"]["efficiency_pct"]) == efficiency
    assert "80" in f["limit"]["efficiency_pct"]
    assert f["subject"]["kind"] == "boiler"
    assert f["subject"]["name"] == rows[position]["使用单位"]
    assert f["subject"]["region"] == "兰州市"
    assert f["citation"]["article"] == "三.（十三）"
    assert "78.6" in f["message"] and "80" in f["message"]


def test_coal_001_boundary_ash_16_is_a_violation(samples):
    _, report = samples
    _, data = coal_rows()
    sample = next(r for r in data if r["样品编号"] == "LX-2021-02")
    assert float(sample["灰分Ad（%）"]) == threshold("bulk_coal_ash_restricted_from_pct") == 16.0
    f = one(findings_of(report, "COAL-001", "LX-2021-02"))
    assert f["status"] == "violation"
    assert f["source"] == {"file": COAL, "row": sample["_row"]}
    assert float(f["observed"]["ash_pct"]) == 16.0
    assert "16" in f["limit"]["ash_pct"]
    assert "sulfur_pct" not in f["limit"]  # sulfur 0.6 is below 1: only ash breaches


def test_coal_001_outcomes_match_the_workbook(samples):
    """Ash ≥ 16 or sulfur ≥ 1 → violation; a missing value that could still breach → indeterminate."""
    _, report = samples
    _, data = coal_rows()
    ash_limit = threshold("bulk_coal_ash_restricted_from_pct")
    sulfur_limit = threshold("bulk_coal_sulfur_restricted_from_pct")

    def number(value):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    expected = {}
    for r in data:
        if str(r["样品编号"]).startswith("注"):
            continue
        ash, sulfur = number(r["灰分Ad（%）"]), number(r["全硫St,d（%）"])
        if (ash is not None and ash >= ash_limit) or (sulfur is not None and sulfur >= sulfur_limit):
            expected[r["样品编号"]] = "violation"
        elif ash is None or sulfur is None:
            expected[r["样品编号"]] = "indeterminate"
    got = {f["subject"]["id"]: f["status"] for f in findings_of(report, "COAL-001")}
    assert got == expected
    assert expected == {"LX-2021-01": "violation", "LX-2021-02": "violation", "DX-2021-07": "violation",
                        "PL-2021-03": "indeterminate"}


def test_pref_002_violations_are_the_prefectures_over_their_annex1_cap(samples):
    _, report = samples
    caps = {r["prefecture"]: float(r["consumption_cap_2020_10k_tce"]) for r in param_rows("annex1_energy_targets")}
    with open(ROOT / PREFECTURES, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    over, unknown = set(), set()
    for r in rows:
        key = region_key(r["市州"])
        text = r["能源消费总量（万吨标准煤）"].strip()
        if not text:
            unknown.add(f"{key}/{r['年度']}")
        elif float(text) > caps[key]:
            over.add(f"{key}/{r['年度']}")
    assert over == {"兰州/2020"}  # 2950 > 2899
    assert {f["subject"]["id"] for f in findings_of(report, "PREF-002", status="violation")} == over
    assert {f["subject"]["id"] for f in findings_of(report, "PREF-002", status="indeterminate")} == unknown


def test_chain_lanzhou_new_area_aluminium_project_held_because_of_pref_002(samples):
    _, report = samples
    projects = json.loads((ROOT / PROJECTS).read_text(encoding="utf-8"))
    position = next(i for i, p in enumerate(projects) if "电解铝" in p["项目名称"])
    project = projects[position]
    assert project["所在市州"] == "兰州新区" and region_key("兰州新区") == "兰州"

    cause = one(findings_of(report, "PREF-002", "兰州/2020", "violation"))
    assert cause["subject"]["region"] == "兰州市"
    f = one(findings_of(report, "PROJ-001", project["项目代码"]))
    assert f["status"] == "violation"
    assert f["subject"]["name"] == project["项目名称"]
    assert f["source"] == {"file": PROJECTS, "row": position + 2}
    assert any("PREF-002" in d and PREFECTURES in d for d in f["derived_from"]), f["derived_from"]
    assert any("高耗能项目缓批限批" in c["text"] for c in f["consequences"])


def test_chain_jiayuguan_coking_project_suspended_because_of_pref_003(samples):
    _, report = samples
    projects = json.loads((ROOT / PROJECTS).read_text(encoding="utf-8"))
    project = next(p for p in projects if "焦化" in p["项目名称"])
    assert region_key(project["所在市州"]) == "嘉峪关"
    one(findings_of(report, "PREF-003", "嘉峪关/2020", "violation"))
    f = one(findings_of(report, "PROJ-002", project["项目代码"]))
    assert f["status"] == "violation"
    assert any("PREF-003" in d for d in f["derived_from"])
    # 嘉峪关 used 1320 of its 1340 cap: no high-energy hold there.
    assert not findings_of(report, "PROJ-001", project["项目代码"])


def test_chain_tianshui_cement_project_is_not_held(samples):
    _, report = samples
    caps = {r["prefecture"]: float(r["consumption_cap_2020_10k_tce"]) for r in param_rows("annex1_energy_targets")}
    with open(ROOT / PREFECTURES, encoding="utf-8-sig", newline="") as fh:
        tianshui = next(r for r in csv.DictReader(fh) if region_key(r["市州"]) == "天水")
    assert float(tianshui["能源消费总量（万吨标准煤）"]) <= caps["天水"]  # 310 ≤ 319
    project = next(p for p in json.loads((ROOT / PROJECTS).read_text(encoding="utf-8")) if "水泥" in p["项目名称"])
    assert [f for f in report["findings"] if f["subject"]["id"] == project["项目代码"]
            and f["rule_id"] in CHAIN_RULES] == []
    assert not findings_of(report, subject_id=project["项目代码"], status="violation")


def test_chain_jiuquan_project_is_indeterminate_without_a_jiuquan_assessment(samples):
    _, report = samples
    with open(ROOT / PREFECTURES, encoding="utf-8-sig", newline="") as fh:
        assert "酒泉" not in {region_key(r["市州"]) for r in csv.DictReader(fh)}
    project = next(p for p in json.loads((ROOT / PROJECTS).read_text(encoding="utf-8")) if "酒泉" in p["项目名称"])
    found = [f for f in findings_of(report, subject_id=project["项目代码"]) if f["rule_id"] in CHAIN_RULES]
    assert [(f["rule_id"], f["status"]) for f in found] == [("PROJ-001", "indeterminate")]
    assert "酒泉" in found[0]["message"]


def test_approved_and_low_energy_projects_have_no_findings(samples):
    _, report = samples
    projects = json.loads((ROOT / PROJECTS).read_text(encoding="utf-8"))
    for p in projects:
        if p["审批状态"] == "已批复" or (p["是否高耗能项目"] == "否" and p["是否新增排放重点污染物"] == "否"):
            assert [f for f in findings_of(report, subject_id=p["项目代码"]) if f["rule_id"] in CHAIN_RULES] == [], \
                p["项目名称"]


# ------------------------------------------------------------------ check: --fail-on and exit codes

def test_fail_on_none_exits_0_with_the_same_findings_and_output_file(tmp_path, samples):
    """--fail-on none: exit 0, same findings; --output FILE: written there (folders made), nothing on stdout."""
    _, report = samples
    out = tmp_path / "sub" / "findings.json"
    proc = run("check", *SAMPLE_ARGS, "--as-of", AS_OF, "--format", "json", "--fail-on", "none", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert str(out) in proc.stderr
    again = json.loads(out.read_text(encoding="utf-8"))
    assert again["findings"] == report["findings"]
    assert again["summary"] == report["summary"]
    assert again["manifest"]["inputs"] == report["manifest"]["inputs"]
    assert again["manifest"]["as_of"] == AS_OF


def test_fail_on_indeterminate_with_only_indeterminates(tmp_path, core):
    # Sulfur not tested, ash below 16: COAL-001 cannot decide.
    path = write_csv(tmp_path / "coal.csv", COAL_HEADER, "PL-1,平凉某商贸公司,平凉市,烟煤,14.1,未检测,2021-12-08")
    proc, report = check_json(path, "--as-of", AS_OF, *core)
    assert [f["status"] for f in report["findings"]] == ["indeterminate"]
    assert proc.returncode == 0, "the default --fail-on violation ignores indeterminates"
    proc = run("check", path, "--as-of", AS_OF, "--fail-on", "indeterminate", *core)
    assert proc.returncode == 1, proc.stderr


def test_only_compliant_records_exit_0(tmp_path, core):
    path = write_csv(tmp_path / "coal.csv", COAL_HEADER,
                     "DX-1,定西某煤场,定西市,无烟煤,9.8,0.45,2021-12-05",
                     "DX-2,定西某煤场,定西市,无烟煤,15.99,0.99,2021-12-05")
    proc, report = check_json(path, "--as-of", AS_OF, "--fail-on", "indeterminate", *core)
    assert proc.returncode == 0, proc.stderr
    assert report["findings"] == []
    assert report["summary"]["compliant"] == 2
    proc = run("check", path, "--as-of", AS_OF, *core)  # default --fail-on violation, table
    assert proc.returncode == 0
    assert "没有违反、差距或无法判定的事项。" in proc.stdout


# ------------------------------------------------------------------ check: formats and output

def test_csv_output_has_bom_and_defuses_formulas(tmp_path, core):
    path = write_csv(tmp_path / "boilers.csv", BOILER_HEADER,
                     '"=HYPERLINK(""x"")",GL-9,兰州市,燃煤,验收,2021-03-15,2021-10-20,20,70')
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "check", path, "--as-of", AS_OF, "--format", "csv",
                           *core], cwd=ROOT, capture_output=True)
    assert proc.returncode == 1, proc.stderr.decode()
    raw = proc.stdout
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    row = one([r for r in rows if r["rule_id"] == "BOILER-001"])
    assert row["status"] == "violation"
    assert row["subject_name"] == "'=HYPERLINK(\"x\")"
    assert row["message"].startswith("'=")
    for r in rows:
        for value in r.values():
            assert not value or value[0] not in "=+-@", (r, value)


def test_csv_has_one_row_per_finding(samples):
    _, report = samples
    proc = run("check", *SAMPLE_ARGS, "--as-of", AS_OF, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(proc.stdout.lstrip("\ufeff"))))
    assert [(r["rule_id"], r["subject_id"], r["status"]) for r in rows] == \
        [(f["rule_id"], f["subject"]["id"], f["status"]) for f in report["findings"]]


def test_table_output_names_rule_record_file_and_row(core):
    proc = run("check", BOILERS, "--as-of", AS_OF, *core)
    assert proc.returncode == 1
    assert "BOILER-001" in proc.stdout and "GL-2021-001" in proc.stdout
    assert f"{BOILERS} 第2行" in proc.stdout
    assert "三.（十三）" in proc.stdout


@pytest.mark.parametrize("value", ["2021-13-01", "31/12/2021"])
def test_invalid_as_of_is_a_usage_error(value, core):
    proc = run("check", BOILERS, "--as-of", value, *core)
    assert proc.returncode == 2
    assert "--as-of" in proc.stderr and value in proc.stderr
    assert "2021-12-31、2021/12/31 或 2021年12月31日" in proc.stderr  # the forms the data accepts


def test_as_of_before_2020_boiler_rules_not_in_force():
    day = dt.date(2019, 6, 1)
    in_force = []
    for p in rule_files():
        rule = yaml_file(p)
        window = rule.get("in_force") or {}
        start, until = window.get("from"), window.get("until")
        if (start is None or start <= day) and (until is None or day <= until):
            in_force.append(rule["id"])

    proc, report = check_json(*SAMPLE_ARGS, "--as-of", "2019-06-01")
    assert report["manifest"]["as_of"] == "2019-06-01"
    assert report["manifest"]["rules_in_force"] == len(in_force)
    from_2020 = {"BOILER-001", "BOILER-002", "BOILER-003"}  # the "到2020年" boiler rules
    assert not from_2020 & set(in_force)
    assert not [f for f in report["findings"] if f["rule_id"] in from_2020]
    assert findings_of(report, "COAL-001")  # in force since 2017


def test_wrong_kind_is_a_usage_error_listing_the_kinds(core):
    kinds = [schema["kind"] for schema in schemas()]
    assert {"boiler", "coal_sample", "prefecture_year", "project"} <= set(kinds)
    proc = run("check", BOILERS, "--kind", "boilers", *core)
    assert proc.returncode == 2
    assert proc.stderr.startswith("错误：")
    assert "没有“boilers”这种记录类型" in proc.stderr
    for kind in kinds:
        assert kind in proc.stderr


def test_right_kind_is_accepted(core):
    proc, report = check_json(BOILERS, "--kind", "boiler", "--as-of", AS_OF, *core)
    assert proc.returncode == 1
    assert report["manifest"]["inputs"][0]["kind"] == "boiler"


def test_unrecognisable_headers_exit_3_naming_file_and_kinds(tmp_path, core):
    path = write_csv(tmp_path / "mystery.csv", "foo,bar,baz", "1,2,3")
    proc = run("check", path, "--as-of", AS_OF, *core)
    assert proc.returncode == 3
    assert f"错误：{path}" in proc.stderr
    assert "foo、bar、baz" in proc.stderr
    for schema in schemas():
        id_label = schema["fields"][schema["id_field"]]["label"]
        assert f"（{schema['kind']}，需要“{id_label}”列）" in proc.stderr
    assert "--kind" in proc.stderr


def test_one_unreadable_file_does_not_stop_the_others(tmp_path, core):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(bytes(range(128, 256)) * 8)
    proc = run("check", BOILERS, broken, "--as-of", AS_OF, *core)
    assert proc.returncode == 3
    assert "BOILER-001" in proc.stdout and "GL-2021-001" in proc.stdout
    assert f"错误：{broken}" in proc.stderr

    proc, report = check_json(BOILERS, broken, "--as-of", AS_OF, *core)
    assert proc.returncode == 3
    one(findings_of(report, "BOILER-001", "GL-2021-001"))
    assert [i["path"] for i in report["manifest"]["inputs"]] == [BOILERS]
    assert [i["path"] for i in report["manifest"]["failed_inputs"]] == [str(broken)]


def test_missing_file_is_reported_and_the_others_go_on(tmp_path, core):
    missing = tmp_path / "nope.csv"
    proc, report = check_json(BOILERS, missing, "--as-of", AS_OF, *core)
    assert proc.returncode == 3
    assert f"错误：{missing}" in proc.stderr
    assert "文件不存在" in proc.stderr
    one(findings_of(report, "BOILER-001", "GL-2021-001"))


def test_unreadable_file_wins_over_fail_on_none(tmp_path, core):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfe\x00\x81" * 100)
    proc = run("check", BOILERS, broken, "--as-of", AS_OF, "--fail-on", "none", *core)
    assert proc.returncode == 3


# ------------------------------------------------------------------ rules …

def test_rules_list_shows_every_rule_with_its_article():
    proc = run("rules", "list")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    files = rule_files()
    assert len(lines) == len(files) >= 9
    for path in files:
        rule = yaml_file(path)
        line = one([line for line in lines if line.split()[0] == rule["id"]])
        assert rule["source"]["article"] in line
        assert rule["severity"] in line


def test_rules_show_prints_the_rule_file():
    proc = run("rules", "show", "PREF-003")
    assert proc.returncode == 0, proc.stderr
    text = (RULES / "prefectures" / "PREF-003.yaml").read_text(encoding="utf-8")
    assert text in proc.stdout
    assert proc.stdout.startswith("# PREF-003")
    assert yaml.safe_load(text)["source"]["article"] in proc.stdout.splitlines()[0]


def test_rules_validate_ok():
    proc = run("rules", "validate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("规则有效")
    assert f"共 {len(rule_files())} 条" in proc.stdout


def test_rules_test_runs_the_examples_of_the_rules_named_through_either_engine():
    # (every example of every rule runs through both executors in test_rule_examples.py; not again here)
    named = ("PREF-002", "PROJ-001")
    written = sum(len(yaml_file(p)["examples"]) for p in rule_files()
                  if p.stem in named)
    for engine in ("column", "durable"):
        proc = run("rules", "test", *named, "--engine", engine)
        assert proc.returncode == 0, proc.stdout
        lines = proc.stdout.strip().splitlines()
        assert lines[-1] == f"通过 {written} 个，未通过 0 个"
        assert sum(1 for line in lines[:-1] if line.startswith("通过 ")) == written


def test_rules_test_one_rule(core):
    examples = yaml.safe_load((RULES / "coal" / "COAL-001.yaml").read_text(encoding="utf-8"))["examples"]
    proc = run("rules", "test", "COAL-001", *core)
    assert proc.returncode == 0
    assert proc.stdout.strip().splitlines()[-1] == f"通过 {len(examples)} 个，未通过 0 个"


def test_rules_show_unknown_id_is_a_usage_error(core):
    proc = run("rules", "show", "NOPE-001", *core)
    assert "没有规则“NOPE-001”" in proc.stderr
    assert proc.returncode == 2


def test_rules_test_unknown_id_is_reported(core):
    proc = run("rules", "test", "NOPE-001", *core)
    assert proc.returncode == 2
    assert "NOPE-001" in proc.stderr


# ------------------------------------------------------------------ letters and demo

# Who gets a letter, worked out from the four sample files and the rules (as of 2021-12-31):
#   boilers: GL-2021-001 coal 78.6 < 80 (兰州某热力), GL-2022-017 gas 90.5 < 92 (天水某宾馆),
#            GL-2010-033 operating 72.4 < 80 (白银某化工), GL-2023-009 gas 91 < 92 (武威…);
#            GL-2020-101 efficiency 未检测 → indeterminate only: no letter for 酒泉某食品厂.
#   coal:    LX-2021-01/02 ash ≥ 16 (临夏某煤炭经销点), DX-2021-07 sulfur 1.25 ≥ 1 (定西某煤场);
#            PL-2021-03 sulfur 未检测 → indeterminate only: no letter for 平凉某商贸公司.
#   prefectures: 兰州 (PREF-001, PREF-002), 嘉峪关 (PREF-003).
#   projects: the 兰州新区 aluminium project (PROJ-001), the 嘉峪关 coking project (PROJ-002).
EXPECTED_LETTERS = {  # (letter type, addressee) for the four sample files as of AS_OF
    "facility_rectification": {"太原某锅炉制造有限公司", "无锡某锅炉有限公司", "白银某化工有限公司", "临夏某煤炭经销点",
                               "定西某煤场", "嘉峪关某焦化有限公司"},  # the last: PROJ-017, no pollutant offset
    "prefecture_assessment": {"甘肃省人民政府"},
    "interview_notice": {"兰州市人民政府"},
    "restriction_notice": {"兰州市人民政府", "嘉峪关市人民政府"},
}
# 天水某宾馆: its new gas boiler falls short, but the duty is the manufacturer's and the record names none;
# 兰州某热力有限公司 uses a boiler whose maker is bound; the others have no violation.
NO_LETTER = {"酒泉某食品厂", "平凉某商贸公司", "天水某宾馆", "兰州某热力有限公司"}
LETTER_NAME = re.compile(r"^([a-z_]+?)_(\d{3})_(.+)\.(html|md)$")
ADDRESSEE = {"html": re.compile(r'<p class="addressee">(.+?)：</p>'), "md": re.compile(r"^\n*# .+\n\n(.+?)：$", re.M)}


def _plain(text: str, fmt: str) -> str:
    if fmt == "html":
        return html.unescape(text)
    return re.sub(r"\\(.)", r"\1", text)  # Markdown escapes


def letters_written(out: Path, fmt: str) -> dict:
    """{file name: (letter type, addressee)} of every letter in a letters folder."""
    found = {}
    for path in sorted(out.iterdir()):
        if path.stem in ("index", "检查记录", "overview") or path.name == "ecocheck-manifest.json":
            continue
        m = LETTER_NAME.match(path.name)
        assert m and m.group(4) == fmt, path.name
        text = _plain(path.read_text(encoding="utf-8"), fmt)
        addressee = ADDRESSEE[fmt].search(text)
        assert addressee, path.name
        found[path.name] = (m.group(1), addressee.group(1))
    return found


def assert_letters(out: Path, fmt: str, hand_checked: bool = True) -> dict:
    """Every letter is listed in the index, the working record is beside them, and (for the four sample files)
    exactly the expected addressees get the expected letter types."""
    written = letters_written(out, fmt)
    assert (out / f"index.{fmt}").is_file() and (out / f"检查记录.{fmt}").is_file()
    index = _plain((out / f"index.{fmt}").read_text(encoding="utf-8"), fmt)
    for name in written:
        assert name in index
    pairs = set(written.values())  # one addressee may get two letters of a type from two authorities
    if hand_checked:
        assert len(pairs) == len(written), "two letters of one type to one addressee"
        expected = {(t, r) for t, rs in EXPECTED_LETTERS.items() for r in rs}
        assert pairs == expected, (pairs - expected, expected - pairs)
        assert not NO_LETTER & {r for _, r in pairs}
    return written


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_letters_one_per_recipient_plus_index(tmp_path, fmt, samples):
    out = tmp_path / "letters"
    args = ["letters", *SAMPLE_ARGS, "--out", out, "--as-of", AS_OF]
    if fmt != "html":
        args += ["--format", fmt]
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    written = assert_letters(out, fmt)
    assert f"已写入 {len(written) + 2} 个文件" in proc.stdout
    assert (out / "overview.html").is_file() and (out / "overview.xlsx").is_file()  # the regulator's overview


def test_letters_with_an_unreadable_input_exit_3(tmp_path, core):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\xff\xfe\x00\x81" * 100)
    proc = run("letters", BOILERS, broken, "--out", tmp_path / "out", "--as-of", AS_OF, *core)
    assert proc.returncode == 3
    assert f"错误：{broken}" in proc.stderr
    assert (tmp_path / "out" / "index.html").exists()


def test_demo_writes_findings_and_letters(demo_run):
    out, proc = demo_run
    assert proc.returncode == 0, proc.stderr
    for name in ("findings.json", "findings.csv", "letters/index.html", "letters-md/index.md"):
        assert (out / name).is_file(), name
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert {Path(i["path"]).name for i in report["manifest"]["inputs"]} == {Path(p).name for p in ALL_SAMPLES}
    one(findings_of(report, "BOILER-001", "GL-2021-001"))
    assert (out / "findings.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO((out / "findings.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(report["findings"])
    html_letters = assert_letters(out / "letters", "html", hand_checked=False)
    md_letters = assert_letters(out / "letters-md", "md", hand_checked=False)
    assert sorted(html_letters.values()) == sorted(md_letters.values())
    assert "BOILER-001" in proc.stdout  # the table


def test_a_command_line_run_uses_a_pool_that_gives_memory_back(monkeypatch):
    # engine.arrowpool: jemalloc with freed memory returned at once where pyarrow has it (a lower peak RSS on large
    # files); the default pool where it has not, without an error
    import pyarrow as pa

    from engine.arrowpool import use_returning_pool
    try:
        pa.jemalloc_memory_pool()
        expected = "jemalloc"
    except NotImplementedError:
        expected = pa.default_memory_pool().backend_name
    cli_run("rules", "list")
    assert pa.default_memory_pool().backend_name == expected

    def missing():
        raise NotImplementedError("built without jemalloc")
    monkeypatch.setattr(pa, "jemalloc_memory_pool", missing)
    previous = pa.default_memory_pool().backend_name
    assert use_returning_pool() == previous


def test_arrow_allocator_is_chosen_before_pyarrow_loads_and_a_users_setting_stands():
    """engine/__init__ puts jemalloc (and its arena for large blocks) in the environment before pyarrow is loaded, so
    that Arrow's C++ default pool is jemalloc too; a fresh process is the only place that shows it."""
    from engine.arrowpool import ALLOCATOR_ENVIRONMENT, choose_allocator

    probe = ("import engine, os, pyarrow as pa; print(pa.default_memory_pool().backend_name, "
             "os.environ['JE_ARROW_MALLOC_CONF'])")
    clean = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_ENVIRONMENT}
    fresh = subprocess.run([sys.executable, "-c", probe], env=clean, capture_output=True, text=True, cwd=ROOT)
    assert fresh.returncode == 0 and fresh.stderr == "", fresh.stderr
    assert fresh.stdout.split() == ["jemalloc", ALLOCATOR_ENVIRONMENT["JE_ARROW_MALLOC_CONF"]]
    own = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                         env={**clean, "ARROW_DEFAULT_MEMORY_POOL": "system", "JE_ARROW_MALLOC_CONF": "narenas:2"})
    assert own.stdout.split() == ["system", "narenas:2"], own.stderr

    elsewhere: dict = {}
    choose_allocator(elsewhere, "darwin")  # (no jemalloc in that pyarrow: Arrow would warn of an unknown backend)
    assert elsewhere == {}
    choose_allocator(elsewhere, "linux")
    assert elsewhere == ALLOCATOR_ENVIRONMENT


_BLOCK_PROBE = """
import resource, sys, threading
import engine, pyarrow as pa
from engine.arrowpool import use_returning_pool
use_returning_pool()
filler = b"x" * (2 << 20)

def faults(size):
    found = []
    def work():  # (a thread of its own, as the CSV parser's: its arena made after the settings)
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        for _ in range(10):
            blocks = [pa.allocate_buffer(size) for _ in range(4)]
            for block in blocks:
                memoryview(block).cast("B")[:] = filler[:size]
            del blocks
        found.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return found[0]

print(faults(512 << 10), faults(2 << 20))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jemalloc's settings are made on Linux only")
def test_arrow_blocks_under_a_mebibyte_reuse_their_pages_and_larger_ones_are_given_back():
    """engine.arrowpool: a CSV parser's blocks (under 1 MiB for a piece of 1 MiB) reuse the pages freed by the piece
    before instead of faulting in new ones; blocks of 1 MiB and more go back to the system at once (peak RSS). Ten
    rounds of four blocks each, in a fresh process; with the threshold of before (256 KiB), every round faults."""
    from engine.arrowpool import ALLOCATOR_ENVIRONMENT

    clean = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_ENVIRONMENT}
    pages = {size: size // resource.getpagesize() * 4 for size in (512 << 10, 2 << 20)}  # (one round's)

    def run(env):
        done = subprocess.run([sys.executable, "-c", _BLOCK_PROBE], env=env, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return dict(zip(pages, map(int, done.stdout.split())))

    now = run(clean)
    assert now[512 << 10] < 3 * pages[512 << 10]  # the first round's pages, reused by the other nine
    assert now[2 << 20] > 8 * pages[2 << 20]  # faulted in again each round
    before = run({**clean, "JE_ARROW_MALLOC_CONF": "oversize_threshold:262144"})
    assert before[512 << 10] > 8 * pages[512 << 10]


def test_a_process_of_its_own_sets_its_imports_aside_from_the_cycle_collector_and_a_caller_is_left_alone():
    """Run as its own process (the `ecocheck` script, python -m), the entry point freezes what the imports made: the
    cycle collector no longer walks pandas' and pyarrow's objects, at exit least of all; called in a process (the
    tests, another program), it leaves the caller's objects to the collector."""
    import gc

    probe = ("import atexit, gc; atexit.register(lambda: print('frozen', gc.get_freeze_count())); "
             "from engine.cli import main; main()")
    own = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True, cwd=ROOT)
    assert own.returncode == 0 and "0.1.0" in own.stdout, own.stderr
    assert int(own.stdout.split("frozen")[1]) > 20_000  # (pandas, pyarrow, click, ecocheck: ~60,000 objects)
    before = gc.get_freeze_count()
    assert run("rules", "list").returncode == 0
    assert gc.get_freeze_count() == before


def test_the_ecocheck_command_makes_its_imports_with_the_cycle_collector_paused():
    """`ecocheck` and `python -m ecocheck` (ecocheck.__main__.run) import the command line with the cycle collector
    paused, then turn it on again: about 160 collections during the imports become none."""
    probe = ("import atexit, gc; seen = []; gc.callbacks.append(lambda phase, info: seen.append(phase)); "
             "atexit.register(lambda: print(seen.count('start'), gc.isenabled(), gc.get_freeze_count())); "
             "from ecocheck.__main__ import run; run()")
    proc = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    collections, enabled, frozen = proc.stdout.splitlines()[-1].split()
    assert int(collections) < 20 and enabled == "True" and int(frozen) > 20_000


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts a process's threads in Linux's /proc")
def test_the_ecocheck_command_starts_no_blas_threads_and_a_users_setting_stands():
    """`ecocheck` (ecocheck.__main__.run) runs with one OpenBLAS thread: numpy starts no worker threads that would
    spin on the core pyarrow parses on. A process that sets OPENBLAS_NUM_THREADS itself keeps its own setting."""
    from ecocheck.__main__ import BLAS_ENVIRONMENT, one_blas_thread

    probe = ("import atexit, os; atexit.register(lambda: print(len(os.listdir('/proc/self/task')), "
             "os.environ.get('OPENBLAS_NUM_THREADS'))); from ecocheck.__main__ import run; run()")
    environment = {name: value for name, value in os.environ.items() if name != "OPENBLAS_NUM_THREADS"}
    own = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True, cwd=ROOT,
                         env=environment)
    assert own.returncode == 0, own.stderr
    threads, setting = own.stdout.splitlines()[-1].split()
    assert setting == "1"
    # (the threads of a process that imports what the command imports, with and without the setting: numpy's
    # OpenBLAS, which the Linux wheels bundle, starts one a further core without it)
    plain = "import os, engine.cli; print(len(os.listdir('/proc/self/task')))"
    unset = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, cwd=ROOT, env=environment)
    one = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, cwd=ROOT,
                         env={**environment, **BLAS_ENVIRONMENT})
    assert int(one.stdout) <= int(threads)
    import numpy
    bundled = any("openblas" in path.name for path in (Path(numpy.__file__).parent.parent / "numpy.libs").glob("*"))
    if bundled and (os.cpu_count() or 1) > 1:
        assert int(unset.stdout) > int(one.stdout)
    users = {"OPENBLAS_NUM_THREADS": "2"}
    one_blas_thread(users)
    assert users == {"OPENBLAS_NUM_THREADS": "2"}
    empty: dict = {}
    one_blas_thread(empty)
    assert empty == BLAS_ENVIRONMENT
