"""Findings of a batch the column executor evaluated, built column-wise: each piece of their JSON text made once per
distinct value, and the texts put together by pyarrow for all the findings of a rule and status at once."""

from __future__ import annotations

import operator
import os
import string
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from engine import conditions as C
from engine import records as R
from engine.arrowpool import findings_pool
from engine.evaluate import INDETERMINATE, VIOLATION, Outcome
from engine.explain import _check, _citation, _missing, _summary, build, indeterminate_message
from engine.findingcsv import csv_lines
from engine.findingjson import ESCAPED, VARIABLE, Layout, nested, source_texts, subject_texts
from engine.findingstore import SEPARATOR
from engine.states import GAP

PART = 2_000  # findings a BatchFindings holds at most: the text of a part is compressed before the next is made

_SEP = SEPARATOR.encode()
_NEXT = b",\n    "  # between the entries of a list or object two levels in


def _escaped(text: str) -> bytes:
    """`text` as JSON string content, without its quotes (JSON escaping is per character, so escaped pieces join)."""
    return orjson.dumps(text)[1:-1]


class CheckParts:
    """One Check and what a finding takes from it, each made once: its JSON, its entries of Finding.observed and
    Finding.limit, and its part of the summary in a violation's message (escaped, None when it adds nothing)."""

    __slots__ = ("field", "observed", "limit", "json", "observed_json", "limit_json", "summary_json", "observed_text",
                 "limit_text")

    def __init__(self, check):
        from engine.findings import breached_limit, plain
        self.field, self.observed = check.field, check.observed
        self.limit = breached_limit(check) if check.breached else None
        self.json = orjson.dumps(plain(check), option=orjson.OPT_INDENT_2, default=str).replace(b"\n", b"\n    ")
        key = orjson.dumps(self.field) + b": "
        self.observed_json = key + nested(self.observed).replace(b"\n", b"\n  ")
        self.limit_json = None if self.limit is None else key + orjson.dumps(self.limit)
        summary = _summary([check])
        self.summary_json = _escaped(summary) if summary else None
        # its entries of the CSV's observed and limit cells (report_writers._finding_row), before they are made safe
        self.observed_text = f"{self.field}={self.observed}".encode()
        self.limit_text = None if self.limit is None else f"{self.field} {self.limit}".encode()


