"""Runs in as-of order: a run recorded later with an earlier as-of (a back-dated check) is compared with the runs
before it by as-of, and the states of the runs after it are derived again; the cases stand as the latest run says."""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update

from engine.store import schema
from engine.store.identity import key
from engine.subjects_read import line, pack, pairs

OPEN_STATES = ("new", "persisting", "reopened")
IN_CHUNK = 2_000  # fingerprints per IN (…) list


def pack_subjects(subjects) -> bytes | None:
    """The (kind, id) pairs a run read, one a line and compressed (ids as written, a backslash or line break in one
    escaped; normalised only when a back-dated run needs them): engine.subjects_read's lines, packed there already
    for a SubjectsRead."""
    if subjects is None:
        return None
    packed = getattr(subjects, "packed", None)
    if packed is not None:
        return packed()
    return pack(line(kind, str(record_id)) for kind, record_id in subjects)


def subject_pairs(blob: bytes) -> list:
    """[kind, id] of every record a run read, as `pack_subjects` wrote them."""
    return pairs(blob)


def unpack_subjects(blob: bytes | None) -> set | None:
    """The subject keys ("kind:id") a run read; None when not known (such a run fixes nothing in a replay)."""
    if blob is None:
        return None
    return {f"{kind}:{key(record_id)}" for kind, record_id in subject_pairs(blob)}


def _before(run_id: int, as_of):
    r = schema.runs.c
    return or_(r.as_of < as_of, and_(r.as_of == as_of, r.id < run_id))


def later_runs(connection, run_id: int, as_of) -> list:
    """The runs after this one in as-of order (as-of, then the order they were recorded in)."""
    r = schema.runs.c
    return list(connection.execute(select(r.id, r.as_of, r.subjects, r.summary)
                                   .where(or_(r.as_of > as_of, and_(r.as_of == as_of, r.id > run_id)))
                                   .order_by(r.as_of, r.id)))


def open_before(connection, run_id: int, as_of) -> dict:
    """fingerprint -> whether its case was open after the last run before this one (in as-of order) that said
    anything about it."""
    f, r = schema.findings.c, schema.runs.c
    query = (select(f.fingerprint, f.state).join(schema.runs, r.id == f.run_id).where(_before(run_id, as_of))
             .order_by(r.as_of, r.id))
    return {row.fingerprint: row.state in OPEN_STATES for row in connection.execute(query)}


def replay_after(connection, run_id: int, later: list, touched: dict, in_force_on) -> list:
    """Derive again, run by run after this one, the states of the findings this run found or fixed (`touched`:
    fingerprint -> open after this run): found again → persisting / reopened; a fixed row after a case already closed is
    dropped; a later run that read the subject under a rule in force and did not find it gets its fixed row. The cases
    then stand as the last run says (open or not, the latest status and message). Returns the runs changed."""
    if not touched:
        return []
    f = schema.findings.c
    order = {run.id: n for n, run in enumerate(later)}
    rows = defaultdict(lambda: defaultdict(list))  # fingerprint -> run id -> rows
    fps = sorted(touched)
    for start in range(0, len(fps), IN_CHUNK):
        part = fps[start:start + IN_CHUNK]
        for row in connection.execute(select(f.id, f.run_id, f.fingerprint, f.state, f.status, f.message)
                                      .where(f.fingerprint.in_(part), f.run_id.in_(list(order)))):
            rows[row.fingerprint][row.run_id].append(row)
    cases = {}
    for start in range(0, len(fps), IN_CHUNK):
        part = fps[start:start + IN_CHUNK]
        cases.update({c.fingerprint: c for c in connection.execute(
            select(schema.cases).where(schema.cases.c.fingerprint.in_(part)))})
    read, in_force = {}, {}  # (each later run's, when first needed)

    def may_fix(run, case) -> bool:
        if run.id not in read:
            read[run.id], in_force[run.id] = unpack_subjects(run.subjects), in_force_on(run.as_of)
        return read[run.id] is not None and case.subject_key in read[run.id] and case.rule_id in in_force[run.id]

    restate, dropped, added, standing, changed = [], [], [], [], set()
    for fp, is_open in touched.items():
        case = cases[fp]
        last_run, latest = run_id, None
        for run in later:
            here = rows[fp].get(run.id, [])
            found = [x for x in here if x.state != "fixed"]
            if found:
                state = "persisting" if is_open else ("new" if is_open is None else "reopened")
                again = [{"row_id": x.id, "new_state": state} for x in found if x.state != state]
                if again:
                    restate += again
                    changed.add(run.id)
                is_open, last_run, latest = True, run.id, found[-1]
            elif here:  # a fixed row: still a change only when the case was open
                if is_open:
                    is_open, last_run = False, run.id
                else:
                    dropped += [x.id for x in here]
                    changed.add(run.id)
            elif is_open and may_fix(run, case):
                added.append({"run_id": run.id, "fingerprint": fp, "state": "fixed", "rule_id": case.rule_id,
                              "subject_kind": case.subject_kind, "subject_id": case.subject_id,
                              "subject_name": case.recipient, "region": case.region, "period": case.period,
                              "status": case.status, "message": case.message, "file": None, "row": None,
                              "waiver_id": None})
                is_open, last_run = False, run.id
                changed.add(run.id)
        standing.append({"fp": fp, "is_open": 1 if is_open else 0, "last": last_run,
                         "latest_status": case.status if latest is None else latest.status,
                         "latest_message": case.message if latest is None else latest.message})
    if standing:
        connection.execute(update(schema.cases).where(schema.cases.c.fingerprint == bindparam("fp"))
                           .values(open=bindparam("is_open"), last_run=bindparam("last"),
                                   status=bindparam("latest_status"), message=bindparam("latest_message")), standing)
    if restate:
        connection.execute(update(schema.findings).where(f.id == bindparam("row_id"))
                           .values(state=bindparam("new_state")), restate)
    if dropped:
        connection.execute(delete(schema.findings).where(f.id.in_(dropped)))
    if added:
        connection.execute(insert(schema.findings), added)
    for run in later:
        if run.id in changed:
            _restate_summary(connection, run)
    return [run.id for run in later if run.id in changed]


def _restate_summary(connection, run) -> None:
    """A later run's stored counts of states, after its states were derived again."""
    f = schema.findings.c
    counts = dict(connection.execute(select(f.state, func.count()).where(f.run_id == run.id).group_by(f.state)).all())
    summary = json.loads(run.summary or "{}")
    states = summary.setdefault("states", {})
    for state in (*OPEN_STATES, "fixed"):
        states[state] = counts.get(state, 0)
    connection.execute(update(schema.runs).where(schema.runs.c.id == run.id)
                       .values(summary=json.dumps(summary, ensure_ascii=False)))
