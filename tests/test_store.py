"""The run store on SQLite and on a real PostgreSQL: lifecycle of findings across runs, the 文号 register, waivers,
deadlines, export, and safety (a run killed half way, two runs at once)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.store import open_store, schema
from tests.conftest import ROOT, cli_run

SAMPLES = ROOT / "inputs" / "samples"
BOILERS = "使用单位,锅炉编号,市州,燃料种类,测试类型,制造单位,出厂日期,测试日期,额定蒸发量（t/h）,热效率（%）,是否在集中供热供气管网覆盖范围内,是否在城市建成区\n"


def boilers(path: Path, rows: list) -> Path:
    """A table of new boilers tested on acceptance, of one maker: rows of (unit, boiler id, efficiency); below 80 %
    a violation of BOILER-001, a 限期整改通知书 to the maker."""
    lines = [f"{unit},{bid},兰州市,燃煤,验收,太原某锅炉制造有限公司,2021-03-15,2021-10-20,20,{eff},否,是\n"
             for unit, bid, eff in rows]
    path.write_text(BOILERS + "".join(lines), encoding="utf-8")
    return path


def check(db, *paths, as_of="2021-12-31", extra=()):
    proc = cli_run("check", *paths, "--as-of", as_of, "--format", "json", "--db", db, *extra)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout), proc.stderr


def states(data) -> dict:
    """(rule, subject id) -> state, for the findings of a run's JSON."""
    return {(f["rule_id"], f["subject"]["id"]): e["state"]
            for f, e in zip(data["findings"], data["lifecycle"]["findings"])}


def count(db, table) -> int:
    store = open_store(db)
    with store.reading() as connection:
        return connection.execute(select(func.count()).select_from(schema.metadata.tables[table])).scalar_one()


# ------------------------------------------------------------------------------------------- acceptance

def test_the_samples_twice_then_one_row_fixed(store_location, tmp_path):
    """The issue's acceptance: the second run's findings persist with the same 文号; a fixed row shows as fixed and
    only its letter gets a new number."""
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples)
    paths = sorted(str(p) for p in samples.iterdir() if p.is_file())

    def letters(n):
        out = tmp_path / f"out{n}"
        proc = cli_run("letters", *paths, "--params", samples / "params", "--out", out, "--as-of", "2021-12-31",
                       "--issued-on", "2022-01-10", "--db", store_location)
        assert proc.returncode == 0, proc.stderr
        manifest = json.loads((out / "ecocheck-manifest.json").read_text(encoding="utf-8"))
        numbers = {(x["type"], x["addressee"], x["title"], x["doc_number"].split("〔")[0]): x["doc_number"]
                   for x in manifest["letters"]}
        assert len(numbers) == len(manifest["letters"])
        return numbers, proc.stderr

    first, said = letters(1)
    found = int(re.search(r"新发现 (\d+) \+ 持续 0 \+ 复发 0", said).group(1))
    assert found > 100  # (every sample finding is new in an empty store)
    second, said = letters(2)
    assert f"新发现 0 + 持续 {found} + 复发 0" in said and "已整改 0" in said
    assert second == first  # every unchanged letter keeps its 文号
    assert len(set(first.values())) == len(first)

    table = samples / "boilers.csv"  # GL-2021-001 mended; a new boiler of another maker fails
    text = table.read_text(encoding="utf-8").replace(",20,78.6,", ",20,86.0,")
    table.write_text(text + "兰州某热力有限公司,GL-2021-005,兰州市,燃煤,验收,西安某锅炉有限公司,2021-03-15,2021-10-20,20,"
                            "78.0,否,是\n", encoding="utf-8")
    third, said = letters(3)
    assert f"新发现 1 + 持续 {found - 1}" in said and "已整改 1" in said and "已整改 BOILER-001 GL-2021-001" in said
    gone = ("facility_rectification", "太原某锅炉制造有限公司", "限期整改通知书", "甘市监")  # its one finding mended
    added = ("facility_rectification", "西安某锅炉有限公司", "限期整改通知书", "甘市监")
    assert set(third) == set(first) - {gone} | {added}
    assert all(third[k] == first[k] for k in third if k != added)  # the others keep their numbers
    assert third[added] not in first.values()  # a new number, never one issued before
    last = max(int(n.split("〕")[1][:-1]) for n in first.values() if n.startswith("甘市监"))
    assert third[added] == f"甘市监〔2022〕{last + 1}号"
    history = json.loads(cli_run("history", "GL-2021-001", "--db", store_location, "--format", "json").stdout)
    assert [(h["run_id"], h["state"]) for h in history if h["rule_id"] == "BOILER-001"] == \
        [(1, "new"), (2, "persisting"), (3, "fixed")]


# ------------------------------------------------------------------------------------------- lifecycle

