"""The one error hierarchy of ecocheck: every error says where (file, rule, row, field) and how to fix it."""

from __future__ import annotations

import errno

from engine.lang import current, tr


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
        if current() == "en":
            return self._english()
        where = []
        if self.file:
            where.append(str(self.file))
        if self.rule:
            where.append(f"规则 {self.rule}")
        if self.row is not None:
            where.append(f"第{self.row}行")
        if self.field:
            where.append(f"字段“{self.field}”")
        text = "：".join(["，".join(where), self.message]) if where else self.message
        if self.fix:
            text += ("" if text.endswith(("。", "；", "！", "？", ".")) else "。") + f"处理办法：{self.fix}"
        return text

    def _english(self) -> str:
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


OS_PROBLEMS = {  # what the system says (strerror is English), as a person reads it in Chinese
    errno.ENOENT: "文件或文件夹不存在", errno.EACCES: "没有读写权限", errno.EPERM: "操作不被允许",
    errno.ENOSPC: "磁盘空间已满", errno.EDQUOT: "超出磁盘配额", errno.EISDIR: "这是文件夹，不是文件",
    errno.ENOTDIR: "路径中有一段不是文件夹", errno.EROFS: "文件系统只读", errno.ELOOP: "符号链接形成循环",
    errno.ENAMETOOLONG: "文件名太长", errno.EEXIST: "已经存在", errno.EIO: "读写设备出错",
    errno.EMFILE: "打开的文件太多", errno.EBUSY: "正被占用", errno.ETXTBSY: "正被占用",
    errno.EINVAL: "参数无效", errno.EFBIG: "文件太大", errno.ENOTEMPTY: "文件夹不是空的",
}


def os_problem(exc: OSError) -> str:
    """Why the system refused a file operation, in the current language (an unusual error keeps the system's words)."""
    english = exc.strerror or str(exc)
    return tr(OS_PROBLEMS.get(exc.errno, english), english)
