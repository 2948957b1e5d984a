"""Reading the store: a subject's history, the difference of two runs, and everything as JSON for the archive."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from engine.store import schema
from engine.store.identity import key


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):  # (the one binary column: the subjects a run read, as [kind, id] pairs)
        from engine.store.timeline import subject_pairs
        return subject_pairs(value)
    return value


def _dict(row) -> dict:
    return {k: _plain(v) for k, v in row._mapping.items()}


def history(connection, subject: str) -> list[dict]:
    """Every stored finding about a subject (its id as shown, or its unit), in as-of order (then recording order)."""
    wanted = key(subject)
    c, f, r = schema.cases.c, schema.findings.c, schema.runs.c
    fps = [row.fingerprint for row in connection.execute(select(c.fingerprint, c.subject_key, c.recipient))
           if row.subject_key.split(":", 1)[1] == wanted or key(row.recipient) == wanted]
    if not fps:
        return []
    query = (select(f.run_id, r.as_of, r.created_at, f.fingerprint, f.state, f.rule_id, f.subject_kind, f.subject_id,
                    f.region, f.period, f.status, f.message, f.file, f.row, f.waiver_id)
             .join(schema.runs, r.id == f.run_id).where(f.fingerprint.in_(fps))
             .order_by(r.as_of, f.run_id, f.rule_id, f.id))
    return [_dict(row) for row in connection.execute(query)]


def run_exists(connection, run_id: int) -> bool:
    return connection.execute(select(schema.runs.c.id).where(schema.runs.c.id == run_id)).first() is not None


def latest_runs(connection, count: int = 2) -> list[int]:
    """The last `count` runs in as-of order (then recording order), earliest first."""
    r = schema.runs.c
    rows = list(connection.execute(select(r.id).order_by(r.as_of.desc(), r.id.desc()).limit(count)))
    return [row.id for row in reversed(rows)]


def diff(connection, run_a: int, run_b: int) -> dict:
    """Findings of run B that run A did not have (added), that A had and B has not (gone), and both have (kept);
    by fingerprint, so the file and row may differ."""
    f = schema.findings.c

    def open_findings(run_id):
        query = (select(f.fingerprint, f.rule_id, f.subject_kind, f.subject_id, f.region, f.period, f.status,
                        f.message, f.state).where(f.run_id == run_id, f.state != "fixed").order_by(f.id))
        found: dict = {}
        for row in connection.execute(query):
            found.setdefault(row.fingerprint, _dict(row))
        return found

    a, b = open_findings(run_a), open_findings(run_b)
    changed = [{"fingerprint": fp, "from": a[fp]["status"], "to": b[fp]["status"]} for fp in b
               if fp in a and a[fp]["status"] != b[fp]["status"]]
    return {"run_a": run_a, "run_b": run_b, "added": [b[fp] for fp in b if fp not in a],
            "gone": [a[fp] for fp in a if fp not in b], "kept": [b[fp] for fp in b if fp in a],
            "status_changed": changed}


TABLES = ("runs", "run_inputs", "cases", "findings", "letters", "letter_findings", "numbers", "counters", "waivers")


def export(connection, out) -> dict:
    """Every table of the store as JSON, written table by table and row by row; returns the row counts."""
    counts = {}
    out.write('{"format": "ecocheck-store", "version": 1')
    for name in TABLES:
        table = schema.metadata.tables[name]
        out.write(f',\n"{name}": [')
        count = 0
        for row in connection.execute(select(table).order_by(*table.primary_key.columns)):
            out.write(("," if count else "") + "\n" + json.dumps(_dict(row), ensure_ascii=False))
            count += 1
        out.write("\n]")
        counts[name] = count
    out.write("\n}\n")
    return counts
