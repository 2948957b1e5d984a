"""The 文号 register: serials per prefix and year taken inside the run's transaction; a letter re-issued to the same
addressee, of the same type, about the same findings, keeps its number."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re

from sqlalchemy import insert, select, update

from engine.letter_config import settings_for
from engine.store import schema
from engine.store.identity import content_fingerprint, letter_identity

NUMBER = re.compile(r"^(.*)〔(\d{4})〕(\d+)号$")


def letter_fingerprints(letter, by_source: dict) -> list:
    """The fingerprints of the findings a letter is about (from its working record); a 预警通报's warnings, which rest
    on no rule, by their subject and text."""
    from engine.warning_letter import ENTRY_RULE
    found = []
    for e in letter.record.get("findings", []):
        source = (e["rule_id"], e["file"], e["row"])
        if source in by_source:
            found.append(by_source[source])
        elif e["rule_id"] == ENTRY_RULE:
            found.append(content_fingerprint(e))
    return found


def deadline_of(letter, config: dict) -> dt.date | None:
    """issued-on + the letter type's deadline_days (for the record kind or measure it is about), as the letter says."""
    if letter.letter_type not in config:
        return None
    entries = letter.record.get("findings", [])
    variant = letter.record.get("measure") or (entries[0]["subject"].split(":", 1)[0] if entries else "")
    days = settings_for(config, letter.letter_type, variant).get("deadline_days")
    return letter.issue_date + dt.timedelta(days=int(days)) if days else None


def number_letters(connection, letters: list, by_source: dict, run_id: int, first_number: int,
                   config: dict) -> list:
    """The letters with their 文号 from the register, each recorded with its findings and deadline."""
    numbered, used = [], set()
    for letter in letters:
        match = NUMBER.match(letter.doc_number)
        if not match:  # (no prefix configured: the number stays as planned)
            numbered.append(letter)
            continue
        prefix, year = match[1], int(match[2])
        fingerprints = letter_fingerprints(letter, by_source)
        identity = letter_identity(letter, fingerprints)
        while identity in used:  # two letters alike in one run still get two numbers
            identity = letter_identity(letter, [*fingerprints, identity])
        used.add(identity)
        serial = _serial(connection, prefix, year, identity, letter, run_id, first_number)
        letter = dataclasses.replace(letter, doc_number=f"{prefix}〔{year}〕{serial}号")
        numbered.append(letter)
        letter_id = connection.execute(insert(schema.letters).values(
            run_id=run_id, letter_type=letter.letter_type, addressee=letter.addressee, title=letter.title,
            doc_number=letter.doc_number, issuers=json.dumps(letter.record.get("issuers", []), ensure_ascii=False),
            identity=identity, issued_on=letter.issue_date,
            deadline=deadline_of(letter, config)).returning(schema.letters.c.id)).scalar_one()
        if fingerprints:
            connection.execute(insert(schema.letter_findings),
                               [{"letter_id": letter_id, "fingerprint": fp} for fp in dict.fromkeys(fingerprints)])
    return numbered


def _serial(connection, prefix: str, year: int, identity: str, letter, run_id: int, first_number: int) -> int:
    n, c = schema.numbers, schema.counters
    kept = connection.execute(select(n.c.serial).where(n.c.prefix == prefix, n.c.year == year,
                                                        n.c.identity == identity)).scalar()
    if kept is not None:
        return kept
    where = (c.c.prefix == prefix, c.c.year == year)
    current = connection.execute(select(c.c.next_serial).where(*where).with_for_update()).scalar()
    serial = max(current or 1, first_number)  # --first-number moves the register on, never back
    if current is None:
        connection.execute(insert(c).values(prefix=prefix, year=year, next_serial=serial + 1))
    else:
        connection.execute(update(c).where(*where).values(next_serial=serial + 1))
    connection.execute(insert(n).values(prefix=prefix, year=year, serial=serial, letter_type=letter.letter_type,
                                        addressee=letter.addressee, identity=identity, run_id=run_id))
    return serial
