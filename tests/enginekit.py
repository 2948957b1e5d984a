"""Generated records of every kind and the assertion that both executors give the same state, findings and measures
(tests/test_engines_agree.py and tests/test_engines_agree_chains.py).

70% of the records are directed (DIRECTED): drawn to make one of their kind's rules apply, the rules in turn, and to
break it, meet it or sit at its limits; at the end of a module, every rule of the kinds drawn must have been compared
on a record that breaks it and one that meets it (enough_records).

Sizes: CI runs GENERATED_PER_KIND records of each kind (hypothesis profile `ci`, the default; tests/conftest.py).
For a long run: `.venv/bin/python -m pytest tests/test_engines_agree.py tests/test_engines_agree_chains.py
--hypothesis-profile=long` (ten times as many examples)."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

from engine import conditions as C
from engine import operators as O
from engine import evaluate, explain, external_limits
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


# The rule set with every external-standard limit confirmed at its reference value (or, without one, a value of the
# test's own, UNREFERENCED; confirm_all leaves those unconfirmed): rules that read one are
# indeterminate until the user confirms it, so the executors are compared under both (assert_same's `ruleset`), and
# the records are drawn around the confirmed limits.
UNREFERENCED = {"low_carbon_procurement_catalogue_from_year": 2016}  # limits without a reference value: a test value
CONFIRMED = external_limits.apply(external_limits.confirm_all(RULESET), UNREFERENCED)
PENDING_KINDS = sorted({rule.kind for rule in RULESET.rules if rule.pending})
# The kinds whose rules each look at one record (read and evaluated batch by batch; the chains are held together)
SINGLE_KINDS = sorted(k for k in RULESET.schemas if k not in CHAINS and any(r.kind == k for r in RULESET.rules))


def rulesets_for(kind: str) -> list:
    """The rule set, and for a kind whose rules read an external limit also the one with every limit confirmed."""
    return [RULESET] + ([CONFIRMED] if kind in PENDING_KINDS else [])


def _lookup(as_of=dt.date(2020, 6, 30)):
    return evaluate._lookup_for(CONFIRMED.params, as_of)


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
    # (in an order that does not depend on the process's string hashing: 5.0 and "5.0" are both in the set)
    near = sorted(BOUNDARIES.get((kind, name), set()), key=lambda value: (str(value), type(value).__name__))
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


DIRECTED = 0.7  # the share of rows drawn to meet one rule's `applies` (a rule that applies only to one indicator of
# one region in one year is otherwise never met: a row would have to draw three values at once)


def _past(op: str, value, spec, r: random.Random):
    """A value that meets `op value` (the value itself or a step past it); _SKIP where one value cannot say (ne, or a
    limit that is not a number or date)."""
    if op == "eq":
        return value
    if op == "ne" or isinstance(value, bool) or not isinstance(value, (int, float, dt.date)):
        return _SKIP
    if isinstance(value, dt.date):
        step = dt.timedelta(days=r.choice([1, 30, 400]))
    else:
        step = r.choice([1, 10]) if spec is not None and spec.type == "integer" else r.choice([0.001, 1, 10])
    if op in ("ge", "le") and r.random() < 0.5:
        return value
    return value + step if op in ("ge", "gt") else value - step


_SKIP = object()


def meeting(cond, fields: dict, r: random.Random, hold: bool = True, known: dict | None = None) -> dict:
    """Field values that make a condition hold (hold=False: fail), as far as one field's value can: each item of
    `all` (one item of it to fail), one item of `any` (each to fail), a comparison's limit or a step past it (its
    negation's to fail), one of a membership's values; nothing for `not`, a limit computed from other fields, a limit
    that cannot be computed (an unconfirmed external one) or a value outside a list. A limit looked up by other fields
    is computed from `known` (the values already chosen, such as an indicator's code) where it holds them. The
    record's other fields are drawn as usual."""
    if isinstance(cond, C.Logic):
        if cond.op == "not":
            return {}
        if (cond.op == "all") == hold:  # every item must hold, or every item must fail
            out: dict = {}
            for item in cond.items:
                out.update(meeting(item, fields, r, hold, known))
            return out
        return meeting(r.choice(cond.items), fields, r, hold, known)
    if isinstance(cond, C.Member):
        return {cond.field: r.choice(list(cond.values))} if cond.negate != hold else {}
    if isinstance(cond, C.Presence):
        return {} if cond.present == hold else {cond.field: None}
    if not isinstance(cond, C.Compare):
        return {}
    op = cond.op if hold else O.OPS[cond.op].negation
    if isinstance(cond.operand, C.FieldRef):  # another field of the record: a value for it, and one that meets it
        value = round(r.uniform(1, 1000), 3)
        found = _past(op, value, fields.get(cond.field), r)
        return {} if found is _SKIP else {cond.operand.name: value, cond.field: found}
    if not C.operand_fields(cond.operand) <= set(known or {}):
        return {}
    value = C.compute_operand(cond.operand, known or {}, _lookup())
    found = _SKIP if value is None else _past(op, value, fields.get(cond.field), r)
    return {} if found is _SKIP else {cond.field: found}


def _bordering(cond, r: random.Random, known: dict | None = None) -> dict:
    """For each comparison of a condition with a limit it can compute (from `known`, the values already chosen, where
    it is looked up by them): the limit or a value just either side of it."""
    out = {}
    for leaf in C.walk(cond):
        if isinstance(leaf, C.Compare) and C.operand_fields(leaf.operand) <= set(known or {}) \
                and not isinstance(leaf.operand, C.FieldRef):
            near = [v for v in _near(C.compute_operand(leaf.operand, known or {}, _lookup())) if not isinstance(v, str)]
            if near:
                out[leaf.field] = r.choice(near)
    return out


def _directed(rule, r: random.Random) -> dict:
    """Values that make the rule apply, and its `when` hold (35% of the draws), fail (35%), sit at its limits (20%)
    or be left to chance (10%)."""
    fields = RULESET.schemas[rule.kind].fields
    out = meeting(rule.applies, fields, r) if rule.applies is not None else {}
    if rule.when is not None:
        side = r.random()
        out.update(meeting(rule.when, fields, r, known=out) if side < 0.35 else
                   meeting(rule.when, fields, r, hold=False, known=out) if side < 0.7 else
                   _bordering(rule.when, r, known=out) if side < 0.9 else {})
    return {name: value for name, value in out.items() if name in fields}


_KIND_RULES: dict = {}


def generate_rows(kind: str, size: int, seed: int) -> list:
    """`size` rows of a kind drawn from random.Random(seed) (the weights: _field_values); a share of them (DIRECTED)
    then takes the values that make one of the kind's rules apply (_directed), the rules in turn."""
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
    rules = _KIND_RULES.setdefault(kind, [rule for rule in RULESET.rules if rule.kind == kind])
    turn = r.randrange(len(rules)) if rules else 0  # the directed rows take the kind's rules in turn, from a drawn one
    rows = []
    for _ in range(size):
        row = {name: r.choices(choices, cum_weights=weights)[0](r) for name, (choices, weights) in draws.items()}
        if rules and r.random() < DIRECTED:
            row.update(_directed(rules[turn % len(rules)], r))
            turn += 1
        rows.append(row)
    return rows


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


def written_cell(value) -> str:
    """A generated value as a spreadsheet's cell holds it (yes/no as 是/否, dates as yyyy-mm-dd)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def write_csv(path, kind: str, rows: list):
    """Generated rows of a kind as a CSV with the kind's column labels, an id for each row that has none (as
    _records gives them); returns the path."""
    schema = RULESET.schemas[kind]
    names = list(schema.fields)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([schema.fields[name].label for name in names])
        for n, row in enumerate(rows):
            row = {schema.id_field: f"{kind[:3].upper()}{n}", **{k: v for k, v in row.items() if v is not None}}
            writer.writerow([written_cell(row.get(name)) for name in names])
    return path


def assert_same(records: list, as_of: dt.date, ruleset=RULESET):
    rules = list(ruleset.rules)
    durable = evaluate.run(rules, records, ruleset.params, as_of, engine="durable")
    column = evaluate.run(rules, records, ruleset.params, as_of, engine="column")
    differ = [(key, state, column.states.get(key)) for key, state in durable.states.items()
              if column.states.get(key) != state]
    assert not differ, [(rule, records[index].values, a, b) for (rule, index), a, b in differ[:5]]
    assert column.states.keys() == durable.states.keys()
    assert column.measures == durable.measures
    build = [explain.build(o, rules, records, ruleset.schemas, ruleset.documents, ruleset.measure_label)[1]
             for o in (durable, column)]
    assert build[0] == build[1]  # findings identical, checks and computed limits included
    for (rule_id, _), state in durable.states.items():
        STATES_SEEN.setdefault(rule_id, set()).add(state)
    return len(durable.states)


AS_OF_DATES = sorted({d + dt.timedelta(days=k) for r in RULESET.rules for d in (r.in_force_from, r.in_force_until)
                      if d is not None for k in (-1, 0)} | {dt.date(2022, 6, 30)})
TALLY: dict = {}  # kind -> records generated
STATES_SEEN: dict = {}  # rule id -> the states the executors were compared on
# Half of the examples as of a day when every rule with an in-force date is in force; the others on the days around
# the in-force dates.
AS_OF = st.one_of(st.just(dt.date(2022, 6, 30)), st.sampled_from(AS_OF_DATES))


@pytest.fixture(scope="module", autouse=True)
def enough_records():
    yield
    if TALLY:
        short = {kind: n for kind, n in TALLY.items() if n < GENERATED_PER_KIND}
        assert not short, f"fewer than {GENERATED_PER_KIND} generated records for {short}"
        # Every rule of the kinds drawn was compared on records that break it and records that meet it (the
        # generator's directed rows: a rule the draws never decide would be compared on nothing but "not applicable")
        undecided = {rule.id: sorted(STATES_SEEN.get(rule.id, ())) for rule in RULESET.rules if rule.kind in TALLY
                     and not {"violation", "compliant"} <= STATES_SEEN.get(rule.id, set())}
        assert not undecided, f"rules never compared on a violation and a compliant record (states seen): {undecided}"
