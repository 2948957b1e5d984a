"""A waiver file kept with the records (`--waivers FILE`): YAML entries read and checked strictly, one error naming
the file, entry and field."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError
from engine.lang import tr
from engine.yamlio import load_yaml

FIELDS = ("subject", "rule", "reason", "basis", "by", "until")
FIELDS_ZH = {"subject": "对象（记录中的编号或单位名称）", "rule": "规则编号", "reason": "豁免理由",
             "basis": "所依据的文件或决定", "by": "批准的机关或人员", "until": "有效期至（不含当日）"}


@dataclass(frozen=True)
class FileWaiver:
    """One entry of a waiver file, checked."""

    entry: int  # 1-based, in the file's order
    subject: str
    rule_id: str
    reason: str
    basis: str
    granted_by: str
    until: dt.date


@dataclass(frozen=True)
class WaiverFile:
    path: str
    sha256: str
    waivers: tuple

    def source(self, waiver: FileWaiver) -> str:
        return f"{self.path}#{waiver.entry}"


def entry_error(path, entry: int | None, field: str | None, problem: tuple, fix: tuple) -> ConfigError:
    """错误：文件 X 第 N 条 字段 F：…；请…"""
    where_zh = f"文件 {path}" + (f" 第 {entry} 条" if entry else "") + (f" 字段 {field}" if field else "")
    where_en = f"file {path}" + (f" entry {entry}" if entry else "") + (f" field {field}" if field else "")
    return ConfigError(tr(f"{where_zh}：{problem[0]}；请{fix[0]}", f"{where_en}: {problem[1]}; {fix[1]}"))


def _date(value) -> dt.date | None:
    from engine.normalise import ValueProblem, parse_date
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):  # (a bare number is no date here, though a spreadsheet cell may be one)
        return None
    try:
        return parse_date(value.strip())
    except (ValueProblem, ValueError):
        return None


def load(path, rule_ids: set) -> WaiverFile:
    """The waivers of a YAML file: a list of mappings with exactly the fields subject, rule, reason, basis, by and until.
    Refused: another shape, a missing, empty or unknown field, a rule not in the rule set, a date that is none, and
    two entries for the same subject and rule."""
    from engine.store.identity import key
    path = Path(path)
    data = load_yaml(path, ConfigError, dates_as_text=True)  # (dates as text: a bad one is named with its entry)
    if data is None:
        data = []
    if not isinstance(data, list):
        raise entry_error(path, None, None, ("应是豁免条目的列表（每条以“- ”开头）", "must be a list of waiver entries"),
                          ("按 README“豁免文件”一节的示例书写", "write it as the example in the README's waiver file section"))
    waivers, first = [], {}
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise entry_error(path, n, None, ("应是“字段: 值”的映射", "must be a mapping of field: value"),
                              ("写出 " + "、".join(FIELDS) + " 六个字段", "give the fields " + ", ".join(FIELDS)))
        for name in item:
            if name not in FIELDS:
                raise entry_error(path, n, name, ("不是豁免条目的字段", "is not a field of a waiver entry"),
                                  ("只用 " + "、".join(FIELDS), "use only " + ", ".join(FIELDS)))
        values = {}
        for name in FIELDS:
            value = item.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise entry_error(path, n, name, ("缺失或为空", "is missing or empty"),
                                  (f"写明{FIELDS_ZH[name]}", f"give the {name}"))
            if name != "until" and (isinstance(value, bool) or not isinstance(value, (str, int))):
                raise entry_error(path, n, name, ("应是文字", "must be text"), (f"写明{FIELDS_ZH[name]}", f"give the {name}"))
            values[name] = value if name == "until" else str(value).strip()
        until = _date(values["until"])
        if until is None:
            raise entry_error(path, n, "until", (f"“{values['until']}”不是日期", f"'{values['until']}' is not a date"),
                              ("写成 2022-06-30、2022/06/30 或 2022年6月30日", "write 2022-06-30, 2022/06/30 or 2022年6月30日"))
        if values["rule"] not in rule_ids:
            raise entry_error(path, n, "rule", (f"规则 {values['rule']} 不在规则集中，不能豁免",
                                                f"rule {values['rule']} is not in the rule set: nothing to waive"),
                              ("用 ecocheck rules list 查看规则编号", "see ecocheck rules list for the ids"))
        same = (key(values["subject"]), values["rule"])
        if same in first:
            raise entry_error(path, n, "subject", (f"与第 {first[same]} 条是同一对象、同一规则的重复豁免",
                                                   f"repeats entry {first[same]} (the same subject and rule)"),
                              ("删去其中一条，或合并为一条", "delete one of them or merge the two"))
        first[same] = n
        waivers.append(FileWaiver(n, values["subject"], values["rule"], values["reason"], values["basis"],
                                  values["by"], until))
    return WaiverFile(str(path), hashlib.sha256(path.read_bytes()).hexdigest(), tuple(waivers))