class BatchExplainer:
    """What build_batch keeps between the batches of one run: the checks of each distinct value a rule's condition
    reads, the missing-value texts of each combination of absent fields, each rule's layouts, and the memory pool each
    part's arrays are allocated from (owned by the run, no global state)."""

    LIMIT = 20_000  # entries of each cache: past it, a cache is emptied (memory follows the findings' variety)

    def __init__(self, documents, csv: bool = False, pool=None):
        self.documents = documents
        self.pool = findings_pool() if pool is None else pool  # what each part's arrays are allocated from
        self.csv = csv  # each part's findings also as the lines of the findings CSV (check --format csv)
        self.csv_layouts: dict = {}
        self.checks: dict = {}
        self.missing: dict = {}
        self.layouts: dict = {}
        self.messages: dict = {}
        self.leaves: dict = {}  # (rule id, leaf number) -> _LeafTable of the column read last

    def trim(self) -> None:
        for cache in (self.checks, self.missing):
            if len(cache) > self.LIMIT:
                cache.clear()

    def leaf_table(self, rule, n: int, uniques: list, computed, rows: int):
        """The _LeafTable of a rule's n-th leaf over a column's values (and the limits computed for the batch, for a
        parameter's limit), kept while the batches share their values list (a column kept for the table:
        columnread._field_column) and limits; None for a column whose values are many beside the rows asked for
        (read chunk by chunk: each value looked up by its key in `checks`)."""
        limits = None if computed is None else tuple((type(v), _shown_key(v)) for v in computed)
        found = self.leaves.get((rule.id, n))
        if found is not None and found.uniques is uniques and found.limits == limits:
            return found
        if (len(uniques) + 1) * max(len(computed or ()), 1) > 4 * rows + 1_000:
            return None
        if found is not None and found.limits == limits and found.extends_to(uniques):
            found.extend(uniques)
            return found
        found = self.leaves[(rule.id, n)] = _LeafTable(uniques, limits)
        return found

    def layout(self, rule, status: str) -> Layout:
        """The pre-written JSON pieces of the findings of `rule` and `status`."""
        found = self.layouts.get((rule.id, status))
        if found is None:
            from engine.findings import FINDING_FIELDS, plain
            template = dict.fromkeys(FINDING_FIELDS + ("observed", "limit"))  # in Finding's field order
            template.update(rule_id=rule.id, title=rule.title, status=status, severity=rule.severity,
                            citation=plain(_citation(rule, self.documents)),
                            required_actions=plain(rule.required_actions) if status in (VIOLATION, GAP) else (),
                            consequences=plain(rule.consequences) if status == VIOLATION else (), acting=rule.acting,
                            letter=rule.letter if status != GAP else "none", interpretation=rule.interpretation,
                            derived_from=(), measures=(), lapsed=(), force=rule.force, binds=rule.binds,
                            same_duty=rule.same_duty)
            found = self.layouts[(rule.id, status)] = Layout(template)
        return found

    def csv_layout(self, rule, status: str, kind: str) -> tuple:
        """The fixed cells of a CSV line of `rule` and `status` as text: (rule, status, severity and kind, then a
        comma; a comma, document and article, a comma; a comma, required actions and consequences, the line end)."""
        found = self.csv_layouts.get((rule.id, status))
        if found is None:
            from engine.report_writers import csv_line
            citation = _citation(rule, self.documents)
            required = rule.required_actions if status in (VIOLATION, GAP) else ()
            consequences = rule.consequences if status == VIOLATION else ()
            found = self.csv_layouts[(rule.id, status)] = (
                csv_line([rule.id, status, rule.severity, kind]) + ",",
                "," + csv_line([citation.document_title, citation.article]) + ",",
                "," + csv_line(["；".join(q.text for q in required), "；".join(q.text for q in consequences)]) + "\r\n")
        return found

    def message(self, rule) -> list:
        """A rule's message as its escaped literal texts and placeholder names, in order (rules.py allows only
        {name} {id} {region} {checks}, without format spec or conversion)."""
        found = self.messages.get(rule.id)
        if found is None:
            found = []
            for literal, name, spec, conversion in string.Formatter().parse(rule.message):
                if spec or conversion:
                    raise ValueError(f"{rule.id}: message placeholder {{{name}}} has a format spec or conversion")
                if literal:
                    found.append(_escaped(literal))
                if name is not None:
                    found.append(name)
            self.messages[rule.id] = found
        return found


class _LeafTable:
    """The CheckParts of one rule's leaf for each value of a column's values list (by code; -1, no value, last) and
    each limit computed for it, each made when a finding first needs it, and pyarrow arrays of their texts."""

    def __init__(self, uniques: list, limits: tuple | None):
        self.uniques, self.limits = uniques, limits  # (held: the table is the list's while the same list is read)
        self.width = max(len(limits or ()), 1)
        self.parts: list = [None] * ((len(uniques) + 1) * self.width)
        self._arrays: dict = {}

    def extends_to(self, uniques: list) -> bool:
        """Whether `uniques` is this table's values list with values added after them (a later chunk's copy of the
        column's values, which are only appended to: columnread._field_column), the same objects in the same places."""
        return len(uniques) > len(self.uniques) and all(map(operator.is_, self.uniques, uniques))

    def extend(self, uniques: list) -> None:
        """Take `uniques` (extends_to) for the values list: the parts made so far kept, those of no value moved last."""
        width, before = self.width, len(self.uniques) * self.width
        added = [None] * ((len(uniques) - len(self.uniques)) * width)
        self.parts = self.parts[:before] + added + self.parts[before:]
        for key, (texts, _) in self._arrays.items():
            self._arrays[key] = (texts[:before] + [b""] * len(added) + texts[before:], None)
        self.uniques = uniques

    def index(self, codes: np.ndarray, limit_at, make) -> np.ndarray:
        """Each row's index into parts (its value's code, -1 last, then its limit), every part they name made
        (`make(codes, limits)`: the parts of those not made yet, together)."""
        none = len(self.uniques)
        index = np.where(codes >= 0, codes, none) * self.width
        if limit_at is not None:
            index = index + limit_at
        parts = self.parts
        new = [at for at in np.unique(index).tolist() if parts[at] is None]
        if new:
            codes, limits = np.divmod(np.array(new, dtype=np.int64), self.width)
            for at, part in zip(new, make(np.where(codes < none, codes, -1), limits)):
                parts[at] = part
            for (what, before), (texts, _) in self._arrays.items():  # (only the new parts' texts: no pass over all)
                for at in new:
                    text = getattr(parts[at], what)
                    texts[at] = _entry(text, before)
                self._arrays[(what, before)] = (texts, None)
        return index

    def array(self, what: str, before: bytes) -> pa.Array:
        """Each part's `what` by index, as _checks.column gives it (a part not made, which no row names: empty)."""
        texts, found = self._arrays.get((what, before), (None, None))
        if texts is None:
            texts = [b"" if part is None else _entry(getattr(part, what), before) for part in self.parts]
        if found is None:
            found = pa.array(texts, pa.binary())
            self._arrays[(what, before)] = (texts, found)
        return found


