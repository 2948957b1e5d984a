"""Record text where people read it (issue 13, item 7): terminal escapes, forged lines, bidi overrides and Markdown
structure from record values never reach the terminal, the letters, the working record or the spreadsheets raw.

A boiler file (the header of inputs/samples/boilers.csv) whose unit name, boiler id and manufacturer (the addressee
of the 限期整改通知书, at the start of a line) carry the hostile values goes through `ecocheck check` and
`ecocheck letters`; the escapes are those of engine/safe_text.py. JSON keeps the values as read.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import unicodedata
import zipfile
from pathlib import Path
from xml.dom import minidom

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.safe_text import document_lines, escape_char, for_document, for_markdown, for_terminal
from tests.conftest import cli_run

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2021-12-31"
HOSTILE = ("\x1b[31mRED\x1b[0m", "\x1b]0;pwned\x07", "A\nB违反", "\x00", "\u202eevil", "1. list", "- item",
           "# head", "&lt;script&gt;", "<b>x</b>", "[link](http://x)")
UNKNOWN_COLUMN = "备注\x1b[2J"
FORMULA = '=HYPERLINK("http://x")'
# No character a terminal or a viewer acts on: C0/C1 controls (ESC, NUL, BEL, CR, LF inside a line), bidi
# embeddings, overrides, isolates and marks, zero-width characters, the BOM.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    """11 violations of BOILER-001 (new coal boiler, 78.6% < 80%), each carrying one hostile value in 使用单位,
    锅炉编号 and 制造单位, plus a unit whose name is a formula and an unreadable efficiency (a rejected value);
    an extra column whose header has an escape sequence; the file's own name has one too."""
    header = (ROOT / "inputs" / "samples" / "boilers.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    path = tmp_path_factory.mktemp("hostile") / "锅炉\x1b[32m.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, UNKNOWN_COLUMN])
        for value in HOSTILE:
            writer.writerow([value, value, "兰州市", "燃煤", "验收", value, "2021-03-15", "2021-10-20", "20", "78.6",
                             "否", "是", "x"])
        writer.writerow([FORMULA, "GL-F", "兰州市", "燃煤", "验收", "某制造厂", "2021-03-15", "2021-10-20", "20",
                         "7\x1b[8.6", "否", "是", "x"])
    return path


def run(*args):
    return cli_run(*map(str, args))


