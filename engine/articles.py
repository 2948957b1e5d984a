"""The source documents (rules/documents.yaml) and the index of their article labels and texts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import RuleError
from engine.lang import tr
from engine.yamlio import load_yaml

CN_DIGITS = "一二三四五六七八九十"
PART_RE = re.compile(r"^[\s　]*([一二三四五六七八九十]{1,3})、")
ARTICLE_RE = re.compile(r"^[\s　]*（([一二三四五六七八九十]{1,4})）")
ITEM_RE = re.compile(r"^[\s　]*(\d{1,2})[\.．]")
ANNEX_RE = re.compile(r"^[\s　]*附件(\d{1,2})[\s　]*$")


@dataclass(frozen=True)
class Article:
    """One citable unit of a document: a part, an article, an item or an annex."""

    label: str
    heading: str
    text: str


@dataclass(frozen=True)
class Document:
    """A source document and its citable units."""

    key: str
    title: str
    number: str
    issued: str
    issuer: str
    articles: dict  # label -> Article

    def units(self) -> list[str]:
        """The citable leaves in text order: articles with no items below them, items, annexes."""
        found = self.__dict__.get("_units")
        if found is None:  # computed once per document (every rule asks)
            labels = list(self.articles)
            parents = {label.rsplit(".", 1)[0] for label in labels if "." in label}
            parents |= {p for label in labels for p in _prefixes(label)}
            found = [label for label in labels if label not in parents
                     and not (self.key == "energy-plan" and "." not in label and not label.startswith("附件"))]
            object.__setattr__(self, "_units", found)
        return list(found)

    def has_quote(self, label: str, quote: str) -> bool:
        article = self.articles.get(label)
        return article is not None and squash(quote) in squash(article.text)


def _prefixes(label: str) -> list[str]:
    """'四.（一）.5' -> ['四', '四.（一）']: the labels of the units it sits under."""
    parts = label.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def squash(text: str) -> str:
    """Text with all white space removed and the percent sign unified, for quote matching."""
    return re.sub(r"[\s　]+", "", text).replace("％", "%")


def index_articles(text: str) -> dict[str, Article]:
    """Article labels as cited: `三`, `三.（十三）`, `四.（一）.5`, `附件1`, each with its text."""
    units: dict[str, list] = {}
    order: list[str] = []
    part = article = None
    in_annex = False

    def start(label: str, heading: str):
        if label not in units:
            units[label] = [heading, []]
            order.append(label)

    current: list[str] = []
    for line in text.splitlines():
        annex = ANNEX_RE.match(line)
        if annex:
            in_annex = True
            current = [f"附件{annex.group(1)}"]
            start(current[0], line.strip())
        elif not in_annex and PART_RE.match(line):
            part, article = PART_RE.match(line).group(1), None
            current = [part]
            start(part, line.strip())
        elif not in_annex and part and ARTICLE_RE.match(line):
            article = f"{part}.（{ARTICLE_RE.match(line).group(1)}）"
            current = [part, article]
            start(article, line.strip())
        elif not in_annex and article and ITEM_RE.match(line):
            item = f"{article}.{ITEM_RE.match(line).group(1)}"
            current = [part, article, item]
            start(item, line.strip())
        for label in current:
            units[label][1].append(line)
    return {label: Article(label, units[label][0], "\n".join(units[label][1])) for label in order}


def load_documents(rules_dir: Path) -> dict[str, Document]:
    """The documents registry with every document's article index."""
    path = rules_dir / "documents.yaml"
    raw = load_yaml(path, RuleError)
    if not isinstance(raw, dict):
        raise RuleError(tr("文件登记表应是映射（键: 值）", "documents registry must be a mapping"), file=str(path))
    documents = {}
    for key, entry in raw.items():
        source = rules_dir / str(entry.get("file", ""))
        if not source.is_file():
            raise RuleError(tr(f"找不到原文“{entry.get('file')}”",
                               f"source text '{entry.get('file')}' not found"), file=str(path),
                            field=key)
        documents[key] = Document(
            key=key, title=str(entry["title"]), number=str(entry.get("number", "")),
            issued=str(entry.get("issued", "")), issuer=str(entry.get("issuer", "")),
            articles=index_articles(source.read_text(encoding="utf-8")),
        )
    return documents