@dataclass
class BatchFindings:
    """The findings of one part of a batch as their JSON texts (findings.finding_json_bytes) joined by SEPARATOR; for
    the first finding of each rule and status the Finding built from its Record (the FindingStore checks the text
    against it), and how to build them all from Records should a text not be what that Finding writes."""

    joined: object  # bytes, or a pyarrow Buffer
    count: int
    statuses: dict  # status -> number of findings
    first_row: int
    samples: list  # (index, Finding, its text, its CSV line or None)
    rebuild: object  # () -> [Finding], built one by one from Records (explain.build)
    csv: object = None  # with BatchExplainer.csv: the findings' CSV lines, one after the other (a pyarrow Buffer)

    def __len__(self) -> int:
        return self.count



class _Batch:
    """One batch seen by build_batch: its codes, and the JSON of each distinct value of the identity fields."""

    def __init__(self, batch, schema, regions, outcome, pool):
        self.batch, self.schema, self.regions, self.outcome = batch, schema, regions, outcome
        self.pool = pool  # what the part's arrays are allocated from (BatchExplainer.pool)
        self.file_json, self.kind_json = orjson.dumps(batch.file), orjson.dumps(schema.kind)
        self._texts: dict = {}  # (what, code) -> (JSON, escaped)

    def codes(self, name: str, rows: np.ndarray) -> np.ndarray:
        column = self.batch.columns.get(name)
        return np.full(len(rows), -1, dtype=np.int64) if column is None else column.codes[rows]

    def value(self, name: str, code: int):
        return self.batch.columns[name].uniques[code]

    def coded(self, what: str, name: str, rows: np.ndarray, shown, dump=orjson.dumps,
              plain: bool = False) -> tuple[pa.Array, pa.Array]:
        """(JSON, escaped) of shown({name: value} or {}) for each row: made once per distinct value in the batch (the
        escaped text is that of a JSON string: the JSON without its quotes). `plain`: shown gives a text value
        itself, so a text column's values needing no escape are written column-wise."""
        column = self.batch.columns.get(name)
        if plain and column is not None and column.text is not None:
            found = self._plain(column, rows, shown, self.pool)
            if found is not None:
                return found
        distinct, inverse = np.unique(self.codes(name, rows), return_inverse=True)
        texts = []
        for code in distinct.tolist():
            found = self._texts.get((what, code))
            if found is None:
                text = shown({name: self.value(name, code)} if code >= 0 else {})
                json = dump(text)
                found = self._texts[(what, code)] = (json, json[1:-1])
            texts.append(found)
        index, pool = pa.array(inverse), self.pool
        return (pc.take(pa.array([t[0] for t in texts], pa.binary()), index, memory_pool=pool),
                pc.take(pa.array([t[1] for t in texts], pa.binary()), index, memory_pool=pool))

    @staticmethod
    def _plain(column, rows: np.ndarray, shown, pool):
        """coded() of a text column whose shown value is the value: its text itself where no character needs
        escaping in JSON (a quote, a backslash, a control character), shown({}) where a row has none; None when
        some value needs escaping."""
        codes = column.codes[rows]
        texts = pc.take(column.text, pa.array(codes, mask=codes < 0), memory_pool=pool)
        if pc.any(pc.match_substring_regex(texts, ESCAPED)).as_py():
            return None
        escaped = texts.cast(pa.binary(), memory_pool=pool)
        if texts.null_count:
            # (fill_null, which takes no memory pool)
            escaped = pc.coalesce(escaped, pa.scalar(_escaped(shown({})), pa.binary()), memory_pool=pool)
        return pc.binary_join_element_wise(b'"', escaped, b'"', b"", memory_pool=pool), escaped

    def shown_ids(self, rows: np.ndarray) -> tuple[pa.Array, pa.Array]:
        schema = self.schema
        if not schema.id_extra:
            return self.coded("id", schema.id_field, rows, lambda values: R.shown_id(schema, values), plain=True)
        names = (schema.id_field, *schema.id_extra)
        codes = [self.codes(name, rows).tolist() for name in names]
        json = [orjson.dumps(R.shown_id(schema, {n: self.value(n, c) for n, c in zip(names, row) if c >= 0}))
                for row in zip(*codes)]
        return (pa.array(json, pa.binary(), memory_pool=self.pool),
                pa.array([j[1:-1] for j in json], pa.binary(), memory_pool=self.pool))


