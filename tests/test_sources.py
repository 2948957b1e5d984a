"""The source texts, their article index, and the parameter tables that quote them."""

import csv

import pytest

from engine.articles import index_articles, squash
from engine.normalise import ValueProblem
from engine.runner import load_rules, regions_of
from tests.conftest import ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
COPIES = {"energy_plan_2017.txt": "000_a559a5c6e03a04b9.txt", "climate_opinion_2014.txt": "004_d5ddcfdf822e94a8.txt"}
RULESET = load_rules()


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
@pytest.mark.parametrize("copy,seed", sorted(COPIES.items()))
def test_bundled_sources_are_verbatim_copies_of_the_seeds(copy, seed):
    assert (ROOT / "rules" / "sources" / copy).read_bytes() == (SEEDS / seed).read_bytes()


def test_the_plan_has_articles_one_to_forty_seven_in_twelve_parts_and_six_annexes():
    articles = RULESET.documents["energy-plan"].articles
    numbered = [label for label in articles if label.count(".") == 1]
    assert len(numbered) == 47
    assert numbered[0] == "一.（一）" and numbered[12] == "三.（十三）" and numbered[-1] == "十二.（四十七）"
    assert [label for label in articles if label.startswith("附件")] == [f"附件{n}" for n in range(1, 7)]
    assert len([label for label in articles if "." not in label and not label.startswith("附件")]) == 12


def test_climate_opinion_items_are_indexed_under_their_sections():
    articles = RULESET.documents["climate-opinion"].articles
    assert "四.（一）.5" in articles and "控制工业领域排放" in articles["四.（一）.5"].heading
    assert "十.（三）" in articles


def test_article_text_stops_at_the_next_article():
    articles = index_articles((ROOT / "rules" / "sources" / "energy_plan_2017.txt").read_text(encoding="utf-8"))
    text = articles["三.（十三）"].text
    assert "燃气锅炉效率不低于92%" in text and "（十四）" not in text


QUOTED_TABLES = [name for name, table in RULESET.params.tables.items()
                 if {"value", "unit", "document", "article", "quote"} <= set(table.columns)]


def test_the_limits_from_article_text_are_in_quoted_tables():
    assert "provision_thresholds" in QUOTED_TABLES


@pytest.mark.parametrize("name", QUOTED_TABLES)
def test_every_quoted_limit_stands_in_its_article_with_its_value(name):
    rows = list(csv.DictReader((ROOT / "rules" / "parameters" / f"{name}.csv").read_text(encoding="utf-8").splitlines()))
    assert rows
    for row in rows:
        key = row[RULESET.params.tables[name].key]
        if str(row.get("external", "")).lower() == "true":
            assert row.get("source_standard") or row["quote"], f"{name} {key}: an external limit names its standard"
            continue
        document = RULESET.documents[row["document"]]
        assert document.has_quote(row["article"], row["quote"]), f"{name} {key}: quote not in {row['article']}"
        value = row["value"].rstrip("0").rstrip(".") if "." in row["value"] else row["value"]
        assert squash(value) in squash(row["quote"]), f"{name} {key}: value {row['value']} not in the quote"


def _indicator_literals():
    from engine import conditions as C
    for rule in RULESET.rules:
        if rule.kind != "indicator":
            continue
        for cond in (rule.applies, rule.when):
            for leaf in (C.walk(cond) if cond is not None else []):
                if leaf.field == "indicator" and isinstance(leaf, C.Compare):
                    yield rule.id, leaf.operand.value
                elif leaf.field == "indicator" and isinstance(leaf, C.Member):
                    yield from ((rule.id, v) for v in leaf.values)


def test_every_indicator_code_a_rule_reads_is_listed():
    listed = {code for name, table in RULESET.params.tables.items() if name.startswith("indicators")
              for code in table.rows}
    for rule_id, code in _indicator_literals():
        assert code in listed, f"{rule_id} reads indicator '{code}', not in rules/parameters/indicators*.csv"


@pytest.mark.parametrize("spelling,key", [("兰州", "兰州"), ("兰州市", "兰州"), ("兰州新区", "兰州"),
                                          ("兰州（含兰州新区）", "兰州"), ("甘南藏族自治州", "甘南"),
                                          ("临夏回族自治州", "临夏"), ("临夏州", "临夏"), ("甘肃矿区", "甘肃矿区")])
def test_region_spellings_map_to_the_annex_rows(spelling, key):
    assert regions_of(RULESET).canonical(spelling) == key


def test_unknown_region_names_suggest_the_closest_known_one():
    with pytest.raises(ValueProblem, match="最接近的名称：嘉峪关"):
        regions_of(RULESET).canonical("嘉峪关区")