def test_new_persisting_fixed_reopened(store_location, tmp_path):
    bad = [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "71")]
    data, said = check(store_location, boilers(tmp_path / "a.csv", bad))
    assert set(states(data).values()) == {"new"} and data["lifecycle"]["counts"]["new"] == len(data["findings"])
    # the same boilers in another file, other rows: the same findings (a fingerprint has no file or row)
    data, _ = check(store_location, boilers(tmp_path / "b.csv", [("x", "GL-0", "90"), *bad[::-1]]))
    assert set(states(data).values()) == {"persisting"}
    # GL-1 mended: fixed; GL-2 still bad
    data, said = check(store_location, boilers(tmp_path / "c.csv", [("甲热力公司", "GL-1", "90"), bad[1]]))
    assert ("BOILER-001", "GL-1") not in states(data) and data["lifecycle"]["counts"]["fixed"] >= 1
    assert {f["subject_id"] for f in data["lifecycle"]["fixed"]} == {"GL-1"}
    # GL-1 bad again: reopened
    data, _ = check(store_location, boilers(tmp_path / "d.csv", bad))
    assert {s for (r, sid), s in states(data).items() if sid == "GL-1"} == {"reopened"}
    assert {s for (r, sid), s in states(data).items() if sid == "GL-2"} == {"persisting"}


def test_each_case_holds_its_first_finding_and_the_run_that_last_changed_it(store_location, tmp_path):
    """The cases table row by row: subject, unit, region, rule, period, status and message of the finding that opened
    it; found again with another message, it is open with the new message and the later run."""
    from engine.store.identity import subject_key
    from engine.findings import Subject

    data, _ = check(store_location, boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "71")]))
    run = data["lifecycle"]["run"]
    expected = {e["fingerprint"]: (f["subject"]["kind"], subject_key(Subject(**f["subject"])), f["subject"]["id"],
                                   f["subject"]["recipient"] or f["subject"]["name"], f["subject"]["region"],
                                   f["rule_id"], f["period"], 1, f["status"], f["message"], run, run)
                for f, e in zip(data["findings"], data["lifecycle"]["findings"])}
    c = schema.cases.c
    columns = (c.subject_kind, c.subject_key, c.subject_id, c.recipient, c.region, c.rule_id, c.period, c.open,
               c.status, c.message, c.first_run, c.last_run)
    with open_store(store_location).reading() as connection:
        stored = {row[0]: tuple(row[1:]) for row in connection.execute(select(c.fingerprint, *columns))}
    assert stored == expected and all(row[3] != row[4] for row in stored.values())  # (recipient and region differ)
    data, _ = check(store_location, boilers(tmp_path / "b.csv", [("甲热力公司", "GL-1", "60")]))
    [(finding, entry)] = [(f, e) for f, e in zip(data["findings"], data["lifecycle"]["findings"])
                          if f["subject"]["id"] == "GL-1" and f["rule_id"] == "BOILER-001"]
    with open_store(store_location).reading() as connection:
        row = connection.execute(select(c.message, c.first_run, c.last_run, c.open)
                                 .where(c.fingerprint == entry["fingerprint"])).one()
    assert tuple(row) == (finding["message"], run, data["lifecycle"]["run"], 1) and "60" in finding["message"]


def test_a_case_found_again_as_it_was_is_left_alone_and_a_changed_or_reopened_one_is_updated(store_location,
                                                                                             tmp_path):
    """last_run is the run that last changed a case: a case found again with the same status and message keeps it;
    one found with another message, or open again after it was fixed, takes the later run."""
    c = schema.cases.c

    def cases():
        with open_store(store_location).reading() as connection:
            return {(row.subject_id, row.rule_id): (row.open, row.message, row.last_run)
                    for row in connection.execute(select(c.subject_id, c.rule_id, c.open, c.message, c.last_run))}

    bad = [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "71"), ("丙热力公司", "GL-3", "72")]
    first, _ = check(store_location, boilers(tmp_path / "a.csv", bad))
    run1 = first["lifecycle"]["run"]
    after1 = cases()
    assert {last for _, _, last in after1.values()} == {run1}
    second, _ = check(store_location, boilers(tmp_path / "b.csv", bad))  # the same findings again
    assert cases() == after1 and second["lifecycle"]["run"] != run1
    third, _ = check(store_location, boilers(tmp_path / "c.csv", [bad[0], ("乙热力公司", "GL-2", "60"),
                                                                   ("丙热力公司", "GL-3", "90")]))
    run3, after3 = third["lifecycle"]["run"], cases()
    assert after3[("GL-1", "BOILER-001")] == after1[("GL-1", "BOILER-001")]  # as it was: left alone
    assert after3[("GL-2", "BOILER-001")][2] == run3 and "60" in after3[("GL-2", "BOILER-001")][1]  # changed
    assert after3[("GL-3", "BOILER-001")][:1] == (0,) and after3[("GL-3", "BOILER-001")][2] == run3  # fixed
    fourth, _ = check(store_location, boilers(tmp_path / "d.csv", bad))
    run4, after4 = fourth["lifecycle"]["run"], cases()
    assert after4[("GL-3", "BOILER-001")] == (1, after1[("GL-3", "BOILER-001")][1], run4)  # reopened
    assert after4[("GL-2", "BOILER-001")][2] == run4 and after4[("GL-1", "BOILER-001")][2] == run1


