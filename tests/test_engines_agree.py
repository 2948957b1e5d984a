"""The column executor and durable_rules give the same state for every (rule, record), on generated records of every
single-record kind (missing values, limits and the values next to them, junk, dates around the in-force dates, records
drawn to make each rule apply), on the demo, on a CSV with junk and on the generated records of every kind written as a
CSV and read column-wise (the generators: tests/enginekit.py)."""

from __future__ import annotations

import datetime as dt
import io
import math

import pytest
from hypothesis import given, settings

from engine.report_writers import write_json
from engine.runner import check, sample_paths
from tests.conftest import scaled
from tests.enginekit import (AS_OF, BATCH, EXAMPLES, RULESET, SETTINGS,  # noqa: F401
                             SINGLE_KINDS, TALLY, assert_same, enough_records, generate_rows, rows_of, rulesets_for,
                             write_csv, _records)

RULES_PER_EXAMPLES = 34  # a kind with more rules than this has its examples multiplied


def _json_of_each_engine(paths, ruleset, as_of: dt.date, keep_results: bool = False) -> list[str]:
    """The findings JSON of one run under the column engine and under durable_rules (keep_results: the findings built
    from the Records on both; otherwise a column-read file's findings come from its columns)."""
    texts = []
    for engine in ("column", "durable"):
        report = check(paths, ruleset, as_of, engine=engine, keep_results=keep_results).report
        buffer = io.StringIO()
        write_json(report, buffer)
        texts.append(buffer.getvalue())
    return texts


@pytest.mark.parametrize("kind", SINGLE_KINDS)
def test_both_executors_give_the_same_state_for_generated_records(kind):
    # (a kind with many rules gets more examples: the indicators' 100 rules each apply to about 10 of 2,000 records)
    rules = sum(1 for rule in RULESET.rules if rule.kind == kind)
    @settings(max_examples=scaled(EXAMPLES) * max(1, math.ceil(rules / RULES_PER_EXAMPLES)), **SETTINGS)
    @given(rows_of(kind, BATCH), AS_OF)
    def run(rows, as_of):
        records = _records(kind, rows)
        for ruleset in rulesets_for(kind):  # (rules that read an external limit: also as once it is confirmed)
            assert_same(records, as_of, ruleset)
        TALLY[kind] = TALLY.get(kind, 0) + len(rows)
    run()


def test_the_demo_findings_json_is_identical_under_both_engines():
    texts = _json_of_each_engine(sample_paths(), RULESET, dt.date(2021, 12, 31), keep_results=True)
    assert texts[0] == texts[1]
    assert '"status": "violation"' in texts[0]


def test_a_csv_with_junk_read_column_wise_gives_the_same_findings_under_both_engines(tmp_path):
    import random
    rng = random.Random(5)
    header = "使用单位,锅炉编号,市州,燃料种类,测试类型,出厂日期,测试日期,热效率（%）,是否在集中供热供气管网覆盖范围内,是否在用"
    pools = [["兰州某", ""], None, ["兰州市", "临夏", "未知市", ""], ["燃煤", "燃气", "煤", "x", ""],
             ["验收", "定型", "运行", "?"], ["2019-12-31", "2020-01-01", "2020/1/2", "2020年1月1日", "bad", ""],
             ["2020-01-01", "2019-12-31", ""], ["80", "79.999", "80.000001", "92", "0.85", "85.3%", "８０", "x", "—", ""],
             ["是", "否", "Y", "?", ""], ["是", "否", "√", "×", ""]]
    lines = [header]
    for n in range(600):
        cells = [f"GL-{n % 590}" if pool is None else rng.choice(pool) for pool in pools]  # some ids twice
        lines.append(",".join(cells))
    lines.append("合计,,,,,,,,,")
    path = tmp_path / "boilers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    texts = _json_of_each_engine([path], RULESET, dt.date(2021, 12, 31), keep_results=True)
    assert texts[0] == texts[1]
    assert '"status": "violation"' in texts[0] and '"status": "indeterminate"' in texts[0]


@pytest.mark.parametrize("kind", SINGLE_KINDS)
def test_a_generated_csv_of_every_kind_gives_the_same_findings_json_under_both_engines(tmp_path, kind):
    """The generated records of each kind (most of them drawn to make one of its rules apply) written as a CSV and
    read column-wise: the findings JSON of the column path (findings built from the columns) and of durable_rules
    (findings built from the Records) are the same text, also with the external-standard limits confirmed where the
    kind's rules read one, and there are shortfalls and indeterminate findings."""
    path = write_csv(tmp_path / f"{kind}.csv", kind, generate_rows(kind, 300, seed=len(kind) + 1))
    shown = ""
    for ruleset in rulesets_for(kind):
        texts = _json_of_each_engine([path], ruleset, dt.date(2022, 6, 30))
        assert texts[0] == texts[1]
        shown += texts[0]
    assert '"status": "indeterminate"' in shown and ('"status": "violation"' in shown or '"status": "gap"' in shown)
