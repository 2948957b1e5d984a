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
from engine.lang import tr
from engine import external_limits
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
    confirmed: object = False  # True: every external limit confirmed at its reference value; {limit: value}: those


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
    pending: tuple = ()  # why it cannot decide yet: the external limits it reads that are not confirmed

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
        hint = C._closest(rule_id, [r.id for r in self.rules])
        raise UsageError(tr(f"没有规则“{rule_id}”{hint}", f"no rule '{rule_id}'{hint}"),
                         fix=tr("用 `ecocheck rules list` 查看全部规则", "see `ecocheck rules list`"))


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
            hint = C._closest(name, schema.fields)
            self.fail(tr(f"“{name}”不是 {schema.kind} 的字段{hint}",
                         f"'{name}' is not a field of {schema.kind}{hint}"), path,
                      tr(f"{schema.kind} 的字段：", f"fields of {schema.kind}: ") + ", ".join(schema.fields))
        return schema.fields[name]

    def _literal(self, value, spec, path: str):
        """A literal as the domain value of its field's type (dates stay dates; each executor converts)."""
        if spec.type in ("number", "integer"):
            number = C.to_number(value)
            if number is None:
                self.fail(tr(f"“{value}”不是数值", f"'{value}' is not a number"), path)
            return C.rounded(number)
        if spec.type == "date":
            day = O.as_date(value)
            if day is None:
                self.fail(tr(f"“{value}”不是日期（应为 YYYY-MM-DD）", f"'{value}' is not a date (YYYY-MM-DD)"), path)
            return day
        if spec.type == "bool":
            if not isinstance(value, bool):
                self.fail(tr(f"“{value}”不是 true 或 false", f"'{value}' is not true or false"), path)
            return value
        if spec.type == "enum" and str(value) not in spec.values:
            hint = C._closest(value, spec.values)
            self.fail(tr(f"“{value}”不是 {spec.name} 的可选值{hint}", f"'{value}' is not a value of {spec.name}{hint}"), path,
                      tr("可选值：", "values: ") + ", ".join(spec.values))
        return str(value)

    def _operand(self, operand, path: str, schema: Schema):
        for name in C.operand_fields(operand):
            self._field(name, path, schema)
        for ref in C.operand_params(operand):
            if ref.table not in self.params.tables:
                hint = C._closest(ref.table, self.params.tables)
                self.fail(tr(f"没有参数表“{ref.table}”{hint}", f"no parameter table '{ref.table}'{hint}"), path)
            table = self.params.tables[ref.table]
            if ref.column not in table.columns:
                hint = C._closest(ref.column, table.columns)
                self.fail(tr(f"参数表“{ref.table}”没有列“{ref.column}”{hint}",
                             f"table '{ref.table}' has no column '{ref.column}'{hint}"),
                          path, tr("列：", "columns: ") + ", ".join(table.columns))
            if ref.key is not None and ref.key not in table.rows:
                hint = C._closest(ref.key, table.rows)
                self.fail(tr(f"参数表“{ref.table}”没有行“{ref.key}”{hint}",
                             f"table '{ref.table}' has no row '{ref.key}'{hint}"),
                          path)

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
            self.fail(tr(f"与计算值比较要用数值字段；“{cond.field}”是 {spec.type}",
                         f"computed comparisons need a number field; '{cond.field}' is {spec.type}"), path)
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
        checker.fail(tr(f"“{value}”不是日期（应为 YYYY-MM-DD）", f"'{value}' is not a date (YYYY-MM-DD)"), field)


