"""Official-style letters from findings: letter configuration, grouping per recipient, and Jinja2 rendering."""

from __future__ import annotations

import copy
import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engine.operators import CONDITION_WORDS

from engine.errors import ConfigError, TemplateError
from engine.findings import Finding
from engine.paths import ensure_inside, safe_filename
from engine.yamlio import load_yaml

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_CONFIG = TEMPLATES_DIR / "letters.yaml"
LETTER_TYPES = ("facility_rectification", "prefecture_accountability", "project_suspension")
NO_LETTER = ("", "none")  # Finding.letter values that mean "this finding goes into no letter"
FORMATS = ("html", "md")
TITLE_PLACEHOLDERS = ("recipient", "subject", "measures")

_STR, _INT, _STR_LIST, _MEASURES = "a string", "an integer", "a list of strings", "a list of {name, match}"
TOP_KEYS = {"issuing_office": _STR, "seal_text": _STR}
LETTER_KEYS = {
    "label": _STR,
    "title": _STR,
    "title_en": _STR,
    "issuing_authority": _STR,
    "co_issuing_authorities": _STR_LIST,
    "self_reference": _STR,
    "doc_number_prefix": _STR,
    "doc_number_start": _INT,
    "deadline_days": _INT,
    "basis": _STR,
    "requirements": _STR_LIST,
    "restriction_requirements": _STR_LIST,
    "noncompliance": _STR,
    "appeal": _STR,
    "measure_duration": _STR,
    "measures": _MEASURES,
    "measures_default": _STR,
    "copy_to": _STR_LIST,
}
_INT_RANGES = {"doc_number_start": (1, 999_999), "deadline_days": (0, 3650)}
_NONEMPTY = ("title", "issuing_authority", "doc_number_prefix")


# --------------------------------------------------------------------------------------------- config

def _type_error(source: str, key: str, expected: str, value: Any) -> ConfigError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ConfigError(f"'{key}' must be {expected}, got {type(value).__name__} {shown}",
                       file=source, field=key, fix=f"write {key} as {expected}")


def _check_value(source: str, key: str, kind: str, value: Any) -> None:
    name = key.rsplit(".", 1)[-1]
    if kind == _STR:
        if not isinstance(value, str):
            raise _type_error(source, key, kind, value)
        if name in _NONEMPTY and not value.strip():
            raise ConfigError(f"'{key}' must not be empty", file=source, field=key)
        if name == "title":
            for found in re.findall(r"\{([^{}]*)\}", value):
                if found not in TITLE_PLACEHOLDERS:
                    raise ConfigError(f"'{key}' uses unknown placeholder {{{found}}}", file=source, field=key,
                                      fix="use only " + ", ".join("{%s}" % p for p in TITLE_PLACEHOLDERS))
    elif kind == _INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(source, key, kind, value)
        low, high = _INT_RANGES[name]
        if not low <= value <= high:
            raise ConfigError(f"'{key}' must be between {low} and {high}, got {value}", file=source, field=key)
    elif kind == _STR_LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _type_error(source, key, kind, value)
    elif kind == _MEASURES:
        if not isinstance(value, list):
            raise _type_error(source, key, kind, value)
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, dict) or set(item) != {"name", "match"}:
                raise ConfigError(f"'{where}' must be a mapping with exactly the keys name and match",
                                  file=source, field=where)
            _check_value(source, f"{where}.name", _STR, item["name"])
            _check_value(source, f"{where}.match", _STR_LIST, item["match"])
            if not item["match"] or not all(m.strip() for m in item["match"]):
                raise ConfigError(f"'{where}.match' must list at least one non-empty keyword",
                                  file=source, field=f"{where}.match")


def _check_by_kind(source: str, key: str, value: Any) -> None:
    """by_kind: {record kind: {letter settings}} — another authority, basis or prefix for letters about that kind."""
    if not isinstance(value, dict):
        raise _type_error(source, key, "a mapping of record kind to letter settings", value)
    for kind, settings in value.items():
        if not isinstance(settings, dict):
            raise _type_error(source, f"{key}.{kind}", "a mapping of letter settings", settings)
        for sub, subvalue in settings.items():
            if sub not in LETTER_KEYS:
                raise ConfigError(f"unknown key '{key}.{kind}.{sub}'", file=source, field=f"{key}.{kind}.{sub}",
                                  fix="known keys: " + ", ".join(LETTER_KEYS))
            _check_value(source, f"{key}.{kind}.{sub}", LETTER_KEYS[sub], subvalue)


