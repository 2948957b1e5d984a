"""Recording a run: its inputs and findings, each finding's state across runs (new, persisting, reopened, fixed),
the waivers that apply and the notices whose deadline has passed."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from collections import namedtuple
from dataclasses import dataclass, field

from sqlalchemy import insert, or_, select, update

from engine.store import schema
from engine.store.db import now
from engine.store.identity import fingerprint, key, subject_key
from engine.store.timeline import OPEN_STATES, later_runs, open_before, pack_subjects, replay_after

STATES = (*OPEN_STATES, "fixed")
STATE_ZH = {"new": "新发现", "persisting": "持续", "reopened": "复发", "fixed": "已整改", "waived": "已豁免",
            "overdue": "逾期未整改"}
CHUNK = 2_000
KILL_AFTER = "ECOCHECK_STORE_TEST_KILL_AFTER"  # tests only: SIGKILL this process after that many findings written


@dataclass
class Lifecycle:
    """What the store says about a run's findings, in the order of report.findings."""

    run_id: int
    fingerprints: list = field(default_factory=list)
    states: list = field(default_factory=list)
    waivers: list = field(default_factory=list)  # the waiver applying to each finding, or None
    fixed: list = field(default_factory=list)  # cases open before and not found now: dicts
    overdue: list = field(default_factory=list)  # persisting findings of notices past their deadline: dicts
    by_source: dict = field(default_factory=dict)  # (rule_id, file, row) -> fingerprint
    later_runs: list = field(default_factory=list)  # runs with a later as-of, recorded before this back-dated one
    restated: list = field(default_factory=list)  # those of them whose states were derived again

    def counts(self) -> dict:
        counts = {state: 0 for state in STATES}
        for state in self.states:
            counts[state] += 1
        counts["fixed"] = len(self.fixed)
        counts["waived"] = sum(1 for w in self.waivers if w)
        counts["overdue"] = sum(1 for o in self.overdue if o["follow_up"])  # past a deadline to rectify
        counts["past_deadline"] = len(self.overdue) - counts["overdue"]  # past another type's deadline (a report)
        return counts

    def waived(self) -> set:
        """(rule_id, file, row) of every waived finding."""
        return {source for source, fp in self.by_source.items() if fp in self._waived_fps()}

    def _waived_fps(self) -> set:
        return {fp for fp, w in zip(self.fingerprints, self.waivers) if w}

    def to_dict(self) -> dict:
        return {"run": self.run_id, "counts": self.counts(),
                "findings": [{"fingerprint": fp, "state": st, "waiver": w}
                             for fp, st, w in zip(self.fingerprints, self.states, self.waivers)],
                "fixed": self.fixed, "overdue": self.overdue, "later_runs": self.later_runs,
                "restated_runs": self.restated}


def waiver_entry(row) -> dict:
    return {"id": row.id, "reason": row.reason, "basis": row.basis, "by": row.granted_by,
            "until": row.until.isoformat(), "source": row.source or "ecocheck waive"}


