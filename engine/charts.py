"""Charts of the regulator's overview: matplotlib, offline, Chinese labels in Noto Sans CJK SC, as inline SVG text."""

from __future__ import annotations

import functools
import io
import re

from engine.errors import TemplateError
from engine.lang import tr

FONT = "Noto Sans CJK SC"
RED, BLUE, GREY = "#c8161d", "#3a6ea5", "#9aa5b1"
_XML_PROLOGUE = re.compile(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.S)
_SIZE = re.compile(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"')


def _pyplot():
    """pyplot with the Agg backend and the CJK font, or a clear error naming the Debian package."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    from matplotlib import font_manager
    from matplotlib import pyplot as plt
    try:
        font_manager.findfont(font_manager.FontProperties(family=FONT), fallback_to_default=False)
    except ValueError:
        raise TemplateError(tr(f"缺少图表字体 {FONT}", f"the chart font {FONT} is missing"),
                            fix=tr("以 root 身份运行 `make fonts`，或安装 Debian 软件包 fonts-noto-cjk",
                                   "run `make fonts` (as root) or install the Debian package fonts-noto-cjk")) from None
    plt.rcParams.update({
        "font.family": "sans-serif", "font.sans-serif": [FONT], "axes.unicode_minus": False,
        "svg.fonttype": "none",  # text stays text: searchable, copyable, and the page's CSS names fallback fonts
        "svg.hashsalt": "ecocheck", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
    })
    return plt


def _svg(fig, plt, title: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = _XML_PROLOGUE.sub("", buffer.getvalue())
    text = _SIZE.sub(r'\1 width="100%"', text, count=1)  # scale with the page; the viewBox keeps the proportions
    return text.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1)


def violations_by_region(counts: list[tuple[str, int]], title: str = "各市州违反约束性条款事项数") -> str:
    """Horizontal bars: violations per prefecture, in the order given (top to bottom)."""
    return _violations_svg(tuple(tuple(pair) for pair in counts), title)


@functools.lru_cache(maxsize=16)
def _violations_svg(counts: tuple, title: str) -> str:
    """violations_by_region's SVG; remembered, as runs in one process draw the same chart again."""
    plt = _pyplot()
    names = [name for name, _ in counts][::-1]
    values = [value for _, value in counts][::-1]
    fig, ax = plt.subplots(figsize=(7.2, 0.24 * max(len(names), 3) + 0.8))
    bars = ax.barh(names, values, color=[RED if v else GREY for v in values], height=0.6)
    ax.bar_label(bars, labels=[str(v) for v in values], padding=3)
    ax.set_xlabel("违反事项（条）")
    ax.set_title(title, loc="left")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(0, max(values + [1]) * 1.15)
    return _svg(fig, plt, title)


def target_vs_actual(rows: list[tuple[str, float | None, float | None]], unit: str,
                     title: str = "各市州2020年能源消费总量与附件1控制目标") -> str:
    """Paired bars per prefecture: the target (cap) and the actual value; a missing value is labelled 数据缺失."""
    return _target_svg(tuple(tuple(row) for row in rows), unit, title)


@functools.lru_cache(maxsize=16)
def _target_svg(rows: tuple, unit: str, title: str) -> str:
    """target_vs_actual's SVG; remembered as _violations_svg is."""
    plt = _pyplot()
    names = [r[0] for r in rows]
    positions = list(range(len(names)))
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    width = 0.38
    limits = [r[1] or 0 for r in rows]
    actuals = [r[2] or 0 for r in rows]
    ax.bar([p - width / 2 for p in positions], limits, width, color=GREY, label="控制目标")
    colours = [RED if r[2] is not None and r[1] is not None and r[2] > r[1] else BLUE for r in rows]
    bars = ax.bar([p + width / 2 for p in positions], actuals, width, color=colours, label="实际")
    ax.bar_label(bars, labels=["数据缺失" if r[2] is None else f"{r[2]:g}" for r in rows], padding=2, fontsize=8)
    ax.set_xticks(positions, names, rotation=30 if len(names) > 6 else 0, ha="right" if len(names) > 6 else "center")
    ax.set_title(f"{title}（{unit}）", loc="left")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=GREY, label="控制目标"), Patch(color=BLUE, label="实际（未超过）"),
                       Patch(color=RED, label="实际（超过）")], frameon=False, fontsize=8)
    ax.set_ylim(0, max(limits + actuals + [1]) * 1.15)
    return _svg(fig, plt, title)