def settings_for(config: dict, letter_type: str, kind: str) -> dict:
    """The settings of a letter type, with the overrides for a record kind (by_kind) applied."""
    base = {k: v for k, v in config[letter_type].items() if k != "by_kind"}
    return _merge(base, config[letter_type].get("by_kind", {}).get(kind, {}))


def _validate(data: Any, source: str, complete: bool) -> None:
    """Raise ConfigError for unknown keys, wrong types and (when `complete`) missing keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"the letter configuration must be a mapping, got {type(data).__name__}", file=source)
    for key, value in data.items():
        if key in TOP_KEYS:
            _check_value(source, key, TOP_KEYS[key], value)
        elif key in LETTER_TYPES:
            if not isinstance(value, dict):
                raise _type_error(source, key, "a mapping of letter settings", value)
            for sub, subvalue in value.items():
                if sub == "by_kind":
                    _check_by_kind(source, f"{key}.by_kind", subvalue)
                    continue
                if sub not in LETTER_KEYS:
                    raise ConfigError(f"unknown key '{key}.{sub}'", file=source, field=f"{key}.{sub}",
                                      fix="known keys: " + ", ".join(LETTER_KEYS) + ", by_kind")
                _check_value(source, f"{key}.{sub}", LETTER_KEYS[sub], subvalue)
        else:
            raise ConfigError(f"unknown letter type '{key}'", file=source, field=str(key),
                              fix="letter types are " + ", ".join(LETTER_TYPES)
                              + "; other top-level keys are " + ", ".join(TOP_KEYS))
    if complete:
        for key in TOP_KEYS:
            if key not in data:
                raise ConfigError(f"missing key '{key}'", file=source, field=key)
        for letter in LETTER_TYPES:
            missing = [k for k in LETTER_KEYS if k not in data.get(letter, {})]
            if missing:
                raise ConfigError(f"letter type '{letter}' lacks " + ", ".join(missing), file=source,
                                  field=f"{letter}.{missing[0]}")


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_letter_config(path: Path | None = None, *, default_path: Path = DEFAULT_CONFIG) -> dict:
    """The default letter configuration, deep-merged with the user's YAML file at `path` when given."""
    config = load_yaml(default_path, ConfigError)
    _validate(config, str(default_path), complete=True)
    if path is not None:
        user = load_yaml(Path(path), ConfigError)
        if user is None:
            user = {}
        _validate(user, str(path), complete=False)
        config = _merge(config, user)
        _validate(config, str(path), complete=True)
    return config


# --------------------------------------------------------------------------------------------- grouping

@dataclass(frozen=True)
class LetterGroup:
    """The findings that go into one letter: one letter type, one recipient."""

    letter_type: str
    recipient: str
    violations: tuple[Finding, ...]
    indeterminates: tuple[Finding, ...] = ()
    variant: str = ""  # the record kind whose by_kind settings this letter uses ("" for the defaults)


def recipient_of(finding: Finding) -> str:
    """Who a finding's letter is addressed to: the subject's recipient, else its name, else kind:id."""
    s = finding.subject
    return (s.recipient or s.name or f"{s.kind}:{s.id}").strip()


def _finding_order(f: Finding) -> tuple:
    return (f.subject.kind, f.subject.id, f.rule_id, f.source.file, f.source.row)


