"""Tests of letter configuration, grouping and rendering (engine.letters) and of engine.paths."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.findings import Check, Citation, Finding, Source, Subject
from engine.letters import cn_date, group_letters, load_letter_config, md_escape, render_letters
from engine.paths import ensure_inside, safe_filename

ISSUE = datetime.date(2026, 11, 21)
PLAN = "甘肃省“十三五”节能减排综合工作方案"
EVIL = "<script>alert(1)</script>/../../etc"
MANIFEST = {
    "tool_version": "0.1.0",
    "rules_fingerprint": "f" * 64,
    "as_of": "2026-11-01",
    "inputs": [{"path": "inputs/boilers.csv", "sha256": "abcdef0123456789" * 4, "rows": 3, "evaluated": 3,
                "rejected": 0, "kind": "boiler"}],
}


def finding(rule_id="BOILER-001", status="violation", letter="facility_rectification", recipient="兰州某热力有限公司",
            subject_id="GL-1", name="1号锅炉", region="兰州市", kind="boiler", row=2, **extra) -> Finding:
    defaults = dict(
        title="新生产燃煤锅炉效率低于80%",
        severity="high",
        subject=Subject(kind, subject_id, name, region, recipient),
        source=Source("inputs/boilers.csv", row),
        citation=Citation("000", PLAN, "三.（十三）", "到2020年新生产燃煤锅炉效率不低于80%"),
        message="锅炉效率72.3%，低于限值80%",
        checks=(Check("efficiency", "锅炉效率", "lt", 72.3, 80, "%", -7.7, True),
                Check("fuel", "燃料种类", "eq", "煤", "煤", "", None, False)),
        required_actions=("对锅炉进行节能改造",),
        consequences=("逾期不改正的依法处理",),
        letter=letter,
    )
    defaults.update(extra)
    return Finding(rule_id=rule_id, status=status, **defaults)


def prefecture(rule_id, consequence, name="天水市"):
    return finding(rule_id=rule_id, letter="prefecture_accountability", recipient=f"{name}人民政府",
                   subject_id="620500", name=name, region=name, kind="prefecture",
                   title="能源消费增量超过控制目标", message=f"{name}能源消费增量52.4万吨标准煤，超过控制目标45万吨标准煤",
                   checks=(Check("increment", "能源消费增量", "gt", 52.4, 45, "万吨标准煤", 7.4, True),),
                   consequences=(consequence,), required_actions=("严格控制新增高耗能项目用能",))


def render(tmp_path, findings, fmt="html", config=None, issue_date=ISSUE):
    out = tmp_path / "out"
    paths = render_letters(findings, MANIFEST, config or load_letter_config(None), out, fmt, issue_date)
    return out, paths


def write_config(tmp_path, text: str) -> Path:
    path = tmp_path / "letters.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ grouping and files

def test_one_file_per_letter_type_and_recipient_plus_index(tmp_path):
    findings = [
        finding(subject_id="GL-1"),
        finding(subject_id="GL-2", row=3),                         # same recipient, same letter
        finding(recipient="白银某化工有限公司", subject_id="GL-9"),   # other recipient
        prefecture("PREF-002", "通报批评和约谈"),
        finding(status="compliant", recipient="不发函单位"),        # never a letter
        finding(letter="", recipient="无函件类型单位"),              # no letter type
        finding(letter="none", recipient="无需发函单位"),            # rule says: no letter
    ]
    groups = group_letters(findings)
    assert [(g.letter_type, g.recipient, len(g.violations)) for g in groups] == [
        ("facility_rectification", "兰州某热力有限公司", 2),
        ("facility_rectification", "白银某化工有限公司", 1),
        ("prefecture_accountability", "天水市人民政府", 1),
    ]
    out, paths = render(tmp_path, findings)
    assert len(paths) == 4 and paths[-1].name == "index.html"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    index = (out / "index.html").read_text(encoding="utf-8")
    for p in paths[:-1]:
        assert f'href="{p.name}"' in index
    assert "兰州某热力有限公司" in index and "天水市人民政府" in index and "不发函单位" not in index
    assert "0.1.0" in index and "abcdef012345" in index


def test_group_order_is_deterministic():
    a = [finding(recipient="乙单位"), finding(recipient="甲单位"), prefecture("PREF-001", "问责")]
    keys = [(g.letter_type, g.recipient) for g in group_letters(a)]
    assert keys == sorted(keys)
    assert keys == [(g.letter_type, g.recipient) for g in group_letters(list(reversed(a)))]


# ------------------------------------------------------------------ escaping and paths

def test_hostile_recipient_is_escaped_and_stays_inside_out_dir(tmp_path):
    out, paths = render(tmp_path, [finding(recipient=EVIL, name=EVIL)])
    base = out.resolve()
    for p in paths:
        assert p.resolve().is_relative_to(base)
    letter = paths[0]
    assert "/" not in letter.name and ".." not in letter.name and "<" not in letter.name
    assert {p.resolve() for p in base.rglob("*")} == {p.resolve() for p in paths}
    assert not list(tmp_path.glob("etc*")) and not (tmp_path / "etc").exists()
    for p in paths:
        html = p.read_text(encoding="utf-8")
        assert "<script>" not in html
        assert "&lt;script&gt;" in html


def test_markdown_escapes_table_breaking_characters(tmp_path):
    name = "A|B *粗* _x_ `c` <b>[l](u) #1"
    out, paths = render(tmp_path, [finding(recipient=name, name=name)], fmt="md")
    text = paths[0].read_text(encoding="utf-8")
    assert "A\\|B" in text and "A|B" not in text.replace("A\\|B", "")
    assert "<b>" not in text and "\\<b\\>" in text
    assert "\\[l\\](u)" in text and "\\#1" in text
    # every row of the violation table keeps its 7 columns
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 8
    index = (out / "index.md").read_text(encoding="utf-8")
    assert "A\\|B" in index and f"]({paths[0].name})" in index


def test_md_escape_flattens_lines():
    assert md_escape("a\nb|c") == "a b\\|c"
    assert md_escape(None) == ""


def test_safe_filename():
    assert safe_filename("兰州某热力有限公司") == "兰州某热力有限公司"
    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename("a  b\\c:d*e?f\"g<h>i|j\x00k") == "a_b_c_d_e_f_g_h_i_j_k"
    assert safe_filename(".hidden") == "hidden"
    assert safe_filename("") == safe_filename("...") == safe_filename("///") == "unnamed"
    assert safe_filename("-rf") == "rf"
    assert len(safe_filename("长" * 200)) == 60
    assert len(safe_filename("x" * 200, max_len=10)) == 10
    assert safe_filename("CON") != "CON"


def test_ensure_inside(tmp_path):
    assert ensure_inside(tmp_path, tmp_path / "a.html") == (tmp_path / "a.html").resolve()
    with pytest.raises(ValueError):
        ensure_inside(tmp_path / "out", tmp_path / "out" / ".." / "x.html")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError):
        ensure_inside(tmp_path / "out", tmp_path / "out" / "link" / "x.html")


# ------------------------------------------------------------------ numbers, dates, config

def test_doc_number_and_deadline(tmp_path):
    config = load_letter_config(write_config(tmp_path, """
