"""Rule YAML files into frozen Rule objects, and the rule set as a whole (unique ids, measures, same_duty, joins);
the checks of the parts are engine/rule_checker.py and engine/legal_force.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import string
from dataclasses import dataclass
from pathlib import Path

from engine import conditions as C
from engine.articles import Document, load_documents
from engine.errors import RuleError, UsageError
from engine.lang import tr
from engine.legal_force import deadline, legal
from engine.letter_schema import RULE_LETTERS
from engine import external_limits
from engine.params import Parameters, load_parameters
from engine.rule_checker import Checker, date_value, string_list, text_pair
from engine.schemas import load_schemas, no_such_kind
from engine.states import STATUSES
from engine.yamlio import load_yaml

SEVERITIES = ("critical", "major", "minor")
LETTERS = (*RULE_LETTERS, "none")  # what a rule's finding.letter may be
EXPECTABLE = STATUSES  # what an example may expect
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
        """Every field the rule reads: without one of them the rule cannot decide (worked out once per rule)."""
        found = self.__dict__.get("_needed_fields")
        if found is None:
            fields = set(self.requires)
            for cond in (self.applies, self.when):
                if cond is not None:
                    fields |= C.condition_fields(cond)
            if self.joins:
                fields.add(self.joins["by"])
            found = tuple(sorted(fields))
            object.__setattr__(self, "_needed_fields", found)  # (not a field: no part of equality, replace or repr)
        return found


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


def _quoted(raw, checker: Checker, field: str, document: Document, article: str) -> tuple:
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


def _message(raw, checker: Checker) -> str:
    text, _ = text_pair(raw, "{checks}")
    try:
        parsed = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text)
                  if name is not None]
    except ValueError as exc:
        checker.fail(tr(f"message 不是有效的模板（{exc}）", f"message is not a valid template ({exc})"), "finding.message")
    names = {name for name, _, _ in parsed}
    formatted = [name for name, spec, conversion in parsed if spec or conversion]
    if formatted:  # (a message is wording: findings write each placeholder's text as it is)
        checker.fail(tr(f"message 的占位符 {{{formatted[0]}}} 带了格式说明或转换",
                        f"message placeholder {{{formatted[0]}}} has a format spec or conversion"),
                     "finding.message", tr("占位符只写名称，如 {name}", "write the placeholder's name only, e.g. {name}"))
    unknown = names - MESSAGE_FIELDS
    if unknown:
        checker.fail(tr(f"message 用了未知的占位符 {sorted(unknown)}",
                        f"message uses unknown placeholder(s) {sorted(unknown)}"),
                     "finding.message", tr("可用的占位符：", "placeholders: ") + ", ".join(sorted(MESSAGE_FIELDS)))
    return text


def _confirmed(raw, checker: Checker, where: str):
    """An example's `confirmed`: absent/false, true, or {limit: number} of rules/parameters/external_limits.csv."""
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    table = checker.params.tables.get(external_limits.TABLE)
    if not isinstance(raw, dict) or table is None or any(str(k) not in table.rows or C.to_number(v) is None
                                                         for k, v in raw.items()):
        checker.fail(tr("confirmed 写 true，或 {外部标准限值: 数值}", "confirmed is true or {external limit: number}"), where)
    return tuple(sorted((str(k), C.rounded(C.to_number(v))) for k, v in raw.items()))


def _examples(raw, checker: Checker, chain: bool, force: str = "binding") -> tuple:
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
                message, fix = no_such_kind(item["kind"], checker.schemas)
                checker.fail(message, f"{where}.context[{n}].kind", fix)
            context.append((str(item["kind"]), dict(item["record"])))
        examples.append(Example(name=str(entry.get("name", f"example {i + 1}")), record=dict(entry["record"]),
                                expect=entry["expect"], context=tuple(context),
                                as_of=date_value(entry.get("as_of"), checker, f"{where}.as_of"),
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
    c = Checker(path, rule_id or path.stem, schemas, params, documents)
    if rule_id != path.stem:
        c.fail(tr(f"id“{rule_id}”与文件名“{path.stem}”不符", f"id '{rule_id}' does not match the file name '{path.stem}'"),
               "id", tr("文件以规则编号命名", "the file is named after its id"))
    unknown = set(raw) - RULE_KEYS
    if unknown:
        word = sorted(unknown)[0]
        hint = C._closest(word, RULE_KEYS)
        c.fail(tr(f"未知的键“{word}”{hint}", f"unknown key '{word}'{hint}"), word,
               tr("可用的键：", "keys: ") + ", ".join(sorted(RULE_KEYS)))
    title, title_en = text_pair(raw.get("title"))
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
    also = string_list(source.get("also"), c, "source.also")
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
        message, fix = no_such_kind(kind, schemas)
        c.fail(message, "subject.kind", fix)
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
    start, until = date_value(in_force.get("from"), c, "in_force.from"), date_value(in_force.get("until"), c, "in_force.until")
    if start and until and until < start:
        c.fail(tr("in_force.until 早于 in_force.from", "in_force.until is before in_force.from"), "in_force")
    requires = string_list(raw.get("requires"), c, "requires")
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
    interpretation, _ = text_pair(raw.get("interpretation"))
    derive_by = str(finding.get("derive_by") or schema.region_field)
    c._field(derive_by, "finding.derive_by", schema)
    force, binds, acting = legal(raw, c, document, article, also)
    if "lead_departments" in finding:
        c.fail(tr("lead_departments 已由规则的 `acting` 代替", "lead_departments is replaced by the rule's `acting`"),
               "finding.lead_departments", tr("在 `acting` 下列出条文所写的机关",
                                              "list the authorities the article names under `acting`"))
    phrase, effective = deadline(raw.get("deadline"), c, document, article, quote, start)
    actions = _quoted(finding.get("required_actions"), c, "finding.required_actions", document, article)
    consequences = _quoted(finding.get("consequences"), c, "finding.consequences", document, article)
    derives = string_list(finding.get("derives"), c, "finding.derives")
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
        same_duty=string_list(raw.get("same_duty"), c, "same_duty"),
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