@pytest.fixture(scope="module")
def findings(records) -> list:
    result = run("check", records, "--as-of", AS_OF, "--format", "json", "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["findings"]


@pytest.fixture(scope="module")
def letters(records, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("letters") / "out"
    result = run("letters", records, "--as-of", AS_OF, "--issued-on", "2022-01-10", "--out", out,
                 "--format", "md", "--format", "html", "--format", "docx", "--format", "pdf")
    assert result.returncode == 0, result.stderr
    assert not RAW.search(result.stdout + result.stderr)
    return out


# ------------------------------------------------------------------------------------------- the functions

def test_every_control_format_and_separator_character_is_escaped():
    """Each Cc, Cf, Cs, Zl and Zp code point (controls, bidi and zero-width characters, tags, separators, lone
    surrogates) comes out of every function as visible ASCII."""
    hidden = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    assert len(hidden) > 300
    text = "".join(hidden)
    for function in (for_terminal, for_document, for_markdown):
        shown = function(text)
        assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in shown), function
        assert shown.isascii()


def test_terminal_escapes_are_visible_and_one_line():
    assert for_terminal("\x1b[31mRED\x1b[0m") == "\\x1b[31mRED\\x1b[0m"
    assert for_terminal("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"
    assert for_terminal("A\nB违反\r\t") == "A\\nB违反\\r\\t"
    assert for_terminal("\x00\x7f\x85") == "\\x00\\x7f\\x85"
    assert for_terminal("\u202eevil\u2066\u200b\ufeff") == "\\u202eevil\\u2066\\u200b\\ufeff"
    assert for_terminal("\U000e0041") == "\\U000e0041"
    assert for_terminal(None) == "" and for_terminal(78.6) == "78.6"
    plain = "兰州某热力有限公司 GL-2021-001 78.6% <b>"  # nothing to do: the same text
    assert for_terminal(plain) is plain
    assert escape_char("\n") == "\\n"


def test_documents_flatten_line_breaks_and_show_the_rest():
    assert for_document("A\nB\r\nC\tD\u2028E") == "A B C D E"
    assert for_document("\x1b[31mRED") == "\\x1b[31mRED"
    assert for_document("\u202eevil") == "\\u202eevil"
    assert for_document("<b>&amp;</b>") == "<b>&amp;</b>"  # markup is the format's own escaping
    assert document_lines("a\x00\nb\u202e") == "a\\x00\nb\\u202e"


@pytest.mark.parametrize("value, escaped", [
    ("1. list", "1\\. list"), ("2) list", "2\\) list"), ("- item", "\\- item"), ("+ item", "\\+ item"),
    ("* item", "\\* item"), ("# head", "\\# head"), ("> quote", "&gt; quote"), ("---", "\\---"),
    ("===", "&#61;=="), (": term", "\\: term"), (". after a number", "\\. after a number"),
    ("&lt;script&gt;", "&amp;lt;script&amp;gt;"), ("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
    ("[link](http://x)", "\\[link\\](http://x)"), ("![img](x)", "\\!\\[img\\](x)"), ("a|b", "a\\|b"),
    ("`code` *em* _u_ ~~s~~ $m$", "\\`code\\` \\*em\\* \\_u\\_ &#126;&#126;s&#126;&#126; &#36;m&#36;"),
    ("    indented", "indented"), ("A\nB违反", "A B违反"), ("\x1b[31mRED", "\\\\x1b\\[31mRED"),
    ("GL-2021-001", "GL-2021-001"), ("78.6", "78.6"), ("-3.2%", "-3.2%"), ("兰州某热力有限公司", "兰州某热力有限公司"),
])
def test_markdown_escapes(value, escaped):
    assert for_markdown(value) == escaped


def _renderers():
    """Every Markdown library installed here: markdown-it-py (CommonMark, with GFM tables and strikethrough) and
    Python-Markdown (with tables); a test skips when neither is."""
    found = []
    try:
        from markdown_it import MarkdownIt
        engine = MarkdownIt().enable("table").enable("strikethrough")
        found.append(("markdown-it", engine.render))
    except ImportError:
        pass
    try:
        import markdown
        found.append(("Python-Markdown", lambda text: markdown.markdown(text, extensions=["tables"])))
    except ImportError:
        pass
    if not found:
        pytest.skip("no Markdown library installed (markdown-it-py or markdown)")
    return found


STRUCTURE = re.compile(r"<(ol|ul|li|h[1-6]|blockquote|pre|code|em|strong|del|a|img|script|b|hr|table|dl)\b")


@pytest.mark.parametrize("value", [*HOSTILE, "* x", "> q", "---", "===", "    code", "| a | b |", "~~s~~", "`c`",
                                   "**b**", "<script>alert(1)</script>", "![i](http://x)", "<http://x>", "[r]: /u",
                                   "2) x", ": def", "&#60;b&#62;"])
def test_rendered_markdown_of_a_value_is_one_plain_paragraph(value):
    """At the start of a line, after a blank line and as a table cell, an escaped value renders as text only."""
    for name, render in _renderers():
        shown = for_markdown(value)
        for text in (shown, f"intro\n{shown}", f"| h |\n|---|\n| {shown} |"):
            html = render(text)
            assert not STRUCTURE.search(html.replace("<table>", "").replace("</table>", "")), (name, text, html)


# ------------------------------------------------------------------------------------------- the terminal

def test_check_table_has_no_escape_and_no_forged_line(records, findings):
    result = run("check", records, "--as-of", AS_OF, "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    assert not RAW.search(result.stdout) and not RAW.search(result.stderr)
    table = result.stdout.split("\n\n")[0].splitlines()
    assert len(findings) == len(HOSTILE) + 1
    assert len(table) == 3 * len(findings)  # three lines a finding, none more
    assert sum(line.startswith("[") for line in table) == len(findings)
    assert all(line.startswith("    ") for line in table if not line.startswith("["))
    out = result.stdout
    for shown in ("\\x1b[31mRED\\x1b[0m", "\\x1b]0;pwned\\x07", "A\\nB违反", "\\x00", "\\u202eevil", "1. list",
                  "锅炉\\x1b[32m.csv", "备注\\x1b[2J"):
        assert shown in out, shown


def test_json_keeps_the_values_as_read(findings):
    names = {f["subject"]["name"] for f in findings}
    assert set(HOSTILE) <= names
    assert {f["subject"]["id"] for f in findings} >= set(HOSTILE)


def test_error_messages_are_escaped(tmp_path):
    result = run("check", tmp_path / "没有\x1b[31m.csv", "--as-of", AS_OF)
    assert result.returncode == 3
    assert "\x1b" not in result.stderr and "没有\\x1b[31m.csv" in result.stderr


def test_rejects_and_csv_findings_have_no_controls_and_no_formula(records, tmp_path):
    rejects = tmp_path / "rejects.csv"
    found = tmp_path / "findings.csv"
    run("check", records, "--as-of", AS_OF, "--format", "csv", "--output", found, "--rejects", rejects)
    for path in (rejects, found):
        text = path.read_text(encoding="utf-8-sig")
        assert not RAW.search(text.replace("\r\n", "")), path
    rows = list(csv.DictReader(found.open(encoding="utf-8-sig")))
    assert len(rows) == len(HOSTILE) + 1  # one record a line: no value broke a row
    assert "'" + FORMULA in {r["subject_name"] for r in rows}
    assert "A B违反" in {r["subject_name"] for r in rows}
    rejected = list(csv.DictReader(rejects.open(encoding="utf-8-sig")))
    assert [r["值"] for r in rejected] == ["7\\x1b[8.6"]


def test_findings_workbook_cells(records, tmp_path):
    path = tmp_path / "发现事项.xlsx"
    result = run("check", records, "--as-of", AS_OF, "--format", "xlsx", "--output", path, "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(path)
    cells = [c for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert not any(RAW.search(c.replace("\n", "")) for c in cells)
    units = [row[1] for row in book["发现事项"].iter_rows(min_row=2, values_only=True)]
    assert "\\u202eevil" in units and "A B违反" in units and "'- item" in units
    assert any(u.startswith("'" + FORMULA) for u in units)


# ------------------------------------------------------------------------------------------- letters

def test_markdown_letters_escape_values(letters):
    folder = letters / "md"
    files = sorted(folder.glob("*.md"))
    assert len(files) == len(HOSTILE) + 2  # the 11 letters, the index and the working record
    text = "\n".join(p.read_text(encoding="utf-8") for p in files)
    assert not RAW.search(text)
    for escaped in ("1\\. list：", "\\- item：", "\\# head：", "&amp;lt;script&amp;gt;：", "&lt;b&gt;x&lt;/b&gt;：",
                    "\\[link\\](http://x)：", "\\\\x1b\\[31mRED\\\\x1b\\[0m：", "\\\\u202eevil：", "A B违反："):
        assert "\n" + escaped in text, escaped  # the addressee line: a value at the start of a line


TEMPLATE_HEADING = re.compile(r"通知书清单（.*）|检查记录（.*）|输入文件|通知书及其依据|未列入通知书的事项（共\d+项）|"
                              r"\d+\. 甘市监〔2022〕\d+号 限期整改通知书（facility_rectification_\d+_[^（）]*\.md）")


def test_markdown_letters_render_without_structure_from_values(letters):
    for name, render in _renderers():
        for path in sorted((letters / "md").glob("*.md")):
            html = render(path.read_text(encoding="utf-8"))
            for tag in ("<ol", "<ul", "<li", "<script", "<b>", "<blockquote", 'href="http://x"', "<pre", "<code"):
                assert tag not in html, (name, path.name, tag)
            headings = [h for _, h in re.findall(r"<h([1-6])>(.*?)</h\1>", html)]
            if path.stem.startswith("facility_rectification"):
                assert headings == ["限期整改通知书"], (name, path.name, headings)
            else:  # the index and the working record: their own headings only
                assert all(TEMPLATE_HEADING.fullmatch(h) for h in headings), (name, path.name, headings)


def test_html_letters_have_no_controls_and_no_markup_from_values(letters):
    pages = [p for p in letters.rglob("*.html")]
    assert len(pages) >= len(HOSTILE) + 3
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert not RAW.search(text), path.name
        assert "<script" not in text.lower() and "<b>x" not in text, path.name
    letter = next((letters / "html").glob("*_evil.html")).read_text(encoding="utf-8")
    assert "\\u202eevil：" in letter  # the addressee, shown with its override made visible
    worklog = (letters / "html" / "检查记录.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;x&lt;/b&gt;" in worklog and "&amp;lt;script&amp;gt;" in worklog
    assert "\\x1b[31mRED\\x1b[0m" in worklog and "A B违反" in worklog


def test_docx_letters_are_well_formed_and_show_the_escapes(letters):
    files = sorted((letters / "docx").glob("*.docx"))
    assert len(files) == len(HOSTILE)
    texts = []
    for path in files:
        xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
        minidom.parseString(xml)  # NUL or ESC in a w:t would make Word refuse the file
        assert not RAW.search(xml), path.name
        texts.append(xml)
    joined = "".join(texts)
    for shown in ("\\x1b[31mRED\\x1b[0m", "\\x1b]0;pwned\\x07", "\\x00", "\\u202eevil", "A B违反", "1. list",
                  "&lt;b&gt;x&lt;/b&gt;"):
        assert shown in joined, shown


def test_pdf_letters_show_the_escapes(letters):
    pypdf = pytest.importorskip("pypdf")
    path = next((letters / "pdf").glob("*_evil.pdf"))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    assert "\u202e" not in text and "u202eevil" in text


def test_self_report_markdown(records, tmp_path):
    path = tmp_path / "自查报告.md"
    result = run("check", records, "--as-of", AS_OF, "--report", "self", "--output", path)
    assert result.returncode == 0, result.stderr
    text = path.read_text(encoding="utf-8")
    assert not RAW.search(text)
    assert "# \\# head" in text and "# 1\\. list" in text
    for name, render in _renderers():
        html = render(text)
        assert "<script" not in html and "<b>" not in html and 'href="http://x"' not in html, name
        assert not re.search(r"<li>\s*<(ul|ol|h\d|blockquote)", html), name  # no list or heading inside an item
        titles = re.findall(r"<h1>(.*?)</h1>", html)
        assert titles and all(t.endswith("节能减排有关规定自查报告") for t in titles), (name, titles)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" =+-@\t\r\n,\"'a中1.\x00\x1b\u202e\u200b\ufeff\u2028\x85")), max_size=8)
       | st.text(max_size=8))
def test_a_csv_cell_that_needs_nothing_is_its_text_and_any_other_is_escaped_and_guarded(value):
    """safe_cell's shortcut (the text itself when it holds no character to escape and starts no formula) gives what
    for_document and guard_formula give."""
    from engine.report_writers import guard_formula, safe_cell

    assert safe_cell(value) == guard_formula(for_document(value), value)
