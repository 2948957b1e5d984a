"""What letters may claim (issue 7): measures only where derived, lapse, printed precision, one fact one line."""

from __future__ import annotations

import datetime as dt

from letterkit import KEY_UNIT_HEADER, PREFECTURE_HEADER, PROJECT_HEADER, context, plan, run, states


def _types(letters) -> list[str]:
    return [letter.letter_type for letter in letters]


def _all_text(letters) -> str:
    return "\n".join(letter.text() for letter in letters)


def test_baiyin_missed_intensity_only_gives_no_restriction_and_holds_no_project(ruleset, tmp_path):
    # 白银 misses its intensity target (16%) but stays under its consumption cap (761): 问责 is for the provincial
    # government to decide; no 缓批限批 is derived, so its pending high-energy project is not held.
    report = run(ruleset, tmp_path, {
        "pref.csv": f"{PREFECTURE_HEADER}\n白银市,2020,15.0,700,20000,4000,80000,40000,是",
        "proj.csv": f"{PROJECT_HEADER}\nP-BY-1,白银某电石项目,白银某化工有限公司,91620400MA74000002,白银市,是,是,待审批,新建",
    })
    assert states(report, "PREF-001") == ["violation"] and states(report, "PREF-002") == ["compliant"]
    assert states(report, "PROJ-001") == ["compliant"]
    letters, _ = plan(ruleset, report)
    assert "restriction_notice" not in _types(letters) and "project_suspension" not in _types(letters)
    text = _all_text(letters)
    assert "缓批限批" not in text.replace("“对未完成省上下达能耗总量控制目标任务的予以通报批评和约谈，实行高耗能项目缓批限批”", "")
    assert "白银某电石项目" not in text
    report_letter = next(x for x in letters if x.letter_type == "prefecture_assessment")
    assert report_letter.addressee == "甘肃省人民政府"
    assert "对未完成能耗强度降低目标的市州人民政府实行问责" in report_letter.text()
    assert "经研究" not in text and "决定对" not in text  # a department reports; it does not decide 问责


def test_jiuquan_project_already_approved_is_not_suspended(ruleset, tmp_path):
    report = run(ruleset, tmp_path, {
        "pref.csv": f"{PREFECTURE_HEADER}\n酒泉市,2020,14.0,500,20000,1000,30000,20000,是",
        "proj.csv": f"{PROJECT_HEADER}\nP-JQ-1,酒泉某建材项目,酒泉某建材有限公司,91620900MA71A0006X,酒泉市,是,否,已核准,新建\n"
                    f"P-JQ-2,酒泉某硅铁项目,酒泉某硅铁有限公司,91620900MA71A0007X,酒泉市,是,否,待审批,新建",
    })
    assert states(report, "PREF-002") == ["violation"]  # 500 > 469: 缓批限批 derived for 酒泉
    assert sorted(states(report, "PROJ-001")) == ["not_applicable", "violation"]
    letters, _ = plan(ruleset, report)
    notice = next(x for x in letters if x.letter_type == "restriction_notice")
    assert notice.addressee == "酒泉市人民政府"
    assert "酒泉某硅铁项目" in notice.text() and "酒泉某建材项目" not in notice.text()
    assert "缓批限批" in notice.text() and "暂停" not in notice.text()  # 缓批限批 is not 暂停
    assert "2020年度" in notice.text() and "500万吨标准煤" in notice.text() and "469万吨标准煤" in notice.text()


def test_jinchang_unit_measure_stays_on_the_unit(ruleset, tmp_path):
    report = run(ruleset, tmp_path, {
        "units.csv": f"{KEY_UNIT_HEADER}\n金昌某冶炼有限公司,91620300MA74000001,金昌市,2020,未完成",
        "proj.csv": f"{PROJECT_HEADER}\nP-JC-1,铜冶炼扩建项目,金昌某冶炼有限公司,91620300MA74000001,金昌市,是,是,待审批,扩建\n"
                    f"P-JC-2,金昌某镍项目,金昌某镍业有限公司,91620300MA74000009,金昌市,是,是,待审批,新建",
    })
    letters, _ = plan(ruleset, report)
    assert "restriction_notice" not in _types(letters)  # no measure on the city
    notice = next(x for x in letters if x.letter_type == "project_suspension")
    assert notice.addressee == "金昌某冶炼有限公司"
    assert "铜冶炼扩建项目" in notice.text() and "金昌某镍项目" not in notice.text()
    assert "2020年度" in notice.text()


def test_measure_lapses_when_a_later_assessment_is_met(ruleset, tmp_path):
    units = f"{KEY_UNIT_HEADER}\n某单位,91620300MA74000011,金昌市,2016,未完成\n某单位,91620300MA74000011,金昌市,2019,完成"
    proj = f"{PROJECT_HEADER}\nP-L-1,某扩建项目,某单位,91620300MA74000011,金昌市,是,否,待审批,扩建"
    report = run(ruleset, tmp_path, {"units.csv": units, "proj.csv": proj}, as_of=dt.date(2026, 1, 1))
    assert states(report, "PROJ-010") == ["compliant"]
    letters, _ = plan(ruleset, report)
    assert "project_suspension" not in _types(letters)
    lapsed = [f for f in report.findings if f.rule_id == "KEYUNIT-001"]
    assert lapsed and lapsed[0].measures == () and "2019年度考核已完成目标" in lapsed[0].lapsed[0]
    # the same records judged before the 2019 assessment: the measure still holds
    report = run(ruleset, tmp_path, {"units.csv": units.rsplit("\n", 1)[0], "proj.csv": proj})
    assert states(report, "PROJ-010") == ["violation"]


