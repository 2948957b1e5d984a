"""Generate the provision catalogue rules/provisions/<document>.yaml once: sentence spans, first-guess kinds, rule links."""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.articles import load_documents, squash  # noqa: E402
from engine.rules import rule_files  # noqa: E402

KINDS = ("numeric_limit", "dated_duty", "duty", "prohibition", "target", "aspirational", "government_task",
         "background")
CHECKABLE = ("numeric_limit", "dated_duty", "duty", "prohibition", "target")
KIND_TO_CATEGORY = {"aspirational": "aspirational", "government_task": "government_task", "background": "background"}

STOPS = "。；！？"
OPEN, CLOSE = "（(“‘《", "）)”’》"
LIST_ITEM = re.compile(r"[一二三四五六七八九十]是")
SKIP = re.compile(r"[\s　\xa0]|[，。；：、！？“”‘’（）()《》〈〉「」【】［］\[\]…—\-·,.;:!?%％/<>≥≤+]")

NUMBER = r"\d+(?:\.\d+)?"
UNIT = r"(?:%|％|‰|万|亿|吨|千瓦|克|千克|平方米|立方米|公顷|家|个|辆|公里|升|元|米|kW)"
NUM_UNIT = re.compile(NUMBER + r"\s*(?:-\s*" + NUMBER + r")?\s*" + UNIT)
DATE = re.compile(r"(?:到|至|在)?20\d\d年(?:底|末|前|\d{1,2}月(?:\d{1,2}日)?(?:起|前)?)?|“?十[二三]五”?(?:期间|末|时期)|"
                  r"\d{2}年底前")
LIMIT_WORDS = ("不低于", "不高于", "不超过", "不得超过", "控制在", "以上", "以下", "以内", "≥", "≤", "保持在", "降至")
TARGET_WORDS = ("下降", "降低", "达到", "提高到", "提高", "增加", "比重", "占", "覆盖率", "利用率", "处理率", "分担")
REGION_WORDS = ("全省", "各市州", "市州", "城市", "县城", "地区", "全国", "行业", "园区", "我省", "省级", "国家级",
                "设区", "城镇", "农村", "各地")
ASPIRE = ("力争", "争取", "鼓励", "支持", "推动", "倡导", "探索", "引导")
GOV = ("各级政府", "各级人民政府", "有关部门", "各部门", "省政府", "政府", "各市州", "市州人民政府")
GOV_VERB = ("负责", "组织", "制定", "加强", "建立", "健全", "完善", "开展", "实施", "落实", "推进", "加快", "强化", "做好",
            "研究", "编制", "出台", "明确", "加大", "提高", "提升", "促进", "构建", "培育", "统筹", "深化", "推行",
            "实行", "坚持", "优化", "扩大", "积极", "大力", "着力", "继续", "全面", "进一步", "认真", "依托", "围绕")
DUTY_WORDS = ("应当", "应", "必须", "要", "严格执行", "全面执行", "全部达到", "按标准", "依法依规", "严格限制", "一律")
UNIT_SUBJECTS = ("企业", "单位", "公共机构", "锅炉", "项目", "机组", "车辆", "加油站", "储油库", "养殖场", "建筑",
                 "产品", "设备", "排放单位", "用能单位")


def _yaml(text: str):
    """YAML text through libyaml's safe loader when it is there (the pure-Python one took 8 s for the rule files)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def split_spans(text: str, annex: bool) -> list[str]:
    """Sentence spans of an article's text, verbatim, in order, without leading or trailing white space."""
    if annex:
        return _annex_spans(text)
    spans, start, depth = [], 0, 0
    for i, ch in enumerate(text):
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(0, depth - 1)
        boundary_after = (ch in STOPS and depth == 0) or ch == "\n"
        boundary_before = (LIST_ITEM.match(text, i) and i > 0 and text[i - 1] in "）)" and depth == 0)
        if boundary_before:
            spans.append(text[start:i])
            start = i
        if boundary_after:
            spans.append(text[start:i + 1])
            start = i + 1
    spans.append(text[start:])
    return [s.strip(" \t\n\r\u3000\xa0") for s in spans if SKIP.sub("", s)]


def _annex_spans(text: str) -> list[str]:
    """An annex: its title lines, then each table row (cells on tab-led lines, rows between blank lines), then notes."""
    spans = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        row: list[str] = []
        for line in lines:
            if line.startswith("\t") or (row and not line.startswith(("\u3000", " "))):
                row.append(line)
            else:
                if row:
                    spans.append("\n".join(row))
                    row = []
                spans.append(line)
        if row:
            spans.append("\n".join(row))
    return [s.strip(" \t\n\r\u3000\xa0") for s in spans if SKIP.sub("", s)]


