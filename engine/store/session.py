"""One run's work in the store, in one transaction: the run and its findings' states, waived findings kept out of
letters (with the reason), and the letters' 文号 from the register."""

from __future__ import annotations

import datetime as dt
import sys

from engine.store.db import Store
from engine.store.identity import key
from engine.store.lifecycle import Lifecycle, record_run
from engine.store.numbering import number_letters
from engine.store.waivers import record_file_waivers


class RunSession:
    """Open with `with RunSession(store, …) as session:`; everything is committed when the block ends normally."""

    def __init__(self, store: Store, report, command: str, as_of: dt.date, rules_in_force: set,
                 issued_on: dt.date | None = None, first_number: int = 1, seen: set | None = None,
                 waiver_file=None, in_force_on=None):
        self.store, self.report, self.command = store, report, command
        self.as_of, self.issued_on, self.rules_in_force, self.first_number = as_of, issued_on, rules_in_force, first_number
        self.seen, self.waiver_file, self.in_force_on = seen, waiver_file, in_force_on
        self.lifecycle: Lifecycle | None = None
        self.numbered: list = []  # every letter numbered from the register in this run
        self._transaction = None
        self.connection = None

    def __enter__(self):
        self._transaction = self.store.transaction()
        self.connection = self._transaction.__enter__()
        try:
            file_waivers = frozenset(record_file_waivers(self.connection, self.waiver_file, self._known())
                                     if self.waiver_file else ())
            self.lifecycle = record_run(self.connection, self.report, self.command, self.as_of, self.issued_on,
                                        self.rules_in_force, self.seen, file_waivers, self.in_force_on)
        except BaseException:
            self._transaction.__exit__(*sys.exc_info())
            raise
        self.report.lifecycle = self.lifecycle.to_dict()
        return self

    def __exit__(self, *exc_info):
        return self._transaction.__exit__(*exc_info)

    def _known(self) -> set:
        """Keys of the subjects of this run: every record id read, and the id and unit of every finding."""
        known = {key(record_id) for _kind, record_id in self.seen or ()}
        headlines = getattr(self.report.findings, "headlines", None)
        for f in headlines() if headlines is not None else self.report.findings:
            known.update((key(f.subject.id), key(f.subject.recipient)))
        return known

    def split(self, findings) -> tuple[list, list]:
        """(findings for the ordinary letters, Unsent for each waived one with its reason); violations past the
        deadline of a 限期整改通知书 go into the 逾期未整改通知书 instead (follow_ups)."""
        from engine.letter_plan import Unsent
        life = self.lifecycle
        kept, unsent, followed = [], [], self._followed()
        for f, fp, waiver in zip(findings, life.fingerprints, life.waivers):
            if waiver:
                unsent.append(Unsent(f, f"已豁免：{waiver['reason']}（依据：{waiver['basis']}；批准：{waiver['by']}；"
                                        f"有效至 {waiver['until']}）"))
            elif not (fp in followed and f.status == "violation"):
                kept.append(f)
        return kept, unsent

    def _followed(self) -> dict:
        from engine.overdue_letter import FOLLOWS
        return {o["fingerprint"]: o for o in self.lifecycle.overdue if o["letter_type"] in FOLLOWS}

    def follow_ups(self, findings, ctx) -> list:
        """A 逾期未整改通知书 for each earlier notice whose violations this run finds after its deadline (numbered
        from the register by `number`)."""
        from engine.overdue_letter import overdue_notice
        followed, by_notice = self._followed(), {}
        for f, fp, waiver in zip(findings, self.lifecycle.fingerprints, self.lifecycle.waivers):
            if fp in followed and f.status == "violation" and not waiver:
                earlier = followed[fp]
                by_notice.setdefault(earlier["doc_number"], (earlier, []))[1].append(f)
        letters = []
        for earlier, violations in by_notice.values():
            prefix = ctx.authorities[earlier["issuers"][0]]["prefix"]
            letters.append(overdue_notice(ctx, earlier, violations, f"{prefix}〔{ctx.issue_date.year}〕1号", self.as_of))
        return letters

    def number(self, letters: list, config: dict) -> list:
        """The planned letters with their 文号 from the register (recorded with their findings and deadlines)."""
        numbered = number_letters(self.connection, letters, self.lifecycle.by_source, self.lifecycle.run_id,
                                  self.first_number, config)
        self.numbered += numbered
        return numbered