def history_of(db, subject) -> list:
    """(run, state) of a subject's BOILER-001 findings, in as-of order."""
    rows = json.loads(cli_run("history", subject, "--db", db, "--format", "json").stdout)
    return [(h["run_id"], h["state"]) for h in rows if h["rule_id"] == "BOILER-001"]


def test_a_back_dated_run_is_compared_with_the_runs_before_it_by_as_of(store_location, tmp_path):
    bad, mended = [("甲热力公司", "GL-1", "70")], [("甲热力公司", "GL-1", "90")]
    data, _ = check(store_location, boilers(tmp_path / "a.csv", bad), as_of="2022-03-31")  # run 1
    assert set(states(data).values()) == {"new"}
    data, said = check(store_location, boilers(tmp_path / "b.csv", bad), as_of="2022-01-31")  # run 2, back-dated
    assert set(states(data).values()) == {"new"}  # nothing before January
    assert (data["lifecycle"]["later_runs"], data["lifecycle"]["restated_runs"]) == ([1], [1])
    assert "本次截至日早于第 1 次运行" in said
    assert history_of(store_location, "GL-1") == [(2, "new"), (1, "persisting")]  # March now follows January
    data, _ = check(store_location, boilers(tmp_path / "c.csv", mended), as_of="2022-02-28")  # run 3, between
    assert {f["subject_id"] for f in data["lifecycle"]["fixed"]} == {"GL-1"}  # open in January, mended in February
    assert history_of(store_location, "GL-1") == [(2, "new"), (3, "fixed"), (1, "reopened")]
    data, _ = check(store_location, boilers(tmp_path / "d.csv", bad), as_of="2022-04-30")  # run 4
    assert set(states(data).values()) == {"persisting"}  # March, the latest before April, found it


def test_the_subjects_a_run_read_are_kept_whatever_their_ids_hold():
    from engine.store.timeline import pack_subjects, subject_pairs, unpack_subjects
    read = {("boiler", "GL-1"), ("boiler", "a\nb"), ("boiler", "c\\n\\"), ("boiler", "d\x1fe"), ("vehicle", "")}
    assert sorted(map(tuple, subject_pairs(pack_subjects(read)))) == sorted(read)
    assert "boiler:gl-1" in unpack_subjects(pack_subjects({("boiler", "ＧＬ－１")}))  # compared as identity compares ids
    assert pack_subjects(None) is None and unpack_subjects(None) is None  # not known: fixes nothing in a replay


def test_a_back_dated_run_never_changes_where_a_case_stands_now(store_location, tmp_path):
    check(store_location, boilers(tmp_path / "a.csv", [("甲热力公司", "GL-2", "70")]), as_of="2022-01-31")  # run 1
    good = [("甲热力公司", "GL-2", "90"), ("乙热力公司", "GL-3", "90")]
    data, _ = check(store_location, boilers(tmp_path / "b.csv", good), as_of="2022-03-31")  # run 2: GL-2 fixed
    assert {f["subject_id"] for f in data["lifecycle"]["fixed"]} == {"GL-2"}
    bad = [("甲热力公司", "GL-2", "70"), ("乙热力公司", "GL-3", "70")]
    data, _ = check(store_location, boilers(tmp_path / "c.csv", bad), as_of="2022-02-28")  # run 3, back-dated
    assert {sid: s for (_r, sid), s in states(data).items()} == {"GL-2": "persisting", "GL-3": "new"}
    # March read GL-3 and did not find it: fixed there; both stay fixed, as the latest run says
    assert history_of(store_location, "GL-3") == [(3, "new"), (2, "fixed")]
    assert history_of(store_location, "GL-2") == [(1, "new"), (3, "persisting"), (2, "fixed")]
    export = json.loads(cli_run("db", "export", "--db", store_location).stdout)
    march = next(r for r in export["runs"] if r["id"] == 2)
    assert json.loads(march["summary"])["states"]["fixed"] == 2  # its stored counts follow
    data, _ = check(store_location, boilers(tmp_path / "d.csv", bad), as_of="2022-04-30")  # run 4
    assert {sid: s for (_r, sid), s in states(data).items()} == {"GL-2": "reopened", "GL-3": "reopened"}


