"""The writers of a run's report: JSON (finding by finding), CSV and the terminal table, the per-file accounting and
the rejected rows as CSV (no cell a spreadsheet would run as a formula)."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
from dataclasses import asdict
from typing import Any, Iterator

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from engine.findingjson import ESCAPED
from engine.findingstream import JsonStream, StreamFailed
from engine.findings import LIFECYCLE_ZH, SCOPE_ZH, STATUS_ZH, Finding, Report, finding_json_bytes
from engine.lang import current, tr
from engine.safe_text import UNSAFE_CLASS, UNSAFE_RE2, for_document, for_terminal


def _dump(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode("utf-8")


CHUNK = 10_000  # items written at a time


def chunked(items, size: int = CHUNK) -> Iterator[list]:
    """The items in lists of at most `size`."""
    items = iter(items)
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _write_list(items: list, out) -> None:
    """_dump(items) written a chunk of items at a time: the same text, without the whole of it in memory at once (the
    repeats of a RepeatedIds written column-wise)."""
    if not items:
        out.write("[]")  # (as _dump writes an empty list)
        return
    out.write("[")
    if hasattr(items, "column_chunks"):
        for n, columns in enumerate(items.column_chunks(CHUNK)):
            out.write(("," if n else "") + ",".join(_repeat_json(*columns).to_pylist()))
    else:
        for n, chunk in enumerate(chunked(items)):
            out.write(("," if n else "") + _dump(chunk)[1:-2])
    out.write("\n]")


def _json_strings(texts: pa.Array) -> pa.Array:
    """Each text as orjson writes it as a JSON string: between quotes where nothing needs escaping (a quote, a
    backslash, a control character), else by orjson."""
    texts = texts.cast(pa.string())
    plain = pc.binary_join_element_wise('"', texts, '"', "")
    special = pc.match_substring_regex(texts, ESCAPED)
    if not pc.any(special).as_py():
        return plain
    escaped = [orjson.dumps(text).decode("utf-8") for text in texts.filter(special).to_pylist()]
    return pc.replace_with_mask(plain, special, pa.array(escaped, pa.string()))


def _repeat_lines(label: str, places: str, titles: dict, kind_names, kinds, ids, files, first_files, first_rows,
                  again_files, again_rows) -> pa.Array:
    """Each repeat's line of the accounting note, as accounting_lines writes it one by one: ids with nothing
    for_terminal escapes are shown as they are, the others escaped one by one."""
    t = for_terminal
    before_first, before_first_row, before_again, before_again_row, after = places.split("{}")
    kind = pa.array([f"  {label} {t(titles.get(k, k))} " for k in kind_names]).take(pa.array(kinds))
    shown = ids.cast(pa.string())
    unsafe = pc.match_substring_regex(shown, UNSAFE_RE2)
    if pc.any(unsafe).as_py():
        escaped = [t(text) for text in shown.filter(unsafe).to_pylist()]
        shown = pc.replace_with_mask(shown, unsafe, pa.array(escaped, pa.string()))
    first = pa.array([before_first + t(f) + before_first_row for f in files]).take(pa.array(first_files))
    again = pa.array([before_again + t(f) + before_again_row for f in files]).take(pa.array(again_files))
    return pc.binary_join_element_wise(kind, shown, first, pa.array(first_rows).cast(pa.string()), again,
                                       pa.array(again_rows).cast(pa.string()), after, "")


def _repeat_json(kind_names, kinds, ids, files, first_files, first_rows, again_files, again_rows) -> pa.Array:
    """Each repeat's JSON as _dump writes it as an item of a list (from the line break before it)."""
    kind = pa.array(['\n  {\n    "kind": ' + _dump(k) + ',\n    "id": ' for k in kind_names]).take(pa.array(kinds))
    file_first = pa.array([',\n    "first": [\n      ' + _dump(f) + ",\n      " for f in files])
    file_again = pa.array(["\n    ],\n    \"again\": [\n      " + _dump(f) + ",\n      " for f in files])
    return pc.binary_join_element_wise(kind, _json_strings(ids), file_first.take(pa.array(first_files)),
                                       pa.array(first_rows).cast(pa.string()), file_again.take(pa.array(again_files)),
                                       pa.array(again_rows).cast(pa.string()), "\n    ]\n  }", "")


def _finding_json(finding: Finding) -> str:
    """Finding.to_dict() as JSON text; orjson writes the nested dataclasses itself (the same keys, in order)."""
    return finding_json_bytes(finding).decode("utf-8")