def record_run(connection, report, command: str, as_of: dt.date, issued_on: dt.date | None,
               rules_in_force: set, subjects: set | None = None, file_waivers: frozenset = frozenset(),
               in_force_on=None) -> Lifecycle:
    """Write the run and its findings; move every case to its new state. Call inside Store.transaction().

    A case open before and not found now is fixed only when this run read its subject (`subjects`: (kind, id) of every
    record read; without it, any record of the subject's kind) under a rule in force: a run of part of the units
    fixes nothing of the others. The waivers that apply: those of `ecocheck waive` and of this run's waiver file (ids
    `file_waivers`; a waiver file's entries apply to the runs given that file), until their date.

    Runs follow their as-of (then the order they were recorded in): a run with an earlier as-of than a stored one is
    compared with the runs before it by as-of, and the states of the runs after it are derived again (engine.store.
    timeline; `in_force_on(date)`: the rules in force on a later run's as-of, default `rules_in_force`)."""
    manifest = report.manifest
    run_id = connection.execute(insert(schema.runs).values(
        created_at=now(), command=command, tool_version=str(manifest.get("tool_version", "")),
        rules_fingerprint=str(manifest.get("rules_fingerprint", "")), as_of=as_of, issued_on=issued_on,
        summary="{}", subjects=pack_subjects(subjects)).returning(schema.runs.c.id)).scalar_one()
    inputs = [{"run_id": run_id, "path": e.get("path", ""), "sha256": e.get("sha256"), "kind": e.get("kind"),
               "rows": e.get("rows"), "evaluated": e.get("evaluated"), "rejected": e.get("rejected")}
              for e in manifest.get("inputs", [])]
    if inputs:
        connection.execute(insert(schema.run_inputs), inputs)
    cases = _stored_cases(connection)
    later = later_runs(connection, run_id, as_of)  # (none unless this run is back-dated)
    was_open = open_before(connection, run_id, as_of) if later else {fp: bool(c.open) for fp, c in cases.items()}
    waivers = {}
    w = schema.waivers.c
    for row in connection.execute(select(schema.waivers).where(w.until > as_of, or_(w.source.is_(None),
                                                                                    w.id.in_(sorted(file_waivers))))
                                  .order_by(w.id)):
        waivers[(row.subject_key, row.rule_id)] = row
    life = Lifecycle(run_id)
    found: dict = {}  # fingerprint -> state in this run
    rows, new_cases, again = [], [], []  # findings and new cases written a chunk at a time; cases changed
    kill_after = int(os.environ.get(KILL_AFTER, "0") or 0)
    chunk = min(CHUNK, kill_after) if kill_after else CHUNK
    written = 0
    headlines = getattr(report.findings, "headlines", None)  # (a FindingStore: without rebuilding each Finding)
    for f in headlines() if headlines is not None else report.findings:
        fp = fingerprint(f)
        state = found.get(fp)
        if state is None:
            before = was_open.get(fp)
            state = "new" if before is None else ("persisting" if before else "reopened")
            found[fp] = state
            case = cases.get(fp)
            if case is None:  # (a case is what the finding that opened it says)
                new_cases.append(_new_case(fp, f, run_id))
                if len(new_cases) >= CHUNK:
                    _bulk_insert(connection, schema.cases, CASE_COLUMNS, new_cases)
                    new_cases = []
            elif not case.open or case.status != f.status or case.message != f.message:
                again.append({"fp": fp, "status": f.status, "message": f.message, "last_run": run_id})
            # (a case found again as it was is left alone: `last_run` is the run that last changed it)
        waiver = waivers.get((key(f.subject.id), f.rule_id)) or waivers.get((key(f.subject.recipient), f.rule_id))
        life.fingerprints.append(fp)
        life.states.append(state)
        life.waivers.append(waiver_entry(waiver) if waiver else None)
        life.by_source[(f.rule_id, f.source.file, f.source.row)] = fp
        s = f.subject
        rows.append((run_id, fp, state, f.rule_id, s.kind, str(s.id), s.name, s.region, f.period, f.status, f.message,
                     f.source.file, f.source.row, waiver.id if waiver else None))
        if len(rows) >= chunk:
            _bulk_insert(connection, schema.findings, FINDING_COLUMNS, rows)
            written += len(rows)
            rows = []
            if kill_after and written >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
    _bulk_insert(connection, schema.findings, FINDING_COLUMNS, rows)
    _bulk_insert(connection, schema.cases, CASE_COLUMNS, new_cases)
    candidates = [c for fp, c in cases.items() if was_open.get(fp) and fp not in found and c.rule_id in rules_in_force]
    if subjects is None:
        read_kinds = {e.get("kind") for e in manifest.get("inputs", []) if e.get("evaluated")}
        fixed = [c for c in candidates if c.subject_kind in read_kinds]
    elif candidates:  # (the ids read are normalised only when an open case may have been fixed)
        read = {f"{kind}:{key(record_id)}" for kind, record_id in subjects}
        fixed = [c for c in candidates if c.subject_key in read]
    else:
        fixed = []
    if fixed:
        connection.execute(insert(schema.findings), [
            {"run_id": run_id, "fingerprint": c.fingerprint, "state": "fixed", "rule_id": c.rule_id,
             "subject_kind": c.subject_kind, "subject_id": c.subject_id, "subject_name": c.recipient,
             "region": c.region, "period": c.period, "status": c.status, "message": c.message,
             "file": None, "row": None, "waiver_id": None} for c in fixed])
        connection.execute(update(schema.cases).where(schema.cases.c.fingerprint == _bind("fp"))
                           .values(open=0, last_run=run_id), [{"fp": c.fingerprint} for c in fixed])
    life.fixed = [{"fingerprint": c.fingerprint, "rule_id": c.rule_id, "subject_kind": c.subject_kind,
                   "subject_id": c.subject_id, "region": c.region, "period": c.period, "status": c.status,
                   "message": c.message} for c in fixed]
    if again:  # found again after it was fixed, or with another status or message: open, as this run found it
        connection.execute(update(schema.cases).where(schema.cases.c.fingerprint == _bind("fp"))
                           .values(open=1, status=_bind("status"), message=_bind("message"),
                                   last_run=_bind("last_run")), again)
    if later:
        touched = {fp: True for fp in found} | {c.fingerprint: False for c in fixed}
        life.later_runs = [run.id for run in later]
        life.restated = replay_after(connection, run_id, later, touched, in_force_on or (lambda _date: rules_in_force))
    life.overdue = _overdue(connection, life, issued_on or as_of)
    connection.execute(update(schema.runs).where(schema.runs.c.id == run_id).values(summary=json.dumps(
        {"statuses": dict(report.counts), "states": life.counts()}, ensure_ascii=False)))
    return life