def _order(outcome, rule_ids: list):
    """(batch positions, rule ranks, violated) of every violation and indeterminate, by row and then rule id."""
    from engine.columnar import STATES

    violation, indeterminate = STATES.index(VIOLATION), STATES.index(INDETERMINATE)
    found = [(np.flatnonzero((outcome.codes[rule_id] == violation) | (outcome.codes[rule_id] == indeterminate)), n)
             for n, rule_id in enumerate(rule_ids)]
    found = [(rows, n) for rows, n in found if len(rows)]
    if not found:
        return None
    positions = np.concatenate([rows for rows, _ in found])
    ranks = np.concatenate([np.full(len(rows), n) for rows, n in found])
    violated = np.concatenate([outcome.codes[rule_ids[n]][rows] == violation for rows, n in found])
    order = np.lexsort((ranks, positions))  # by row, then rule id (as `build` sorts them)
    return positions[order], ranks[order], violated[order]


def build_batch(outcome, rules, batch, schema, regions, explainer: BatchExplainer) -> Iterator[BatchFindings]:
    """The findings of the violation and indeterminate rows of a batch the column executor evaluated (a
    columnar.BatchOutcome), exactly as explain.build gives them for the same records, in (row, rule) order — as the
    JSON text the output writes, in parts of at most PART findings, each put together column-wise."""
    explainer.trim()
    rule_ids = sorted(outcome.codes)
    ordered = _order(outcome, rule_ids)
    if ordered is None:
        return
    by_id = {rule.id: rule for rule in rules}
    seen = _Batch(batch, schema, regions, outcome, explainer.pool)
    positions, ranks, violated = ordered
    for start in range(0, len(positions), PART):
        end = start + PART
        yield _part(seen, [by_id[rule_id] for rule_id in rule_ids], positions[start:end], ranks[start:end],
                    violated[start:end], explainer)


