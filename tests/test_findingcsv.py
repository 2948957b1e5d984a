"""The findings CSV made column-wise (engine/findingcsv.py) cell for cell as the csv module and safe_cell make it."""

import csv
import io
import re

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import findingcsv
from engine.report_writers import csv_line, safe_cell
from engine.safe_text import UNSAFE_CLASS

# Texts full of what matters to a CSV cell: commas, quotes, line breaks, formula starts, controls, bidi, BOM
ALPHABET = list(' ,"\'=+-@\t\r\n\\a中1.;；\x00\x1b\x7f\x85\u202e\u200b\ufeff\u2028') + ["\U000e0041"]
TEXTS = st.text(alphabet=st.sampled_from(ALPHABET), max_size=10) | st.text(max_size=10)


def _written(cells: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def test_the_re2_class_holds_the_characters_the_python_class_holds():
    """Every code point but the surrogates (which UTF-8 text cannot hold) is unsafe in RE2's class as in Python's."""
    points = [chr(n) for n in range(0x110000) if not 0xD800 <= n <= 0xDFFF]
    unsafe = re.compile(f"[{UNSAFE_CLASS}]")
    found = pc.match_substring_regex(pa.array(["x" + p for p in points]), findingcsv.RISKY).to_pylist()
    assert [p for p, hit in zip(points, found) if hit] == [p for p in points if unsafe.match(p)]


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=2, max_size=4))
def test_a_line_is_what_the_csv_module_writes(values):
    assert csv_line(values) + "\r\n" == _written([safe_cell(v) for v in values])
    assert ",".join(findingcsv.csv_field(v) for v in values) + "\r\n" == _written(values)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, max_size=12))
def test_cells_made_column_wise_are_made_as_one_by_one(values):
    made = findingcsv.cells(pa.array(values, pa.string())).to_pylist()
    assert made == [findingcsv.csv_field(safe_cell(v)) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | TEXTS | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False), max_size=12))
def test_texts_read_from_json_are_the_values_as_a_cell_shows_them(values):
    json = [orjson.dumps(v) for v in values]
    read = [orjson.loads(text) for text in json]  # (what the JSON holds: an infinite float is written as null)
    assert findingcsv.json_texts(pa.array(json, pa.binary())).to_pylist() == ["" if v is None else str(v) for v in read]
