"""Load and validate rule YAML files into frozen Rule objects (strict keys, unique ids, closed operator list)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import string
from dataclasses import dataclass
from pathlib import Path

from engine import conditions as C
from engine import operators as O
from engine.articles import Document, load_documents, squash
from engine.errors import RuleError, UsageError
from engine.params import Parameters, load_parameters
from engine.schemas import Schema, load_schemas
from engine.yamlio import load_yaml

SEVERITIES = ("critical", "major", "minor")
LETTERS = ("facility_rectification", "prefecture_assessment", "project_suspension", "none")
FORCES = ("binding", "target", "aspirational")
PARTIES = ("unit", "manufacturer", "prefecture_government", "approval_authority", "province", "government", "sector")
BINDING_PARTIES = ("unit", "manufacturer", "prefecture_government", "approval_authority")
EXPECTABLE = ("violation", "gap", "compliant", "indeterminate", "not_applicable")
RULE_KEYS = {"id", "title", "severity", "source", "subject", "in_force", "interpretation", "requires",
             "when", "finding", "examples", "notes", "force", "binds", "acting", "deadline", "same_duty"}
FINDING_KEYS = {"message", "required_actions", "consequences", "lead_departments", "letter", "derives", "derive_by"}
QUOTED_KEYS = {"text", "quote", "article"}
MESSAGE_FIELDS = {"name", "id", "region", "checks"}


@dataclass(frozen=True)
class Quoted:
    """A required action or consequence with the verbatim words of the document it rests on."""

    text: str
    document: str
    article: str
    quote: str


@dataclass(frozen=True)
class Example:
    name: str
    record: dict
    expect: str
    context: tuple = ()  # (kind, record) pairs evaluated with it, e.g. the prefecture behind a chain rule
    as_of: dt.date | None = None


@dataclass(frozen=True)
class Rule:
    """A validated rule; `when` and `applies` are parsed condition trees."""

    id: str
    title: str
    title_en: str
    severity: str
    document: str
    article: str
    quote: str
    also: tuple  # further articles or annexes the rule relies on (e.g. the annex its parameters come from)
    kind: str
    applies: object | None
    when: object | None
    joins: dict | None  # {measure, by}: chain rule, violation when the record's region is under the measure
    in_force_from: dt.date | None
    in_force_until: dt.date | None
    interpretation: str
    requires: tuple
    message: str
    required_actions: tuple
    consequences: tuple
    acting: tuple  # authorities that act on the provision, as the article names them
    letter: str
    derives: tuple
    derive_by: str  # the field whose value the derived measures are keyed by (default: the kind's region field)
    examples: tuple
    path: str
    force: str = "binding"  # binding | target | aspirational
    binds: str = "unit"  # the party the provision imposes its duty on
    deadline_phrase: str = ""
    deadline_effective: dt.date | None = None
    same_duty: tuple = ()  # rules stating the same duty of the same record (another document): one line in a letter

    @property
    def is_binding(self) -> bool:
        return self.force == "binding"

    def in_force(self, as_of: dt.date) -> bool:
        return (self.in_force_from is None or self.in_force_from <= as_of) and \
               (self.in_force_until is None or as_of <= self.in_force_until)

    def needed_fields(self) -> tuple:
        """Every field the rule reads: without one of them the rule cannot decide."""
        fields = set(self.requires)
        for cond in (self.applies, self.when):
            if cond is not None:
                fields |= C.condition_fields(cond)
        if self.joins:
            fields.add(self.joins["by"])
        return tuple(sorted(fields))


@dataclass(frozen=True)
class RuleSet:
    """Rules with the schemas, parameters and documents they were validated against."""

    rules: tuple
    schemas: dict
    params: Parameters
    documents: dict
    measures: dict  # measure name -> {zh, en, source}
    directory: str
    fingerprint: str

    def measure_label(self, name: str) -> str:
        return str(self.measures.get(name, {}).get("zh", name))

    def by_id(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise UsageError(f"no rule '{rule_id}'{C._closest(rule_id, [r.id for r in self.rules])}",
                         fix="see `ecocheck rules list`")


class _Checker:
    """Validation context for one rule file: raises RuleError naming file, rule and field."""

    def __init__(self, path: Path, rule_id: str, schemas, params, documents):
        self.path, self.rule_id = str(path), rule_id
        self.schemas, self.params, self.documents = schemas, params, documents

    def fail(self, message: str, field: str = "", fix: str = ""):
        raise RuleError(message, file=self.path, rule=self.rule_id, field=field or None, fix=fix or None)

    def condition(self, raw, path: str, schema: Schema):
        try:
            cond = C.parse_condition(raw, path)
        except C.ConditionError as exc:
            self.fail(str(exc), exc.path, exc.fix)
        return self._typed(cond, path, schema)

    def _field(self, name: str, path: str, schema: Schema):
        if name not in schema.fields:
            self.fail(f"'{name}' is not a field of {schema.kind}{C._closest(name, schema.fields)}", path,
                      f"fields of {schema.kind}: " + ", ".join(schema.fields))
        return schema.fields[name]

    def _literal(self, value, spec, path: str):
        """A literal as the domain value of its field's type (dates stay dates; each executor converts)."""
        if spec.type in ("number", "integer"):
            number = C.to_number(value)
            if number is None:
                self.fail(f"'{value}' is not a number", path)
            return C.rounded(number)
        if spec.type == "date":
            day = O.as_date(value)
            if day is None:
                self.fail(f"'{value}' is not a date (YYYY-MM-DD)", path)
            return day
        if spec.type == "bool":
            if not isinstance(value, bool):
                self.fail(f"'{value}' is not true or false", path)
            return value
        if spec.type == "enum" and str(value) not in spec.values:
            self.fail(f"'{value}' is not a value of {spec.name}{C._closest(value, spec.values)}", path,
                      "values: " + ", ".join(spec.values))
        return str(value)

    def _operand(self, operand, path: str, schema: Schema):
        for name in C.operand_fields(operand):
            self._field(name, path, schema)
        for ref in C.operand_params(operand):
            if ref.table not in self.params.tables:
                self.fail(f"no parameter table '{ref.table}'{C._closest(ref.table, self.params.tables)}", path)
            table = self.params.tables[ref.table]
            if ref.column not in table.columns:
                self.fail(f"table '{ref.table}' has no column '{ref.column}'{C._closest(ref.column, table.columns)}",
                          path, "columns: " + ", ".join(table.columns))
            if ref.key is not None and ref.key not in table.rows:
                self.fail(f"table '{ref.table}' has no row '{ref.key}'{C._closest(ref.key, table.rows)}", path)

    def _typed(self, cond, path: str, schema: Schema):
        if isinstance(cond, C.Logic):
            return C.Logic(cond.op, tuple(self._typed(item, f"{path}.{cond.op}[{i}]", schema)
                                          for i, item in enumerate(cond.items)))
        spec = self._field(cond.field, path, schema)
        if isinstance(cond, C.Presence):
            return cond
        if isinstance(cond, C.Member):
            return C.Member(cond.field, tuple(self._literal(v, spec, path) for v in cond.values), cond.negate)
        if isinstance(cond.operand, C.Literal):
            return C.Compare(cond.field, cond.op, C.Literal(self._literal(cond.operand.value, spec, path)))
        if spec.type not in ("number", "integer"):
            self.fail(f"computed comparisons need a number field; '{cond.field}' is {spec.type}", path)
        self._operand(cond.operand, path, schema)
        return cond