def _part(seen: _Batch, ranked: list, positions, ranks, violated, explainer) -> BatchFindings:
    """The findings of one part's entries (batch positions, rule ranks, violated; by row, then rule)."""
    batch, schema, regions, pool = seen.batch, seen.schema, seen.regions, seen.pool
    unique_rows, at = np.unique(positions, return_inverse=True)
    ids, id_text = seen.shown_ids(unique_rows)
    names, name_text = seen.coded("name", schema.name_field, unique_rows,
                                  lambda values: R.shown_name(schema, values, regions),
                                  plain=schema.fields[schema.name_field].type != "region")
    shown_regions, region_text = seen.coded("region", schema.region_field, unique_rows,
                                            lambda values: R.shown_region(schema, values, regions))
    unit_recipients = seen.coded("recipient", R.recipient_field(schema), unique_rows,
                                 lambda values: R.shown_recipient(schema, values, regions),
                                 plain=schema.recipient_field != "region_government")[0]
    sources = source_texts(seen.file_json, pa.array(batch.rows[unique_rows]), pool)
    years = seen.coded("year", "year", unique_rows, lambda values: values.get("year"), nested)
    row_text = {"id": id_text, "name": name_text, "region": region_text}

    binding = np.array([rule.is_binding for rule in ranked])[ranks]
    status_codes = np.where(violated, np.where(binding, 0, 1), 2)  # violation, gap, indeterminate
    groups, firsts, group_of = np.unique(ranks * 3 + status_codes, return_index=True, return_inverse=True)
    statuses: dict = {}
    for group, count in zip(groups.tolist(), np.bincount(group_of).tolist()):
        statuses[STATUSES[group % 3]] = statuses.get(STATUSES[group % 3], 0) + count

    # Each entry's subject (as its rule binds), source and period, taken from those of its row
    binds = sorted({ranked[rank].binds for rank in np.unique(ranks).tolist()})
    subjects = []
    for bound in binds:
        if bound == "manufacturer":
            recipient = seen.coded("manufacturer", "manufacturer", unique_rows,
                                   lambda values: str(values.get("manufacturer") or ""), plain=True)[0]
        else:
            recipient = unit_recipients
        subjects.append(subject_texts(seen.kind_json, ids, names, shown_regions, recipient, pool))
    bound_at = np.array([binds.index(rule.binds) if rule.binds in binds else 0 for rule in ranked])[ranks]
    entries = pa.array(at)
    per_entry = {"subject": _taken(subjects, at + bound_at * len(unique_rows), pool),
                 "source": _taken([sources], at, pool), "period": _taken([years[0]], at, pool)}

    # Each entry's checks, message, missing values, observed values and limits, made a rule at a time
    made: dict = {name: [] for name in ("message", "checks", "missing", "observed", "limit")
                  + (("observed_text", "limit_text") if explainer.csv else ())}
    indices = []
    for rank in np.unique(ranks).tolist():
        index = np.flatnonzero(ranks == rank)
        rule = ranked[rank]
        rows = pa.array(at[index])
        checks, observed, limits, summary, texts = _checks(seen, rule, unique_rows[at[index]], explainer)
        message = _message(explainer.message(rule),
                           {key: pc.take(value, rows, memory_pool=pool) for key, value in row_text.items()},
                           summary, len(index), pool)
        missing = _repeat(b"[]", len(index), pool)
        undecided = status_codes[index] == 2
        if undecided.any():
            missing_json, message_json = _missing_texts(seen, rule, positions[index], undecided, explainer)
            mask = pa.array(undecided)
            missing, message = (pc.if_else(mask, missing_json, missing, memory_pool=pool),
                                pc.if_else(mask, message_json, message, memory_pool=pool))
        for name, value in (("message", message), ("checks", checks), ("missing", missing), ("observed", observed),
                            ("limit", limits), ("observed_text", texts[0]), ("limit_text", texts[1])):
            if name in made:
                made[name].append(value if isinstance(value, pa.Array) else _repeat(value, len(index), pool))
        indices.append(index)
    order = np.argsort(np.concatenate(indices), kind="stable")
    per_entry.update({name: _taken(arrays, order, pool) for name, arrays in made.items()})

    # The texts: each entry's values between the pieces of its rule and status's layout, and a separator (one buffer
    # for all)
    layouts = [explainer.layout(ranked[group // 3], STATUSES[group % 3]) for group in groups.tolist()]
    kinds = pa.array(group_of)
    joined = _piece([layout.pieces[0] for layout in layouts], kinds, pool)
    for n, name in enumerate(VARIABLE, start=1):
        joined += [per_entry[name], *_piece([layout.pieces[n] for layout in layouts], kinds, pool)]
    texts = pc.binary_join_element_wise(*joined, _SEP, b"", memory_pool=pool)
    lines = None
    if explainer.csv:
        lines = csv_lines([explainer.csv_layout(ranked[group // 3], STATUSES[group % 3], schema.kind)
                           for group in groups.tolist()], kinds, entries, batch.file, batch.rows[unique_rows],
                          (ids, names, shown_regions), per_entry, pool)
    finding_of = _FindingsOf(seen, ranked, positions, ranks, violated, explainer.documents)
    sampled = sorted(firsts.tolist())
    return BatchFindings(_joined(texts), len(texts), statuses, int(batch.rows[positions[0]]),
                         [(n, finding, texts[n].as_py()[:-len(_SEP)], None if lines is None else lines[n].as_py())
                          for n, finding in zip(sampled, finding_of.some(sampled))],
                         finding_of.all, None if lines is None else _joined(lines, b""))


def _taken(arrays: list, index: np.ndarray, pool=None) -> pa.Array:
    """The arrays one after the other, taken at `index`: no copy where that is the single array as it is."""
    if len(arrays) == 1 and len(index) == len(arrays[0]) and (index == np.arange(len(index))).all():
        return arrays[0]
    return pc.take(arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays, memory_pool=pool), pa.array(index),
                   memory_pool=pool)


def _piece(texts: list, kinds: pa.Array, pool=None) -> list:
    """The n-th piece of each entry's layout (texts[kind]) as arguments of a join: the text itself where every layout
    of the part has the same; else the beginning and end they share as texts, and only what lies between taken for
    each entry (the parts of a layout's text that every finding repeats are not copied once per finding beforehand)."""
    first = texts[0]
    if all(text == first for text in texts[1:]):
        return [first]
    start = len(os.path.commonprefix(texts))
    end = len(os.path.commonprefix([text[start:][::-1] for text in texts]))
    middles = pc.take(pa.array([text[start:len(text) - end] for text in texts], pa.binary()), kinds, memory_pool=pool)
    pieces = (first[:start], middles, first[len(first) - end:])
    return [piece for piece in pieces if not isinstance(piece, bytes) or piece]  # (no empty text)


def _joined(texts: pa.Array, separator: bytes = _SEP) -> pa.Buffer:
    """The texts (each ending in `separator`) as they lie in the array's data buffer, the last separator left out:
    the texts joined by it, without a Python bytes object for each (or a copy of them all)."""
    _, offsets, data = texts.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1]
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]) - len(separator))


