"""The provision catalogue (rules/provisions/*.yaml): verbatim sentence spans covering every article, each tested by
named rules or given a reason, and every rule linked to a provision of the article it cites."""

import importlib.util
import json
import unicodedata

import pytest

from engine import coverage
from engine.errors import RuleError
from engine.runner import load_rules
from tests.conftest import ROOT, yaml_file

RULESET = load_rules()
PROVISIONS = coverage.load_provisions(RULESET)
RAW = {path.stem: yaml_file(path)
       for path in sorted((ROOT / "rules" / "provisions").glob("*.yaml"))}


def _tool():
    spec = importlib.util.spec_from_file_location("provisions_tool", ROOT / "tools" / "provisions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _letters(text: str) -> str:
    """The text without white space and punctuation: what the spans of an article must cover, in order."""
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def test_there_is_one_catalogue_per_document_and_every_unit_has_provisions():
    assert set(RAW) == set(RULESET.documents) == {"energy-plan", "climate-opinion"}
    for key, document in RULESET.documents.items():
        assert RAW[key]["document"] == key
        assert {p.article for p in PROVISIONS if p.document == key} == set(document.units())


def test_every_span_is_verbatim_in_its_article():
    for p in PROVISIONS:
        article = RULESET.documents[p.document].articles[p.article]
        assert p.text and p.text in article.text, p.id
        assert p.text == p.text.strip(), p.id


def test_the_spans_of_an_article_cover_its_text_in_order():
    for key, document in RULESET.documents.items():
        for label in document.units():
            spans = [p.text for p in PROVISIONS if p.document == key and p.article == label]
            assert "".join(_letters(s) for s in spans) == _letters(document.articles[label].text), label
            cursor = 0  # and each span lies after the one before it
            for span in spans:
                at = document.articles[label].text.find(span, cursor)
                assert at >= 0, (label, span)
                cursor = at + len(span)


def test_ids_are_document_article_and_position():
    seen = set()
    for key in RAW:
        counters: dict = {}
        for p in (p for p in PROVISIONS if p.document == key):
            counters[p.article] = counters.get(p.article, 0) + 1
            assert p.id == f"{key}/{p.article}/{counters[p.article]}"
            assert p.id not in seen
            seen.add(p.id)


def test_every_provision_has_rules_or_a_reason_and_every_untested_checkable_one_says_why():
    for p in PROVISIONS:
        assert bool(p.rules) != bool(p.category), p.id
        assert p.kind in coverage.KINDS and (not p.category or p.category in coverage.CATEGORIES), p.id
        if p.tested == "not":
            assert p.note and p.note != "to review", p.id
        if p.partly:
            assert p.tested == "partly" and "to review" not in p.partly, p.id


def test_every_rule_named_exists():
    known = {rule.id for rule in RULESET.rules}
    assert {r for p in PROVISIONS for r in p.rules} <= known


def test_every_rule_is_linked_to_a_provision_of_the_article_it_cites():
    linked = {(p.document, p.article, r) for p in PROVISIONS for r in p.rules}
    missing = [rule.id for rule in RULESET.rules if (rule.document, rule.article, rule.id) not in linked]
    assert missing == []


def test_a_rule_is_linked_to_an_also_article_only_where_its_quote_or_threshold_is():
    # 十.（三十九） and 十.（四十） are `also` articles of the PREF rules, whose quotes are in 十.（四十一）
    rules_of = {p.id: set(p.rules) for p in PROVISIONS}
    assert not any(r.startswith("PREF-02") for p in PROVISIONS if p.article in ("十.（三十九）", "十.（四十）")
                   for r in p.rules)
    assert "PREF-001" in rules_of["energy-plan/附件1/5"]  # Lanzhou's 20% intensity reduction
    assert "PLAN-003" in rules_of["energy-plan/附件1/19"]  # 全省 8953, the plan's own cap
    assert "PLAN-003" not in rules_of["energy-plan/附件1/5"]


def test_the_catalogue_has_no_problems():
    assert coverage.provision_problems(PROVISIONS, RULESET) == []


def test_the_tool_splits_as_the_catalogue_was_generated():
    """The reviewed file keeps the spans the tool makes: regenerating changes kinds and links only."""
    tool = _tool()
    generated = tool.catalogue(ROOT / "rules")
    for key, provisions in generated.items():
        assert [(p["id"], p["text"]) for p in provisions] == \
               [(p.id, p.text) for p in PROVISIONS if p.document == key]


def test_the_tool_does_not_overwrite_the_reviewed_catalogue(tmp_path, capsys):
    import shutil
    rules_dir = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules_dir)
    before = (rules_dir / "provisions" / "energy-plan.yaml").read_text(encoding="utf-8")
    assert _tool().main(["--rules", str(rules_dir)]) == 0
    assert (rules_dir / "provisions" / "energy-plan.yaml").read_text(encoding="utf-8") == before
    assert "not overwritten" in capsys.readouterr().err


def test_checkable_provisions_are_counted_per_article_and_per_document():
    rows = coverage.matrix(RULESET)
    row = next(r for r in rows if r.document == "energy-plan" and r.article == "三.（十三）")
    assert row.checkable == row.tested_full + row.tested_partly + row.untested >= 3
    figures = coverage.summary(rows, PROVISIONS)
    for key, f in figures.items():
        assert f["provisions"] == sum(f["by_kind"].values()) == sum(p.document == key for p in PROVISIONS)
        assert f["checkable"] == sum(f["tested"].values())
        assert sum(f["untested_by_reason"].values()) == f["tested"]["not"]


def test_json_gives_articles_and_provisions():
    rows = coverage.matrix(RULESET)
    data = json.loads(coverage.to_json(rows, PROVISIONS))
    assert len(data["articles"]) == len(rows) and len(data["provisions"]) == len(PROVISIONS)
    assert set(data["summary"]) == {"energy-plan", "climate-opinion"}
    boiler = next(p for p in data["provisions"] if p["id"] == "energy-plan/三.（十三）/5")
    assert boiler["tested"] == "full" and "BOILER-001" in boiler["rules"] and boiler["kind"] == "numeric_limit"


def test_a_span_that_is_not_verbatim_is_refused(tmp_path):
    import shutil
    from engine.rules import load_ruleset
    rules_dir = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules_dir)
    path = rules_dir / "provisions" / "energy-plan.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("新生产燃煤锅炉效率不低于80%", "新生产燃煤锅炉效率不低于85%"),
                    encoding="utf-8")
    with pytest.raises(RuleError, match="not verbatim"):
        coverage.load_provisions(load_ruleset(rules_dir, ROOT / "inputs" / "schemas"))