def cells(span: str) -> list[str]:
    """The cells of an annex table row, white space removed."""
    return [squash(cell) for cell in span.split("\n\t")]


def row_matches(span: str, label: str) -> bool:
    """Whether an annex row is the table row `label` (兰州（含兰州新区）, 一级能效…市场占有率（小于55kW）, …)."""
    row = cells(span)
    return label in (row[0], f"{row[0]}（{row[1] if len(row) > 1 else ''}）") or label.endswith(f"（{row[0]}）")


# a column computed from others tests them too: the 2020 cap is the 2015 value less the ratio, or plus the increment
DERIVED = {"cap_2020_t": ("emissions_2015_t", "reduction_ratio_pct"),
           "consumption_cap_2020_10k_tce": ("consumption_2015_10k_tce", "increment_target_10k_tce"),
           "target_2020": ("value_2015", "change")}


def guess_kind(span: str, position: int, annex: bool) -> str:
    """A first guess by keyword, for the reviewer to correct."""
    body = squash(span)
    if annex:
        if position <= 3 or "责任部门" in body:
            return "background" if "责任部门" not in body else "government_task"
        if body.startswith("注"):
            return "government_task" if "调整" in body else "background"
        numbers = re.findall(NUMBER, body.replace("2015年", "").replace("2020年", ""))
        return "target" if len(numbers) >= 1 and not body.startswith(("指标", "市州")) else "background"
    if position == 1 or re.fullmatch(r"[一二三四五六七八九十]是[^，。；]{2,20}。?", body) or \
            re.fullmatch(r"[一二三四五六七八九十]+、.*", body):
        return "background"
    if body.startswith(("（牵头单位", "(牵头单位")) or re.fullmatch(r"（[^（）]*(部门|厅|委|局|政府)[^（）]*）。?", body):
        return "government_task"
    if any(w in body for w in ("力争", "争取")):
        return "aspirational"
    if any(w in body for w in ("不得", "严禁", "禁止")):
        return "prohibition"
    if NUM_UNIT.search(body):
        if any(w in body for w in REGION_WORDS) or any(w in body for w in TARGET_WORDS):
            return "target"
        if any(w in body for w in LIMIT_WORDS):
            return "numeric_limit"
        return "target"
    dated = DATE.search(body)
    if any(w in body for w in ("淘汰", "关停")):
        return "prohibition" if dated or any(s in body for s in UNIT_SUBJECTS) else "government_task"
    if dated and any(w in body for w in ("完成", "实现", "建成", "达到", "全面", "供应", "执行", "具备", "实施")):
        return "dated_duty"
    if any(w in body for w in DUTY_WORDS) and any(s in body for s in UNIT_SUBJECTS):
        return "duty"
    if any(w in body for w in ASPIRE):
        return "aspirational"
    if any(w in body for w in GOV) or re.match(r"(省[^，。；]{1,8}(厅|委|局))", body) or body.startswith(GOV_VERB):
        return "government_task"
    return "background"


# ---- rule evidence: the quotes and printed numbers each rule rests on -------------------------------------------

def _mappings(node):
    """Every mapping inside a YAML node, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mappings(value)


def _param_refs(node, found):
    found.extend((str(m["param"]), m.get("key"), m.get("by")) for m in _mappings(node) if "param" in m)
    return found


def _filters(node, found):
    """{field: [allowed values]} and {field: [refused values]} from a rule's `applies`."""
    for m in _mappings(node):
        if "field" in m and "op" in m and m["op"] in ("eq", "in", "ne", "not_in"):
            value = m.get("value")
            side = "in" if m["op"] in ("eq", "in") else "out"
            found.setdefault((side, m["field"]), set()).update(map(str, value if isinstance(value, list) else [value]))
    return found


def load_tables(rules_dir: Path) -> dict:
    tables = {}
    for path in sorted((rules_dir / "parameters").glob("*.csv")):
        meta = _yaml(path.with_suffix(".yaml").read_text(encoding="utf-8")) or {}
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        tables[path.stem] = {"meta": meta, "rows": rows, "key": meta.get("key") or next(iter(rows[0]))}
    return tables