STATUSES = (VIOLATION, GAP, INDETERMINATE)


def _entry(text, before: bytes):
    """A CheckParts text as _checks.column gives it: as it is; with `before`, an optional entry (`before` and the
    text, or empty where there is none)."""
    if not before:
        return text
    return b"" if text is None else before + text


def _repeat(text: bytes, size: int, pool=None) -> pa.Array:
    """The same text `size` times, as a binary array."""
    return pa.repeat(pa.scalar(text, pa.binary()), size, memory_pool=pool)


def _checks(seen: _Batch, rule, rows: np.ndarray, explainer):
    """(checks, observed, limit, summary) for a rule's findings at batch positions `rows`: the checks' JSON list, the
    Finding.observed and Finding.limit objects, and the escaped summary for the message (None without checks)."""
    outcome, pool = seen.outcome, seen.pool
    leaves = tuple(C.walk(outcome.slotted[rule.id])) if outcome.slotted.get(rule.id) is not None else ()
    if not leaves:
        return b"[]", b"{}", b"{}", None, (b"", b"")
    limits = outcome.limits.get(rule.id, ())
    slot_of = {slot: n for n, (slot, _, _) in enumerate(limits)}
    parts, inverses = [], []  # per leaf: its distinct CheckParts (or a _LeafTable's), and row -> index into them
    tables = {}  # leaf number -> _LeafTable
    for n, leaf in enumerate(leaves):
        codes = seen.codes(leaf.field, rows)
        if isinstance(leaf, C.SlotCompare):
            _, computed, inverse = limits[slot_of[leaf.slot]]
            limit_at = np.zeros(len(rows), dtype=np.int64) if inverse is None else np.asarray(inverse)[rows]
            width = max(len(computed), 1)
        else:
            computed, limit_at, width = None, None, 1
        column = seen.batch.columns.get(leaf.field)
        table = None if column is None else explainer.leaf_table(rule, n, column.uniques, computed, len(rows))
        if table is not None:
            def make(codes, at, n=n, leaf=leaf, computed=computed):
                return _parts_of(seen, rule, n, leaf, codes, None if computed is None else at, computed, explainer)
            tables[n] = table
            parts.append(table.parts)
            inverses.append(pa.array(table.index(codes, limit_at, make)))
            continue
        keys = codes if computed is None else codes * width + limit_at  # (codes from -1: floor division gives them back)
        distinct, inverse = np.unique(keys, return_inverse=True)
        parts.append(_parts_of(seen, rule, n, leaf, distinct // width, distinct % width if computed is not None else None,
                               computed, explainer))
        inverses.append(pa.array(inverse))

    def column(what: str, n: int, before: bytes = b"") -> pa.Array:
        """Each row's `what` of its n-th leaf's CheckParts; with `before`, an optional entry: `before` and its text, or
        empty where it has none (not null: pyarrow 26's null_handling="skip" drops the rows where all are null)."""
        if n in tables:
            return pc.take(tables[n].array(what, before), inverses[n], memory_pool=pool)
        return pc.take(pa.array([_entry(getattr(part, what), before) for part in parts[n]], pa.binary()), inverses[n],
                       memory_pool=pool)

    def optional(what: str, separator: bytes) -> pa.Array:
        """The optional entries of every leaf joined by separator (empty where there is none)."""
        joined = pc.binary_join_element_wise(*[column(what, n, separator) for n in range(len(leaves))], b"",
                                             memory_pool=pool)
        # (as text: pyarrow 26's binary_slice fails on arrays with values shorter than the start)
        return pc.utf8_slice_codeunits(joined.cast(pa.string(), memory_pool=pool), len(separator.decode()),
                                       memory_pool=pool).cast(pa.binary(), memory_pool=pool)

    entries = [column("json", n) for n in range(len(leaves))]
    checks = pc.binary_join_element_wise(b"[\n    ", *_between(entries, _NEXT), b"\n  ]", b"", memory_pool=pool)
    first_of_field = {}
    for n, leaf in enumerate(leaves):  # two checks of one field observe the same value: one entry, where it came first
        first_of_field.setdefault(leaf.field, n)
    observed = pc.binary_join_element_wise(
        b"{\n    ", *_between([column("observed_json", n) for n in first_of_field.values()], _NEXT), b"\n  }", b"",
        memory_pool=pool)
    if len(first_of_field) == len(leaves):
        found = optional("limit_json", _NEXT)
        limit = pc.if_else(pc.equal(found, b""), b"{}",
                           pc.binary_join_element_wise(b"{\n    ", found, b"\n  }", b"", memory_pool=pool),
                           memory_pool=pool)
        limit_text = optional("limit_text", b"; ") if explainer.csv else None
    else:  # made as Finding makes the dict: keys where first breached, the last breached check's limit
        breached = [{p.field: p.limit for p in (parts[n][i] for n, i in enumerate(combo)) if p.limit is not None}
                    for combo in zip(*[inverse.to_pylist() for inverse in inverses])]
        limit = pa.array([nested(found) for found in breached], pa.binary(), memory_pool=pool)
        limit_text = pa.array(["; ".join(f"{k} {v}" for k, v in found.items()).encode() for found in breached],
                              pa.binary(), memory_pool=pool)
    summary = optional("summary_json", _escaped("；"))
    texts = (b"", b"")
    if explainer.csv:  # the CSV's observed and limit cells, as report_writers._finding_row joins them
        texts = (pc.binary_join_element_wise(
            *_between([column("observed_text", n) for n in first_of_field.values()], b"; "), b"", memory_pool=pool),
            limit_text)
    return checks, observed, limit, summary, texts


