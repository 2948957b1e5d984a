"""The shared types in one place: records and where they came from, findings and reports, states, letter types."""

from __future__ import annotations

from engine.findings import Check, Citation, Finding, Rejection, Report, Result, Source, Subject
from engine.records import Record
from engine.letter_schema import LETTER_TYPES
from engine.states import COMPLIANT, INDETERMINATE, NOT_APPLICABLE, STATES, VIOLATION

__all__ = ["Check", "Citation", "Finding", "Rejection", "Report", "Result", "Source", "Subject", "Record", "STATES",
           "LETTER_TYPES", "VIOLATION", "COMPLIANT", "NOT_APPLICABLE", "INDETERMINATE"]