def rule_evidence(rules_dir: Path, tables: dict) -> dict:
    """Per rule: its document, article, also, and evidence [(article or None, squashed quote or None, row label,
    number)] — a quote verbatim in an article, or a printed annex number in the row it belongs to."""
    evidence = {}
    for path in rule_files(rules_dir):
        raw = _yaml(path.read_text(encoding="utf-8"))
        source = raw["source"]
        doc, article = source["document"], str(source["article"])
        also = [str(a) for a in source.get("also") or []]
        items = [(article, squash(str(source["quote"])), None, None)]
        refs = _param_refs(raw.get("when"), []) + _param_refs((raw.get("subject") or {}).get("applies"), [])
        filters = _filters((raw.get("subject") or {}).get("applies"), {})
        for ref, key, by in refs:
            table_name, column = ref.split(".", 1)
            table = tables.get(table_name)
            if table is None:
                continue
            meta_source = table["meta"].get("source") or {}
            annex = meta_source.get("annex") if isinstance(meta_source, dict) else None
            for row in table["rows"]:
                row_key = row.get(table["key"])
                if key is not None and str(row_key) != str(key):
                    continue
                if key is None and by is not None:
                    if ("in", by) in filters and str(row_key) not in filters[("in", by)]:
                        continue
                    if ("out", by) in filters and str(row_key) in filters[("out", by)]:
                        continue
                if annex:
                    label = row.get("label") or row.get("name_zh") or row_key
                    for col in (column, *DERIVED.get(column, ())):
                        value = row.get(col)
                        if value not in (None, ""):
                            items.append((annex, None, squash(str(label)), abs(float(value))))
                elif row.get("quote") and str(row.get("external", "false")).lower() != "true" \
                        and row.get("document") == doc:
                    items.append((str(row["article"]), squash(row["quote"]), None, None))
                    for annex_label in also:  # the rule's own threshold printed in an annex it cites
                        if annex_label.startswith("附件") and row.get(column) not in (None, ""):
                            items.append((annex_label, None, "", abs(float(row[column]))))
        evidence[path.stem] = {"document": doc, "article": article, "also": also, "items": items}
    return evidence


SIGNIFICANT = re.compile(NUMBER)
YEARS = re.compile(r"(19|20)\d\d年|十[二三]五")


def numbers_of(text: str) -> list[float]:
    """The printed numbers of an annex row other than years and power classes (55kW)."""
    body = YEARS.sub(" ", re.sub(r"[\s\u3000]+", " ", text))
    body = re.sub(NUMBER + r"\s*kW", " ", body)
    return [float(n) for n in SIGNIFICANT.findall(body)]


def link(doc_key: str, label: str, spans: list[str], article_text: str, evidence: dict) -> list[dict]:
    """The rules each span of an article is linked to, and the numbers of the span no linked rule tests."""
    whole = squash(article_text)
    offsets, cursor = [], 0
    for span in spans:
        piece = squash(span)
        at = whole.find(piece, cursor)
        offsets.append((at, at + len(piece)))
        cursor = at + len(piece)
    results = [{"rules": set(), "tested": [], "covered": []} for _ in spans]
    for rule_id, ev in evidence.items():
        if ev["document"] != doc_key or label not in [ev["article"], *ev["also"]]:
            continue
        primary = label == ev["article"]
        for article, quote, row_label, number in ev["items"]:
            if article != label:
                continue
            if quote:
                at = whole.find(quote)
                if at < 0:
                    continue
                end = at + len(quote)
                for i, (s, e) in enumerate(offsets):
                    overlap = min(e, end) - max(s, at)
                    if overlap >= min(4, e - s):
                        if not primary and not (s <= at and end <= e) and not (at <= s and e <= end):
                            continue  # an `also` article counts only where the rule's own words are
                        results[i]["rules"].add(rule_id)
                        results[i]["covered"].append((max(s, at) - s, min(e, end) - s))
            elif row_label is not None:
                rows = [i for i, span in enumerate(spans) if number in numbers_of(span)
                        and (row_matches(span, row_label) if row_label else True)]
                if row_label or len(rows) == 1:  # a threshold of another table: only where the annex prints it once
                    for i in rows:
                        results[i]["rules"].add(rule_id)
                        results[i]["tested"].append(number)
    for i, span in enumerate(spans):
        piece = squash(span)
        untested = []
        if label.startswith("附件"):
            untested = [f"{n:g}" for n in numbers_of(span) if n not in results[i]["tested"]] if results[i]["tested"] \
                else []
        for match in ([] if label.startswith("附件") else
                      SIGNIFICANT.finditer(YEARS.sub(lambda m: "#" * len(m.group()), piece))):
            value = float(match.group())
            inside = any(a <= match.start() and match.end() <= b for a, b in results[i]["covered"])
            if not inside and value not in results[i]["tested"]:
                untested.append(match.group())
        results[i]["untested_numbers"] = untested
        results[i]["share"] = (sum(b - a for a, b in _merge(results[i]["covered"])) / max(1, len(piece))
                               if results[i]["covered"] else (1.0 if results[i]["tested"] else 0.0))
    return results