def _between(items: list, separator: bytes) -> list:
    """The items with the separator between each two."""
    out = []
    for item in items:
        out += [separator, item] if out else [item]
    return out


def _parts_of(seen: _Batch, rule, n: int, leaf, codes: np.ndarray, limit_at, computed, explainer) -> list:
    """The CheckParts of a rule's n-th leaf for each distinct value (code, -1: none) and computed limit (index into
    computed; None for a literal limit): made once per distinct value and limit in the run."""
    uniques = seen.batch.columns[leaf.field].uniques if leaf.field in seen.batch.columns else []
    observed = [uniques[code] if code >= 0 else None for code in codes.tolist()]
    limits = [None] * len(observed) if computed is None else [computed[at] for at in limit_at.tolist()]
    keys = [(rule.id, n, type(value), _shown_key(value), type(limit), _shown_key(limit))
            for value, limit in zip(observed, limits)]
    cache = explainer.checks
    found = [cache.get(key) for key in keys]
    spec = seen.schema.fields[leaf.field]
    for at, part in enumerate(found):
        if part is None:
            value, limit = observed[at], limits[at]
            slots = {leaf.slot: limit} if limit is not None else {}
            known = {leaf.field: value} if value is not None else {}
            found[at] = cache[keys[at]] = CheckParts(_check(leaf, spec, value, slots, {**known, **slots}))
    return found