def test_the_same_boiler_id_of_another_unit_is_another_finding(store_location, tmp_path):
    check(store_location, boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")]))
    data, _ = check(store_location, boilers(tmp_path / "b.csv", [("甲热力公司", "GL-1", "70"),
                                                                 ("乙热力公司", "ＧＬ－１", "70")]))
    by_unit = {f["subject"]["name"]: e["state"] for f, e in zip(data["findings"], data["lifecycle"]["findings"])}
    assert by_unit == {"甲热力公司": "persisting", "乙热力公司": "new"}


def test_a_table_of_another_kind_fixes_nothing(store_location, tmp_path):
    check(store_location, boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")]))
    data, _ = check(store_location, SAMPLES / "vehicles.csv")
    assert data["lifecycle"]["counts"]["fixed"] == 0


def test_a_run_of_some_units_fixes_nothing_of_the_others(store_location, tmp_path):
    check(store_location, boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "70")]))
    data, _ = check(store_location, boilers(tmp_path / "b.csv", [("乙热力公司", "GL-2", "70")]))
    assert data["lifecycle"]["fixed"] == []  # GL-1 was not checked: still open
    data, _ = check(store_location, boilers(tmp_path / "c.csv", [("甲热力公司", "GL-1", "70")]))
    assert set(states(data).values()) == {"persisting"}


def test_terminal_shows_each_state_and_the_count_line(tmp_path):
    db = str(tmp_path / "runs.sqlite")
    table = boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")])
    cli_run("check", table, "--db", db)
    proc = cli_run("check", table, "--db", db)
    assert "[违反·持续] BOILER-" in proc.stdout
    assert "案卷（第 2 次运行" in proc.stderr and "新发现 0 + 持续" in proc.stderr


def test_no_db_records_nothing(tmp_path):
    db = str(tmp_path / "runs.sqlite")
    proc = cli_run("check", boilers(tmp_path / "a.csv", [("甲", "GL-1", "70")]), "--no-db", "--db", db)
    assert proc.returncode == 1 and "案卷" not in proc.stderr
    assert not Path(db).exists()


def test_runs_default_to_ecocheck_db_never_the_users_data_directory(tmp_path):
    assert "ecocheck-test-store-" in os.environ["ECOCHECK_DB"]
    before = count(os.environ["ECOCHECK_DB"], "runs")
    cli_run("check", boilers(tmp_path / "a.csv", [("甲", "GL-1", "70")]))
    assert count(os.environ["ECOCHECK_DB"], "runs") == before + 1


# ------------------------------------------------------------------------------------------- 文号 register

def test_first_number_starts_the_register_and_never_moves_it_back(store_location, tmp_path):
    table = boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")])

    def numbers(n, *extra):
        out = tmp_path / f"out{n}"
        proc = cli_run("letters", table, "--out", out, "--as-of", "2021-12-31", "--issued-on", "2022-01-10",
                       "--db", store_location, *extra)
        assert proc.returncode == 0, proc.stderr
        return [x["doc_number"] for x in json.loads((out / "ecocheck-manifest.json").read_text())["letters"]]

    assert numbers(1, "--first-number", "40") == ["甘市监〔2022〕40号"]
    assert numbers(2) == ["甘市监〔2022〕40号"]  # re-issued: the same number
    boilers(table, [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "70")])
    assert numbers(3) == ["甘市监〔2022〕41号"]  # the maker's letter now about two boilers: another letter


def test_the_warning_notice_takes_its_number_from_the_register(store_location, tmp_path, monkeypatch):
    """预警通报 (assess): re-issued unchanged it keeps its 文号; changed figures make a new notice with the next number,
    after the numbers a letters run took under the same prefix (甘发改环资)."""
    from engine import assessment_charts
    monkeypatch.setattr(assessment_charts, "warning_grid_chart", lambda *_: None)  # (drawing it is most of the time)
    periods = tmp_path / "periods.csv"
    shutil.copy(SAMPLES / "prefecture_periods_2019.csv", periods)

    def assess(n):
        out = tmp_path / f"assess{n}"
        proc = cli_run("assess", periods, "--out", out, "--format", "md", "--issued-on", "2020-01-20",
                       "--db", store_location)
        assert proc.returncode == 0, proc.stderr
        (notice,) = (out / "预警通报-md").glob("early_warning_*.md")
        (number,) = set(re.findall(r"甘发改环资〔2020〕\d+号", notice.read_text(encoding="utf-8")))
        assert f"文号取自文号登记簿：{number}" in proc.stderr
        return number

    proc = cli_run("letters", SAMPLES / "prefectures_2020.csv", "--out", tmp_path / "letters", "--format", "md",
                   "--as-of", "2021-06-30", "--issued-on", "2020-01-10", "--db", store_location)
    assert proc.returncode == 0, proc.stderr
    taken = {x["doc_number"] for x in json.loads((tmp_path / "letters" / "ecocheck-manifest.json").read_text(
        encoding="utf-8"))["letters"] if x["doc_number"].startswith("甘发改环资")}
    last = max(int(n.split("〕")[1][:-1]) for n in taken)
    first = assess(1)
    assert first == f"甘发改环资〔2020〕{last + 1}号"  # after the letters' numbers, never one of them
    assert assess(2) == first  # the same notice re-issued
    periods.write_text(periods.read_text(encoding="utf-8").replace("兰州市,2019,季度,4,是,2980,",
                                                                  "兰州市,2019,季度,4,是,3100,"), encoding="utf-8")
    assert assess(3) == f"甘发改环资〔2020〕{last + 2}号"  # a region's figures changed: another notice


