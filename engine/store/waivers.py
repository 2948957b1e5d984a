"""Waivers: a finding of a subject under a rule reported as waived, with its reason and basis, until a date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from engine.lang import tr
from engine.store import schema
from engine.store.db import StoreError, now
from engine.store.identity import key
from engine.store.lifecycle import subject_seen


def add_waiver(connection, subject: str, rule_id: str, rule_ids: set, reason: str, basis: str, granted_by: str,
               until: dt.date) -> int:
    """Record a waiver; one for a rule not in the rule set, or a subject no stored run has found, is refused."""
    if rule_id not in rule_ids:
        raise StoreError(tr(f"规则 {rule_id} 不在规则集中，不能豁免", f"rule {rule_id} is not in the rule set: nothing to waive"),
                         rule=rule_id, fix=tr("用 ecocheck rules list 查看规则编号", "see ecocheck rules list for the ids"))
    if not subject_seen(connection, subject):
        raise StoreError(tr(f"案卷库中没有关于“{subject}”的发现事项，不能豁免",
                            f"no stored run found anything about '{subject}': nothing to waive"),
                         fix=tr("先用 ecocheck check 检查含该对象的记录；对象写记录中的编号或单位名称",
                                "check records of that subject first; name it by its id or its unit as recorded"))
    for text, name in ((reason, "--reason"), (basis, "--basis"), (granted_by, "--by")):
        if not str(text).strip():
            raise StoreError(tr(f"{name} 不能为空", f"{name} must not be empty"))
    return connection.execute(insert(schema.waivers).values(
        subject=subject, subject_key=key(subject), rule_id=rule_id, reason=reason, basis=basis,
        granted_by=granted_by, until=until, created_at=now()).returning(schema.waivers.c.id)).scalar_one()


def record_file_waivers(connection, waiver_file, known: set) -> set:
    """The ids of a waiver file's entries in the store (an entry recorded before, unchanged, keeps its row). An entry
    whose subject is neither among `known` (the keys of this run's subjects) nor found by a stored run is refused."""
    from engine.waiver_file import entry_error
    w = schema.waivers.c
    ids = set()
    for entry in waiver_file.waivers:
        if key(entry.subject) not in known and not subject_seen(connection, entry.subject):
            raise entry_error(waiver_file.path, entry.entry, "subject",
                              (f"“{entry.subject}”既不在本次检查的记录中，案卷库中也没有关于它的发现事项，不能豁免",
                               f"'{entry.subject}' is neither in this run's records nor found by a stored run: nothing "
                               f"to waive"),
                              ("写记录中的编号或单位名称，并与含该对象的记录一起检查",
                               "name it by its id or its unit as recorded and check it with its records"))
        values = {"subject": entry.subject, "subject_key": key(entry.subject), "rule_id": entry.rule_id,
                  "reason": entry.reason, "basis": entry.basis, "granted_by": entry.granted_by, "until": entry.until,
                  "source": waiver_file.source(entry)}
        found = connection.execute(select(w.id).where(*(getattr(w, k) == v for k, v in values.items()))
                                   .order_by(w.id.desc())).first()
        ids.add(found.id if found else connection.execute(insert(schema.waivers).values(
            **values, source_sha256=waiver_file.sha256, created_at=now()).returning(w.id)).scalar_one())
    return ids


def list_waivers(connection) -> list:
    return list(connection.execute(select(schema.waivers).order_by(schema.waivers.c.id)))
