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


def test_every_provision_threshold_is_quoted_from_its_article_and_carries_its_value():
    rows = list(csv.DictReader((ROOT / "rules" / "parameters" / "provision_thresholds.csv")
                               .read_text(encoding="utf-8").splitlines()))
    assert rows
    for row in rows:
        document = RULESET.documents[row["document"]]
        assert document.has_quote(row["article"], row["quote"]), row["provision"]
        assert squash(row["value"] + row["unit"]) in squash(row["quote"]), row["provision"]


def test_rules_reference_parameters_instead_of_copying_numbers():
    for path in (ROOT / "rules").glob("*/*.yaml"):
        if path.parent.name in ("parameters", "sources"):
            continue
        when = path.read_text(encoding="utf-8").split("\nwhen:", 1)[-1].split("\nfinding:", 1)[0]
        for line in when.splitlines():
            if "value:" in line and "param" not in line and "value: {" not in line:
                value = line.split("value:", 1)[1].strip()
                assert not value.replace(".", "", 1).isdigit(), f"{path.name}: number {value} in a condition"


@pytest.mark.parametrize("spelling,key", [("兰州", "兰州"), ("兰州市", "兰州"), ("兰州新区", "兰州"),
                                          ("兰州（含兰州新区）", "兰州"), ("甘南藏族自治州", "甘南"),
                                          ("临夏回族自治州", "临夏"), ("临夏州", "临夏"), ("甘肃矿区", "甘肃矿区")])
def test_region_spellings_map_to_the_annex_rows(spelling, key):
    assert regions_of(RULESET).canonical(spelling) == key


def test_unknown_region_names_suggest_the_closest_known_one():
    with pytest.raises(ValueProblem, match="closest known name: 嘉峪关"):
        regions_of(RULESET).canonical("嘉峪关区")