CONCURRENT = """
import datetime as dt, sys
from engine.findings import Report
from engine.letter_model import Letter
from engine.store import open_store
from engine.store.lifecycle import record_run
from engine.store.numbering import number_letters

store = open_store(sys.argv[1])
for n in range(8):  # 8 runs, one letter each, each in its own transaction
    letter = Letter(letter_type="facility_rectification", label="限期整改通知书", authorities=("甘肃省市场监督管理局",),
                    doc_number="甘市监〔2022〕1号", title="限期整改通知书", addressee=f"{sys.argv[2]}{n}", blocks=(),
                    issue_date=dt.date(2022, 1, 10))
    with store.transaction() as connection:
        run = record_run(connection, Report(manifest={}, findings=[], counts={}, rejected=[]), "letters",
                         dt.date(2021, 12, 31), dt.date(2022, 1, 10), set())
        number_letters(connection, [letter], {}, run.run_id, 1, {})
"""


def test_two_processes_at_once_never_take_the_same_number(store_location):
    open_store(store_location).close()  # (created first: both then find the tables)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, store_location, who], env=env, cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for who in ("甲", "乙")]
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    store = open_store(store_location)
    with store.reading() as connection:
        serials = [row.serial for row in connection.execute(select(schema.numbers.c.serial))]
    assert sorted(serials) == list(range(1, 17))


# ------------------------------------------------------------------------------------------- safety

def test_a_run_killed_half_way_leaves_no_trace(store_location, tmp_path):
    table = boilers(tmp_path / "a.csv", [(f"单位{n}", f"GL-{n}", "70") for n in range(30)])
    check(store_location, table)  # run 1
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ECOCHECK_STORE_TEST_KILL_AFTER": "10"}
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "check", str(table), "--as-of", "2021-12-31",
                           "--db", store_location], env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert count(store_location, "runs") == 1
    assert count(store_location, "findings") == count(store_location, "cases")  # run 1's only
    data, said = check(store_location, table)
    assert count(store_location, "runs") == 2 and set(states(data).values()) == {"persisting"}


