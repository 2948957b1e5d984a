"""A finding's JSON text put together from pieces written once: its rule's fixed fields, then each per-record field."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pyarrow.compute as pc

INDENT = orjson.OPT_INDENT_2
VARIABLE = ("subject", "source", "message", "checks", "missing", "period", "observed", "limit")
ESCAPED = r'[\x00-\x1f"\\]'  # the characters orjson escapes in a string (a regular expression for pyarrow)


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


def source_texts(file_json: bytes, rows: pa.Array, pool=None) -> pa.Array:
    """nested({"file": file, "row": row}) for each row number, from the file's JSON, as a binary array (allocated
    from `pool`, pyarrow's default pool where None)."""
    numbers = rows.cast(pa.string(), memory_pool=pool).cast(pa.binary(), memory_pool=pool)
    return pc.binary_join_element_wise(_SOURCE_FILE + file_json + _SOURCE_ROW, numbers, CLOSE, b"", memory_pool=pool)


def subject_texts(kind_json: bytes, ids: pa.Array, names: pa.Array, regions: pa.Array, recipients: pa.Array,
                  pool=None) -> pa.Array:
    """nested(Subject's dict) for each row, from binary arrays of its values' JSON (allocated from `pool`, pyarrow's
    default pool where None)."""
    k, i, n, r, recipient = _SUBJECT
    return pc.binary_join_element_wise(k + kind_json + i, ids, n, names, r, regions, recipient, recipients, CLOSE, b"",
                                       memory_pool=pool)


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
