"""A finding's JSON text put together from pieces written once: its rule's fixed fields, then each per-record field."""

from __future__ import annotations

import orjson

INDENT = orjson.OPT_INDENT_2
VARIABLE = ("subject", "source", "message", "checks", "missing", "period", "observed", "limit")


def _marker(name: str) -> str:
    return f"\x00{name}\x00"  # (orjson writes it as "\u0000name\u0000": no text of a rule holds that)


def nested(value) -> bytes:
    """`value` as orjson writes it one level inside an object with OPT_INDENT_2 (its lines indented two more; JSON
    text never holds a raw line break inside a string, so every line break is one of the layout's)."""
    text = orjson.dumps(value, option=INDENT, default=str)
    return text.replace(b"\n", b"\n  ") if b"\n" in text else text


# A finding's Source and Subject as `nested` writes the two dicts, put together around their values' JSON (faster
# than writing a dict for each finding)
_SOURCE_FILE, _SOURCE_ROW, CLOSE = b'{\n    "file": ', b',\n    "row": ', b"\n  }"
_SUBJECT = (b'{\n    "kind": ', b',\n    "id": ', b',\n    "name": ', b',\n    "region": ', b',\n    "recipient": ')


def source_text(file_json: bytes, row: int) -> bytes:
    """nested({"file": file, "row": row}) from the file's JSON."""
    return b"".join((_SOURCE_FILE, file_json, _SOURCE_ROW, b"%d" % row, CLOSE))


def subject_head(kind_json: bytes, id_json: bytes, name_json: bytes, region_json: bytes) -> bytes:
    """nested(Subject's dict) up to its recipient's value: the recipient's JSON and CLOSE complete it."""
    k, i, n, r, recipient = _SUBJECT
    return b"".join((k, kind_json, i, id_json, n, name_json, r, region_json, recipient))


class Layout:
    """The JSON text of the findings of one rule and status: the bytes between the per-record fields, written once
    from the rule's template (a dict in Finding's field order, the per-record fields still empty)."""

    __slots__ = ("pieces",)

    def __init__(self, template: dict):
        data = dict(template)
        for name in VARIABLE:
            data[name] = _marker(name)
        text = orjson.dumps(data, option=INDENT, default=str)
        pieces = []
        for name in VARIABLE:
            before, text = text.split(orjson.dumps(_marker(name)), 1)
            pieces.append(before)
        pieces.append(text)
        self.pieces = tuple(pieces)

    def text(self, values: tuple) -> bytes:
        """The finding's text from the already written JSON of its per-record fields, in VARIABLE's order."""
        p = self.pieces
        return b"".join((p[0], values[0], p[1], values[1], p[2], values[2], p[3], values[3], p[4], values[4],
                         p[5], values[5], p[6], values[6], p[7], values[7], p[8]))


def check_list(parts: list) -> bytes:
    """The "checks" list from the checks' own texts (each written once, two levels in)."""
    if not parts:
        return b"[]"
    return b"[\n    " + b",\n    ".join(parts) + b"\n  ]"


def _object(entries: list) -> bytes:
    return b"{\n    " + b",\n    ".join(entries) + b"\n  }" if entries else b"{}"


def field_maps(parts: list, unique: bool) -> tuple[bytes, bytes]:
    """Finding.observed and Finding.limit as JSON text from the checks' own entries; where two checks read the same
    field (`unique` false) the dicts are made as Finding makes them (the last check of a field wins)."""
    if unique:
        return (_object([part.observed_json for part in parts]),
                _object([part.limit_json for part in parts if part.limit_json is not None]))
    return (nested({part.field: part.observed for part in parts}),
            nested({part.field: part.limit for part in parts if part.limit is not None}))
