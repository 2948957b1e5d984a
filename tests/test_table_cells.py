"""Tests for engine.columnread._TableCells: a column's distinct cells kept from chunk to chunk of a table (each cell
stripped, flagged and parsed once) give exactly what reading the table in one chunk gives, and what the row reader
gives (the both_readers fixture compares every chunk); a column of many distinct cells is read chunk by chunk."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import engine.csv_reader
from engine import columnread
from engine.records import load_file
from engine.runner import regions_of

HEADER = ["使用单位", "锅炉编号", "市州", "燃料种类", "测试类型", "出厂日期", "测试日期", "额定蒸发量（t/h）", "热效率（%）",
          "是否在集中供热供气管网覆盖范围内", "是否在用"]
REGIONS = ["兰州市", "嘉峪关市", "金昌市"]


@pytest.fixture(autouse=True)
def _both_readers(both_readers):
    yield


def _rows() -> list:
    """120 boiler rows whose later rows bring cells the first ones did not hold: new regions and dates, a region
    spelt another way, a unit with spaces, full-width digits, 'no data' marks, a value that cannot be read, a note
    row and a total row."""
    rows = [HEADER]
    for n in range(120):
        region = REGIONS[n % 3] if n < 60 else ["酒泉市", "张掖", " 兰州市 ", "甘南州"][n % 4]
        made = f"2019-{1 + n % 12:02d}-{1 + n // 12:02d}"
        efficiency = f"{78 + n % 5}.{n % 10}"
        if n >= 80:
            efficiency = ["８５．５", " 81.0 ", "无", "待测", "—", "79.999"][n % 6]
        rows.append([f"单位{n % 7}", f"GL-{n:04d}", region, "燃煤" if n % 4 else "燃气", "验收", made, "2022-03-01",
                     "10" if n < 100 else "10t/h", efficiency, "否", "是"])
    rows[95] = ["注：以上数据由各市州报送"] + [""] * 10
    rows[110] = ["合计", "", "", "", "", "", "", "", "", "", ""]
    return rows


def _write(path: Path, rows: list) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _snapshot(loaded):
    return ([(r.id, r.values, r.source.row, r.problems) for r in loaded.records], loaded.rejected,
            [(t.rows, t.evaluated, t.rejected, t.notes) for t in loaded.tables])


def _spy(monkeypatch) -> list:
    """(table cells, kept cells after the chunk or None, read chunk by chunk) for each column of each chunk."""
    seen = []
    original = columnread._TableCells.cells

    def cells(self, column):
        found = original(self, column)
        seen.append((self, None if self.distinct is None else len(self.distinct), self.off))
        return found
    monkeypatch.setattr(columnread._TableCells, "cells", cells)
    return seen


def test_cells_kept_across_chunks_give_what_one_chunk_gives(tmp_path, ruleset, monkeypatch):
    path = _write(tmp_path / "boilers.csv", _rows())
    regions = regions_of(ruleset)
    whole = load_file(path, ruleset.schemas, regions)
    assert whole.tables[0].evaluated > 100 and len(whole.rejected) >= 10  # (the surprises are read and rejected)
    monkeypatch.setattr(engine.csv_reader, "CHUNK_ROWS", 7)
    monkeypatch.setattr(engine.csv_reader, "ARROW_BLOCK", 2048)  # pieces of ~20 rows: a dictionary each
    seen = _spy(monkeypatch)
    chunked = load_file(path, ruleset.schemas, regions)
    assert _snapshot(chunked) == _snapshot(whole)
    by_column: dict = {}
    for table_cells, kept, off in seen:
        by_column.setdefault(id(table_cells), []).append((kept, off))
    assert len(by_column) == len(HEADER) and all(len(chunks) >= 10 for chunks in by_column.values())
    grown = [chunks for chunks in by_column.values() if not chunks[-1][1] and chunks[-1][0] > chunks[0][0]]
    assert len(grown) >= 4  # regions, dates, capacity, efficiency: cells added by later chunks to those kept


def test_columns_of_many_cells_are_read_chunk_by_chunk(tmp_path, ruleset, monkeypatch):
    path = _write(tmp_path / "boilers.csv", _rows())
    regions = regions_of(ruleset)
    whole = load_file(path, ruleset.schemas, regions)
    monkeypatch.setattr(engine.csv_reader, "CHUNK_ROWS", 10)
    monkeypatch.setattr(engine.csv_reader, "ARROW_BLOCK", 2048)
    monkeypatch.setattr(engine.csv_reader, "MANY_CELLS", 6)
    monkeypatch.setattr(columnread._TableCells, "LIMIT", 5)
    seen = _spy(monkeypatch)
    chunked = load_file(path, ruleset.schemas, regions)
    assert _snapshot(chunked) == _snapshot(whole)
    ends = {}
    firsts = {}
    for table_cells, kept, off in seen:
        firsts.setdefault(id(table_cells), off)
        ends[id(table_cells)] = off
    assert sum(firsts.values()) >= 1  # ids, dates …: more distinct cells than MANY_CELLS in the first chunk
    assert sum(ends.values()) > sum(firsts.values())  # regions: over LIMIT in a later chunk, then chunk by chunk
    assert not all(ends.values())  # fuel, test type … kept for the whole table


def _read(table_cells, cells: list):
    array = pa.array(cells, pa.string()).dictionary_encode()
    found = table_cells.cells(array)
    return [None if code < 0 else found.distinct.uniques[code] for code in found.codes], found


def test_table_cells_map_each_chunk_onto_the_cells_kept():
    table_cells = columnread._TableCells()
    assert _read(table_cells, ["兰州市", "无", "兰州市", None])[0] == ["兰州市", "无", "兰州市", None]
    assert table_cells.distinct.uniques == ["兰州市", "无"]
    cells, found = _read(table_cells, [" 兰州市", "无", "合计", "兰州市", None])
    assert cells == [" 兰州市", "无", "合计", "兰州市", None]
    assert table_cells.distinct.uniques == ["兰州市", "无", " 兰州市", "合计"]  # only the new cells added, in order
    assert found.missing().tolist() == [False, True, False, False, True]
    assert found.note_flags().tolist() == [False, False, True, False, False]
    assert found.blank().tolist() == [False, False, False, False, True]
    assert table_cells.distinct.stripped == ["兰州市", "无", "兰州市", "合计"]
    assert np.array_equal(table_cells.distinct.lengths, [3, 1, 3, 2])


def test_flags_and_values_computed_before_cells_are_added_cover_the_new_cells():
    table_cells = columnread._TableCells()
    _, found = _read(table_cells, ["1", "—", "x"])
    assert columnread._text_column(found) == (["1", None, "x"], [None] * 3)
    _, found = _read(table_cells, ["y", "—", " 无 ", "注：说明"])
    values, problems = columnread._text_column(found)
    assert values == ["1", None, "x", "y", None, "注：说明"] and problems == [None] * 6
    assert found.distinct.missing_flags().tolist() == [False, True, False, False, True, False]
    assert found.note_flags().tolist() == [False, False, False, True]


def test_cells_of_pandas_chunks_and_of_pyarrow_chunks_are_kept_together():
    """pandas' text columns reach the reader as large_string, pyarrow's as string: one table's chunks may be both."""
    table_cells = columnread._TableCells()
    first = table_cells.cells(pa.array(["a", "b"], pa.large_string()))
    second = table_cells.cells(pa.array(["c", "a"], pa.string()).dictionary_encode())
    assert first.codes.tolist() == [0, 1] and second.codes.tolist() == [2, 0]
    assert table_cells.distinct.uniques == ["a", "b", "c"]


