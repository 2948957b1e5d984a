"""Record text made safe where people read it: the terminal, Markdown, and HTML/DOCX/PDF/XLSX/CSV documents."""

from __future__ import annotations

import re
from typing import Any

# Characters a reader must never receive raw from a record (checked against every Cc, Cf, Cs, Zl and Zp code
# point by tests/test_output_escaping.py):
# - C0 controls, DEL and C1 controls (ESC starts terminal escape sequences, NUL, CR, LF, TAB, BEL, NEL …);
# - format characters that hide or reorder text: soft hyphen, Arabic letter mark, Mongolian vowel separator,
#   zero-width space / non-joiner / joiner, left-to-right and right-to-left marks, the bidi embeddings,
#   overrides and isolates (U+202A–U+202E, U+2066–U+2069), word joiner and invisible operators, the BOM
#   (U+FEFF), interlinear annotations, tag characters (U+E0000–U+E007F) and the other Cf characters;
# - the line and paragraph separators U+2028 / U+2029, and lone surrogates (which cannot even be written as UTF-8).
UNSAFE_CLASS = (
    "\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f"
)
_UNSAFE = re.compile(f"[{UNSAFE_CLASS}]")


def _re2_class(python_class: str) -> str:
    """A Python regular-expression character class (its characters and ranges, no escapes) in RE2's syntax, without
    the surrogates (which UTF-8 text cannot hold)."""
    return "".join("-" if char == "-" else f"\\x{{{ord(char):x}}}" for char in python_class).replace(
        "\\x{d800}-\\x{dfff}", "")


UNSAFE_RE2 = f"[{_re2_class(UNSAFE_CLASS)}]"  # the same characters in RE2's syntax (pyarrow's regular expressions)

# Line breaks and tabs inside a value: in a document they are one space (a value never breaks a line of its own).
_BREAKS = re.compile("\r\n|[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_char(char: str) -> str:
    r"""The visible form of one unsafe character: \n \r \t, \xNN for the other controls, \uNNNN or \UNNNNNNNN."""
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _visible(match: re.Match) -> str:
    return escape_char(match.group())


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def for_terminal(value: Any) -> str:
    r"""A record value for one line of terminal output: every control, bidi and invisible format character is
    shown as an escape (`\x1b`, `\x00`, `\n`, `\t`, `\u202e`), so a value can neither colour the terminal, set its
    title, reorder the line nor start a line of its own."""
    text = _text(value)
    return _UNSAFE.sub(_visible, text) if _UNSAFE.search(text) else text


def for_document(value: Any) -> str:
    r"""A record value for document text (HTML, DOCX, PDF, XLSX and CSV cells): line breaks and tabs become one
    space each, every other control, bidi or invisible format character its visible escape (`\x1b`, `\u202e`).
    Markup (< > &) is left to the format's own escaping (Jinja2 autoescape, XML escaping, Typst strings)."""
    text = _text(value)
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_visible, _BREAKS.sub(" ", text))


def document_lines(value: Any) -> str:
    """Like for_document, but the output's own line breaks (LF) stay: for text that was put together line by line
    from values already made safe, such as a multi-line spreadsheet cell or an SVG chart."""
    return "\n".join(for_document(line) for line in _text(value).split("\n"))


# Markdown. Characters that make structure anywhere in a line are always escaped; & < > ~ $ become entities (every
# Markdown renderer passes entities through, while Python-Markdown shows \~ \$ as written and does not honour
# \& \< \>).
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "~": "&#126;", "$": "&#36;"}
_MD_ALWAYS = re.compile(r"[\\`*_\[\]|~$!{}&<>#]")
# At the start of a value (which may be the start of a line): a list marker or number followed by a space or the
# end (- + 1. 1), and a bare . or ) that would complete a number written just before the value), a definition
# (: ), and a setext underline or thematic break (-- ==). A negative number (-3.2) or a decimal (78.6) stays.
_MD_LEADING = re.compile(r"^(?:\d*[.)]|[-+=:])(?=[ \t]|$)|^[-=](?=[-=])")


def _md_char(match: re.Match) -> str:
    char = match.group()
    return _MD_ENTITIES.get(char) or "\\" + char


def _md_leading(match: re.Match) -> str:
    marker = match.group()
    return marker[:-1] + ("&#61;" if marker[-1] == "=" else "\\" + marker[-1])


def for_markdown(value: Any) -> str:
    r"""A record value for a Markdown line or table cell: as for_document (line breaks flattened, controls shown
    as escapes), then every character that can make Markdown structure escaped — \ ` * _ [ ] | ! { } # always
    with a backslash, & < > ~ $ always as entities (&amp; &lt; &gt; &#126; &#36;, so `&lt;script&gt;` stays those
    characters), and at the start of the value a list marker or number (- + 1. 1)), a setext underline or
    thematic break (== --) or a definition (:); leading spaces, which would indent a code block, are dropped."""
    text = for_document(value).lstrip(" ")
    text = _MD_ALWAYS.sub(_md_char, text)
    return _MD_LEADING.sub(_md_leading, text, count=1)


__all__ = ["for_terminal", "for_document", "document_lines", "for_markdown", "escape_char"]
