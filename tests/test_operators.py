"""The operator table: each operator's column form and durable form mean what its one-value Kleene form means."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from engine import conditions as C
from engine import operators as O

VALUES = [None, 79.999, 80.0, 80.000001, 16.0, 0.0, -0.0, 1e-06]
LIMITS = [80.0, 16.0, 0.0]


def _column(op, values, operand):
    known = np.array([v is not None for v in values])
    observed = np.array([np.nan if v is None else v for v in values], dtype=float)
    mask = O.column_leaf(op, observed, known, operand)
    return [None if pd.isna(x) else bool(x) for x in mask]


@pytest.mark.parametrize("name", O.COMPARISONS)
def test_comparison_column_form_is_its_kleene_form(name):
    op = O.OPS[name]
    for limit in LIMITS:
        assert _column(op, VALUES, limit) == [op.kleene(v, limit) for v in VALUES], (name, limit)


@pytest.mark.parametrize("name", O.MEMBERSHIP + O.PRESENCES)
def test_membership_and_presence_column_forms_are_their_kleene_forms(name):
    op = O.OPS[name]
    assert _column(op, VALUES, [80.0, 16.0]) == [op.kleene(v, [80.0, 16.0]) for v in VALUES]


def test_negation_is_the_complement_on_known_values_and_unknown_stays_unknown():
    for op in O.OPS.values():
        negation = O.OPS[op.negation]
        assert O.OPS[negation.negation] is op
        for value in VALUES:
            operand = [80.0] if op.family == O.MEMBER else 80.0
            got, opposite = op.kleene(value, operand), negation.kleene(value, operand)
            assert (got is None and opposite is None) or got is (not opposite), (op.name, value)


def test_kleene_logic_on_one_value_and_on_columns_agree():
    triples = [True, False, None]
    for a in triples:
        for b in triples:
            masks = [pd.array([x], dtype="boolean") for x in (a, b)]
            for name, scalar in (("all", O.kleene_all), ("any", O.kleene_any)):
                column = O.COLUMN_LOGIC[name](masks)[0]
                assert (None if pd.isna(column) else bool(column)) == scalar([a, b]), (name, a, b)
        negated = (~pd.array([a], dtype="boolean"))[0]
        assert (None if pd.isna(negated) else bool(negated)) == O.kleene_not(a)


def test_synonyms_name_the_operator_and_an_unknown_one_is_refused_with_the_right_name():
    assert O.SYNONYMS["<="] == "le" and O.SYNONYMS["missing"] == "absent"
    with pytest.raises(C.ConditionError, match="是否应为“ge”"):
        C.parse_condition({"field": "x", "op": ">=", "value": 1})


def test_only_the_durable_form_converts_dates():
    cond = C.Compare("made", "ge", C.Literal(dt.date(2020, 1, 1)))
    assert C.compile_durable(cond, True) == {"$and": [{"$ex": {"made": 1}}, {"$gte": {"made": 20200101}}]}
    assert C.evaluate3(cond, {"made": dt.date(2019, 12, 31)}) is False
    assert C.evaluate3(cond, {}) is None


def test_every_operator_has_its_wording():
    for name in O.NAMES:
        op = O.OPS[name]
        assert op.symbol or op.family == O.PRESENCE
        assert op.words or op.family == O.COMPARE


def test_a_columns_float_form_is_each_values_float_form():
    """FieldColumn.representation converts plain numbers and dates column-wise: the same floats as value by value."""
    import datetime as dt

    import numpy as np

    from engine.batch import FieldColumn, _float_form

    cases = [[1, 2.5, -0.0, 10**20, 79.999], [dt.date(2020, 1, 1), dt.date(1, 1, 1), dt.date(9999, 12, 31)],
             [True, 3, 4.5], [dt.date(2021, 6, 30), dt.datetime(2021, 7, 1, 23, 0)]]
    for values in cases:
        column = FieldColumn.from_values(values)
        expected = np.array([_float_form(v) for v in column.uniques], dtype=np.float64)
        got = column.representation(True)
        assert got.tolist() == expected.tolist() and np.signbit(got).tolist() == np.signbit(expected).tolist()
