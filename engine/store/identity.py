"""Who a finding is about, as a fingerprint that outlives files and rows: subject, rule and period."""

from __future__ import annotations

import hashlib

from engine.duplicates import id_key as key  # (the same id normalisation as the duplicate check)


def subject_key(subject) -> str:
    """The subject's identity: its kind and id (a facility id, a unit's credit code, a prefecture and year)."""
    return f"{subject.kind}:{key(subject.id)}"


def fingerprint(finding) -> str:
    """The identity of a finding across runs: subject kind and id, its unit and the bound party (the unit, or the
    maker of a new boiler), the prefecture, the rule and the period; not the file or row, not the values."""
    s = finding.subject
    parts = (s.kind, key(s.id), key(s.name), key(s.recipient), key(s.region), finding.rule_id,
             "" if finding.period is None else str(finding.period))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def content_fingerprint(entry: dict) -> str:
    """The identity of a letter's item that rests on no rule finding (a 预警通报's warning): its subject and its text
    as the letter states it (level, figures), so a changed figure makes another letter."""
    parts = ("content", entry.get("subject", ""), entry.get("message", ""))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def letter_identity(letter, fingerprints) -> str:
    """A letter's identity in the 文号 register: type, addressee and the set of findings it is about."""
    parts = [letter.letter_type, key(letter.addressee), *sorted(set(fingerprints))]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
