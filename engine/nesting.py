"""How deeply a parsed document nests: YAML rule files and JSON record files are refused past a limit."""


def deeper_than(value, limit: int) -> bool:
    """Whether dicts and lists in `value` nest more than `limit` levels (stops at the first path that does; no
    recursion, so a hostile document cannot exhaust the stack)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False