def test_batches_share_values_and_forms_until_a_cell_is_added(tmp_path, ruleset, monkeypatch):
    rows = [HEADER] + [[f"单位{n}", f"GL-{n}", "兰州市", "燃煤", "验收", "2019-01-01", "2022-03-01", "10",
                        ["85.0", "86.0"][n % 2] if n < 40 else "87.5", "否", "是"] for n in range(60)]
    path = _write(tmp_path / "boilers.csv", rows)
    monkeypatch.setattr(engine.csv_reader, "ARROW_BLOCK", 1024)  # pieces of ~13 rows, a batch each
    from engine.records import stream_file
    batches = [records for _, records, _ in stream_file(path, ruleset.schemas, regions_of(ruleset))]
    columns = [batch.columns["efficiency_pct"] for batch in batches]
    assert len(batches) >= 4
    assert columns[0].uniques == [85.0, 86.0]
    assert columns[1].uniques is columns[0].uniques and columns[1]._forms is columns[0]._forms
    assert columns[-1].uniques == [85.0, 86.0, 87.5] and columns[0].uniques == [85.0, 86.0]
    assert [c.value(n) for c, batch in zip(columns, batches) for n in range(len(batch))] == \
        [85.0, 86.0] * 20 + [87.5] * 20


def test_each_piece_of_the_file_is_one_batch(tmp_path, ruleset, monkeypatch):
    """A piece of the file is the line the piece before left and ARROW_BLOCK bytes: parsed as one block, so that no
    batch of a row or two is left over (each would take the row-by-row path and a findings part of its own)."""
    from engine.records import stream_file

    rows = [HEADER] + [[f"单位{n}", f"GL-{n:05d}", "兰州市", "燃煤", "验收", "2019-01-01", "2022-03-01", "10", "85.0",
                        "否", "是"] for n in range(300)]
    path = _write(tmp_path / "boilers.csv", rows)
    monkeypatch.setattr(engine.csv_reader, "ARROW_BLOCK", 2048)
    sizes = [len(records) for _, records, _ in stream_file(path, ruleset.schemas, regions_of(ruleset))]
    assert sum(sizes) == 300 and len(sizes) > 10
    assert min(sizes[:-1]) > 10, sizes