def test_export_writes_every_table(store_location, tmp_path):
    check(store_location, boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")]))
    out = tmp_path / "store.json"
    proc = cli_run("db", "export", "--db", store_location, "--output", out)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["format"] == "ecocheck-store" and len(data["runs"]) == 1
    assert data["runs"][0]["as_of"] == "2021-12-31" and len(data["run_inputs"][0]["sha256"]) == 64
    assert {f["subject_id"] for f in data["findings"]} == {"GL-1"}


def test_diff_of_two_runs(store_location, tmp_path):
    check(store_location, boilers(tmp_path / "a.csv", [("甲", "GL-1", "70"), ("乙", "GL-2", "70")]))
    check(store_location, boilers(tmp_path / "b.csv", [("乙", "GL-2", "70"), ("丙", "GL-3", "70")]))
    proc = cli_run("diff", "1", "2", "--db", store_location, "--format", "json")
    data = json.loads(proc.stdout)
    assert {r["subject_id"] for r in data["added"]} == {"GL-3"}
    assert {r["subject_id"] for r in data["gone"]} == {"GL-1"}
    assert {r["subject_id"] for r in data["kept"]} == {"GL-2"}
    assert cli_run("diff", "1", "9", "--db", store_location).returncode == 2


# ------------------------------------------------------------------------------------------- waivers

def test_waivers(store_location, tmp_path):
    table = boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "70")])
    check(store_location, table)
    refused = cli_run("waive", "GL-1", "NO-SUCH-RULE", "--reason", "r", "--basis", "b", "--by", "x", "--until",
                      "2022-06-30", "--db", store_location)
    assert refused.returncode == 3 and "不在规则集中" in refused.stderr
    refused = cli_run("waive", "GL-404", "BOILER-003", "--reason", "r", "--basis", "b", "--by", "x", "--until",
                      "2022-06-30", "--db", store_location)
    assert refused.returncode == 3 and "没有关于“GL-404”" in refused.stderr
    rule = next(f["rule_id"] for f in check(store_location, table)[0]["findings"] if f["subject"]["id"] == "GL-1")
    proc = cli_run("waive", "GL-1", rule, "--reason", "更换锅炉过渡期", "--basis", "示例〔2022〕1号", "--by", "某处",
                   "--until", "2022-06-30", "--db", store_location)
    assert proc.returncode == 0, proc.stderr
    data, said = check(store_location, table, as_of="2022-06-29")
    waived = [(f["subject"]["id"], e["waiver"]["reason"]) for f, e in zip(data["findings"], data["lifecycle"]["findings"])
              if e["waiver"]]
    assert waived == [("GL-1", "更换锅炉过渡期")]  # reported, not dropped
    assert "= 未豁免 1 + 已豁免 1" in said
    alone = cli_run("check", boilers(tmp_path / "b.csv", [("甲热力公司", "GL-1", "70")]), "--as-of", "2022-06-29",
                    "--db", store_location)
    assert alone.returncode == 0 and "[违反·持续·已豁免]" in alone.stdout  # shown, not counted for --fail-on
    out = tmp_path / "letters"
    proc = cli_run("letters", table, "--out", out, "--as-of", "2022-06-29", "--db", store_location)
    worklog = (out / "检查记录.html").read_text(encoding="utf-8")
    assert "已豁免：更换锅炉过渡期" in worklog
    letter_text = "".join(p.read_text(encoding="utf-8") for p in out.glob("facility_rectification_*.html"))
    assert "GL-2" in letter_text and "GL-1" not in letter_text
    data, said = check(store_location, table, as_of="2022-06-30")  # expired on its date
    assert not any(e["waiver"] for e in data["lifecycle"]["findings"]) and "= 未豁免 2 + 已豁免 0" in said


WAIVER = "- subject: {subject}\n  rule: {rule}\n  reason: 更换锅炉过渡期\n  basis: 示例〔2022〕1号\n  by: 某处\n  until: {until}\n"


def waiver_file(path: Path, *entries) -> Path:
    """A waiver file of entries (subject, rule, until)."""
    path.write_text("".join(WAIVER.format(subject=s, rule=r, until=u) for s, r, u in entries), encoding="utf-8")
    return path


def adds_up(said: str) -> tuple:
    """(total, waived) of the count line, checked to add up both ways."""
    m = re.search(r"发现事项 (\d+) = 新发现 (\d+) \+ 持续 (\d+) \+ 复发 (\d+) = 未豁免 (\d+) \+ 已豁免 (\d+)", said)
    total, new, persisting, reopened, open_, waived = map(int, m.groups())
    assert total == new + persisting + reopened == open_ + waived
    return total, waived


def test_a_waiver_file_waives_as_the_waive_command_does(store_location, tmp_path):
    table = boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "70")])
    waivers = waiver_file(tmp_path / "waivers.yaml", ("GL-1", "BOILER-001", "2022-06-30"))
    # the first run of these records: the subject is in the records read, though no stored run has it yet
    data, said = check(store_location, table, as_of="2022-06-29", extra=("--waivers", waivers))
    assert [(f["subject"]["id"], e["waiver"]["reason"], e["waiver"]["source"])
            for f, e in zip(data["findings"], data["lifecycle"]["findings"]) if e["waiver"]] == \
        [("GL-1", "更换锅炉过渡期", f"{waivers}#1")]  # reported with its reason and where it came from
    assert adds_up(said) == (2, 1)
    out = tmp_path / "letters"
    proc = cli_run("letters", table, "--out", out, "--as-of", "2022-06-29", "--db", store_location,
                   "--waivers", waivers)
    assert proc.returncode == 0, proc.stderr
    assert "已豁免：更换锅炉过渡期" in (out / "检查记录.html").read_text(encoding="utf-8")
    letter_text = "".join(p.read_text(encoding="utf-8") for p in out.glob("facility_rectification_*.html"))
    assert "GL-2" in letter_text and "GL-1" not in letter_text
    assert count(store_location, "waivers") == 1  # the same entry again: the same waiver, not a second one
    data, said = check(store_location, table, as_of="2022-06-30", extra=("--waivers", waivers))  # expired on its date
    assert not any(e["waiver"] for e in data["lifecycle"]["findings"]) and adds_up(said) == (2, 0)
    _, said = check(store_location, table, as_of="2022-06-29")  # a file's waivers hold for the runs given the file
    assert adds_up(said) == (2, 0)
    listed = cli_run("waivers", "--db", store_location).stdout
    assert f"GL-1 BOILER-001 2022-06-30 更换锅炉过渡期｜示例〔2022〕1号｜某处｜{waivers}#1" in listed