_Case = namedtuple("_Case", "fingerprint subject_kind subject_key subject_id recipient region rule_id period open "
                             "status message")


def _stored_cases(connection) -> dict:
    """Fingerprint -> _Case of every stored case, each text that repeats from case to case (kinds, units, regions,
    rules, periods, statuses, messages) held once (the driver gives a new string for each row): a store of 70k cases
    took 60 MiB as the rows the driver gives."""
    c = schema.cases.c
    shared: dict = {}
    one = shared.setdefault
    cases = {}
    for fp, kind, subject, subject_id, recipient, region, rule_id, period, is_open, status, message in \
            connection.execute(select(c.fingerprint, c.subject_kind, c.subject_key, c.subject_id, c.recipient, c.region,
                                      c.rule_id, c.period, c.open, c.status, c.message)):
        cases[fp] = _Case(fp, one(kind, kind), subject, subject_id, one(recipient, recipient), one(region, region),
                          one(rule_id, rule_id), one(period, period), is_open, one(status, status),
                          one(message, message))
    return cases


FINDING_COLUMNS = ("run_id", "fingerprint", "state", "rule_id", "subject_kind", "subject_id", "subject_name", "region",
                   "period", "status", "message", "file", "row", "waiver_id")


def _bulk_insert(connection, table, names: tuple, rows: list) -> None:
    """Rows (tuples of the named columns' values, no dates) written through the driver: COPY on PostgreSQL,
    executemany on SQLite; several times faster than SQLAlchemy's per-row parameter handling for a large run."""
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    columns = f"{quote(table.name)} ({', '.join(quote(n) for n in names)})"
    if connection.dialect.name == "postgresql":
        with connection.connection.dbapi_connection.cursor() as cursor:
            with cursor.copy(f"COPY {columns} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    connection.exec_driver_sql(f"INSERT INTO {columns} VALUES ({', '.join(['?'] * len(names))})", rows)


def _bind(name):
    from sqlalchemy import bindparam
    return bindparam(name)


def _new_case(fp: str, f, run_id: int) -> tuple:
    """A new case's row (CASE_COLUMNS), from the finding that opened it: written as the run goes, so that a large run
    keeps nothing of its findings until the end (1M coal samples into a new store, 70k new cases: peak RSS 366 →
    330 MiB, the same rows in the same order)."""
    s = f.subject
    return (fp, s.kind, subject_key(s), str(s.id), s.recipient or s.name, s.region, f.rule_id, f.period, 1, run_id,
            f.status, f.message, run_id)


CASE_COLUMNS = ("fingerprint", "subject_kind", "subject_key", "subject_id", "recipient", "region", "rule_id", "period",
                "open", "first_run", "status", "message", "last_run")


def _overdue(connection, life: Lifecycle, on: dt.date) -> list:
    """Findings found again after the deadline of a notice that named them (the latest such notice), unless waived."""
    persisting = {fp for fp, st, w in zip(life.fingerprints, life.states, life.waivers) if st == "persisting" and not w}
    if not persisting:
        return []
    l, lf = schema.letters, schema.letter_findings
    latest: dict = {}
    query = (select(lf.c.fingerprint, l.c.doc_number, l.c.letter_type, l.c.addressee, l.c.title, l.c.issued_on,
                    l.c.deadline, l.c.issuers)
             .join(l, l.c.id == lf.c.letter_id).where(l.c.deadline.is_not(None), l.c.deadline < on)
             .order_by(l.c.deadline))
    for row in connection.execute(query):
        if row.fingerprint in persisting:
            latest[row.fingerprint] = row
    index = {fp: n for n, fp in reversed(list(enumerate(life.fingerprints)))}
    from engine.letter_schema import FOLLOWED_BY_OVERDUE_NOTICE
    return [{"fingerprint": fp, "finding": index[fp], "doc_number": row.doc_number, "letter_type": row.letter_type,
             "follow_up": row.letter_type in FOLLOWED_BY_OVERDUE_NOTICE,
             "addressee": row.addressee, "title": row.title, "issued_on": row.issued_on.isoformat(),
             "deadline": row.deadline.isoformat(), "issuers": json.loads(row.issuers)} for fp, row in sorted(latest.items(), key=lambda kv: index[kv[0]])]


def subject_seen(connection, subject: str) -> bool:
    """Whether a stored run found something about this subject: its id as shown (any kind) or its unit."""
    wanted = key(subject)
    c = schema.cases.c
    query = select(c.subject_key, c.recipient).where(c.subject_key.like(f"%:{wanted}") | (c.recipient == subject))
    return any(row.subject_key.split(":", 1)[1] == wanted or key(row.recipient) == wanted
               for row in connection.execute(query))