JSON_OPENING = '{\n"findings": ['


def write_json(report: Report, out) -> None:
    """The JSON document, written finding by finding (a large run never holds its whole text in memory): the
    findings first, then what is known only once the run is over (the rejected rows, the repeated ids, the manifest
    and the summary), so that a run can write its findings as it finds them (finish_json)."""
    out.write(JSON_OPENING)
    blocks = getattr(report.findings, "json_blocks", None)
    if blocks is not None:  # a FindingStore: its JSON a segment at a time, as bytes where the output takes them
        raw = _raw_of(out)
        if raw is not None:
            out.flush()
            try:  # (each block written on another thread while the next is unpacked; at most one waiting)
                _write_blocks(JsonStream(raw, b"", waiting=1), blocks())
            except StreamFailed as exc:
                raise exc.error from None
            raw.flush()
        else:
            for n, block in enumerate(blocks()):
                out.write(((b",\n" if n else b"\n") + block).decode("utf-8"))
    else:
        pending = []
        for n, finding in enumerate(report.findings):
            pending.append(("," if n else "") + "\n" + _finding_json(finding))
            if len(pending) >= 1000:
                out.write("".join(pending))
                pending.clear()
        out.write("".join(pending))
    _write_after_findings(report, out)


def finish_json(report: Report, stream, out) -> None:
    """The rest of the JSON document whose findings a findingstream.JsonStream (opened with JSON_OPENING) wrote as
    the run went on: the findings it did not write (kept by the run's FindingStore), then what write_json writes
    after the findings. `out`: a text stream over the stream's file."""
    _write_blocks(stream, report.findings.json_blocks(unwritten=True))
    _write_after_findings(report, out)


def _write_blocks(stream, blocks) -> None:
    """Each block to a findingstream stream, then wait until all are written (the stream stopped also when making a
    block fails)."""
    try:
        for block in blocks:
            stream.write(block)
    except BaseException:
        with contextlib.suppress(Exception):
            stream.close()
        raise
    stream.close()


def _write_after_findings(report: Report, out) -> None:
    out.write('\n],\n"rejected": ' + _dump([asdict(r) for r in report.rejected]) + ',\n"duplicates": ')
    _write_list(report.duplicates, out)
    if report.results is not None:
        out.write(',\n"results": ' + _dump([asdict(r) for r in report.results]))
    if report.lifecycle is not None:
        out.write(',\n"lifecycle": ' + _dump(report.lifecycle))
    out.write(',\n"manifest": ' + _dump(report.manifest) + ',\n"summary": ' + _dump(report.summary()) + "\n}\n")


def _text_of(writer, report: Report) -> str:
    buffer = io.StringIO()
    writer(report, buffer)
    return buffer.getvalue()


def to_json(report: Report) -> str:
    return _text_of(write_json, report)


CSV_COLUMNS = (
    "rule_id", "status", "severity", "subject_kind", "subject_id", "subject_name", "region",
    "file", "row", "observed", "limit", "document", "article", "message", "required_actions", "consequences",
)
CSV_OPENING = "\ufeff" + ",".join(CSV_COLUMNS) + "\r\n"  # the BOM and the header line (no name needs quoting)


def safe_cell(value: Any) -> str:
    """Text for a CSV cell that a spreadsheet will not read as a formula, with line breaks as spaces and the other
    control, bidi and invisible characters shown as escapes (engine.safe_text.for_document)."""
    raw = "" if value is None else str(value)
    if not _RISKY.search(raw):  # (the common case: nothing to escape, no formula start: the text as it is)
        return raw
    return guard_formula(for_document(raw), raw)


# What makes safe_cell change a text: a character for_document escapes, or a formula start guard_formula guards
_RISKY = re.compile(f"^ *[=+\\-@\t\r]|[{UNSAFE_CLASS}]")


