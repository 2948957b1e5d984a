"""Records held as columns: each field factorised into codes and its distinct domain values, Records built on demand."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from engine import operators as O


@dataclass(frozen=True)
class FieldColumn:
    """One field over a batch: `codes[i]` indexes `uniques` (domain values); -1 means the row has no value."""

    codes: np.ndarray
    uniques: list
    text: object = field(default=None, compare=False)  # the uniques as a pyarrow string array, where read as text
    _forms: dict = field(default_factory=dict, compare=False, repr=False)  # representation and numeric, once each

    @classmethod
    def from_values(cls, values: Sequence) -> "FieldColumn":
        index: dict = {}
        uniques: list = []
        codes = np.empty(len(values), dtype=np.int64)
        for n, value in enumerate(values):
            if value is None:
                codes[n] = -1
                continue
            key = (type(value), repr(value) if isinstance(value, float) else value)  # 1, 1.0, True, 0.0, -0.0 apart
            code = index.get(key)
            if code is None:
                code = index[key] = len(uniques)
                uniques.append(value)
            codes[n] = code
        return cls(codes, uniques)

    @property
    def numeric(self) -> bool:
        """Whether the column's form is float64: every value a number, date or boolean (text stays objects)."""
        found = self._forms.get("numeric")
        if found is None:
            kinds = self._types() - {type(None)}
            found = self._forms["numeric"] = bool(kinds) and all(issubclass(k, (int, float, dt.date)) for k in kinds)
        return found

    def _types(self) -> set:
        found = self._forms.get("types")
        if found is None:
            found = self._forms["types"] = set(map(type, self.uniques))
        return found

    def distinct_known(self) -> np.ndarray:
        """Which distinct values are values (a reader may keep a slot for a cell that gave none; no row uses it)."""
        return np.array([v is not None for v in self.uniques], dtype=bool)

    def known(self) -> np.ndarray:
        return self.codes >= 0

    def value(self, row: int):
        code = self.codes[row]
        return None if code < 0 else self.uniques[code]

    def representation(self, numeric: bool | None = None) -> np.ndarray:
        """The distinct values in the column form: float64 (dates as yyyymmdd, booleans as 1/0) or objects. Made
        once for each form (every rule that reads the field uses it); callers must not write into it."""
        numeric = self.numeric if numeric is None else numeric
        found = self._forms.get(numeric)
        if found is not None:
            return found
        if numeric and self._types() <= {float, int}:  # (plain numbers: converted by numpy at once, as float() does)
            out = np.array(self.uniques, dtype=np.float64)
        elif numeric and self._types() == {dt.date}:  # (dates: the memoised form, mapped without a Python step)
            out = np.array(list(map(_date_form, self.uniques)), dtype=np.float64)
        elif numeric:
            out = np.array([np.nan if v is None else _float_form(v) for v in self.uniques], dtype=np.float64)
        else:
            out = np.empty(len(self.uniques), dtype=object)
            out[:] = self.uniques
        out.flags.writeable = False
        self._forms[numeric] = out
        return out


def _float_form(value) -> float:
    return _date_form(value) if type(value) is dt.date else float(O.engine_value(value))


@functools.lru_cache(maxsize=1 << 16)
def _date_form(value: dt.date) -> float:
    """A date's yyyymmdd as a float, memoised (a pure function: the same dates recur in every batch of a file)."""
    return float(O.date_key(value))


@dataclass
class RecordBatch(Sequence):
    """Records of one kind as columns; `batch[i]` builds the Record of row i only when it is asked for."""

    kind: str
    columns: dict  # field -> FieldColumn
    size: int
    make_record: Callable[[int], object]  # position -> Record
    problems: dict = field(default_factory=dict)  # field -> {position: why its value could not be read}

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, position):
        if isinstance(position, slice):
            return [self.make_record(i) for i in range(*position.indices(self.size))]
        if position < 0:
            position += self.size
        if not 0 <= position < self.size:
            raise IndexError(position)
        return self.make_record(position)

    def __iter__(self):
        return (self.make_record(i) for i in range(self.size))

    def column(self, name: str) -> FieldColumn:
        found = self.columns.get(name)
        if found is None:
            found = self.columns[name] = FieldColumn(np.full(self.size, -1, dtype=np.int64), [])
        return found


def batch_of_records(kind: str, records: list, fields) -> RecordBatch:
    """Records already built (examples, small inputs) held as columns of the fields the rules read."""
    columns = {name: FieldColumn.from_values([r.values.get(name) for r in records]) for name in fields}
    return RecordBatch(kind, columns, len(records), records.__getitem__)