def _shown_key(value):
    """A value as part of a cache key beside its type: 0.0 and -0.0 apart (they are shown differently)."""
    return repr(value) if type(value) is float and value == 0 else value


def _message(template: list, row_text: dict, summary, size: int, pool=None) -> pa.Array:
    """A violation's message as JSON text, from the rule's template and each row's escaped name, id and region."""
    pieces = [b'"']
    for item in template:
        if isinstance(item, bytes):
            pieces.append(item)
        elif item == "checks":
            pieces.append(b"" if summary is None else summary)
        else:
            pieces.append(row_text[item])
    pieces.append(b'"')
    if not any(isinstance(piece, pa.Array) for piece in pieces):
        return _repeat(b"".join(pieces), size, pool)
    return pc.binary_join_element_wise(*pieces, b"", memory_pool=pool)


class _Rows:
    """A rule's needed fields of one row, present or not, standing in for its Record in explain._missing."""

    __slots__ = ("values", "problems")

    def __init__(self, values: dict, problems: dict):
        self.values, self.problems = values, problems


def _missing_texts(seen: _Batch, rule, positions: np.ndarray, undecided: np.ndarray,
                   explainer) -> tuple[pa.Array, pa.Array]:
    """(missing, message) JSON of a rule's rows, for the indeterminate ones (`undecided`; null for the others): made
    once per combination of absent fields and reasons they could not be read."""
    needed = rule.needed_fields()
    problems = seen.batch.problems
    positions = positions[undecided]
    present = [(seen.codes(name, positions) >= 0).tolist() for name in needed]
    reasons = [[problems[name].get(p) for p in positions.tolist()] if name in problems else [None] * len(positions)
               for name in needed]
    missing_json, message_json = [None] * len(undecided), [None] * len(undecided)
    keys = zip(zip(*present), zip(*reasons)) if needed else [((), ())] * len(positions)
    for at, key in zip(np.flatnonzero(undecided).tolist(), keys):
        found = explainer.missing.get((rule.id, key))
        if found is None:
            has, why = key
            row = _Rows({name: True for name, there in zip(needed, has) if there},
                        {name: reason for name, reason in zip(needed, why) if reason is not None})
            missing = tuple(_missing(rule, row, seen.schema))
            found = explainer.missing[(rule.id, key)] = (nested(missing) if missing else b"[]",
                                                         orjson.dumps(indeterminate_message(missing)))
        missing_json[at], message_json[at] = found
    return (pa.array(missing_json, pa.binary(), memory_pool=seen.pool),
            pa.array(message_json, pa.binary(), memory_pool=seen.pool))


class _FindingsOf:
    """The findings of a part built one by one from Records, as explain.build gives them (for the samples the
    FindingStore checks, and in full should a text differ)."""

    def __init__(self, seen: _Batch, ranked: list, positions, ranks, violated, documents):
        self.seen, self.ranked, self.documents = seen, ranked, documents
        self.positions, self.ranks, self.violated = positions, ranks, violated

    def some(self, entries: list) -> list:
        """The findings of these entries (indices into the part, in order), built together."""
        outcome, schema = self.seen.outcome, self.seen.schema
        rows = sorted({int(self.positions[n]) for n in entries})
        index = {position: n for n, position in enumerate(rows)}
        states, slots, rules = {}, {}, {}
        for n in entries:
            rule, position = self.ranked[int(self.ranks[n])], int(self.positions[n])
            states[(rule.id, index[position])] = VIOLATION if self.violated[n] else INDETERMINATE
            computed = {slot: outcome.limit(rule.id, k, position) for k, (slot, _, _) in
                        enumerate(outcome.limits.get(rule.id, ()))}
            computed = {slot: value for slot, value in computed.items() if value is not None}
            if computed:
                slots[(rule.id, index[position])] = computed
            rules[rule.id] = rule
        partial = Outcome(states=states, measures=[], lapsed=[], slots=slots, slotted=outcome.slotted)
        return build(partial, list(rules.values()), [self.seen.batch[p] for p in rows], {schema.kind: schema},
                     self.documents)[1]

    def all(self) -> list:
        return self.some(list(range(len(self.positions))))


__all__ = ["build_batch", "BatchExplainer", "BatchFindings", "CheckParts", "PART"]