def _text(value, default: str = "") -> tuple[str, str]:
    if isinstance(value, dict):
        return str(value.get("zh", default)), str(value.get("en", ""))
    return (str(value), "") if value is not None else (default, "")


def _date(value, checker: _Checker, field: str):
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        checker.fail(f"'{value}' is not a date (YYYY-MM-DD)", field)


def _strings(value, checker: _Checker, field: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        checker.fail("must be a list of texts", field)
    return tuple(str(v) for v in value)


def _quoted(raw, checker: _Checker, field: str, document: Document, article: str) -> tuple:
    """Actions or consequences, each {text, quote, article?} with the quote verbatim in the article."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        checker.fail("must be a list of {text, quote, article}", field)
    items = []
    for i, entry in enumerate(raw):
        where = f"{field}[{i}]"
        if isinstance(entry, str):
            checker.fail(f"'{entry}' has no quote behind it", where,
                         "write {text: …, quote: <verbatim words of the article>, article: <label>}, or move an "
                         "office's own procedural requirement to templates/letters.yaml")
        if not isinstance(entry, dict):
            checker.fail("must be {text, quote, article}", where)
        unknown = set(entry) - QUOTED_KEYS
        if unknown:
            checker.fail(f"unknown key(s) {sorted(unknown)}", where, "keys: text, quote, article")
        text, quote = str(entry.get("text") or "").strip(), str(entry.get("quote") or "").strip()
        label = str(entry.get("article") or article)
        if not text or not quote:
            checker.fail("needs both text and quote", where)
        if label not in document.articles:
            checker.fail(f"article '{label}' does not exist in {document.title}{C._closest(label, document.articles)}",
                         f"{where}.article")
        if not document.has_quote(label, quote):
            checker.fail(f"the quote is not in the text of {label}", f"{where}.quote",
                         "copy the words exactly from the article (spaces do not matter)")
        items.append(Quoted(text, document.key, label, quote))
    return tuple(items)


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


def _deadline(raw, checker: _Checker, document: Document, article: str, quote: str, start):
    if raw is None:
        return "", None
    if not isinstance(raw, dict) or set(raw) - {"phrase", "effective"} or "phrase" not in raw:
        checker.fail("deadline is {phrase: <date words of the text>, effective: YYYY-MM-DD}", "deadline")
    phrase = str(raw["phrase"])
    if squash(phrase) not in squash(quote) and not document.has_quote(article, phrase):
        checker.fail(f"the phrase '{phrase}' is not in the quote or the article", "deadline.phrase")
    reading = deadline_reading(phrase)
    if reading is None:
        checker.fail(f"'{phrase}' is not a date phrase the convention reads", "deadline.phrase",
                     "see the deadline convention in rules/README.md")
    effective = _date(raw.get("effective"), checker, "deadline.effective")
    if effective != reading[1]:
        checker.fail(f"'{phrase}' takes effect on {reading[1]} by the convention, not {effective}",
                     "deadline.effective", "see the deadline convention in rules/README.md")
    if start != effective:
        checker.fail(f"in_force.from is {start}, but the deadline '{phrase}' takes effect on {effective}", "in_force.from",
                     f"set in_force.from: {effective}")
    return phrase, effective


def _legal(raw: dict, checker: _Checker, document: Document, article: str, also: tuple):
    """force, binds and acting: what the provision is, whom it binds and who acts on it."""
    force, binds = raw.get("force"), raw.get("binds")
    if force not in FORCES:
        checker.fail(f"force '{force}' is not one of {', '.join(FORCES)}", "force",
                     "binding: a duty of the record's own subject; target: a regional, sector or average indicator; "
                     "aspirational: 争取, 力争, 鼓励")
    if binds not in PARTIES:
        checker.fail(f"binds '{binds}' is not one of {', '.join(PARTIES)}{C._closest(str(binds), PARTIES)}", "binds")
    if force == "binding" and binds not in BINDING_PARTIES:
        checker.fail(f"a binding rule binds one of {', '.join(BINDING_PARTIES)}, not '{binds}'", "binds",
                     "a province, sector or government task is a target, not a duty of the record's subject")
    acting = _strings(raw.get("acting"), checker, "acting")
    if not acting:
        checker.fail("a rule names the authorities that act on it", "acting",
                     "list them as the article names them, e.g. [省发展改革委]")
    labels = (article, *also)
    for name in acting:
        if not any(document.has_quote(label, name) for label in labels):
            checker.fail(f"'{name}' is not named in {' or '.join(labels)}", "acting",
                         "name an authority as the article (or an `also` article) writes it")
    return force, binds, acting


def _message(raw, checker: _Checker) -> str:
    text, _ = _text(raw, "{checks}")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        checker.fail(f"message is not a valid template ({exc})", "finding.message")
    unknown = names - MESSAGE_FIELDS
    if unknown:
        checker.fail(f"message uses unknown placeholder(s) {sorted(unknown)}", "finding.message",
                     "placeholders: " + ", ".join(sorted(MESSAGE_FIELDS)))
    return text


def _examples(raw, checker: _Checker, chain: bool, force: str = "binding") -> tuple:
    if not isinstance(raw, list) or not raw:
        checker.fail("a rule needs examples", "examples", "add examples with expect: violation, compliant, indeterminate")
    examples = []
    for i, entry in enumerate(raw):
        where = f"examples[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("record"), dict):
            checker.fail("an example needs 'record' (a mapping of field: value)", where)
        unknown = set(entry) - {"name", "record", "expect", "context", "as_of"}
        if unknown:
            checker.fail(f"unknown key(s) {sorted(unknown)}", where)
        if entry.get("expect") not in EXPECTABLE:
            checker.fail(f"expect '{entry.get('expect')}' is not one of {', '.join(EXPECTABLE)}", f"{where}.expect")
        context = []
        for n, item in enumerate(entry.get("context") or []):
            if not isinstance(item, dict) or set(item) != {"kind", "record"} or not isinstance(item["record"], dict):
                checker.fail("a context entry is {kind: …, record: {…}}", f"{where}.context[{n}]")
            if item["kind"] not in checker.schemas:
                checker.fail(f"unknown kind '{item['kind']}'", f"{where}.context[{n}].kind")
            context.append((str(item["kind"]), dict(item["record"])))
        examples.append(Example(name=str(entry.get("name", f"example {i + 1}")), record=dict(entry["record"]),
                                expect=entry["expect"], context=tuple(context),
                                as_of=_date(entry.get("as_of"), checker, f"{where}.as_of")))
    expected = {e.expect for e in examples}
    short, wrong = ("violation", "gap") if force == "binding" else ("gap", "violation")
    if wrong in expected:
        checker.fail(f"a {force} rule gives '{short}', not '{wrong}', for a record that falls short", "examples",
                     f"write expect: {short}")
    for needed in (short, "compliant", "indeterminate"):
        if needed not in expected:
            checker.fail(f"no example with expect: {needed}", "examples",
                         "every rule shows a record that falls short, one that passes and one it cannot decide")
    return tuple(examples)


def load_rule(path: Path, schemas: dict, params: Parameters, documents: dict) -> Rule:
    raw = load_yaml(path, RuleError)
    if not isinstance(raw, dict):
        raise RuleError("a rule file must be a mapping", file=str(path))
    rule_id = str(raw.get("id", ""))
    c = _Checker(path, rule_id or path.stem, schemas, params, documents)
    if rule_id != path.stem:
        c.fail(f"id '{rule_id}' does not match the file name '{path.stem}'", "id", "the file is named after its id")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        word = sorted(unknown)[0]
        c.fail(f"unknown key '{word}'{C._closest(word, RULE_KEYS)}", word, "keys: " + ", ".join(sorted(RULE_KEYS)))
    title, title_en = _text(raw.get("title"))
    if not title:
        c.fail("a rule needs a title", "title")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        c.fail(f"severity '{severity}' is not one of {', '.join(SEVERITIES)}", "severity")

    source = raw.get("source") or {}
    document: Document | None = documents.get(source.get("document"))
    if document is None:
        c.fail(f"unknown document '{source.get('document')}'", "source.document", "documents: " + ", ".join(documents))
    article, quote = str(source.get("article", "")), str(source.get("quote", ""))
    if article not in document.articles:
        c.fail(f"article '{article}' does not exist in {document.title}{C._closest(article, document.articles)}",
               "source.article", "write the label as printed, e.g. 三.（十三） or 附件1")
    if article not in document.units():
        c.fail(f"article '{article}' has numbered items or articles below it", "source.article",
               "cite the item the rule rests on, e.g. 四.（一）.5")
    if not quote or not document.has_quote(article, quote):
        c.fail(f"the quote is not in the text of {article}", "source.quote",
               "copy the words exactly from the article (spaces do not matter)")
    also = _strings(source.get("also"), c, "source.also")
    for label in also:
        if label not in document.units():
            c.fail(f"'{label}' is not an article, item or annex of {document.title}{C._closest(label, document.units())}",
                   "source.also")
    unknown = set(source) - {"document", "article", "quote", "also"}
    if unknown:
        c.fail(f"unknown key(s) {sorted(unknown)}", "source", "source has document, article, quote and also")

    subject = raw.get("subject") or {}
    kind = subject.get("kind")
    if kind not in schemas:
        c.fail(f"unknown record kind '{kind}'{C._closest(kind or '', schemas)}", "subject.kind",
               "kinds: " + ", ".join(schemas))
    schema = schemas[kind]
    unknown = set(subject) - {"kind", "applies", "joins"}
    if unknown:
        c.fail(f"unknown key(s) {sorted(unknown)}", "subject")
    applies = c.condition(subject["applies"], "subject.applies", schema) if subject.get("applies") is not None else None
    joins = subject.get("joins")
    if joins is not None:
        if not isinstance(joins, dict) or set(joins) != {"measure", "by"}:
            c.fail("joins is {measure: <name>, by: <region field>}", "subject.joins")
        c._field(joins["by"], "subject.joins.by", schema)
        joins = {"measure": str(joins["measure"]), "by": str(joins["by"])}
    when = c.condition(raw["when"], "when", schema) if raw.get("when") is not None else None
    if (when is None) == (joins is None):
        c.fail("a rule has either 'when' (its violation condition) or 'subject.joins' (a consequence chain)", "when")

    in_force = raw.get("in_force") or {}
    start, until = _date(in_force.get("from"), c, "in_force.from"), _date(in_force.get("until"), c, "in_force.until")
    if start and until and until < start:
        c.fail("in_force.until is before in_force.from", "in_force")
    requires = _strings(raw.get("requires"), c, "requires")
    for name in requires:
        c._field(name, "requires", schema)

    finding = raw.get("finding") or {}
    unknown = set(finding) - FINDING_KEYS
    if unknown:
        word = sorted(unknown)[0]
        c.fail(f"unknown key '{word}'{C._closest(word, FINDING_KEYS)}", f"finding.{word}")
    letter = finding.get("letter", "none")
    if letter not in LETTERS:
        c.fail(f"letter '{letter}' is not one of {', '.join(LETTERS)}", "finding.letter")
    interpretation, _ = _text(raw.get("interpretation"))
    derive_by = str(finding.get("derive_by") or schema.region_field)
    c._field(derive_by, "finding.derive_by", schema)
    force, binds, acting = _legal(raw, c, document, article, also)
    if "lead_departments" in finding:
        c.fail("lead_departments is replaced by the rule's `acting`", "finding.lead_departments",
               "list the authorities the article names under `acting`")
    phrase, effective = _deadline(raw.get("deadline"), c, document, article, quote, start)
    actions = _quoted(finding.get("required_actions"), c, "finding.required_actions", document, article)
    consequences = _quoted(finding.get("consequences"), c, "finding.consequences", document, article)
    derives = _strings(finding.get("derives"), c, "finding.derives")
    if force != "binding":
        if letter != "none":
            c.fail(f"a {force} rule goes into no notice (letter: none), not '{letter}'", "finding.letter",
                   "a target or aspirational provision is reported as a gap, never as a violation in a notice")
        if consequences:
            c.fail(f"a {force} rule has no consequences", "finding.consequences")
        if derives:
            c.fail(f"a {force} rule derives no measure", "finding.derives")
    return Rule(
        id=rule_id, title=title, title_en=title_en, severity=severity, document=document.key, article=article,
        quote=quote, also=also, kind=kind, applies=applies, when=when, joins=joins, in_force_from=start, in_force_until=until,
        interpretation=interpretation.strip(), requires=requires, message=_message(finding.get("message"), c),
        required_actions=actions, consequences=consequences, acting=acting,
        letter=letter, derives=derives, derive_by=derive_by,
        examples=_examples(raw.get("examples"), c, joins is not None, force), path=str(path),
        force=force, binds=binds, deadline_phrase=phrase, deadline_effective=effective,
        same_duty=_strings(raw.get("same_duty"), c, "same_duty"),
    )


def fingerprint(paths: list[Path], params: Parameters) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for part in params.fingerprint_parts():
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


NOT_RULE_FOLDERS = ("parameters", "sources", "coverage", "provisions")


def rule_files(rules_dir: Path) -> list[Path]:
    """The rule files under a rules directory: rules/<area>/<ID>.yaml, outside the data folders."""
    return sorted(p for p in Path(rules_dir).glob("*/*.yaml") if p.parent.name not in NOT_RULE_FOLDERS)


def load_ruleset(rules_dir: Path, schemas_dir: Path) -> RuleSet:
    """Every rule under rules_dir (one per file, in sub-folders by area), validated as a whole."""
    rules_dir = Path(rules_dir)
    if not rules_dir.is_dir():
        raise RuleError("rules directory not found", file=str(rules_dir))
    schemas = load_schemas(Path(schemas_dir))
    params = load_parameters(rules_dir / "parameters")
    documents = load_documents(rules_dir)
    paths = rule_files(rules_dir)
    rules, seen = [], {}
    for path in paths:
        rule = load_rule(path, schemas, params, documents)
        if rule.id in seen:
            raise RuleError(f"id '{rule.id}' is also used by {seen[rule.id]}", file=str(path), rule=rule.id)
        seen[rule.id] = str(path)
        rules.append(rule)
    measures_path = rules_dir / "measures.yaml"
    measures = load_yaml(measures_path, RuleError) if measures_path.exists() else {}
    if not isinstance(measures, dict):
        raise RuleError("measures registry must be a mapping", file=str(measures_path))
    plan = documents.get("energy-plan")
    for name, entry in measures.items():
        if not isinstance(entry, dict) or not all(entry.get(k) for k in ("zh", "article", "quote", "notice")):
            raise RuleError(f"measure '{name}' needs zh, article, quote and notice", file=str(measures_path), field=name)
        if plan is None or not plan.has_quote(str(entry["article"]), str(entry["quote"])):
            raise RuleError(f"the quote of measure '{name}' is not in {entry['article']}", file=str(measures_path),
                            field=f"{name}.quote", fix="copy the words exactly from the article")
    for rule in rules:
        for name in rule.derives + ((rule.joins["measure"],) if rule.joins else ()):
            if name not in measures:
                raise RuleError(f"measure '{name}' is not in measures.yaml{C._closest(name, measures)}",
                                file=rule.path, rule=rule.id, field="finding.derives" if name in rule.derives
                                else "subject.joins.measure", fix="add it to rules/measures.yaml with its zh label")
    ids = {rule.id: rule for rule in rules}
    for rule in rules:
        for other in rule.same_duty:
            if other not in ids or ids[other].kind != rule.kind:
                raise RuleError(f"same_duty names '{other}', which is no rule about {rule.kind} records",
                                file=rule.path, rule=rule.id, field="same_duty")
    derived = {m for r in rules for m in r.derives}
    for rule in rules:
        if rule.joins and rule.joins["measure"] not in derived:
            raise RuleError(f"joins measure '{rule.joins['measure']}' that no rule derives", file=rule.path,
                            rule=rule.id, field="subject.joins.measure",
                            fix="derived measures: " + (", ".join(sorted(derived)) or "none"))
    return RuleSet(rules=tuple(rules), schemas=schemas, params=params, documents=documents, measures=measures,
                   directory=str(rules_dir), fingerprint=fingerprint(paths + [measures_path], params))