def _strings(value, checker: _Checker, field: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        checker.fail(tr("应是文字的列表", "must be a list of texts"), field)
    return tuple(str(v) for v in value)


def _quoted(raw, checker: _Checker, field: str, document: Document, article: str) -> tuple:
    """Actions or consequences, each {text, quote, article?} with the quote verbatim in the article."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        checker.fail(tr("应是 {text, quote, article} 的列表", "must be a list of {text, quote, article}"), field)
    items = []
    for i, entry in enumerate(raw):
        where = f"{field}[{i}]"
        if isinstance(entry, str):
            checker.fail(tr(f"“{entry}”没有所依据的原文", f"'{entry}' has no quote behind it"), where,
                         tr("写成 {text: …, quote: <条文原话>, article: <条款>}，或把办公室自己的程序性要求移到 "
                            "templates/letters.yaml",
                            "write {text: …, quote: <verbatim words of the article>, article: <label>}, or move an "
                            "office's own procedural requirement to templates/letters.yaml"))
        if not isinstance(entry, dict):
            checker.fail(tr("应是 {text, quote, article}", "must be {text, quote, article}"), where)
        unknown = set(entry) - QUOTED_KEYS
        if unknown:
            checker.fail(tr(f"未知的键 {sorted(unknown)}", f"unknown key(s) {sorted(unknown)}"), where,
                         tr("可用的键：", "keys: ") + "text, quote, article")
        text, quote = str(entry.get("text") or "").strip(), str(entry.get("quote") or "").strip()
        label = str(entry.get("article") or article)
        if not text or not quote:
            checker.fail(tr("text 和 quote 都要有", "needs both text and quote"), where)
        if label not in document.articles:
            hint = C._closest(label, document.articles)
            checker.fail(tr(f"{document.title}中没有条款“{label}”{hint}",
                            f"article '{label}' does not exist in {document.title}{hint}"),
                         f"{where}.article")
        if not document.has_quote(label, quote):
            checker.fail(tr(f"引文不在 {label} 的原文中", f"the quote is not in the text of {label}"), f"{where}.quote",
                         tr("从条文中原样抄录（空格不计）", "copy the words exactly from the article (spaces do not matter)"))
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
    effective = _date(raw.get("effective"), checker, "deadline.effective")
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


def _legal(raw: dict, checker: _Checker, document: Document, article: str, also: tuple):
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
    acting = _strings(raw.get("acting"), checker, "acting")
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


def _message(raw, checker: _Checker) -> str:
    text, _ = _text(raw, "{checks}")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        checker.fail(tr(f"message 不是有效的模板（{exc}）", f"message is not a valid template ({exc})"), "finding.message")
    unknown = names - MESSAGE_FIELDS
    if unknown:
        checker.fail(tr(f"message 用了未知的占位符 {sorted(unknown)}",
                        f"message uses unknown placeholder(s) {sorted(unknown)}"),
                     "finding.message", tr("可用的占位符：", "placeholders: ") + ", ".join(sorted(MESSAGE_FIELDS)))
    return text


def _confirmed(raw, checker: _Checker, where: str):
    """An example's `confirmed`: absent/false, true, or {limit: number} of rules/parameters/external_limits.csv."""
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    table = checker.params.tables.get(external_limits.TABLE)
    if not isinstance(raw, dict) or table is None or any(str(k) not in table.rows or C.to_number(v) is None
                                                         for k, v in raw.items()):
        checker.fail(tr("confirmed 写 true，或 {外部标准限值: 数值}", "confirmed is true or {external limit: number}"), where)
    return tuple(sorted((str(k), C.rounded(C.to_number(v))) for k, v in raw.items()))


def _examples(raw, checker: _Checker, chain: bool, force: str = "binding") -> tuple:
    if not isinstance(raw, list) or not raw:
        checker.fail(tr("规则需要示例", "a rule needs examples"), "examples",
                     tr("添加 expect 为 violation、compliant、indeterminate 的示例",
                        "add examples with expect: violation, compliant, indeterminate"))
    examples = []
    for i, entry in enumerate(raw):
        where = f"examples[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("record"), dict):
            checker.fail(tr("示例需要 'record'（字段: 值 的映射）", "an example needs 'record' (a mapping of field: value)"), where)
        unknown = set(entry) - {"name", "record", "expect", "context", "as_of", "confirmed"}
        if unknown:
            checker.fail(tr(f"未知的键 {sorted(unknown)}", f"unknown key(s) {sorted(unknown)}"), where)
        if entry.get("expect") not in EXPECTABLE:
            checker.fail(tr(f"expect“{entry.get('expect')}”不是 {', '.join(EXPECTABLE)} 之一",
                            f"expect '{entry.get('expect')}' is not one of {', '.join(EXPECTABLE)}"), f"{where}.expect")
        context = []
        for n, item in enumerate(entry.get("context") or []):
            if not isinstance(item, dict) or set(item) != {"kind", "record"} or not isinstance(item["record"], dict):
                checker.fail(tr("context 的每一项写成 {kind: …, record: {…}}", "a context entry is {kind: …, record: {…}}"),
                             f"{where}.context[{n}]")
            if item["kind"] not in checker.schemas:
                checker.fail(tr(f"没有“{item['kind']}”这种记录类型", f"unknown kind '{item['kind']}'"),
                             f"{where}.context[{n}].kind")
            context.append((str(item["kind"]), dict(item["record"])))
        examples.append(Example(name=str(entry.get("name", f"example {i + 1}")), record=dict(entry["record"]),
                                expect=entry["expect"], context=tuple(context),
                                as_of=_date(entry.get("as_of"), checker, f"{where}.as_of"),
                                confirmed=_confirmed(entry.get("confirmed"), checker, f"{where}.confirmed")))
    expected = {e.expect for e in examples}
    short, wrong = ("violation", "gap") if force == "binding" else ("gap", "violation")
    if wrong in expected:
        checker.fail(tr(f"{force} 规则对未达要求的记录给出“{short}”，不是“{wrong}”",
                        f"a {force} rule gives '{short}', not '{wrong}', for a record that falls short"), "examples",
                     tr(f"写 expect: {short}", f"write expect: {short}"))
    for needed in (short, "compliant", "indeterminate"):
        if needed not in expected:
            checker.fail(tr(f"没有 expect: {needed} 的示例", f"no example with expect: {needed}"), "examples",
                         tr("每条规则都要有未达要求的、符合的和无法判定的记录各一例",
                            "every rule shows a record that falls short, one that passes and one it cannot decide"))
    return tuple(examples)


def load_rule(path: Path, schemas: dict, params: Parameters, documents: dict) -> Rule:
    raw = load_yaml(path, RuleError)
    if not isinstance(raw, dict):
        raise RuleError(tr("规则文件应是映射（键: 值）", "a rule file must be a mapping"), file=str(path))
    rule_id = str(raw.get("id", ""))
    c = _Checker(path, rule_id or path.stem, schemas, params, documents)
    if rule_id != path.stem:
        c.fail(tr(f"id“{rule_id}”与文件名“{path.stem}”不符", f"id '{rule_id}' does not match the file name '{path.stem}'"),
               "id", tr("文件以规则编号命名", "the file is named after its id"))
    unknown = set(raw) - RULE_KEYS
    if unknown:
        word = sorted(unknown)[0]
        hint = C._closest(word, RULE_KEYS)
        c.fail(tr(f"未知的键“{word}”{hint}", f"unknown key '{word}'{hint}"), word,
               tr("可用的键：", "keys: ") + ", ".join(sorted(RULE_KEYS)))
    title, title_en = _text(raw.get("title"))
    if not title:
        c.fail(tr("规则需要标题", "a rule needs a title"), "title")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        c.fail(tr(f"severity“{severity}”不是 {', '.join(SEVERITIES)} 之一",
                  f"severity '{severity}' is not one of {', '.join(SEVERITIES)}"), "severity")

    source = raw.get("source") or {}
    document: Document | None = documents.get(source.get("document"))
    if document is None:
        c.fail(tr(f"没有文件“{source.get('document')}”", f"unknown document '{source.get('document')}'"), "source.document",
               tr("文件：", "documents: ") + ", ".join(documents))
    article, quote = str(source.get("article", "")), str(source.get("quote", ""))
    if article not in document.articles:
        hint = C._closest(article, document.articles)
        c.fail(tr(f"{document.title}中没有条款“{article}”{hint}",
                  f"article '{article}' does not exist in {document.title}{hint}"),
               "source.article", tr("按印发文本写条款，如 三.（十三） 或 附件1",
                                    "write the label as printed, e.g. 三.（十三） or 附件1"))
    if article not in document.units():
        c.fail(tr(f"条款“{article}”下面还有编号的项或条", f"article '{article}' has numbered items or articles below it"),
               "source.article", tr("引用规则所依据的那一项，如 四.（一）.5", "cite the item the rule rests on, e.g. 四.（一）.5"))
    if not quote or not document.has_quote(article, quote):
        c.fail(tr(f"引文不在 {article} 的原文中", f"the quote is not in the text of {article}"), "source.quote",
               tr("从条文中原样抄录（空格不计）", "copy the words exactly from the article (spaces do not matter)"))
    also = _strings(source.get("also"), c, "source.also")
    for label in also:
        if label not in document.units():
            hint = C._closest(label, document.units())
            c.fail(tr(f"“{label}”不是{document.title}的条款、项或附件{hint}",
                      f"'{label}' is not an article, item or annex of {document.title}{hint}"), "source.also")
    unknown = set(source) - {"document", "article", "quote", "also"}
    if unknown:
        c.fail(tr(f"未知的键 {sorted(unknown)}", f"unknown key(s) {sorted(unknown)}"), "source",
               tr("source 写 document、article、quote 和 also", "source has document, article, quote and also"))

    subject = raw.get("subject") or {}
    kind = subject.get("kind")
    if kind not in schemas:
        hint = C._closest(kind or '', schemas)
        c.fail(tr(f"没有“{kind}”这种记录类型{hint}", f"unknown record kind '{kind}'{hint}"), "subject.kind",
               tr("可用的记录类型：", "kinds: ") + ", ".join(schemas))
    schema = schemas[kind]
    unknown = set(subject) - {"kind", "applies", "joins"}
    if unknown:
        c.fail(tr(f"未知的键 {sorted(unknown)}", f"unknown key(s) {sorted(unknown)}"), "subject")
    applies = c.condition(subject["applies"], "subject.applies", schema) if subject.get("applies") is not None else None
    joins = subject.get("joins")
    if joins is not None:
        if not isinstance(joins, dict) or set(joins) != {"measure", "by"}:
            c.fail(tr("joins 写成 {measure: <措施名>, by: <地区字段>}", "joins is {measure: <name>, by: <region field>}"),
                   "subject.joins")
        c._field(joins["by"], "subject.joins.by", schema)
        joins = {"measure": str(joins["measure"]), "by": str(joins["by"])}
    when = c.condition(raw["when"], "when", schema) if raw.get("when") is not None else None
    if (when is None) == (joins is None):
        c.fail(tr("规则要有 'when'（违反条件）或 'subject.joins'（后果链）二者之一",
                  "a rule has either 'when' (its violation condition) or 'subject.joins' (a consequence chain)"),
               "when")

    in_force = raw.get("in_force") or {}
    start, until = _date(in_force.get("from"), c, "in_force.from"), _date(in_force.get("until"), c, "in_force.until")
    if start and until and until < start:
        c.fail(tr("in_force.until 早于 in_force.from", "in_force.until is before in_force.from"), "in_force")
    requires = _strings(raw.get("requires"), c, "requires")
    for name in requires:
        c._field(name, "requires", schema)

    finding = raw.get("finding") or {}
    unknown = set(finding) - FINDING_KEYS
    if unknown:
        word = sorted(unknown)[0]
        hint = C._closest(word, FINDING_KEYS)
        c.fail(tr(f"未知的键“{word}”{hint}", f"unknown key '{word}'{hint}"), f"finding.{word}")
    letter = finding.get("letter", "none")
    if letter not in LETTERS:
        c.fail(tr(f"letter“{letter}”不是 {', '.join(LETTERS)} 之一",
                  f"letter '{letter}' is not one of {', '.join(LETTERS)}"),
               "finding.letter")
    interpretation, _ = _text(raw.get("interpretation"))
    derive_by = str(finding.get("derive_by") or schema.region_field)
    c._field(derive_by, "finding.derive_by", schema)
    force, binds, acting = _legal(raw, c, document, article, also)
    if "lead_departments" in finding:
        c.fail(tr("lead_departments 已由规则的 `acting` 代替", "lead_departments is replaced by the rule's `acting`"),
               "finding.lead_departments", tr("在 `acting` 下列出条文所写的机关",
                                              "list the authorities the article names under `acting`"))
    phrase, effective = _deadline(raw.get("deadline"), c, document, article, quote, start)
    actions = _quoted(finding.get("required_actions"), c, "finding.required_actions", document, article)
    consequences = _quoted(finding.get("consequences"), c, "finding.consequences", document, article)
    derives = _strings(finding.get("derives"), c, "finding.derives")
    if force != "binding":
        if letter != "none":
            c.fail(tr(f"{force} 规则不进入任何通知书（letter: none），不是“{letter}”",
                      f"a {force} rule goes into no notice (letter: none), not '{letter}'"), "finding.letter",
                   tr("目标性或倡导性条款只报差距，不作为违反写进通知书",
                      "a target or aspirational provision is reported as a gap, never as a violation in a notice"))
        if consequences:
            c.fail(tr(f"{force} 规则没有后果（consequences）", f"a {force} rule has no consequences"), "finding.consequences")
        if derives:
            c.fail(tr(f"{force} 规则不推导措施（derives）", f"a {force} rule derives no measure"), "finding.derives")
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
        raise RuleError(tr("找不到规则目录", "rules directory not found"), file=str(rules_dir))
    schemas = load_schemas(Path(schemas_dir))
    params = load_parameters(rules_dir / "parameters")
    documents = load_documents(rules_dir)
    paths = rule_files(rules_dir)
    rules, seen = [], {}
    for path in paths:
        rule = load_rule(path, schemas, params, documents)
        if rule.id in seen:
            raise RuleError(tr(f"编号“{rule.id}”也被 {seen[rule.id]} 使用",
                               f"id '{rule.id}' is also used by {seen[rule.id]}"),
                            file=str(path), rule=rule.id)
        seen[rule.id] = str(path)
        rules.append(rule)
    measures_path = rules_dir / "measures.yaml"
    measures = load_yaml(measures_path, RuleError) if measures_path.exists() else {}
    if not isinstance(measures, dict):
        raise RuleError(tr("措施登记表应是映射（键: 值）", "measures registry must be a mapping"), file=str(measures_path))
    plan = documents.get("energy-plan")
    for name, entry in measures.items():
        if not isinstance(entry, dict) or not all(entry.get(k) for k in ("zh", "article", "quote", "notice")):
            raise RuleError(tr(f"措施“{name}”需要 zh、article、quote 和 notice",
                               f"measure '{name}' needs zh, article, quote and notice"),
                            file=str(measures_path), field=name)
        if plan is None or not plan.has_quote(str(entry["article"]), str(entry["quote"])):
            raise RuleError(tr(f"措施“{name}”的引文不在 {entry['article']} 中",
                               f"the quote of measure '{name}' is not in {entry['article']}"),
                            file=str(measures_path), field=f"{name}.quote",
                            fix=tr("从条文中原样抄录", "copy the words exactly from the article"))
    for rule in rules:
        for name in rule.derives + ((rule.joins["measure"],) if rule.joins else ()):
            if name not in measures:
                hint = C._closest(name, measures)
                raise RuleError(tr(f"措施“{name}”不在 measures.yaml 中{hint}",
                                   f"measure '{name}' is not in measures.yaml{hint}"),
                                file=rule.path, rule=rule.id, field="finding.derives" if name in rule.derives
                                else "subject.joins.measure",
                                fix=tr("把它连同中文名（zh）加进 rules/measures.yaml",
                                       "add it to rules/measures.yaml with its zh label"))
    ids = {rule.id: rule for rule in rules}
    for rule in rules:
        for other in rule.same_duty:
            if other not in ids or ids[other].kind != rule.kind:
                raise RuleError(tr(f"same_duty 所列的“{other}”不是关于 {rule.kind} 记录的规则",
                                   f"same_duty names '{other}', which is no rule about {rule.kind} records"),
                                file=rule.path, rule=rule.id, field="same_duty")
    derived = {m for r in rules for m in r.derives}
    for rule in rules:
        if rule.joins and rule.joins["measure"] not in derived:
            raise RuleError(tr(f"关联的措施“{rule.joins['measure']}”没有任何规则推导",
                               f"joins measure '{rule.joins['measure']}' that no rule derives"), file=rule.path,
                            rule=rule.id, field="subject.joins.measure",
                            fix=tr("推导出的措施：", "derived measures: ") + (", ".join(sorted(derived)) or tr("无", "none")))
    rules = external_limits.with_pending(rules, params)
    return RuleSet(rules=tuple(rules), schemas=schemas, params=params, documents=documents, measures=measures,
                   directory=str(rules_dir), fingerprint=fingerprint(paths + [measures_path], params))
