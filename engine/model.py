"""The shared types in one place: records and where they came from, findings and reports, states, letter types."""

from __future__ import annotations

from engine.findings import Check, Citation, Finding, Rejection, Report, Result, Source, Subject
from engine.records import Record
from engine.rules import LETTERS as LETTER_TYPES

# The four states of every (rule, record), as both executors give them (explain.build maps them to findings).
VIOLATION, COMPLIANT, NOT_APPLICABLE, INDETERMINATE = "violation", "compliant", "not_applicable", "indeterminate"
STATES = (VIOLATION, COMPLIANT, NOT_APPLICABLE, INDETERMINATE)
FINDING_STATES = (VIOLATION, INDETERMINATE)

__all__ = ["Check", "Citation", "Finding", "Rejection", "Report", "Result", "Source", "Subject", "Record", "STATES",
           "FINDING_STATES", "LETTER_TYPES", "VIOLATION", "COMPLIANT", "NOT_APPLICABLE", "INDETERMINATE"]
