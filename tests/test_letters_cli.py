"""`ecocheck letters`: issue date apart from the as-of date, document numbers, output folders and their manifest."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from engine.cli import main
from engine.outdir import MANIFEST

COAL = "样品编号,销售单位,市州,抽检日期,灰分Ad（%）,\"全硫St,d（%）\"\n" + \
       "".join(f"M-{n},定西某煤场{n},定西市,2021-01-10,18.5,0.6\n" for n in range(1, 4))


@pytest.fixture
def cli(capsys):
    def invoke(*args):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        captured = capsys.readouterr()
        return code, captured.out + captured.err
    return invoke


@pytest.fixture
def coal(tmp_path):
    path = tmp_path / "coal.csv"
    path.write_text(COAL, encoding="utf-8")
    return path


def test_issue_date_sets_the_date_and_number_year_apart_from_as_of(cli, coal, tmp_path):
    out = tmp_path / "out"
    code, output = cli("letters", coal, "--out", out, "--format", "md", "--as-of", "2021年12月31日",
                       "--issued-on", "2027/1/5", "--first-number", 41)
    assert code == 0, output
    letters = sorted(out.glob("facility_rectification_*.md"))
    assert len(letters) == 3
    text = letters[0].read_text(encoding="utf-8")
    assert "〔2027〕41号" in text and "2027年1月5日" in text and "2027年2月4日" in text  # deadline: 30 days on
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2021-12-31" and manifest["issued_on"] == "2027-01-05"
    assert list(manifest["numbers"].values()) == [[41, 43]]
    assert sorted(x["doc_number"] for x in manifest["letters"])[0].endswith("〔2027〕41号")
    assert set(manifest["files"]) == {p.name for p in out.iterdir() if p.name != MANIFEST}


def test_a_used_folder_needs_overwrite_which_removes_only_what_ecocheck_wrote(cli, coal, tmp_path):
    out = tmp_path / "out"
    assert cli("letters", coal, "--out", out, "--format", "html", "--format", "pdf")[0] == 0
    assert (out / "html" / "index.html").is_file() and any((out / "pdf").glob("*.pdf"))
    (out / "我的笔记.txt").write_text("keep", encoding="utf-8")
    code, output = cli("letters", coal, "--out", out)
    assert code == 2 and "不是空的" in output and "--overwrite" in output
    code, output = cli("letters", coal, "--out", out, "--overwrite", "--format", "md")
    assert code == 0, output
    assert (out / "我的笔记.txt").read_text(encoding="utf-8") == "keep"
    assert not (out / "html").exists() and not (out / "pdf").exists()  # the earlier run's files are gone
    assert len(list(out.glob("facility_rectification_*.md"))) == 3


def test_a_folder_with_other_files_is_never_cleared(cli, coal, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.docx").write_bytes(b"x")
    code, output = cli("letters", coal, "--out", out, "--overwrite")
    assert code == 2 and "不是 ecocheck 写出的文件" in output
    assert (out / "report.docx").read_bytes() == b"x"


def test_a_bad_date_names_the_option(cli, coal, tmp_path):
    code, output = cli("letters", coal, "--out", tmp_path / "o", "--issued-on", "明天")
    assert code == 2 and "--issued-on" in output and "2021年12月31日" in output


def test_record_kinds_by_their_chinese_names(cli, tmp_path):
    out = tmp_path / "t.csv"
    code, output = cli("template", "锅炉", "--format", "csv", "--out", out)
    assert code == 0, output
    assert out.read_text(encoding="utf-8-sig").startswith("使用单位,锅炉编号")
    code, output = cli("template", "锅", "--format", "csv", "--out", out)
    assert code == 2 and "没有“锅”这种记录类型" in output and "锅炉（boiler）" in output


def test_progress_bar_only_on_a_terminal(ruleset, coal):
    import io

    from engine.progress import Progress
    from engine.runner import check

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown, hidden = Terminal(), io.StringIO()
    counted = []
    for stream in (shown, hidden):
        with Progress(stream=stream, delay=0) as progress:
            check([coal], ruleset, dt.date(2022, 1, 1), progress=progress.update)
        counted.append(progress.bar.n if progress.bar is not None else None)
    assert counted == [3, None]  # three rows read and checked; no bar where stderr is not a terminal
    assert "读取并检查" in shown.getvalue() and "行" in shown.getvalue()
    assert hidden.getvalue() == ""
