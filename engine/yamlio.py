"""Safe, size-limited YAML loading for rule, schema, parameter and config files."""

from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace

from engine.errors import os_problem
from engine.lang import tr
from engine.nesting import deeper_than

MAX_YAML_BYTES = 1 << 20  # 1 MiB: a rule or config file is never larger
MAX_DEPTH = 40


@functools.cache
def _yaml() -> SimpleNamespace:
    """PyYAML and the loaders made from it, imported when a file is first read (16 ms: a run whose rule set comes from
    the cache, engine.rulecache, reads no YAML at all)."""
    import yaml

    safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class DuplicateKey(yaml.YAMLError):
        def __init__(self, key, line: int, first: int):
            super().__init__(f"duplicate key {key!r}")
            self.key, self.line, self.first = key, line, first

    class UniqueKeyLoader(safe_loader):
        """The safe loader, refusing a key given twice in one mapping (at any depth): YAML would keep the last
        silently."""

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                self.flatten_mapping(node)
                seen = {}
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=True)
                    try:
                        if (type(key), key) in seen:  # typed: 1 and true are different keys
                            raise DuplicateKey(key, key_node.start_mark.line + 1, seen[type(key), key] + 1)
                        seen[type(key), key] = key_node.start_mark.line
                    except TypeError:  # an unhashable key: the constructor below says so
                        continue
            return super().construct_mapping(node, deep)

    class TextDatesLoader(UniqueKeyLoader):
        """The same loader, keeping dates as written (text): the caller parses them and names a bad one itself."""

        yaml_implicit_resolvers = {first: [(tag, regexp) for tag, regexp in resolvers
                                           if tag != "tag:yaml.org,2002:timestamp"]
                                   for first, resolvers in UniqueKeyLoader.yaml_implicit_resolvers.items()}

    return SimpleNamespace(module=yaml, safe=safe_loader, unique=UniqueKeyLoader, text_dates=TextDatesLoader,
                           DuplicateKey=DuplicateKey)


def _refuse_aliases(text: str, path: Path, error_class):
    yaml = _yaml().module
    for event in yaml.parse(text, Loader=_yaml().safe):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            raise error_class(tr(f"第{mark.line + 1}行有 YAML 别名 *{event.anchor}：ecocheck 不读锚点和别名（&名称 / *名称）",
                                 f"YAML alias *{event.anchor} at line {mark.line + 1}: ecocheck does not read anchors "
                                 f"and aliases (&name / *name)"), file=str(path),
                              fix=tr("把值完整写出", "write the value out in full"))


def load_yaml(path: Path, error_class, dates_as_text: bool = False):
    """Parse a YAML file with yaml.safe_load; every problem becomes `error_class` naming the file. `dates_as_text`:
    dates kept as written, for the caller to parse and name a bad one itself."""
    path = Path(path)
    found = _yaml()
    yaml, loader = found.module, found.text_dates if dates_as_text else found.unique
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise error_class(tr(f"无法读取文件（{os_problem(exc)}）", f"cannot read file ({os_problem(exc)})"),
                          file=str(path)) from None
    if size > MAX_YAML_BYTES:
        raise error_class(tr(f"文件有 {size} 字节，超过允许的 {MAX_YAML_BYTES} 字节",
                             f"file is {size} bytes, more than the {MAX_YAML_BYTES} allowed"), file=str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise error_class(tr("不是 UTF-8 编码的文本", "not UTF-8 text"), file=str(path),
                          fix=tr("把文件存为 UTF-8 编码", "save the file as UTF-8")) from None
    try:
        if "&" in text:  # an anchor: refuse aliases, which can expand a small file a billionfold (a "YAML bomb")
            _refuse_aliases(text, path, error_class)
        data = yaml.load(text, Loader=loader)  # the safe loader, in C when libyaml is there
    except found.DuplicateKey as exc:
        raise error_class(tr(f"第{exc.line}行的键“{exc.key}”重复（第{exc.first}行已有）：YAML 只会保留后一个，前一个被悄悄丢掉",
                             f"key '{exc.key}' at line {exc.line} repeats the one at line {exc.first}: YAML would "
                             f"keep only the last and drop the first silently"), file=str(path),
                          fix=tr(f"删去其中一个，或把两处合并为一个“{exc.key}”",
                                 f"delete one of them, or merge the two into one '{exc.key}'")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]  # (PyYAML's own words, in English)
        raise error_class(tr((f"第{mark.line + 1}行第{mark.column + 1}列" if mark else "") + f"YAML 格式有误：{problem}",
                             "invalid YAML" + (f" at line {mark.line + 1}, column {mark.column + 1}" if mark else "")
                             + f": {problem}"), file=str(path)) from None
    if deeper_than(data, MAX_DEPTH):
        raise error_class(tr(f"嵌套超过 {MAX_DEPTH} 层", f"nested more than {MAX_DEPTH} levels deep"), file=str(path))
    return data