facility_rectification:
  doc_number_prefix: 兰节监
  doc_number_start: 7
  deadline_days: 45
"""))
    findings = [finding(recipient="甲单位"), finding(recipient="乙单位"), prefecture("PREF-001", "问责")]
    out, paths = render(tmp_path, findings, config=config)
    first = paths[0].read_text(encoding="utf-8")
    second = paths[1].read_text(encoding="utf-8")
    assert "兰节监〔2026〕7号" in first and "兰节监〔2026〕8号" in second
    assert "甘发改环资〔2026〕1号" in paths[2].read_text(encoding="utf-8")
    assert paths[0].name.startswith("facility_rectification_001_") and paths[1].name.startswith("facility_rectification_002_")
    deadline = cn_date(ISSUE + datetime.timedelta(days=45))
    assert deadline == "2027年1月5日"
    assert deadline in first and "2026年11月21日" in first


def test_user_config_overrides_authority_and_keeps_defaults(tmp_path):
    config = load_letter_config(write_config(tmp_path, """
issuing_office: 兰州市节能监察中心办公室
facility_rectification:
  issuing_authority: 兰州市节能监察中心
"""))
    assert config["facility_rectification"]["issuing_authority"] == "兰州市节能监察中心"
    assert config["facility_rectification"]["deadline_days"] == load_letter_config(None)["facility_rectification"][
        "deadline_days"]
    out, paths = render(tmp_path, [finding()], config=config)
    html = paths[0].read_text(encoding="utf-8")
    assert "兰州市节能监察中心" in html and "甘肃省发展和改革委员会" not in html
    assert "兰州市节能监察中心办公室" in html


@pytest.mark.parametrize("text, key", [
    ("facility_rectifcation:\n  deadline_days: 30\n", "facility_rectifcation"),
    ("facility_rectification:\n  deadline_days: 三十\n", "facility_rectification.deadline_days"),
    ("facility_rectification:\n  deadline_days: 30.5\n", "facility_rectification.deadline_days"),
    ("facility_rectification:\n  deadline_days: true\n", "facility_rectification.deadline_days"),
    ("project_suspension:\n  copy_to: 甘肃省生态环境厅\n", "project_suspension.copy_to"),
    ("prefecture_accountability:\n  title: 关于{subject}的{oops}\n", "prefecture_accountability.title"),
    ("facility_rectification:\n  colour: red\n", "facility_rectification.colour"),
    ("seal_text: 12\n", "seal_text"),
])
def test_bad_config_names_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as info:
        load_letter_config(write_config(tmp_path, text))
    assert key in str(info.value)


def test_config_file_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (1 << 20) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bytes"):
        load_letter_config(path)


def test_empty_user_config_is_the_default(tmp_path):
    assert load_letter_config(write_config(tmp_path, "")) == load_letter_config(None)


# ------------------------------------------------------------------ letter content

def test_indeterminates_only_in_verify_section(tmp_path):
    missing = finding(rule_id="BOILER-009", status="indeterminate", title="排烟温度核查", subject_id="GL-7",
                      message="缺少排烟温度", missing=("排烟温度",), checks=())
    lonely = finding(rule_id="BOILER-009", status="indeterminate", title="排烟温度核查", recipient="只有待定的单位",
                     message="缺少排烟温度", missing=("排烟温度",), checks=())
    out, paths = render(tmp_path, [finding(), missing, lonely])
    assert len(paths) == 2  # no letter for the recipient with only an indeterminate
    html = paths[0].read_text(encoding="utf-8")
    verify_at = html.index("需补充核实的事项")
    assert html.index("排烟温度核查") > verify_at
    assert html.index("缺少排烟温度") > verify_at
    assert html.count("排烟温度核查") == 1
    assert "只有待定的单位" not in (out / "index.html").read_text(encoding="utf-8").split("<table")[1]
    groups = group_letters([finding(), missing, lonely])
    assert [len(g.indeterminates) for g in groups] == [1]
    # without indeterminates there is no verify section
    _, paths = render(tmp_path / "b", [finding()])
    assert "需补充核实的事项" not in paths[0].read_text(encoding="utf-8")


def test_violation_table_shows_breached_checks_only(tmp_path):
    _, paths = render(tmp_path, [finding()])
    html = paths[0].read_text(encoding="utf-8")
    assert "72.3%" in html and "80%" in html and "低7.7%" in html
    assert "燃料种类" not in html  # a check that was not breached
    assert "三.（十三）" in html and "到2020年新生产燃煤锅炉效率不低于80%" in html
    assert "对锅炉进行节能改造" in html and "逾期不改正的依法处理" in html
    assert "行政复议" in html and "size: A4" in html


def test_prefecture_title_names_the_measures(tmp_path):
    findings = [prefecture("PREF-001", "对市州人民政府实行问责"), prefecture("PREF-002", "通报批评和约谈，高耗能项目缓批限批")]
    _, paths = render(tmp_path, findings)
    html = paths[0].read_text(encoding="utf-8")
    assert "关于对天水市实行问责、予以通报批评和约谈并实行高耗能项目缓批限批的通知" in html
    assert "52.4万吨标准煤" in html and "超7.4万吨标准煤" in html
    for section in ("一、基本情况", "二、处理依据", "三、处理决定", "四、有关要求"):
        assert section in html
    assert "环评审批" not in html.split("<h1")[1].split("</h1>")[0]


def test_project_letter_names_project_and_restriction(tmp_path):
    cause = prefecture("PREF-002", "高耗能项目缓批限批")
    project = finding(rule_id="PROJ-001", letter="project_suspension", recipient="天水市发展和改革委员会",
                      subject_id="2026-620500-26-02-000123", name="天水某水泥熟料生产线项目", region="天水市",
                      kind="project", title="限批地区的高耗能项目暂停审批", checks=(),
                      consequences=("高耗能项目缓批限批",), derived_from=("PREF-002（boilers.csv 第2行）",),
                      required_actions=())
    out, paths = render(tmp_path, [cause, project], fmt="md")
    text = next(p for p in paths if p.name.startswith("project_suspension")).read_text(encoding="utf-8")
    assert "天水某水泥熟料生产线项目" in text and "天水市" in text
    assert "高耗能项目缓批限批" in text and "PREF-002" in text
    # the cause, resolved from derived_from against the prefecture's violation in the same run
    assert "天水市能源消费增量52.4万吨标准煤，超过控制目标45万吨标准煤（规则 PREF-002，boilers.csv 第2行）" in text
    assert "暂停" in text


def test_every_template_renders_in_both_formats(tmp_path):
    findings = [finding(), prefecture("PREF-001", "问责"),
                finding(rule_id="PROJ-001", letter="project_suspension", recipient="某发改委", kind="project",
                        checks=(), derived_from=("PREF-001",), consequences=("高耗能项目缓批限批",))]
    for fmt in ("html", "md"):
        _, paths = render(tmp_path / fmt, findings, fmt=fmt)
        assert len(paths) == 4
        assert all(p.suffix == f".{fmt}" for p in paths)


def test_limit_wording_and_interpretation_notes(tmp_path):
    f = finding(rule_id="PREF-003", checks=(Check("env_met", "环境质量改善目标是否完成", "eq", "否", "否", "", None, True),
                                            Check("filled", "考核结果", "absent", "—", "", "", None, True)),
                interpretation="两项目标均未完成时适用。")
    g = finding(rule_id="PREF-004", subject_id="GL-2", interpretation="两项目标均未完成时适用。")
    _, paths = render(tmp_path, [f, g], fmt="md")
    text = paths[0].read_text(encoding="utf-8")
    assert "不得为 否" in text and "应填报" in text
    assert text.count("两项目标均未完成时适用。") == 1 and "注1：两项目标均未完成时适用。" in text
    assert text.count("适用说明见表注1") == 2


def test_letters_about_fuel_come_from_the_market_regulator_in_a_letter_of_their_own(tmp_path):
    station = "武威某加油站"
    fuel = finding(rule_id="FUEL-003", recipient=station, kind="fuel_sample", subject_id="YP-1", name=station)
    boiler = finding(rule_id="BOILER-001", recipient=station)
    out, paths = render(tmp_path, [fuel, boiler], fmt="md")
    letters = [p for p in paths if p.name != "index.md"]
    assert len(letters) == 2 and len({p.name for p in letters}) == 2
    texts = {p.name: p.read_text(encoding="utf-8") for p in letters}
    fuel_letter = next(t for t in texts.values() if "YP\\-1" in t or "YP-1" in t)
    boiler_letter = next(t for t in texts.values() if t is not fuel_letter)
    assert "甘肃省市场监督管理局" in fuel_letter and "甘市监质〔2026〕1号" in fuel_letter
    assert "大气污染防治法" in fuel_letter and "节约能源法》《节能监察办法" not in fuel_letter
    assert "甘发改环资监〔2026〕1号" in boiler_letter and "节约能源法" in boiler_letter


def test_by_kind_settings_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="facility_rectification.by_kind.fuel_sample.deadline_days"):
        load_letter_config(write_config(tmp_path, """
facility_rectification:
  by_kind:
    fuel_sample:
      deadline_days: soon
"""))
