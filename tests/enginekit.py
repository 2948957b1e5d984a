"""Generated records of every kind and the assertion that both executors give the same state, findings and measures
(tests/test_engines_agree.py and tests/test_engines_agree_chains.py).

Sizes: CI runs GENERATED_PER_KIND records of each kind (hypothesis profile `ci`, the default; tests/conftest.py).
For a long run: `.venv/bin/python -m pytest tests/test_engines_agree.py tests/test_engines_agree_chains.py
--hypothesis-profile=long` (ten times as many examples)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

from engine import conditions as C
from engine import evaluate, explain
from engine.examples import mapping_records
from engine.runner import load_rules, regions_of

RULESET = load_rules()
REGIONS = regions_of(RULESET)
BATCH = 40  # records per generated example
EXAMPLES = 50  # examples per kind in CI (scaled: ten times as many under the long profile)
GENERATED_PER_KIND = BATCH * EXAMPLES  # 2,000
CHAIN_BATCH = 20  # records of each chain kind per example (measured: 5 → 26 s, 10 → 16 s, 20 → 10 s, 40 → 14 s; each
# example has a fixed cost, and projects are joined to every prefecture's measures)
# no shrinking: the assertion names the record; every run draws the same seeds
SETTINGS = dict(derandomize=True, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
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


def _field_values(kind: str, name: str, spec):
    """The kinds of value one field is drawn from, each a function of a random.Random: missing, junk, the values of
    its type (numbers in range, written with % or full-width digits or thousands separators; dates written both
    ways; booleans and enum values as people write them; region names), and its limits and the values just
    either side of them. Returns (weight, draw) pairs: a field the rules compare takes its limits or their
    neighbours in 40% of rows (so that a limit is met exactly while the other fields make the rule apply), its
    type's values in 45%, no value in 10% and junk in 5%."""
    near = sorted(BOUNDARIES.get((kind, name), set()), key=str)
    choices = []
    if spec.type in ("number", "integer"):
        choices.append(lambda r: round(r.uniform(-10, 200), 3))
        choices.append(lambda r: r.randint(0, 5000))
        choices.append(lambda r: r.choice(["85.3%", "８０", "1,234.5", "0.5", "16.0", "79.999", "80"]))
    elif spec.type == "date":
        choices.append(lambda r: dt.date(2010, 1, 1) + dt.timedelta(days=r.randint(0, 6208)))
        choices.append(lambda r: (lambda d: f"{d.year}年{d.month}月{d.day}日")(
            dt.date(2014, 1, 1) + dt.timedelta(days=r.randint(0, 3286))))
    elif spec.type == "bool":
        choices.append(lambda r: r.choice([True, False, "是", "否", "Y", "N", "√", "×"]))
    elif spec.type == "enum":
        spellings = [s for spellings in spec.values.values() for s in spellings] + list(spec.values)
        choices.append(lambda r: r.choice(spellings))
    elif spec.type == "region":
        names = sorted(REGIONS.spellings)[:40] + ["全省", "甘肃矿区", "兰州新区"]
        choices.append(lambda r: r.choice(names))
    else:
        choices.append(lambda r: r.choice(["a", "b", "c", "全省", "甘肃矿区"]))
    typed = 0.45 if near else 0.85
    weighted = [(0.10, lambda r: None), (0.05, lambda r: r.choice(JUNK))] + \
        [(typed / len(choices), draw) for draw in choices]
    if near:
        weighted.append((0.40, lambda r: r.choice(near)))
    return weighted


def generate_rows(kind: str, size: int, seed: int) -> list:
    """`size` rows of a kind drawn from random.Random(seed) (the weights: _field_values)."""
    draws = _DRAWS.get(kind)
    if draws is None:
        schema = RULESET.schemas[kind]
        fields = {name: _field_values(kind, name, spec) for name, spec in schema.fields.items()
                  if name != schema.id_field}
        if schema.fields[schema.id_field].type == "region":  # e.g. a prefecture's year: the id is a region name
            ids = sorted(REGIONS.spellings)[:40] + ["全省", "甘肃矿区"]
            fields[schema.id_field] = [(1.0, lambda r: r.choice(ids))]
        draws = _DRAWS[kind] = {name: ([d for _, d in pairs], list(itertools.accumulate(w for w, _ in pairs)))
                                for name, pairs in fields.items()}
    r = random.Random(seed)
    return [{name: r.choices(choices, cum_weights=weights)[0](r) for name, (choices, weights) in draws.items()}
            for _ in range(size)]


_DRAWS: dict = {}


def rows_of(kind: str, size: int):
    """A strategy for `size` generated rows of a kind: hypothesis draws a seed, and the rows are drawn from it with
    random.Random (drawing every cell through hypothesis cost ten times the run of both executors). A failing
    example is reproduced from its seed; the assertion names the record."""
    return st.integers(0, 2 ** 64 - 1).map(lambda seed: generate_rows(kind, size, seed))


def _records(kind: str, rows: list, first_row: int = 2) -> list:
    schema = RULESET.schemas[kind]
    mappings = []
    for n, row in enumerate(rows):
        row = {k: v for k, v in row.items() if v is not None}
        row.setdefault(schema.id_field, f"{kind[:3].upper()}{n}")
        mappings.append(row)
    return mapping_records(RULESET, kind, mappings, f"{kind}.csv", first_row, REGIONS)


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
# Half of the examples as of a day when every rule with an in-force date is in force; the others on the days around
# the in-force dates.
AS_OF = st.one_of(st.just(dt.date(2022, 6, 30)), st.sampled_from(AS_OF_DATES))


@pytest.fixture(scope="module", autouse=True)
def enough_records():
    yield
    if TALLY:
        short = {kind: n for kind, n in TALLY.items() if n < GENERATED_PER_KIND}
        assert not short, f"fewer than {GENERATED_PER_KIND} generated records for {short}"
