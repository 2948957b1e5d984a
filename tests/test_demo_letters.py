"""Read every letter the demo writes, as its recipient would, and fail on anything it must not claim or show."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.articles import squash
from engine.runner import check, sample_paths

from letterkit import plan
from tests.conftest import DEMO_AS_OF

AS_OF = DEMO_AS_OF  # the session's one demo run (tests/conftest.py)
CONSEQUENCE_WORDS = ("问责", "通报批评", "约谈", "缓批限批", "环评审批", "暂停审批", "社会信用记录", "督查")
TERMS = {"GDP"}  # abbreviations that are the term in Chinese official writing (单位GDP能耗)
MEASURE_WORDS = ("缓批限批", "环评审批", "暂停审批或核准")
FORBIDDEN = ("种子", "外部口径", "unverified", "SHA", "sha256", "规则指纹", ".csv", ".xlsx", ".json", "/work", "inputs/",
             "evaluated", "indeterminate", "violation", "经研究，决定")


class _Text(HTMLParser):
    """The visible text of an HTML letter, paragraph by paragraph (style and script left out)."""

    def __init__(self):
        super().__init__()
        self.parts, self.skip, self.current = [], 0, []

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self.skip += 1
        if tag in ("p", "div", "h1", "tr", "td", "th", "span"):
            self._flush()

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self.skip -= 1
        if tag in ("p", "div", "h1", "tr", "td", "th", "span"):
            self._flush()

    def handle_data(self, data):
        if not self.skip:
            self.current.append(data)

    def _flush(self):
        text = "".join(self.current).strip()
        if text:
            self.parts.append(text)
        self.current = []


def paragraphs(path: Path) -> list[str]:
    if path.suffix == ".html":
        parser = _Text()
        parser.feed(path.read_text(encoding="utf-8"))
        parser._flush()
        return parser.parts
    return [p.strip() for p in path.read_text(encoding="utf-8").split("\n") if p.strip()]


@pytest.fixture(scope="module")
def demo(demo_run):
    out, result = demo_run
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def letter_files(demo):
    files = [p for d in ("letters", "letters-md") for p in sorted((demo / d).iterdir())
             if not p.stem.startswith("index") and p.stem != "检查记录"]
    assert len(files) >= 10
    return files


@pytest.fixture(scope="module")
def sources(ruleset):
    return squash("\n".join(a.text for d in ruleset.documents.values() for a in d.articles.values()))


def _unquoted(text: str) -> str:
    return re.sub(r"“[^”]*”", "", text)


def test_letters_are_chinese_without_tool_internals(ruleset, letter_files):
    field_names = {name for schema in ruleset.schemas.values() for name in schema.fields if "_" in name}
    for path in letter_files:
        text = "\n".join(paragraphs(path))
        words = set(re.findall(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])", text))
        words -= TERMS
        assert not words, f"{path.name}: English words {sorted(words)}"
        assert not re.search(r"\b[A-Z]{2,8}-\d{3}\b", text), f"{path.name}: a rule id"
        for word in FORBIDDEN:
            assert word not in text, f"{path.name}: '{word}'"
        for name in field_names:
            assert name not in text, f"{path.name}: field name {name}"


def test_every_quote_in_a_letter_is_in_the_documents(letter_files, sources):
    seen = 0
    for path in letter_files:
        for para in paragraphs(path):
            for quote in re.findall(r"规定：?“([^”]+)”", para):
                seen += 1
                assert squash(quote) in sources, f"{path.name}: “{quote}” is not in the documents"
    assert seen > 10


def test_consequences_and_measures_only_with_their_quote(letter_files):
    for path in letter_files:
        paras = paragraphs(path)
        quoted = "".join(re.findall(r"“([^”]*)”", "\n".join(paras)))
        for para in paras:
            bare = _unquoted(para)
            for word in CONSEQUENCE_WORDS:
                if word in bare:  # the letter must quote the provision that attaches it
                    assert word in quoted, f"{path.name}: '{word}' with no quote behind it: {para}"
        kind = path.name.split("_0", 1)[0]
        if kind not in ("restriction_notice", "project_suspension", "prefecture_assessment", "interview_notice"):
            body = _unquoted("\n".join(paragraphs(path)))
            for word in MEASURE_WORDS:
                assert word not in body, f"{path.name}: states a measure ('{word}') it did not derive"


def test_letters_rest_on_binding_findings_and_derived_measures(ruleset):
    report = check(sample_paths(), ruleset, dt.date.fromisoformat(AS_OF)).report
    letters, unsent = plan(ruleset, report)
    force = {r.id: r.force for r in ruleset.rules}
    for letter in letters:
        for entry in letter.record["findings"]:
            if entry["status"] == "violation":
                assert force[entry["rule_id"]] == "binding", (letter.title, entry["rule_id"])
            assert entry["status"] != "gap", (letter.title, entry["rule_id"])
        if letter.letter_type in ("restriction_notice", "project_suspension"):
            basis = [f for f in report.findings if f.measures and f.rule_id in
                     {e["rule_id"] for e in letter.record["findings"]}]
            assert any(letter.record["measure"] in f.measures for f in basis), letter.title
    assert any(u.finding.status == "gap" for u in unsent)
    kinds = {letter.letter_type for letter in letters}
    assert kinds == {"facility_rectification", "prefecture_assessment", "interview_notice", "restriction_notice",
                     "project_suspension"}


def test_cited_documents_by_title_and_number_and_articles_as_printed(letter_files):
    text = "\n".join("\n".join(paragraphs(p)) for p in letter_files)
    assert "《甘肃省“十三五”节能减排综合工作方案》（甘政发〔2017〕54号）" in text
    assert re.search(r"第[一二三四五六七八九十]+部分第（[一二三四五六七八九十]+）条", text)
    assert not re.search(r"[一二三四五六七八九十]\.（", text), "tool notation such as 三.（十三） in a letter"


def test_copy_to_names_real_recipients(letter_files):
    for path in letter_files:
        text = "\n".join(paragraphs(path))
        assert "所在市州" not in text and "{" not in text, path.name


def test_working_record_holds_what_letters_leave_out(demo):
    record = (demo / "letters" / "检查记录.html").read_text(encoding="utf-8")
    for needed in ("BOILER-", "SHA-256", ".csv", "未列入通知书的事项", "gap"):
        assert needed in record, needed