def test_a_waiver_file_for_a_subject_nobody_found_is_refused(store_location, tmp_path):
    table = boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")])
    waivers = waiver_file(tmp_path / "w.yaml", ("GL-1", "BOILER-001", "2022-06-30"), ("GL-404", "BOILER-001", "2022-06-30"))
    proc = cli_run("check", table, "--db", store_location, "--waivers", waivers)
    assert proc.returncode == 3
    assert proc.stderr.startswith(f"错误：文件 {waivers} 第 2 条 字段 subject：“GL-404”既不在本次检查的记录中")
    assert count(store_location, "runs") == 0 and count(store_location, "waivers") == 0  # nothing recorded


@pytest.mark.parametrize("text, entry, field, words", [
    (WAIVER.format(subject="GL-1", rule="NO-SUCH-RULE", until="2022-06-30"), 1, "rule", "规则 NO-SUCH-RULE 不在规则集中"),
    (WAIVER.format(subject="GL-1", rule="BOILER-001", until="2022-13-30"), 1, "until", "“2022-13-30”不是日期"),
    (WAIVER.format(subject="GL-1", rule="BOILER-001", until="明年"), 1, "until", "“明年”不是日期"),
    (WAIVER.format(subject="GL-1", rule="BOILER-001", until="2022-06-30")
     + WAIVER.format(subject="ｇｌ－１", rule="BOILER-001", until="2023-06-30"), 2, "subject", "与第 1 条是同一对象、同一规则的重复豁免"),
    (WAIVER.format(subject="GL-1", rule="BOILER-001", until="2022-06-30").replace("  by: 某处\n", ""), 1, "by", "缺失或为空"),
    (WAIVER.format(subject="GL-1", rule="BOILER-001", until="2022-06-30").replace("reason: 更换锅炉过渡期", "reason: ''"),
     1, "reason", "缺失或为空"),
    (WAIVER.format(subject="GL-1", rule="BOILER-001", until="2022-06-30") + "  note: x\n", 1, "note", "不是豁免条目的字段"),
    ("subject: GL-1\n", None, None, "应是豁免条目的列表"),
], ids=["unknown rule", "impossible date", "no date", "duplicate", "missing field", "empty field", "unknown field",
        "not a list"])
def test_a_bad_waiver_file_is_refused_before_the_run(tmp_path, text, entry, field, words):
    db = tmp_path / "runs.sqlite"
    path = tmp_path / "w.yaml"
    path.write_text(text, encoding="utf-8")
    proc = cli_run("check", boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")]), "--db", db, "--waivers", path)
    where = f"文件 {path}" + (f" 第 {entry} 条 字段 {field}" if entry else "")
    assert proc.returncode == 3 and proc.stderr.startswith(f"错误：{where}：") and words in proc.stderr, proc.stderr
    assert "；请" in proc.stderr and not db.exists()  # refused before anything was run or recorded


def test_a_waiver_file_needs_the_store(tmp_path):
    path = waiver_file(tmp_path / "w.yaml", ("GL-1", "BOILER-001", "2022-06-30"))
    table = boilers(tmp_path / "a.csv", [("甲", "GL-1", "70")])
    proc = cli_run("check", table, "--no-db", "--waivers", path)
    assert proc.returncode == 2 and "--waivers 需要案卷库" in proc.stderr
    proc = cli_run("check", table, "--report", "self", "--output", tmp_path / "r.md", "--waivers", path)
    assert proc.returncode == 2 and "--waivers 对它不起作用" in proc.stderr


# ------------------------------------------------------------------------------------------- deadlines

def test_a_notice_past_its_deadline_is_overdue(store_location, tmp_path):
    table = boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")])
    proc = cli_run("letters", table, "--out", tmp_path / "out", "--as-of", "2022-01-05", "--issued-on", "2022-01-10",
                   "--db", store_location)
    assert proc.returncode == 0, proc.stderr
    data, said = check(store_location, table, as_of="2022-02-09")  # the deadline day: not yet overdue
    assert data["lifecycle"]["overdue"] == []
    data, said = check(store_location, table, as_of="2022-02-10")
    (item,) = {(o["doc_number"], o["deadline"]) for o in data["lifecycle"]["overdue"]}
    assert item == ("甘市监〔2022〕1号", "2022-02-09")  # issued 2022-01-10 + 30 days (templates/letters.yaml)
    assert "逾期未整改 甘市监〔2022〕1号" in said


def test_violations_past_the_deadline_get_the_follow_up_the_config_defines(store_location, tmp_path):
    table = boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "70")])
    cli_run("letters", table, "--out", tmp_path / "first", "--as-of", "2022-01-05", "--issued-on", "2022-01-10",
            "--db", store_location)
    boilers(table, [("甲热力公司", "GL-1", "70"), ("乙热力公司", "GL-2", "88")])  # GL-2 mended in time
    out = tmp_path / "second"
    proc = cli_run("letters", table, "--out", out, "--as-of", "2022-02-15", "--issued-on", "2022-02-20",
                   "--db", store_location)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "ecocheck-manifest.json").read_text(encoding="utf-8"))
    assert [(x["type"], x["doc_number"]) for x in manifest["letters"]] == [("overdue_notice", "甘市监〔2022〕2号")]
    (page,) = out.glob("overdue_notice_*.html")
    text = page.read_text(encoding="utf-8")
    assert "甘市监〔2022〕1号" in text and "2022年2月9日前完成整改" in text and "GL-1" in text and "GL-2" not in text
    # the earlier notice's own words on non-compliance, quoted; no sanction of the letter's own
    assert "该通知书已告知：“逾期未整改或者整改不符合要求的，" in text and "依照有关法律、法规的规定处理。”" in text
    for word in ("罚款", "处罚", "吊销", "停产"):
        assert word not in text