def guard_formula(text: str, raw: str = "") -> str:
    """`text` with a leading ' when it (or the `raw` value it was made from) starts like a formula: = + - @, a tab
    or CR, or spaces before one of them."""
    if (raw and raw[0] in "=+-@\t\r") or text.lstrip(" ")[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _finding_row(f: Finding) -> list[str]:
    return [
        f.rule_id, f.status, f.severity, f.subject.kind, f.subject.id, f.subject.name, f.subject.region,
        f.source.file, str(f.source.row),
        "; ".join(f"{k}={v}" for k, v in f.observed.items()),
        "; ".join(f"{k} {v}" for k, v in f.limit.items()),
        f.citation.document_title, f.citation.article, f.message,
        "；".join(a.text for a in f.required_actions), "；".join(c.text for c in f.consequences),
    ]


def _json_row(data: dict) -> list[str]:
    """_finding_row of the Finding a finding's JSON object (as orjson reads it) was written from, read from the
    object itself (observed values as that Finding holds them: read back from the same JSON)."""
    subject, source, citation = data["subject"], data["source"], data["citation"]
    return [
        data["rule_id"], data["status"], data["severity"], subject["kind"], subject["id"], subject["name"],
        subject["region"], source["file"], str(source["row"]),
        "; ".join(f"{k}={v}" for k, v in data["observed"].items()),
        "; ".join(f"{k} {v}" for k, v in data["limit"].items()),
        citation["document_title"], citation["article"], data["message"],
        "；".join(a["text"] for a in data["required_actions"]), "；".join(c["text"] for c in data["consequences"]),
    ]


def _remember(safe: dict, value) -> str:
    found = safe[value] = safe_cell(value)
    return found


def csv_row(finding: Finding) -> str:
    """A finding's line of the findings CSV, its line end included."""
    return csv_lines_of([finding]).decode("utf-8")


def csv_line(values) -> str:
    """Values as cells of one line of the findings CSV (made safe, quoted as the csv module quotes), no line end."""
    from engine.findingcsv import csv_field
    return ",".join(csv_field(safe_cell(value)) for value in values)


def _raw_of(out):
    """The binary stream under a UTF-8 text stream (bytes written there need no decoding), else None."""
    if str(getattr(out, "encoding", "")).lower().replace("-", "") != "utf8":
        return None
    return getattr(out, "buffer", None)


def write_csv(report: Report, out) -> None:
    """Findings as CSV with a BOM so that Excel opens the Chinese text correctly. A FindingStore's segments kept with
    their CSV lines (check --format csv) are copied as they are; the others are written row by row, a stored
    finding read as its JSON object (not rebuilt as a Finding), each cell that repeats (rule, region, citation,
    actions) made safe once."""
    out.write(CSV_OPENING)
    segments = getattr(report.findings, "csv_segments", None)
    raw = _raw_of(out)
    safe: dict = {}
    for segment in segments() if segments is not None else [report.findings]:
        if isinstance(segment, bytes):
            if raw is not None:
                out.flush()
                raw.write(segment)
            else:
                out.write(segment.decode("utf-8"))
            continue
        _write_csv_rows(segment, out, safe)


def _write_csv_rows(items, out, safe: dict) -> None:
    """The CSV lines of findings (Findings, or the dicts their JSON texts read to), each cell made safe once (`safe`:
    the cells made safe so far)."""
    writer = csv.writer(out, lineterminator="\r\n")
    for item in items:
        row = _json_row(item) if type(item) is dict else _finding_row(item)
        if len(safe) > 100_000:  # (memory follows the variety of the cells, not the findings)
            safe.clear()
        writer.writerow([found if (found := safe.get(value)) is not None else _remember(safe, value)
                         for value in row])


def csv_lines_of(items) -> bytes:
    """The CSV lines write_csv writes for these findings (Findings, or the dicts their JSON texts read to), as UTF-8."""
    buffer = io.StringIO()
    _write_csv_rows(items, buffer, {})
    return buffer.getvalue().encode("utf-8")


def finish_csv(report: Report, stream) -> None:
    """The rest of the findings CSV whose lines a findingstream.CsvStream (opened with CSV_OPENING) wrote as the run
    went on: those of the findings it did not write (kept by the run's FindingStore)."""
    _write_blocks(stream, (segment if isinstance(segment, bytes) else csv_lines_of(segment)
                           for segment in report.findings.csv_segments(unwritten=True)))


def to_csv(report: Report) -> str:
    return _text_of(write_csv, report)


SUMMARY_ZH = {**STATUS_ZH, "gap": "差距", "rejected_rows": "拒收行", "rejected_values": "拒收值",
              "duplicate_ids": "重复编号"}


def write_table(report: Report, out) -> None:
    """A plain-text report for the terminal: findings (three lines each), then the accounting per file. Every
    text from the records or the rules is shown with its control and bidi characters escaped (for_terminal)."""
    t = for_terminal
    chinese = current() != "en"
    any_finding = False
    states = _state_marks(report.lifecycle, chinese)
    shown: dict = {}  # texts that repeat from finding to finding (rule ids, kinds, units, files), escaped once
    bases: dict = {}  # (document title, article) -> the finding's last line

    def once(text):
        found = shown.get(text)
        if found is None:
            found = shown[text] = t(text)
        return found

    marks = {"violation": "违反", "gap": "差距"} if chinese else {"violation": "violation", "gap": "gap"}
    other = "无法判定" if chinese else "indeterminate"
    headlines = getattr(report.findings, "headlines", None)  # (a FindingStore: without rebuilding each Finding)
    for n, f in enumerate(headlines() if headlines is not None else report.findings):
        any_finding = True
        mark = marks.get(f.status, other) + (states[n] if states else "")
        subject = f.subject
        if chinese:
            kind = once(report.kind_titles.get(subject.kind, subject.kind))
            out.write(f"[{mark}] {once(f.rule_id)} {kind}：{t(subject.id)} {once(subject.name)}"
                      f"（{once(f.source.file)} 第{f.source.row}行）\n")
        else:
            out.write(f"[{mark}] {once(f.rule_id)} {once(subject.kind)}:{t(subject.id)} {once(subject.name)} "
                      f"({once(f.source.file)} row {f.source.row})\n")
        out.write(f"    {t(f.message)}\n")
        citation = f.citation
        where = (citation.document_title, citation.article)
        basis = bases.get(where)
        if basis is None:
            basis = bases[where] = (f"    依据 {t(where[0])} {t(where[1])}\n" if chinese
                                    else f"    basis: {t(where[0])} {t(where[1])}\n")
        out.write(basis)
    if not any_finding and not any(e["evaluated"] for e in report.manifest.get("inputs", [])):
        out.write(tr("没有可评估的记录。\n", "No record could be evaluated.\n"))
    elif not any_finding:
        out.write(tr("没有违反、差距或无法判定的事项。\n", "No violations, gaps or indeterminate results.\n"))
    out.write("\n")
    for lines in chunked(accounting_lines(report.manifest, report.duplicates, report.kind_titles)):
        out.write("\n".join(lines) + "\n")
    summary = report.summary().items()
    out.write(tr("结果：" + "，".join(f"{SUMMARY_ZH.get(k, k)} {v}" for k, v in summary),
                 "results: " + ", ".join(f"{k} {v}" for k, v in summary)) + "\n")


def _state_marks(lifecycle: dict | None, chinese: bool) -> list:
    """Per finding, its state across runs (and a waiver) as the terminal shows it after the status: ·持续 …"""
    if not lifecycle:
        return []
    marks = []
    for entry in lifecycle["findings"]:
        state = LIFECYCLE_ZH[entry["state"]] if chinese else entry["state"]
        waived = tr("·已豁免", ", waived") if entry.get("waiver") else ""
        marks.append(("·" if chinese else ", ") + state + waived)
    return marks


def to_table(report: Report) -> str:
    return _text_of(write_table, report)


NOTE_REPEATS = 20  # repeated ids listed in the note beside a report written elsewhere; the others are counted


def accounting_lines(manifest: dict, duplicates: list = (), kind_titles: dict | None = None, limit: int | None = None,
                     whole_list: str = "") -> Iterator[str]:
    """Per input table: rows read = evaluated + rejected, the columns not used, and what the reader did; then each
    repeated id with its two places. For the terminal: file names, headers, notes and ids with their control and
    bidi characters escaped. `kind_titles`: record kind -> its Chinese name, shown in Chinese. Line by line, so that a
    run with many repeated ids writes its note without holding it whole. With `limit`, only the first `limit`
    repeated ids are listed, then a line counting the others and saying where the whole list is (`whole_list`, the
    caller's words)."""
    t = for_terminal
    english = current() == "en"
    titles = {} if english else kind_titles or {}
    yield tr("文件：", "files:")
    for entry in manifest.get("inputs", []):
        kind, rows = t(titles.get(entry["kind"], entry["kind"])), (entry["rows"], entry["evaluated"], entry["rejected"])
        yield f"  {t(entry['path'])} [{kind}]" + tr("：读取 {} = 评估 {} + 拒收 {}",
                                                     ": read {} = evaluated {} + rejected {}").format(*rows)
        if entry.get("unknown_columns"):
            yield tr("    未使用的列：", "    columns not used: ") + tr("、", ", ").join(
                t(c) for c in entry["unknown_columns"])
        for note in entry.get("notes", []):
            yield tr("    注：", "    note: ") + t(note)
    for failed in manifest.get("failed_inputs", []):
        yield f"  {t(failed['path'])}" + tr("：无法读取", ": could not be read")
    label = tr("重复编号", "duplicate id")
    places = tr("：{} 第{}行 与 {} 第{}行（均已评估）", ": {} row {} and {} row {} (both evaluated)")
    if limit is not None and len(duplicates) > limit:
        yield from _repeat_dict_lines(duplicates[:limit], label, places, titles)
        yield tr(f"  ……另有 {len(duplicates) - limit} 处重复编号未在此列出（共 {len(duplicates)} 处，均已评估）",
                 f"  … and {len(duplicates) - limit} more duplicate ids not listed here ({len(duplicates)} in all, "
                 "all evaluated)") + (tr("；", "; ") + whole_list if whole_list else "")
        return
    if hasattr(duplicates, "column_chunks"):  # a RepeatedIds: its lines put together column-wise
        for columns in duplicates.column_chunks(CHUNK):
            yield from _repeat_lines(label, places, titles, *columns).to_pylist()
        return
    yield from _repeat_dict_lines(duplicates, label, places, titles)


def _repeat_dict_lines(duplicates, label: str, places: str, titles: dict) -> Iterator[str]:
    """The note's line of each repeat given as a dict ({kind, id, first, again})."""
    t = for_terminal
    files, kinds = {}, {}  # each file name and kind escaped once (a file may hold many repeated ids)
    for dup in duplicates:
        (first_file, first_row), (again_file, again_row), kind = dup["first"], dup["again"], dup["kind"]
        for name in (first_file, again_file):
            if name not in files:
                files[name] = t(name)
        if kind not in kinds:
            kinds[kind] = t(titles.get(kind, kind))
        yield f"  {label} {kinds[kind]} {t(dup['id'])}" + places.format(files[first_file], first_row, files[again_file],
                                                                        again_row)


DUPLICATE_COLUMNS = ("kind", "id", "first_file", "first_row", "again_file", "again_row")
DUPLICATE_COLUMNS_ZH = ("记录类型", "编号", "首次出现的文件", "首次出现的行号", "再次出现的文件", "再次出现的行号")


def write_duplicates_csv(duplicates, kind_titles: dict | None, out) -> None:
    """Every repeated id with its two places (file and row) as CSV for Excel: BOM, CRLF, no cell a spreadsheet would
    run as a formula; kinds by their Chinese names in Chinese. A RepeatedIds is written a chunk of columns at a time
    (a run may repeat hundreds of thousands of ids)."""
    english = current() == "en"
    titles = {} if english else kind_titles or {}
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DUPLICATE_COLUMNS if english else DUPLICATE_COLUMNS_ZH)
    safe: dict = {}  # kinds and file names, each made safe once

    def once(value):
        found = safe.get(value)
        return found if found is not None else _remember(safe, value)

    if hasattr(duplicates, "column_chunks"):
        for kind_names, kinds, ids, files, first_files, first_rows, again_files, again_rows in \
                duplicates.column_chunks(CHUNK):
            kind_cells, file_cells = [once(titles.get(k, k)) for k in kind_names], [once(f) for f in files]
            writer.writerows(zip([kind_cells[k] for k in kinds.tolist()], [safe_cell(i) for i in ids.to_pylist()],
                                 [file_cells[f] for f in first_files.tolist()], first_rows.tolist(),
                                 [file_cells[f] for f in again_files.tolist()], again_rows.tolist()))
        return
    for dup in duplicates:
        (first_file, first_row), (again_file, again_row) = dup["first"], dup["again"]
        writer.writerow([once(titles.get(dup["kind"], dup["kind"])), safe_cell(dup["id"]), once(first_file), first_row,
                         once(again_file), again_row])


REJECT_COLUMNS = ("file", "row", "column", "value", "reason", "scope")
REJECT_COLUMNS_ZH = ("文件", "行号", "列", "值", "原因", "范围")


def rejects_csv(rejected: list) -> str:
    """Rejected rows and values as CSV for Excel: BOM, CRLF, and no cell that Excel would run as a formula. Headers
    and scope in the current language (the scope's key, row or value, in English)."""
    chinese = current() != "en"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REJECT_COLUMNS_ZH if chinese else REJECT_COLUMNS)
    for r in rejected:
        scope = SCOPE_ZH.get(r.scope, r.scope) if chinese else r.scope
        writer.writerow([safe_cell(v) for v in (r.file, r.row, r.column, r.value, r.reason, scope)])
    return "\ufeff" + buffer.getvalue()