def test_caps_compare_at_the_printed_precision(ruleset, tmp_path):
    # 嘉峪关 COD 3670.15 × (1 − 1.5%) = 3615.09775 t, printed to two decimals: 3615.10 t complies.
    report = run(ruleset, tmp_path, {"pref.csv": f"{PREFECTURE_HEADER}\n"
                                                 "嘉峪关市,2020,21,1300,3615.10,700,50028.79,30000,否\n"
                                                 "兰州市,2020,21,2800,36900.13,6748.46,56760.84,67317.02,否\n"
                                                 "甘肃矿区,2020,,,2239.02,20,3357.34,2000,否"})
    assert set(states(report, "PREF-003")) == {"compliant"}
    assert set(states(report, "PREF-004")) == {"compliant"}
    report = run(ruleset, tmp_path, {"pref.csv": f"{PREFECTURE_HEADER}\n嘉峪关市,2020,21,1300,3615.11,700,50028.79,30000,否"})
    assert states(report, "PREF-003") == ["violation"] and states(report, "PREF-004") == ["violation"]


def test_eia_suspension_needs_both_targets_missed_and_a_missed_cap_is_its_own_finding(ruleset, tmp_path):
    report = run(ruleset, tmp_path, {
        "pref.csv": f"{PREFECTURE_HEADER}\n嘉峪关市,2020,21,1300,3000,700,60000,30000,是",
        "proj.csv": f"{PROJECT_HEADER}\nP-J-1,嘉峪关某焦化项目,嘉峪关某焦化有限公司,91620200MA71A0003X,嘉峪关市,是,是,待审批,新建",
    })
    assert states(report, "PREF-004") == ["violation"] and states(report, "PREF-003") == ["compliant"]
    assert states(report, "PROJ-002") == ["compliant"]
    letters, _ = plan(ruleset, report)
    assert "环评审批" not in "".join(x.title for x in letters)
    assessment = next(x for x in letters if x.letter_type == "prefecture_assessment")
    assert "二氧化硫排放量为60000吨，超过要求的50028.79吨" in assessment.text()


def test_key_project_reductions_are_tested(ruleset, tmp_path):
    header = PREFECTURE_HEADER + ",化学需氧量重点工程减排量（吨）,氨氮重点工程减排量（吨）,二氧化硫重点工程减排量（吨）,氮氧化物重点工程减排量（吨）"
    report = run(ruleset, tmp_path, {"pref.csv": f"{header}\n兰州市,2020,21,2800,30000,6000,50000,60000,是,5000,900,14000,14000"})
    assert states(report, "PREF-005") == ["violation"]
    finding = next(f for f in report.findings if f.rule_id == "PREF-005")
    assert any(c.field == "cod_key_project_reduction_t" and c.breached for c in finding.checks)


def test_one_fact_one_line_when_both_documents_state_the_duty(ruleset, tmp_path):
    header = PROJECT_HEADER + ",建筑类型,是否政府投资,是否执行绿色建筑标准,最大单体建筑面积（平方米）"
    report = run(ruleset, tmp_path, {"proj.csv": f"{header}\nP-G-1,某市图书馆新馆,某市文化局,,天水市,否,否,已批复,新建,公共建筑,是,否,12000"})
    assert states(report, "PROJ-012") == ["violation"] and states(report, "CLIM-044") == ["violation"]
    letters, _ = plan(ruleset, report)
    letter = next(x for x in letters if x.letter_type == "facility_rectification")
    items = [b for b in letter.blocks if type(b).__name__ == "FindingItem"]
    assert len(items) == 1  # one numbered item citing both documents
    assert "节能减排综合工作方案" in items[0].text and "国家应对气候变化规划" in items[0].text
    text = letter.text()
    assert "甘政发〔2017〕54号" in text and "国家应对气候变化规划" in text


def test_metro_aspiration_is_no_violation_and_in_no_letter(ruleset):
    clim029 = ruleset.by_id("CLIM-029")
    assert clim029.force == "aspirational"
    example = next(e for e in clim029.examples if e.expect == "gap")
    # the rule's own gap example, run through the whole path (findings and letters)
    from engine.examples import example_records, regions_of
    from engine.runner import evaluate_records
    records = example_records(ruleset, clim029.kind, example.record, "metro", 1, regions_of(ruleset))
    _, findings = evaluate_records(ruleset, records, example.as_of or dt.date(2026, 1, 1))
    gaps = [f for f in findings if f.rule_id == "CLIM-029"]
    assert gaps and gaps[0].status == "gap"
    from letterkit import context
    from engine.letter_plan import plan_letters
    letters, unsent = plan_letters(findings, context(ruleset))
    assert not any("CLIM-029" in str(x.record) for x in letters)
    assert any(u.finding.rule_id == "CLIM-029" for u in unsent)


def test_no_target_or_aspirational_rule_goes_into_a_notice(ruleset):
    for rule in ruleset.rules:
        if rule.force != "binding":
            assert rule.letter == "none", rule.id
            assert not rule.consequences and not rule.derives, rule.id