def test_columns_of_many_cells_are_parsed_as_plain_text_after_the_first_piece(tmp_path, ruleset, monkeypatch):
    path = _write(tmp_path / "boilers.csv", _rows())
    regions = regions_of(ruleset)
    whole = load_file(path, ruleset.schemas, regions)
    monkeypatch.setattr(engine.csv_reader, "ARROW_BLOCK", 2048)  # pieces of ~20 rows
    monkeypatch.setattr(engine.csv_reader, "MANY_CELLS", 6)
    given = {}  # column (its table cells) -> whether each chunk's cells came dictionary-encoded
    original = columnread._TableCells.cells

    def cells(self, column):
        given.setdefault(id(self), []).append(pa.types.is_dictionary(column.type))
        return original(self, column)
    monkeypatch.setattr(columnread._TableCells, "cells", cells)
    chunked = load_file(path, ruleset.schemas, regions)
    assert _snapshot(chunked) == _snapshot(whole)
    by_position = list(given.values())  # (the columns are read in their order)
    assert len(by_position) == len(HEADER) and all(len(chunks) >= 5 for chunks in by_position)
    ids, fuel = by_position[HEADER.index("锅炉编号")], by_position[HEADER.index("燃料种类")]
    assert ids[0] and not any(ids[1:])  # every id its own: plain text from the second piece on
    assert all(fuel)  # two fuels: dictionary-encoded throughout


def test_a_chunk_of_plain_text_makes_each_row_a_cell_of_its_own():
    found = columnread._Cells.of_chunk(pa.array(["GL-1", None, " 无 ", "GL-1", ""], pa.large_string()))
    assert found.codes.tolist() == [0, -1, 2, 3, 4]
    assert found.uniques == ["GL-1", "", " 无 ", "GL-1", ""]
    assert found.missing().tolist() == [False, True, True, False, True]
    assert found.blank().tolist() == [False, True, False, False, True]
    assert columnread._text_column(found) == (["GL-1", None, None, "GL-1", None], [None] * 5)
