"""Findings' lines of the findings CSV (check --format csv) put together column-wise by pyarrow from the texts
batchfindings made for their JSON: each cell made safe and quoted as report_writers.write_csv writes it."""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from engine.report_writers import safe_cell
from engine.safe_text import UNSAFE_RE2

# What report_writers.safe_cell changes: a character for_document escapes, or a start guard_formula guards
RISKY = f"^ *[=+\\-@\\t\\r]|{UNSAFE_RE2}"
QUOTED = '[,"\\r\\n]'  # what makes the csv module quote a cell (QUOTE_MINIMAL, the delimiter , and lines ending \r\n)
SPECIAL = f"{RISKY}|{QUOTED}"


def csv_field(text: str) -> str:
    """A cell's text as the csv module writes it inside a line: in quotes, its quotes doubled, where it holds a comma,
    a quote or a line break."""
    return '"' + text.replace('"', '""') + '"' if any(char in text for char in ',"\r\n') else text


def cells(raw: pa.Array) -> pa.Array:
    """Each text as write_csv writes it as a cell (safe_cell, then csv quoting): most need neither and are found so in
    one pass; the others are quoted column-wise, and those a safe_cell changes made value by value."""
    raw = raw.cast(pa.string())
    special = pc.match_substring_regex(raw, SPECIAL)
    if not pc.any(special).as_py():
        return raw
    some = raw.filter(special)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(some, '"', '""'), '"', "")
    out = pc.if_else(pc.match_substring_regex(some, QUOTED), quoted, some)
    risky = pc.match_substring_regex(some, RISKY)
    if pc.any(risky).as_py():
        where = np.flatnonzero(risky.to_numpy(zero_copy_only=False)).tolist()
        out = pc.replace_with_mask(out, risky, pa.array([csv_field(safe_cell(some[n].as_py())) for n in where],
                                                        pa.string()))
    return pc.replace_with_mask(raw, special, out)


def json_texts(json: pa.Array) -> pa.Array:
    """The texts whose JSON these are (null: empty, as a CSV cell shows None): a JSON string without an escape is its
    text between the quotes; any other value is read by orjson."""
    text = json.cast(pa.string())
    null = pc.equal(text, "null")
    out = pc.if_else(null, "", pc.utf8_slice_codeunits(text, 1, -1))
    other = pc.and_not(pc.invert(pc.match_substring_regex(text, '^"[^\\\\]*"$')), null)
    if pc.any(other).as_py():
        where = np.flatnonzero(other.to_numpy(zero_copy_only=False)).tolist()
        values = [orjson.loads(text[n].as_py()) for n in where]
        out = pc.replace_with_mask(out, other, pa.array(["" if v is None else str(v) for v in values], pa.string()))
    return out


def csv_lines(layouts: list, kinds: pa.Array, entries: pa.Array, file: str, rows: np.ndarray, identity: tuple,
              per_entry: dict, pool=None) -> pa.Array:
    """Each entry's CSV line (line end included): the fixed cells of its rule and status (`layouts`, by `kinds`:
    BatchExplainer.csv_layout), its row's id, name and region (`identity`: their JSON for each row, taken by
    `entries`), the file and row number, and its observed, limit and message cells from `per_entry`; the per-entry
    arrays and the lines allocated from `pool` (pyarrow's default pool where None)."""
    def fixed(n: int) -> pa.Array:
        return pc.take(pa.array([layout[n] for layout in layouts], pa.string()), kinds, memory_pool=pool)

    shown_id, name, region = (pc.take(cells(json_texts(values)), entries, memory_pool=pool) for values in identity)
    row = pc.take(cells(pa.array(rows).cast(pa.string())), entries, memory_pool=pool)
    return pc.binary_join_element_wise(
        fixed(0), shown_id, ",", name, ",", region, ",", csv_field(safe_cell(file)), ",", row, ",",
        cells(per_entry["observed_text"]), ",", cells(per_entry["limit_text"]), fixed(1),
        cells(json_texts(per_entry["message"])), fixed(2), "", memory_pool=pool)


__all__ = ["csv_lines", "cells", "csv_field", "json_texts", "RISKY"]