def _merge(ranges):
    merged = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def load_article_reasons(rules_dir: Path) -> dict:
    reasons = {}
    for path in sorted((rules_dir / "coverage").glob("*.yaml")):
        for doc_key, entries in (_yaml(path.read_text(encoding="utf-8")) or {}).items():
            for label, entry in (entries or {}).items():
                reasons[(doc_key, str(label))] = entry
    return reasons


def catalogue(rules_dir: Path) -> dict:
    """{document key: [provision, ...]} for both documents."""
    documents = load_documents(rules_dir)
    evidence = rule_evidence(rules_dir, load_tables(rules_dir))
    article_reasons = load_article_reasons(rules_dir)
    result = {}
    for doc_key, document in documents.items():
        provisions = []
        for label in document.units():
            text = document.articles[label].text
            annex = label.startswith("附件")
            spans = split_spans(text, annex)
            links = link(doc_key, label, spans, text, evidence)
            for n, (span, found) in enumerate(zip(spans, links), start=1):
                kind = guess_kind(span, n, annex)
                entry = {"id": f"{doc_key}/{label}/{n}", "article": label, "text": span, "kind": kind}
                if found["rules"]:
                    entry["rules"] = sorted(found["rules"])
                    if kind in CHECKABLE and found["untested_numbers"]:
                        entry["partly"] = "未被规则检验的数值 numbers no rule tests: " + "、".join(
                            found["untested_numbers"])
                    elif kind in CHECKABLE and found["share"] < 0.5 and not annex:
                        entry["partly"] = "规则只检验本句的一部分 the rules test part of the sentence (to review)"
                else:
                    category = KIND_TO_CATEGORY.get(kind)
                    if category:
                        entry["reason"] = category
                    else:
                        art = article_reasons.get((doc_key, label))
                        entry["reason"] = art["category"] if art else "no_record"
                        entry["note"] = "to review"
                provisions.append(entry)
        result[doc_key] = provisions
    return result


HEADER = """\
# 条款（句）目录 Provision catalogue: {title}
#
# Every article, item and annex of the document split into provisions = sentence spans of its text (split on 。；！？
# outside brackets and quotes, at line breaks, and before a list item 一是/二是… that follows a bracket; an annex into
# its title lines, table rows and notes). Each `text` is verbatim from the article as engine/articles.py indexes it.
#
# Generated once by `python tools/provisions.py` (the first-guess `kind` by keyword, and the rule links: a rule is linked
# to a provision of its own article where its source.quote — or the quote of a parameter it reads — overlaps the
# sentence; to a provision of an `also` article only where its own quote, parameter quote or printed annex number is in
# that provision). Then reviewed by hand: see the review note below. Regenerating overwrites the review (the tool
# refuses unless --force).
#
# kind: numeric_limit (a limit on a unit or product) | dated_duty (a duty by or from a date) | duty (a duty of a
#   unit, no number or date: in force from the document's date) | prohibition (不得/严禁/禁止/淘汰/关停 on a party) |
#   target (a provincial, regional or sector indicator) | aspirational | government_task | background.
#   Checkable: numeric_limit, dated_duty, duty, prohibition, target.
# rules: the rules that test the provision; `partly`: what of it no rule tests, and why (tested partly);
# reason: a category of engine/coverage.py (CATEGORIES) when no rule tests it; `note`: why, for a checkable one.
"""


def _scalar(value) -> str:
    """A value as one line of YAML (a string with line breaks or tabs is double-quoted with escapes)."""
    return yaml.safe_dump([value], allow_unicode=True, default_flow_style=True, width=100000).strip()[1:-1]


def dump(doc_key: str, title: str, provisions: list[dict], review: str = "") -> str:
    """The catalogue file: the header, the review note, then one block a provision, one line a key."""
    lines = [f"document: {doc_key}", "provisions:"]
    for entry in provisions:
        first = True
        for key, value in entry.items():
            lines.append(("- " if first else "  ") + f"{key}: {_scalar(value)}")
            first = False
    return HEADER.format(title=title) + review + "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", default=str(ROOT / "rules"))
    parser.add_argument("--force", action="store_true", help="overwrite reviewed catalogue files")
    args = parser.parse_args(argv)
    rules_dir = Path(args.rules)
    out = rules_dir / "provisions"
    documents = load_documents(rules_dir)
    result = catalogue(rules_dir)
    out.mkdir(exist_ok=True)
    for doc_key, provisions in result.items():
        path = out / f"{doc_key}.yaml"
        if path.exists() and not args.force:
            print(f"{path} exists (reviewed by hand): not overwritten; use --force", file=sys.stderr)
            continue
        path.write_text(dump(doc_key, documents[doc_key].title, provisions), encoding="utf-8")
        kinds = {}
        for p in provisions:
            kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
        print(f"{path}: {len(provisions)} provisions {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
