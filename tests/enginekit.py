"""Generated records of every kind and the assertion that both executors give the same state, findings and measures
(tests/test_engines_agree.py and tests/test_engines_agree_chains.py).

Sizes: CI runs GENERATED_PER_KIND records of each kind (hypothesis profile `ci`, the default). For a long run:
`.venv/bin/python -m pytest tests/test_engines_agree.py tests/test_engines_agree_chains.py --hypothesis-profile=long`
(ten times as many examples)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from engine import conditions as C
from engine import evaluate, explain
from engine.examples import example_records
from engine.runner import load_rules, regions_of

RULESET = load_rules()
REGIONS = regions_of(RULESET)
BATCH = 40  # records per generated example
EXAMPLES = {"ci": 50, "long": 500}
GENERATED_PER_KIND = BATCH * EXAMPLES["ci"]  # 2,000
CHAIN_BATCH = 10  # records of each chain kind per example (hypothesis caps the data of one example: the
# prefecture schema has grown, and 25 rows of it overran the buffer, leaving too few valid examples)
settings.register_profile("ci", max_examples=EXAMPLES["ci"], deadline=None, derandomize=True,
                          phases=[Phase.explicit, Phase.generate],  # no shrinking: the assertion names the record
                          suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=EXAMPLES["long"], deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile("ci")
CHAINS = ("prefecture_year", "key_energy_unit", "project")  # measures are derived from the first two, joined by the third
JUNK = ["abc", "1,2,3", "—", "未检测", "N/A", "-5", "1e400", "2017-13-45", "？", "  "]


def _lookup(as_of=dt.date(2020, 6, 30)):
    return evaluate._lookup_for(RULESET.params, as_of)


def _boundaries() -> dict:
    """field -> the numbers and dates the rules compare it with, as written and just either side."""
    found: dict = {}
    for rule in RULESET.rules:
        for cond in (rule.applies, rule.when):
            if cond is None:
                continue
            for leaf in C.walk(cond):
                values = []
                if isinstance(leaf, C.Member):
                    values = list(leaf.values)
                elif isinstance(leaf, C.Compare) and isinstance(leaf.operand, C.Literal):
                    values = [leaf.operand.value]
                elif isinstance(leaf, C.Compare) and not C.operand_fields(leaf.operand):
                    values = [C.compute_operand(leaf.operand, {}, _lookup())]
                elif isinstance(leaf, C.Compare):  # looked up by a field: every value of that parameter column
                    for ref in C.operand_params(leaf.operand):
                        table = RULESET.params.table(ref.table)
                        values += [r.get(ref.column) for rows in table.rows.values() for r in rows]
                for value in values:
                    found.setdefault((rule.kind, leaf.field), set()).update(_near(value))
        for day in (rule.in_force_from, rule.in_force_until):
            if day is not None:
                for name, spec in RULESET.schemas[rule.kind].fields.items():
                    if spec.type == "date":
                        found.setdefault((rule.kind, name), set()).update(_near(day))
    return found


def _near(value) -> list:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, dt.date):
        return [value + dt.timedelta(days=d) for d in (-1, 0, 1)]
    try:
        number = Decimal(str(value))
    except Exception:
        return []
    return [float(number + d) for d in (Decimal("-0.001"), Decimal("-0.000001"), 0, Decimal("0.000001"),
                                        Decimal("0.001"))] + [str(number)]


BOUNDARIES = _boundaries()


def _field_strategy(kind: str, name: str, spec):
    near = sorted(BOUNDARIES.get((kind, name), set()), key=str)
    choices = []
    if spec.type in ("number", "integer"):
        choices.append(st.floats(-10, 200, allow_nan=False).map(lambda x: round(x, 3)))
        choices.append(st.integers(0, 5000))
        choices.append(st.sampled_from(["85.3%", "８０", "1,234.5", "0.5", "16.0", "79.999", "80"]))
    elif spec.type == "date":
        choices.append(st.dates(dt.date(2010, 1, 1), dt.date(2026, 12, 31)))
        choices.append(st.dates(dt.date(2014, 1, 1), dt.date(2022, 12, 31)).map(lambda d: f"{d.year}年{d.month}月{d.day}日"))
    elif spec.type == "bool":
        choices.append(st.sampled_from([True, False, "是", "否", "Y", "N", "√", "×"]))
    elif spec.type == "enum":
        choices.append(st.sampled_from([s for spellings in spec.values.values() for s in spellings] + list(spec.values)))
    elif spec.type == "region":
        choices.append(st.sampled_from(sorted(REGIONS.spellings)[:40] + ["全省", "甘肃矿区", "兰州新区"]))
    else:
        choices.append(st.sampled_from(["a", "b", "c", "全省", "甘肃矿区"]))
    if near:
        choices.append(st.sampled_from(near))
    return st.one_of(st.none(), st.sampled_from(JUNK), *choices)


def rows_of(kind: str):
    schema = RULESET.schemas[kind]
    fields = {name: _field_strategy(kind, name, spec) for name, spec in schema.fields.items()
              if name != schema.id_field}
    if schema.fields[schema.id_field].type == "region":  # e.g. a prefecture's year: the id is a region name
        fields[schema.id_field] = st.sampled_from(sorted(REGIONS.spellings)[:40] + ["全省", "甘肃矿区"])
    return st.fixed_dictionaries(fields)


def _records(kind: str, rows: list, first_row: int = 2) -> list:
    schema = RULESET.schemas[kind]
    out = []
    for n, row in enumerate(rows):
        row = {k: v for k, v in row.items() if v is not None}
        row.setdefault(schema.id_field, f"{kind[:3].upper()}{n}")
        out += example_records(RULESET, kind, row, f"{kind}.csv", first_row + n, REGIONS)
    return out


def assert_same(records: list, as_of: dt.date):
    rules = list(RULESET.rules)
    durable = evaluate.run(rules, records, RULESET.params, as_of, engine="durable")
    column = evaluate.run(rules, records, RULESET.params, as_of, engine="column")
    differ = [(key, state, column.states.get(key)) for key, state in durable.states.items()
              if column.states.get(key) != state]
    assert not differ, [(rule, records[index].values, a, b) for (rule, index), a, b in differ[:5]]
    assert column.states.keys() == durable.states.keys()
    assert column.measures == durable.measures
    build = [explain.build(o, rules, records, RULESET.schemas, RULESET.documents, RULESET.measure_label)[1]
             for o in (durable, column)]
    assert build[0] == build[1]  # findings identical, checks and computed limits included
    return len(durable.states)


AS_OF_DATES = sorted({d + dt.timedelta(days=k) for r in RULESET.rules for d in (r.in_force_from, r.in_force_until)
                      if d is not None for k in (-1, 0)} | {dt.date(2022, 6, 30)})
TALLY: dict = {}


@pytest.fixture(scope="module", autouse=True)
def enough_records():
    yield
    if settings().max_examples >= EXAMPLES["ci"] and TALLY:
        short = {kind: n for kind, n in TALLY.items() if n < GENERATED_PER_KIND}
        assert not short, f"fewer than {GENERATED_PER_KIND} generated records for {short}"
