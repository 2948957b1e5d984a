"""The one error hierarchy of ecocheck: every error says where (file, rule, row, field) and how to fix it."""

from __future__ import annotations


class EcocheckError(Exception):
    """Base of every error ecocheck reports to a user (exit code 3 unless said otherwise)."""

    exit_code = 3

    def __init__(self, message: str, *, file: str | None = None, rule: str | None = None,
                 row: int | None = None, field: str | None = None, fix: str | None = None):
        self.message = message
        self.file = file
        self.rule = rule
        self.row = row
        self.field = field
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.rule:
            where.append(f"rule {self.rule}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field '{self.field}'")
        text = (": ".join([", ".join(where), self.message]) if where else self.message)
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class UsageError(EcocheckError):
    """The command line asks for something impossible (exit code 2)."""

    exit_code = 2


class RuleError(EcocheckError):
    """A rule file is invalid."""


class ParameterError(EcocheckError):
    """A parameter table is missing or invalid."""


class SchemaError(EcocheckError):
    """A record schema file is invalid."""


class InputError(EcocheckError):
    """An input file cannot be read at all."""


class ConfigError(EcocheckError):
    """A configuration file (letters) is invalid."""


class TemplateError(EcocheckError):
    """A letter template failed to render."""


class EngineError(EcocheckError):
    """The rule engine did something it must not (an internal consistency check failed)."""
