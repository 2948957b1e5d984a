"""Letter settings, addressing and issuing, numbering, escaping, paths and the four output formats."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.letter_config import load_letter_config
from engine.letter_text import article_label, check_sentence, document_citation, gap_text
from engine.letters import md_escape
from engine.findings import Check
from engine.paths import ensure_inside, safe_filename

from letterkit import PROJECT_HEADER, plan, render, run

BOILERS = ("使用单位,锅炉编号,市州,燃料种类,测试类型,制造单位,出厂日期,测试日期,热效率（%）,是否在集中供热供气管网覆盖范围内,是否在用\n")
COAL = "样品编号,销售单位,市州,抽检日期,灰分Ad（%）,\"全硫St,d（%）\"\n"


def write_config(tmp_path, text: str) -> Path:
    path = tmp_path / "letters.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ who writes to whom

def test_new_boiler_letters_go_to_the_manufacturer_and_in_use_boiler_letters_to_the_user(ruleset, tmp_path):
    report = run(ruleset, tmp_path, {"b.csv": BOILERS +
                                     "兰州某热力公司,GL-1,兰州市,燃煤,验收,太原某锅炉厂,2021-03-01,2021-06-01,78.6,否,是\n"
                                     "兰州某热力公司,GL-2,兰州市,燃煤,验收,,2021-03-01,2021-06-01,78.0,否,是\n"
                                     "白银某化工公司,GL-3,白银市,燃煤,运行,,2010-01-01,2021-06-01,85,是,是"})
    letters, unsent = plan(ruleset, report)
    by_addressee = {x.addressee: x for x in letters}
    assert set(by_addressee) == {"太原某锅炉厂", "白银某化工公司"}
    assert "GL-1" in by_addressee["太原某锅炉厂"].text() and "GL-2" not in by_addressee["太原某锅炉厂"].text()
    assert by_addressee["太原某锅炉厂"].authorities == ("甘肃省市场监督管理局",)  # 省质监局 in 三.（十三）
    missing_maker = [u for u in unsent if u.finding.subject.id == "GL-2"]
    assert missing_maker and "制造单位" in missing_maker[0].reason


def test_issuer_is_an_authority_the_article_names(ruleset, tmp_path):
    # the office asks for 省公安厅 to issue coal letters, but 四.（十七） names 省建设厅, 省环保厅 … as leads:
    # the letter comes from the first authority the article names instead.
    config = load_letter_config(write_config(tmp_path, "facility_rectification:\n  by_kind:\n    coal_sample:\n"
                                                       "      issuing_authority: 省公安厅\n"))
    report = run(ruleset, tmp_path, {"c.csv": COAL + "M-1,定西某煤场,定西市,2021-01-10,18.5,0.6"})
    letters, _ = plan(ruleset, report, config)
    [letter] = letters
    acting = ruleset.by_id("COAL-001").acting
    assert "甘肃省公安厅" not in letter.authorities
    assert letter.record["issuers"][0] == acting[0]


def test_document_numbers_are_unique_per_prefix_and_sequential(ruleset, tmp_path):
    rows = "".join(f"M-{n},定西某煤场{n},定西市,2021-01-10,18.5,0.6\n" for n in range(1, 6))
    report = run(ruleset, tmp_path, {"c.csv": COAL + rows})
    letters, _ = plan(ruleset, report)
    numbers = [x.doc_number for x in letters]
    assert len(set(numbers)) == len(numbers) == 5
    assert [int(re.search(r"〕(\d+)号", n).group(1)) for n in numbers] == [1, 2, 3, 4, 5]
    assert all("〔2026〕" in n for n in numbers)


def test_a_restriction_notice_lists_only_pending_projects_of_its_region(ruleset, tmp_path):
    from letterkit import PREFECTURE_HEADER
    report = run(ruleset, tmp_path, {
        "pref.csv": f"{PREFECTURE_HEADER}\n兰州市,2020,21,3000,30000,6000,50000,60000,是",
        "proj.csv": f"{PROJECT_HEADER}\nP-1,兰州某铝项目,兰州某铝业,91620100MA71A0001X,兰州新区,是,是,待审批,扩建\n"
                    f"P-2,天水某项目,天水某公司,91620500MA71A0004X,天水市,是,是,待审批,新建",
    })
    letters, _ = plan(ruleset, report)
    notice = next(x for x in letters if x.letter_type == "restriction_notice")
    assert "兰州某铝项目" in notice.text() and "天水某项目" not in notice.text()
    interview = next(x for x in letters if x.letter_type == "interview_notice")
    assert interview.addressee == "兰州市人民政府" and "约谈" in interview.title


# ------------------------------------------------------------------ wording

def test_articles_and_documents_as_a_reader_cites_them(ruleset):
    assert article_label("三.（十三）") == "第三部分第（十三）条"
    assert article_label("四.（一）.5") == "第四部分第（一）条第5项"
    assert article_label("附件2") == "附件2"
    assert document_citation(ruleset.documents["energy-plan"]) == "《甘肃省“十三五”节能减排综合工作方案》（甘政发〔2017〕54号）"
    assert "甘肃省人民政府办公厅2014年12月31日印发" in document_citation(ruleset.documents["climate-opinion"])


def test_gaps_of_percentages_are_percentage_points():
    assert gap_text(-7.6, "%") == "7.6个百分点"
    assert gap_text(51, "万吨标准煤") == "51万吨标准煤"
    check = Check("efficiency_pct", "热效率", "lt", "72.4", "80", "%", -7.6, True)
    assert check_sentence(check) == "热效率为72.4%，低于要求的80%，相差7.6个百分点"


# ------------------------------------------------------------------ formats, escaping and paths

@pytest.mark.parametrize("fmt", ["html", "md", "docx", "pdf"])
def test_every_format_writes_letters_an_index_and_the_working_record(ruleset, tmp_path, fmt):
    report = run(ruleset, tmp_path, {"c.csv": COAL + "M-1,定西某煤场,定西市,2021-01-10,18.5,0.6"})
    out = tmp_path / "out"
    written = render(ruleset, report, out, fmt)
    side = fmt if fmt in ("html", "md") else "html"
    assert {p.name for p in written} == {f"facility_rectification_001_定西某煤场.{fmt}", f"index.{side}",
                                         f"检查记录.{side}"}
    letter = out / f"facility_rectification_001_定西某煤场.{fmt}"
    if fmt == "docx":
        import docx
        text = "\n".join(p.text for p in docx.Document(str(letter)).paragraphs)
    elif fmt == "pdf":
        from pypdf import PdfReader
        text = "\n".join(page.extract_text() for page in PdfReader(str(letter)).pages)
        text = re.sub(r"\s+", "", text)
    else:
        text = letter.read_text(encoding="utf-8")
    assert "定西某煤场" in text and "限期整改通知书" in text
    assert "〔2026〕1号" in text.replace(" ", "")


def test_hostile_names_are_escaped_and_stay_inside_the_folder(ruleset, tmp_path):
    evil = "<script>alert(1)</script>/../../etc"
    report = run(ruleset, tmp_path, {"c.csv": COAL + f"M-1,\"{evil}\",定西市,2021-01-10,18.5,0.6"})
    out = tmp_path / "deep" / "out"
    for fmt in ("html", "md"):
        written = render(ruleset, report, out / fmt, fmt)
        for path in written:
            assert path.resolve().is_relative_to((out / fmt).resolve())
            assert ".." not in path.name and "/" not in path.name and "<" not in path.name
            assert "<script>" not in path.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in next((out / "html").glob("facility_*")).read_text(encoding="utf-8")
    assert "&lt;script&gt;" in next((out / "md").glob("facility_*")).read_text(encoding="utf-8")
    assert not (tmp_path / "etc").exists()


def test_md_escape_flattens_lines():
    assert md_escape("a\nb|c") == "a b\\|c"
    assert md_escape(None) == ""


def test_safe_filename():
    assert safe_filename("兰州某热力有限公司") == "兰州某热力有限公司"
    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename("a  b\\c:d*e?f\"g<h>i|j\x00k") == "a_b_c_d_e_f_g_h_i_j_k"
    assert safe_filename("") == safe_filename("...") == "unnamed"
    assert len(safe_filename("长" * 200)) == 60
    assert safe_filename("CON") != "CON"


def test_ensure_inside(tmp_path):
    assert ensure_inside(tmp_path, tmp_path / "a.html") == (tmp_path / "a.html").resolve()
    with pytest.raises(ValueError):
        ensure_inside(tmp_path / "out", tmp_path / "out" / ".." / "x.html")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError):
        ensure_inside(tmp_path / "out", tmp_path / "out" / "link" / "x.html")


# ------------------------------------------------------------------ settings

def test_user_settings_override_and_keep_the_defaults(tmp_path):
    config = load_letter_config(write_config(tmp_path, "facility_rectification:\n  deadline_days: 20\n"))
    default = load_letter_config(None)
    assert config["facility_rectification"]["deadline_days"] == 20
    assert config["facility_rectification"]["appeal"] == default["facility_rectification"]["appeal"]
    assert load_letter_config(write_config(tmp_path, "")) == default


@pytest.mark.parametrize("text, key", [
    ("facility_rectifcation:\n  deadline_days: 30\n", "facility_rectifcation"),
    ("facility_rectification:\n  deadline_days: 三十\n", "facility_rectification.deadline_days"),
    ("facility_rectification:\n  deadline_days: true\n", "facility_rectification.deadline_days"),
    ("project_suspension:\n  copy_to: 甘肃省生态环境厅\n", "project_suspension.copy_to"),
    ("interview_notice:\n  title: 关于{oops}的通知\n", "interview_notice.title"),
    ("facility_rectification:\n  colour: red\n", "facility_rectification.colour"),
    ("facility_rectification:\n  issuing_authority: 兰州市节能监察中心\n", "facility_rectification"),
    ("seal_text: 12\n", "seal_text"),
    ("facility_rectification:\n  by_kind:\n    boiler:\n      deadline_days: 三十\n",
     "facility_rectification.by_kind.boiler.deadline_days"),
    ("facility_rectification:\n  by_kind:\n    boiler:\n      by_kind: {}\n", "facility_rectification.by_kind.boiler.by_kind"),
    ("restriction_notice:\n  by_measure: [hold_high_energy_projects]\n", "restriction_notice.by_measure"),
])
def test_bad_settings_name_the_file_and_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as info:
        load_letter_config(write_config(tmp_path, text))
    assert key in str(info.value) and "letters.yaml" in str(info.value)
    assert str(info.value).startswith(str(tmp_path)) and "处理办法：" in str(info.value)  # the file, and the fix