def test_other_letters_past_their_deadline_are_listed_without_a_document(store_location, tmp_path):
    """A 缓批限批 or 暂停环评审批 notice asks for a report by its deadline; the documents attach nothing to a late one: a
    later run lists it as past its deadline, never as 逾期未整改, and writes no follow-up document."""
    out = tmp_path / "out"
    proc = cli_run("letters", SAMPLES / "prefectures_2020.csv", "--out", out, "--format", "md", "--as-of", "2021-06-30",
                   "--issued-on", "2021-07-01", "--db", store_location)
    assert proc.returncode == 0, proc.stderr
    restrictions = {x["doc_number"] for x in json.loads((out / "ecocheck-manifest.json").read_text(encoding="utf-8"))
                    ["letters"] if x["type"] == "restriction_notice"}
    assert len(restrictions) == 2
    data, said = check(store_location, SAMPLES / "prefectures_2020.csv", as_of="2021-09-30")
    assert "逾期未整改 0；其他文书期限已过 2（不出后续文书）" in said
    assert {n for n in restrictions if f"期限已过 {n}《" in said} == restrictions
    overdue = data["lifecycle"]["overdue"]
    assert {o["doc_number"] for o in overdue} == restrictions and not any(o["follow_up"] for o in overdue)
    assert data["lifecycle"]["counts"]["overdue"] == 0 and data["lifecycle"]["counts"]["past_deadline"] == 2
    for word in ("罚款", "处罚", "问责"):
        assert word not in said


def test_a_store_that_cannot_be_opened_is_an_error_line(tmp_path):
    table = boilers(tmp_path / "a.csv", [("甲热力公司", "GL-1", "70")])
    proc = cli_run("check", table, "--db", "postgresql://ecocheck@127.0.0.1:1/none")
    assert proc.returncode == 3 and proc.stderr.startswith("错误：postgresql://ecocheck@127.0.0.1:1/none：案卷库无法读写")
    assert "--no-db" in proc.stderr
    proc = cli_run("check", table, "--db", "mysql://x/y")
    assert proc.returncode == 3 and "不支持的数据库地址" in proc.stderr


def test_the_store_is_migrated_once_and_opens_again(store_location):
    from sqlalchemy import text
    for _ in range(2):
        store = open_store(store_location)
        with store.reading() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"
            assert connection.execute(select(func.count()).select_from(schema.store_lock)).scalar_one() == 1
        store.close()


def test_a_store_of_the_first_version_is_migrated_and_keeps_its_waivers(store_location):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text
    from engine.store.db import MIGRATIONS, engine_url
    engine = create_engine(engine_url(store_location))
    with engine.connect() as connection:  # a store as the first version left it, with a waiver
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text("INSERT INTO waivers (subject, subject_key, rule_id, reason, basis, granted_by, until, "
                                "created_at) VALUES ('GL-1', 'gl-1', 'BOILER-001', 'r', 'b', 'x', '2030-01-01', 'now')"))
        connection.commit()
    engine.dispose()
    store = open_store(store_location)
    with store.reading() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"
        (row,) = connection.execute(select(schema.waivers)).all()
        assert (row.subject, row.source) == ("GL-1", None)  # still a waiver of `ecocheck waive`, for every run
    store.close()


def test_without_postgresql_the_tests_say_how_to_get_it(monkeypatch):
    import pgserver
    monkeypatch.setattr(pgserver, "binaries", lambda: None)
    server = pgserver.Server()
    try:
        with pytest.raises(RuntimeError, match="make postgres.*ECOCHECK_TEST_NO_POSTGRES=1"):
            server.start()
    finally:
        server.stop()
