"""A rule's legal force (binding, target, aspirational), the party it binds and the authorities that act, traced to
the article; and the deadline convention's reading of a date phrase (rules/README.md)."""

from __future__ import annotations

import datetime as dt
import re

from engine import conditions as C
from engine.articles import Document, squash
from engine.lang import tr
from engine.rule_checker import Checker, date_value, string_list

FORCES = ("binding", "target", "aspirational")
PARTIES = ("unit", "manufacturer", "prefecture_government", "approval_authority", "province", "government", "sector")
BINDING_PARTIES = ("unit", "manufacturer", "prefecture_government", "approval_authority")


_DEADLINE_PATTERNS = (
    (re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日(?:起|以后|开始)"), "day"),
    (re.compile(r"自(\d{4})年(\d{1,2})月(\d{1,2})日"), "day"),
    (re.compile(r"[“”\"]?十三五[“”\"]?(?:期间|末)"), "p2020"),
    (re.compile(r"[“”\"]?十二五[“”\"]?(?:期间|末)"), "p2015"),
    (re.compile(r"(\d{4})年(?:底|末)"), "year_end"),
    (re.compile(r"到(\d{4})年"), "year_end"),
    (re.compile(r"(\d{4})年"), "year_end"),
)


def deadline_reading(phrase: str) -> tuple[str, dt.date] | None:
    """The convention's reading of a date phrase (rules/README.md): its kind and the day the duty takes effect."""
    for pattern, kind in _DEADLINE_PATTERNS:
        match = pattern.search(phrase)
        if not match:
            continue
        if kind == "day":
            year, month, day = (int(g) for g in match.groups())
            return kind, dt.date(year, month, day)
        if kind == "p2020":
            return "period_end", dt.date(2021, 1, 1)
        if kind == "p2015":
            return "period_end", dt.date(2016, 1, 1)
        return kind, dt.date(int(match.group(1)) + 1, 1, 1)
    return None


def deadline(raw, checker: Checker, document: Document, article: str, quote: str, start):
    if raw is None:
        return "", None
    if not isinstance(raw, dict) or set(raw) - {"phrase", "effective"} or "phrase" not in raw:
        checker.fail(tr("deadline 写成 {phrase: <原文中的时间用语>, effective: YYYY-MM-DD}",
                        "deadline is {phrase: <date words of the text>, effective: YYYY-MM-DD}"), "deadline")
    phrase = str(raw["phrase"])
    if squash(phrase) not in squash(quote) and not document.has_quote(article, phrase):
        checker.fail(tr(f"时间用语“{phrase}”不在引文或条文中", f"the phrase '{phrase}' is not in the quote or the article"),
                     "deadline.phrase")
    reading = deadline_reading(phrase)
    if reading is None:
        checker.fail(tr(f"“{phrase}”不是期限约定能解读的时间用语", f"'{phrase}' is not a date phrase the convention reads"),
                     "deadline.phrase", tr("见 rules/README.md 中的期限约定",
                                           "see the deadline convention in rules/README.md"))
    effective = date_value(raw.get("effective"), checker, "deadline.effective")
    if effective != reading[1]:
        checker.fail(tr(f"按期限约定，“{phrase}”自 {reading[1]} 起生效，不是 {effective}",
                        f"'{phrase}' takes effect on {reading[1]} by the convention, not {effective}"),
                     "deadline.effective", tr("见 rules/README.md 中的期限约定",
                                              "see the deadline convention in rules/README.md"))
    if start != effective:
        checker.fail(tr(f"in_force.from 是 {start}，而期限“{phrase}”自 {effective} 起生效",
                        f"in_force.from is {start}, but the deadline '{phrase}' takes effect on {effective}"),
                     "in_force.from",
                     tr(f"把 in_force.from 设为 {effective}", f"set in_force.from: {effective}"))
    return phrase, effective


def legal(raw: dict, checker: Checker, document: Document, article: str, also: tuple):
    """force, binds and acting: what the provision is, whom it binds and who acts on it."""
    force, binds = raw.get("force"), raw.get("binds")
    if force not in FORCES:
        checker.fail(tr(f"force“{force}”不是 {', '.join(FORCES)} 之一",
                        f"force '{force}' is not one of {', '.join(FORCES)}"),
                     "force", tr("binding：记录主体自身的义务；target：地区、行业或平均指标；aspirational：争取、力争、鼓励",
                                 "binding: a duty of the record's own subject; target: a regional, sector or average "
                                 "indicator; aspirational: 争取, 力争, 鼓励"))
    if binds not in PARTIES:
        hint = C._closest(str(binds), PARTIES)
        checker.fail(tr(f"binds“{binds}”不是 {', '.join(PARTIES)} 之一{hint}",
                        f"binds '{binds}' is not one of {', '.join(PARTIES)}{hint}"), "binds")
    if force == "binding" and binds not in BINDING_PARTIES:
        checker.fail(tr(f"binding 规则约束的是 {', '.join(BINDING_PARTIES)} 之一，不是“{binds}”",
                        f"a binding rule binds one of {', '.join(BINDING_PARTIES)}, not '{binds}'"), "binds",
                     tr("全省、行业或政府的任务是目标（target），不是记录主体的义务",
                        "a province, sector or government task is a target, not a duty of the record's subject"))
    acting = string_list(raw.get("acting"), checker, "acting")
    if not acting:
        checker.fail(tr("规则要写明负责实施的机关", "a rule names the authorities that act on it"), "acting",
                     tr("按条文的写法列出，如 [省发展改革委]", "list them as the article names them, e.g. [省发展改革委]"))
    labels = (article, *also)
    for name in acting:
        if not any(document.has_quote(label, name) for label in labels):
            checker.fail(tr(f"“{name}”未见于 {' 或 '.join(labels)}", f"'{name}' is not named in {' or '.join(labels)}"),
                         "acting", tr("机关名称按条文（或 also 所列条文）的写法写",
                                      "name an authority as the article (or an `also` article) writes it"))
    return force, binds, acting