def group_letters(findings: Iterable[Finding], config: dict | None = None) -> list[LetterGroup]:
    """One group per (letter type, recipient) holding at least one violation, ordered by (type, recipient).

    Indeterminate findings join the group of the same letter type and recipient only when that group
    has violations; findings whose letter is "" or "none" are never put into letters. Findings about a record
    kind with its own settings (the letter type's by_kind in `config`) go into a letter of their own.
    """
    violations: dict[tuple, list[Finding]] = {}
    indeterminates: dict[tuple, list[Finding]] = {}
    for f in findings:
        if f.letter in NO_LETTER:
            continue
        by_kind = ((config or {}).get(f.letter) or {}).get("by_kind", {})
        key = (f.letter, recipient_of(f), f.subject.kind if f.subject.kind in by_kind else "")
        if f.status == "violation":
            violations.setdefault(key, []).append(f)
        elif f.status == "indeterminate":
            indeterminates.setdefault(key, []).append(f)
    return [
        LetterGroup(key[0], key[1], tuple(sorted(violations[key], key=_finding_order)),
                    tuple(sorted(indeterminates.get(key, ()), key=_finding_order)), key[2])
        for key in sorted(violations)
    ]


# --------------------------------------------------------------------------------------------- formatting

_MD_SPECIAL = re.compile(r"([\\|*_`<>\[\]#])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def md_escape(value: Any) -> str:
    """Text safe inside a Markdown line or table cell: specials backslash-escaped, line breaks flattened."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub(" ", text.replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
    return _MD_SPECIAL.sub(r"\\\1", text)


_END_PUNCT = tuple("。；！？.;!?：:")


def sentence(text: Any) -> str:
    """The text with a closing 。 unless it already ends with a sentence mark."""
    text = str(text).strip()
    return text if not text or text.endswith(_END_PUNCT) else text + "。"


def cn_date(day: datetime.date) -> str:
    """A date written as in Chinese official documents: 2026年11月21日 (no zero padding)."""
    return f"{day.year}年{day.month}月{day.day}日"


_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十, 35 → 三十五 (for 一、 / （一） numbering up to 99)."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    text = ("" if tens == 1 else _DIGITS[tens]) + "十" if tens else ""
    return text + (_DIGITS[ones] if ones else "")


def format_value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value != value:
            return "—"
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(format_value(v) for v in value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def with_unit(value: Any, unit: str) -> str:
    text = format_value(value)
    if text == "—" or not unit:
        return text
    return f"{text} {unit}" if unit[0].isascii() and unit[0].isalpha() else f"{text}{unit}"


def format_gap(gap: Any, unit: str) -> str:
    """The gap observed − limit as a reader says it: 低7.7% (below the limit) or 超2.2% (above it)."""
    if isinstance(gap, bool) or not isinstance(gap, (int, float, Decimal)):
        return with_unit(gap, unit)
    if gap == 0:
        return with_unit(0, unit)
    return ("低" if gap < 0 else "超") + with_unit(abs(gap), unit)


_CONDITION_WORDS = CONDITION_WORDS  # the operator table's wording


def format_limit(op: str, limit: Any, unit: str) -> str:
    """The limit column: the number for comparisons; for eq / ne / in / not_in, what the value must (not) be.

    Check.op is the violation condition of the rule (explain.py: breached = the condition holds).
    """
    if op == "absent":
        return "应填报"
    if op == "present":
        return "不应填报"
    text = with_unit(limit, unit)
    return _CONDITION_WORDS[op] + text if op in _CONDITION_WORDS and text != "—" else text


def _check_rows(f: Finding) -> list[dict]:
    rows = []
    for c in f.checks:
        if getattr(c, "breached", None) is True:
            rows.append({"label": c.label or c.field, "observed": with_unit(c.observed, c.unit),
                         "limit": format_limit(c.op, c.limit, c.unit), "gap": format_gap(c.gap, c.unit)})
    if not rows:
        for key in list(f.observed) + [k for k in f.limit if k not in f.observed]:
            rows.append({"label": key, "observed": format_value(f.observed.get(key)),
                         "limit": format_value(f.limit.get(key)), "gap": "—"})
    return rows


def _finding_view(seq: int, f: Finding) -> dict:
    s = f.subject
    return {
        "seq": seq,
        "rule_id": f.rule_id,
        "title": f.title,
        "severity": f.severity,
        "subject_kind": s.kind,
        "subject_id": s.id,
        "subject_name": s.name or s.id,
        "quote_ref": 0,
        "note_ref": 0,
        "show_id": bool(s.id) and s.id not in (s.name or s.id),
        "region": s.region,
        "source": f"{Path(f.source.file).name} 第{f.source.row}行",
        "checks": _check_rows(f),
        "citation": {"document_title": _bare_title(f.citation.document_title), "article": f.citation.article,
                     "quote": f.citation.quote},
        "message": f.message,
        "interpretation": f.interpretation,
        "required_actions": list(f.required_actions),
        "consequences": list(f.consequences),
        "missing": list(f.missing),
        "derived_from": list(f.derived_from),
        "lead_departments": list(f.lead_departments),
    }


def _notes(rows: list[dict]) -> list[str]:
    """Number each distinct interpretation note of a table (row["note_ref"]) and return the notes in order."""
    notes: list[str] = []
    for row in rows:
        text = row["interpretation"].strip()
        if text and text not in notes:
            notes.append(text)
        row["note_ref"] = notes.index(text) + 1 if text else 0
    return notes


def _with_quote_refs(rows: list[dict]) -> list[dict]:
    """Set quote_ref to the row number where the same provision was first quoted in the table (0: quote here)."""
    first: dict[tuple, int] = {}
    for row in rows:
        c = row["citation"]
        key = (c["document_title"], c["article"], c["quote"])
        row["quote_ref"] = first.get(key, 0)
        first.setdefault(key, row["seq"])
    return rows


def _bare_title(title: str) -> str:
    """A document title without the 《》 the templates add around it; title marks inside it become 〈〉
    (GB/T 15834: a title inside a title, 《…〈…〉…》)."""
    title = title.strip()
    if title.startswith("《") and title.endswith("》"):
        title = title[1:-1]
    return title.replace("《", "〈").replace("》", "〉")


def _unique(items: Iterable) -> list:
    seen, out = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _measures(cfg: dict, findings: Iterable[Finding]) -> list[str]:
    consequences = [c for f in findings for c in f.consequences]
    return [m["name"] for m in cfg["measures"] if any(k in c for k in m["match"] for c in consequences)]


def _join_measures(names: list[str], default: str) -> str:
    if not names:
        return default
    if len(names) == 1:
        return names[0]
    return "、".join(names[:-1]) + "并" + names[-1]


def _fill_title(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(recipient|subject|measures)\}", lambda m: values[m.group(1)], template)


def manifest_view(manifest: dict) -> dict:
    """The run manifest as plain strings for the small-print block (absent keys shown as empty)."""
    inputs = []
    for entry in manifest.get("inputs") or []:
        entry = entry if isinstance(entry, dict) else {"path": str(entry)}
        inputs.append({
            "path": str(entry.get("path", "")),
            "sha256": str(entry.get("sha256", "") or "")[:12],
            "rows": format_value(entry.get("rows")),
            "evaluated": format_value(entry.get("evaluated")),
            "rejected": format_value(entry.get("rejected")),
            "kind": str(entry.get("kind", "") or ""),
        })
    return {
        "tool_version": str(manifest.get("tool_version", "") or ""),
        "rules_fingerprint": str(manifest.get("rules_fingerprint", "") or ""),
        "as_of": format_value(manifest.get("as_of")) if manifest.get("as_of") else "",
        "inputs": inputs,
    }


_CAUSE = re.compile(r"^(?P<rule>[^（(\s]+)\s*(?:[（(](?P<file>.+?)\s*第(?P<row>\d+)行[）)])?$")


def _describe_cause(item: str, region: str, causes: dict[str, list[Finding]]) -> str:
    """A derived_from entry ("RULE-ID" or "RULE-ID（file 第N行）") as a reader understands it.

    When the run holds the violation that caused the measure, its place, title and message are given;
    otherwise the entry as written.
    """
    match = _CAUSE.match(item.strip())
    if not match:
        return item
    candidates = causes.get(match["rule"], [])
    if match["file"]:
        same_row = [f for f in candidates if Path(f.source.file).name == Path(match["file"]).name
                    and f.source.row == int(match["row"])]
        candidates = same_row or candidates
    same_place = [f for f in candidates if region and region in (f.subject.region, f.subject.name)]
    chosen = same_place or candidates
    if not chosen:
        return item
    f = chosen[0]
    where = f"规则 {f.rule_id}，{Path(f.source.file).name} 第{f.source.row}行"
    place = f.subject.name or f.subject.region
    text = f.message or (f.title if f.title.startswith(place) else place + f.title)
    return f"{text}（{where}）"


RESTRICTION_WORDS = ("缓批限批", "环评审批", "暂停审批", "暂停受理")


def _restricts(findings: list[Finding]) -> bool:
    """Whether any finding puts approvals on hold (缓批限批, 暂停环评审批 …), which brings its own requirements."""
    return any(word in c for f in findings for c in f.consequences for word in RESTRICTION_WORDS)


def _documents_cited(findings: list[Finding]) -> str:
    """《document》article、article … for every document the letter's findings cite, in order."""
    by_document: dict[str, list[str]] = {}
    for f in findings:
        articles = by_document.setdefault(_bare_title(f.citation.document_title), [])
        if f.citation.article not in articles:
            articles.append(f.citation.article)
    return "、".join(f"《{title}》{'、'.join(articles)}" for title, articles in by_document.items())


def _letter_context(group: LetterGroup, cfg: dict, config: dict, doc_number: str,
                    issue_date: datetime.date, manifest: dict,
                    causes: dict[str, list[Finding]] | None = None) -> dict:
    deadline = issue_date + datetime.timedelta(days=cfg["deadline_days"])
    if group.letter_type == "prefecture_accountability":  # addressed to a government about its region
        subjects = _unique(f.subject.region or f.subject.name or f.subject.id for f in group.violations)
    else:
        subjects = _unique(f.subject.name or f.subject.id for f in group.violations)
    measures = _measures(cfg, group.violations)
    measures_text = _join_measures(measures, cfg["measures_default"])
    title = _fill_title(cfg["title"], {"recipient": group.recipient, "subject": "、".join(subjects) or group.recipient,
                                       "measures": measures_text})
    violations = _with_quote_refs([_finding_view(i, f) for i, f in enumerate(group.violations, 1)])
    indeterminates = _with_quote_refs([_finding_view(i, f) for i, f in enumerate(group.indeterminates, 1)])
    citations = _unique((_bare_title(f.citation.document_title), f.citation.article, f.citation.quote)
                        for f in group.violations)
    restrictions: dict[str, dict] = {}
    for f in group.violations:
        entry = restrictions.setdefault(f.subject.region, {"region": f.subject.region, "measures": [],
                                                           "derived_from": []})
        entry["measures"] = _unique([*entry["measures"], *f.consequences])
        entry["derived_from"] = _unique([*entry["derived_from"],
                                         *(_describe_cause(d, f.subject.region, causes or {}) for d in f.derived_from)])
    return {
        "letter": {
            "type": group.letter_type,
            "label": cfg["label"],
            "title": title,
            "title_en": cfg["title_en"],
            "doc_number": doc_number,
            "recipient": group.recipient,
            "subjects": subjects,
            "regions": _unique(f.subject.region for f in group.violations if f.subject.region),
            "authorities": [cfg["issuing_authority"], *cfg["co_issuing_authorities"]],
            "self_reference": cfg["self_reference"],
            "issue_date": cn_date(issue_date),
            "issue_date_iso": issue_date.isoformat(),
            "deadline": cn_date(deadline),
            "deadline_iso": deadline.isoformat(),
            "deadline_days": cfg["deadline_days"],
            "basis": cfg["basis"].replace("{documents}", _documents_cited(group.violations)),
            "requirements": list(cfg["requirements"]) + (
                list(cfg.get("restriction_requirements", [])) if _restricts(group.violations) else []),
            "noncompliance": cfg["noncompliance"],
            "appeal": cfg["appeal"],
            "measure_duration": cfg["measure_duration"],
            "measures": measures,
            "measures_text": measures_text,
            "copy_to": list(cfg["copy_to"]),
            "issuing_office": config["issuing_office"],
            "seal_text": config["seal_text"],
        },
        "violations": violations,
        "violation_notes": _notes(violations),
        "indeterminates": indeterminates,
        "indeterminate_notes": _notes(indeterminates),
        "citations": [{"document_title": t, "article": a, "quote": q} for t, a, q in citations],
        "cited_documents": [{"document_title": t, "articles": _unique(a for t2, a, _ in citations if t2 == t)}
                            for t in _unique(t for t, _, _ in citations)],
        "required_actions": _unique(a for f in group.violations for a in f.required_actions),
        "consequences": _unique(c for f in group.violations for c in f.consequences),
        "derived_from": _unique(d for f in group.violations for d in f.derived_from),
        "restrictions": list(restrictions.values()),
        "manifest": manifest_view(manifest),
    }


# --------------------------------------------------------------------------------------------- rendering

def make_environment(templates_dir: Path | None = None) -> Environment:
    """Jinja2 environment: strict undefined, autoescape for *.html.j2, an `md` escaping filter for *.md.j2."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir or TEMPLATES_DIR)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2"),
                                     disabled_extensions=("md", "md.j2", "txt"),
                                     default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["cn_number"] = cn_number
    env.filters["sentence"] = sentence
    return env


def _render(env: Environment, name: str, context: dict) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}", file=name,
                            fix=f"put {exc.name} into the templates directory") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error at line {exc.lineno}: {exc.message}",
                            file=exc.filename or name) from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template failed to render: {exc}", file=name) from None


def render_letters(findings: Iterable[Finding], manifest: dict, config: dict, out_dir: Path, fmt: str,
                   issue_date: datetime.date, *, templates_dir: Path | None = None) -> list[Path]:
    """Write one letter per (letter type, recipient) and an index into out_dir; return the written paths."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown letter format {fmt!r}: use one of {', '.join(FORMATS)}")
    findings = list(findings)
    groups = group_letters(findings, config)
    for group in groups:
        if group.letter_type not in config:
            rules = ", ".join(_unique(f.rule_id for f in group.violations))
            raise ConfigError(f"rule(s) {rules} ask for letter type '{group.letter_type}', which has no "
                              "configuration", field=group.letter_type,
                              fix="letter types are " + ", ".join(LETTER_TYPES))
    env = make_environment(templates_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir.resolve()
    causes: dict[str, list[Finding]] = {}
    for f in findings:
        if f.status == "violation":
            causes.setdefault(f.rule_id, []).append(f)
    counters: dict[str, int] = {}
    files_per_type: dict[str, int] = {}
    written: list[Path] = []
    entries = []
    for group in groups:
        cfg = settings_for(config, group.letter_type, group.variant)
        prefix = cfg["doc_number_prefix"]
        n = counters.get(prefix, cfg["doc_number_start"])
        counters[prefix] = n + 1
        doc_number = f"{prefix}〔{issue_date.year}〕{n}号"
        context = _letter_context(group, cfg, config, doc_number, issue_date, manifest, causes)
        text = _render(env, f"{group.letter_type}.{fmt}.j2", context)
        number = files_per_type[group.letter_type] = files_per_type.get(group.letter_type, 0) + 1
        name = f"{group.letter_type}_{number:03d}_{safe_filename(group.recipient)}.{fmt}"
        path = _write(base, name, text)
        written.append(path)
        entries.append({"file": name, "label": cfg["label"], "type": group.letter_type,
                        "recipient": group.recipient, "doc_number": doc_number, "title": context["letter"]["title"],
                        "violations": len(group.violations), "indeterminates": len(group.indeterminates)})
    in_letters = {(g.letter_type, g.recipient) for g in groups}  # (an indeterminate of any variant counts)
    left_out = sum(1 for f in findings if f.letter not in NO_LETTER and f.status == "indeterminate"
                   and (f.letter, recipient_of(f)) not in in_letters)
    index = _render(env, f"index.{fmt}.j2", {
        "entries": entries, "manifest": manifest_view(manifest), "issue_date": cn_date(issue_date),
        "indeterminates_without_letter": left_out, "issuing_office": config["issuing_office"],
    })
    written.append(_write(base, f"index.{fmt}", index))
    return written


def _write(base: Path, name: str, text: str) -> Path:
    path = ensure_inside(base, base / name)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path
