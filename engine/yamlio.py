"""Safe, size-limited YAML loading for rule, schema, parameter and config files."""

from __future__ import annotations

from pathlib import Path

import yaml

MAX_YAML_BYTES = 1 << 20  # 1 MiB: a rule or config file is never larger
MAX_DEPTH = 40
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _depth(value, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


def _refuse_aliases(text: str, path: Path, error_class):
    for event in yaml.parse(text, Loader=SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            raise error_class(f"YAML alias *{event.anchor} at line {mark.line + 1}: ecocheck does not read anchors "
                              f"and aliases (&name / *name)", file=str(path), fix="write the value out in full")


def load_yaml(path: Path, error_class):
    """Parse a YAML file with yaml.safe_load; every problem becomes `error_class` naming the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise error_class(f"cannot read file ({exc.strerror})", file=str(path)) from None
    if size > MAX_YAML_BYTES:
        raise error_class(f"file is {size} bytes, more than the {MAX_YAML_BYTES} allowed", file=str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise error_class("not UTF-8 text", file=str(path), fix="save the file as UTF-8") from None
    try:
        if "&" in text:  # an anchor: refuse aliases, which can expand a small file a billionfold (a "YAML bomb")
            _refuse_aliases(text, path, error_class)
        data = yaml.load(text, Loader=SAFE_LOADER)  # the safe loader, in C when libyaml is there
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error_class(f"invalid YAML{where}: {problem}", file=str(path)) from None
    if _depth(data) > MAX_DEPTH:
        raise error_class(f"nested more than {MAX_DEPTH} levels deep", file=str(path))
    return data
