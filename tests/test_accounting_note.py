"""The accounting note under a check (files read = evaluated + rejected, and each repeated id with its two places), in
Chinese and English, with file names, kinds and ids escaped for the terminal."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import report_writers
from engine.duplicates import Duplicates
from engine.lang import set_language
from engine.report_writers import (DUPLICATE_COLUMNS, DUPLICATE_COLUMNS_ZH, _dump, _write_list, accounting_lines,
                                   safe_cell, write_duplicates_csv)
from engine.safe_text import for_terminal

MANIFEST = {"inputs": [{"path": "a.csv", "kind": "boiler", "rows": 4, "evaluated": 3, "rejected": 1}]}
TITLES = {"boiler": "锅炉", "coal_sample": "散煤抽检样品"}
DUPLICATES = [
    {"kind": "boiler", "id": "GL-1", "first": ["a.csv", 2], "again": ["a.csv", 5]},
    {"kind": "coal_sample", "id": "S\x1b[31m", "first": ["b\u202e.csv", 3], "again": ["a.csv", 9]},
    {"kind": "boiler", "id": "gl-1", "first": ["a.csv", 2], "again": ["boiler", 4]},  # (a file named as a kind)
]


def _expected(chinese: bool) -> list[str]:
    lines = []
    for dup in DUPLICATES:
        kind = TITLES[dup["kind"]] if chinese else dup["kind"]
        (first, first_row), (again, again_row) = dup["first"], dup["again"]
        first, again, shown = for_terminal(first), for_terminal(again), for_terminal(dup["id"])
        lines.append(f"  重复编号 {kind} {shown}：{first} 第{first_row}行 与 {again} 第{again_row}行（均已评估）" if chinese
                     else f"  duplicate id {kind} {shown}: {first} row {first_row} and {again} row {again_row} "
                          "(both evaluated)")
    return lines


def test_each_repeated_id_is_one_line_with_both_places_in_chinese():
    lines = list(accounting_lines(MANIFEST, DUPLICATES, TITLES))
    assert lines[:2] == ["文件：", "  a.csv [锅炉]：读取 4 = 评估 3 + 拒收 1"]
    assert lines[2:] == _expected(chinese=True)
    assert "\x1b" not in "".join(lines) and "\u202e" not in "".join(lines)
    assert lines[-1].endswith("boiler 第4行（均已评估）")  # (the file named boiler is not shown as 锅炉)


def test_each_repeated_id_is_one_line_with_both_places_in_english():
    set_language("en")
    try:
        lines = list(accounting_lines(MANIFEST, DUPLICATES, TITLES))
    finally:
        set_language(None)
    assert lines[:2] == ["files:", "  a.csv [boiler]: read 4 = evaluated 3 + rejected 1"]
    assert lines[2:] == _expected(chinese=False)


def test_a_list_written_in_chunks_is_the_text_of_the_whole_list():
    for size in (0, 1, 9_999, 10_000, 10_001, 25_000):
        items = [{"kind": "boiler", "id": f"甘-{n}", "first": ["a.csv", n], "again": ["b.csv", n + 2]} for n in range(size)]
        out = io.StringIO()
        _write_list(items, out)
        assert out.getvalue() == _dump(items), size


IDS = st.lists(st.sampled_from(["GL-1", "gl-1", 'a"b', "a\\b", "x\x1b[31m", "\u202eevil", "甘\x00", "ＧＬ－１", "t\tab",
                                "G L-2", "é"]), min_size=1, max_size=30)


@given(st.lists(st.tuples(st.sampled_from(["boiler", "coal_sample"]), IDS,
                          st.sampled_from(["a.csv", 'q"uote\\d.csv', "b\u202e\x1b.csv", "boiler"])), min_size=1, max_size=4),
       st.integers(1, 4), st.sampled_from(["zh", "en"]))
def test_repeats_written_column_wise_are_the_text_of_their_dicts(batches, chunk, language):
    """The JSON list and the note's lines of a RepeatedIds (put together column-wise, a few repeats at a time) are
    the text of the same repeats as dicts, written one by one; whatever the ids and file names hold."""
    seen = Duplicates()
    for kind, ids, file in batches:
        seen.see_many(kind, ids, file, list(range(2, 2 + len(ids))))
    found = seen.found
    set_language(language)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(report_writers, "CHUNK", chunk)
            out = io.StringIO()
            _write_list(found, out)
            assert out.getvalue() == _dump(list(found))
            assert list(accounting_lines(MANIFEST, found, TITLES)) == list(accounting_lines(MANIFEST, list(found), TITLES))
    finally:
        set_language(None)


def _repeated_ids(items: list):
    """The same repeats as a RepeatedIds (as a run keeps them), seen in the order of `items`."""
    seen = Duplicates()
    for item in items:
        (first_file, first_row), (again_file, again_row) = item["first"], item["again"]
        seen.see_many(item["kind"], [item["id"]], first_file, [first_row])
        seen.see_many(item["kind"], [item["id"]], again_file, [again_row])
    found = seen.found
    assert list(found) == items
    return found


def test_a_limited_note_lists_the_first_repeats_then_counts_the_others_and_says_where_they_all_are():
    many = [{"kind": "boiler", "id": f"GL-{n}", "first": ["a.csv", n + 2], "again": ["b.csv", n + 2]} for n in range(25)]
    for duplicates in (many, _repeated_ids(many)):
        whole = list(accounting_lines(MANIFEST, duplicates, TITLES))
        lines = list(accounting_lines(MANIFEST, duplicates, TITLES, limit=20, whole_list="完整清单已写入 d.csv"))
        assert lines[:22] == whole[:22]  # the files, then the first 20 repeats as the whole note has them
        assert lines[22:] == ["  ……另有 5 处重复编号未在此列出（共 25 处，均已评估）；完整清单已写入 d.csv"]
        assert list(accounting_lines(MANIFEST, duplicates, TITLES, limit=25)) == whole  # (all fit: no count line)
    set_language("en")
    try:
        lines = list(accounting_lines(MANIFEST, many, TITLES, limit=3, whole_list="the whole list is in d.csv"))
    finally:
        set_language(None)
    assert lines[2] == "  duplicate id boiler GL-0: a.csv row 2 and b.csv row 2 (both evaluated)" and len(lines) == 6
    assert lines[-1] == "  … and 22 more duplicate ids not listed here (25 in all, all evaluated); the whole list is in d.csv"


def _csv_rows(duplicates, language: str = "zh") -> list[list[str]]:
    set_language(language)
    try:
        out = io.StringIO(newline="")
        write_duplicates_csv(duplicates, TITLES, out)
    finally:
        set_language(None)
    text = out.getvalue()
    assert text.startswith("\ufeff") and "\r\n" in text
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def test_the_duplicates_csv_has_every_repeat_with_both_places_and_no_formula_cell():
    hostile = [{"kind": "coal_sample", "id": "=HYPERLINK(\"x\")", "first": ["@a.csv", 2], "again": ["b.csv", 7]},
               {"kind": "boiler", "id": "GL,1\n2", "first": ["a.csv", 3], "again": ["a.csv", 9]}]
    for duplicates in (hostile, _repeated_ids(hostile)):
        rows = _csv_rows(duplicates)
        assert tuple(rows[0]) == DUPLICATE_COLUMNS_ZH
        assert rows[1:] == [["散煤抽检样品", "'=HYPERLINK(\"x\")", "'@a.csv", "2", "b.csv", "7"],
                            ["锅炉", safe_cell("GL,1\n2"), "a.csv", "3", "a.csv", "9"]]
        english = _csv_rows(duplicates, "en")
        assert tuple(english[0]) == DUPLICATE_COLUMNS and english[1][0] == "coal_sample" and english[2][0] == "boiler"


@given(st.lists(st.tuples(st.sampled_from(["boiler", "coal_sample"]), IDS,
                          st.sampled_from(["a.csv", "=b.csv", "b\u202e\x1b.csv", "boiler"])), min_size=1, max_size=4),
       st.integers(1, 4))
def test_the_duplicates_csv_written_column_wise_is_that_of_the_repeats_as_dicts(batches, chunk):
    seen = Duplicates()
    for kind, ids, file in batches:
        seen.see_many(kind, ids, file, list(range(2, 2 + len(ids))))
    found = seen.found
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_writers, "CHUNK", chunk)
        assert _csv_rows(found) == _csv_rows(list(found))
    assert len(_csv_rows(found)) == len(found) + 1


def test_the_chinese_help_of_duplicates_gives_the_number_the_note_lists():
    from engine.help_zh import OPTIONS
    from engine.report_writers import NOTE_REPEATS

    assert f"只列出前 {NOTE_REPEATS} 个" in OPTIONS["duplicates_out"]
