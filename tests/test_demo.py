"""The demo: every record kind has sample records, and the whole job writes findings and every kind of letter."""

import json

from engine.runner import DEFAULT_SAMPLES, load_rules, sample_paths


def test_samples_cover_every_record_kind():
    from engine.records import load_file
    from engine.runner import regions_of
    ruleset = load_rules()
    regions = regions_of(ruleset)
    kinds = set()
    for path in sample_paths(DEFAULT_SAMPLES):
        loaded = load_file(path, ruleset.schemas, regions)
        kinds |= {t.kind for t in loaded.tables}
    assert kinds == set(ruleset.schemas)


def test_demo_writes_findings_and_every_kind_of_letter(demo_run):
    out, done = demo_run
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    for entry in report["manifest"]["inputs"]:
        assert entry["rows"] == entry["evaluated"] + entry["rejected"], entry
    short = {f["subject"]["kind"] for f in report["findings"] if f["status"] in ("violation", "gap")}
    ruleset = load_rules()
    # every kind that rules judge shows a record that falls short of a provision (prefecture_period records feed the
    # early warning, which is a notice of progress, not a rule finding)
    assert short == {r.kind for r in ruleset.rules}
    assert (out / "assessment" / "考核结果.xlsx").exists() and (out / "assessment" / "预警.html").exists()
    assert list((out / "assessment" / "预警通报-pdf").glob("early_warning_*.pdf"))
    assert {f["status"] for f in report["findings"]} == {"violation", "gap", "indeterminate"}
    for fmt, folder in (("html", "letters"), ("md", "letters-md")):
        names = [p.name for p in (out / folder).iterdir()]
        assert f"index.{fmt}" in names and f"检查记录.{fmt}" in names
        for letter in ("facility_rectification", "prefecture_assessment", "interview_notice", "restriction_notice",
                       "project_suspension"):
            assert any(n.startswith(letter) for n in names), (letter, names)
    assert (out / "findings.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "<svg" in (out / "overview.html").read_text(encoding="utf-8") and (out / "overview.xlsx").is_file()
