"""Charts of the annual assessment (SVG, matplotlib with Noto Sans CJK SC): target path vs actual path 2015–2020 per
prefecture, and a grid of warning levels by prefecture and quarter."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from engine import annual_targets as A
from engine import warning as W

FONT_FILE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@functools.lru_cache(maxsize=1)
def _font_family() -> str | None:
    """The CJK font's family name, its file added to matplotlib's font list once per process (adding it for every
    chart grew the list by one entry a chart, and every text's font lookup went through it: 0.5 s a chart)."""
    from matplotlib import font_manager
    if not FONT_FILE.exists():
        return None
    font_manager.fontManager.addfont(str(FONT_FILE))
    return font_manager.FontProperties(fname=str(FONT_FILE)).get_name()


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    family = _font_family()
    if family:
        plt.rcParams["font.family"] = family
    plt.rcParams["svg.fonttype"] = "path"  # text drawn as outlines: the SVG shows Chinese without the font
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["svg.hashsalt"] = "ecocheck"  # stable ids: the same data gives the same file
    return plt


def paths_chart(rows, params, settings, prefecture: str, region: str, out: Path) -> Path:
    """Energy consumption and cumulative intensity reduction of one prefecture: issued/derived target path (2015 → 2020)
    against the actual values of its records."""
    years = tuple(range(A.BASE_YEAR, A.FINAL_YEAR + 1))
    panels = []
    for key in ("consumption", "intensity"):
        ind = A.INDICATORS[key]
        five = A.five_year(params, key, prefecture)
        if five is None:
            panels.append(None)
            continue
        base = five[0]
        targets = tuple([base] + [A.target_for(params, settings, prefecture, y, key).value for y in years[1:]])
        issued = [(y, A.target_for(params, settings, prefecture, y, key)) for y in years[1:]]
        marked = tuple((y, t.value) for y, t in issued if t.basis == A.ISSUED)
        actual = tuple(sorted((r.year, r.actual) for r in rows if r.prefecture == prefecture and r.indicator == key
                              and r.actual is not None))
        panels.append((f"{region} {ind.zh}", ind.unit, targets, marked, ((A.BASE_YEAR, base),) + actual if actual
                       else ()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_paths_svg(years, tuple(panels), A.METHOD_ZH[settings.method]), encoding="utf-8")
    return out


@functools.lru_cache(maxsize=64)
def _paths_svg(years: tuple, panels: tuple, method: str) -> str:
    """The SVG of paths_chart from its data (each panel: title, unit, target path, issued targets, actual path; None
    for a panel without targets); remembered, as runs in one process draw the same prefectures' charts again."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, panel in zip(axes, panels):
        if panel is None:
            ax.set_axis_off()
            continue
        title, unit, targets, marked, actual = panel
        ax.plot(years, targets, "--", color="#555", marker="o", label=f"目标路径（{method}推算，下达的按下达值）")
        if marked:
            ax.plot([y for y, _ in marked], [v for _, v in marked], "s", color="#1565c0", label="省上下达的年度目标")
        if actual:
            ax.plot([y for y, _ in actual], [v for _, v in actual], "-", color="#c8161d", marker="o", label="实际")
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.set_xticks(years)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _svg_text(fig, plt)


def _svg_text(fig, plt) -> str:
    """The figure (laid out by tight_layout) as SVG text. Its layout engine is unset first: tight_layout leaves a
    placeholder engine, for which savefig draws the whole figure once more before drawing it into the file."""
    fig.set_layout_engine(None)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def warning_grid_chart(warnings: list, out: Path) -> Path | None:
    """Prefectures (rows) × quarters (columns), each cell coloured by the worst warning level at the quarter's end."""
    rows, columns, cells = W.grid(warnings)
    if not rows:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_grid_svg(tuple(rows), tuple(columns), tuple(sorted(cells.items(), key=str))), encoding="utf-8")
    return out


@functools.lru_cache(maxsize=16)
def _grid_svg(rows: tuple, columns: tuple, cells: tuple) -> str:
    """The SVG of warning_grid_chart from its data; remembered as _paths_svg is."""
    cells = dict(cells)
    plt = _pyplot()
    from matplotlib.patches import Patch, Rectangle
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(columns), 0.8 + 0.45 * len(rows)))
    for i, region in enumerate(rows):
        for j, column in enumerate(columns):
            level = cells.get((region, column))
            ax.add_patch(Rectangle((j, len(rows) - 1 - i), 0.95, 0.9, color=W.LEVEL_COLOURS[level]))
            ax.text(j + 0.47, len(rows) - 1 - i + 0.45, W.LEVEL_ZH[level][:2] if level else "无数据", ha="center",
                    va="center", fontsize=8, color="#fff" if level in (W.RED, W.GREEN) else "#000")
    ax.set_xlim(0, len(columns))
    ax.set_ylim(0, len(rows))
    ax.set_xticks([j + 0.47 for j in range(len(columns))], columns, fontsize=8)
    ax.set_yticks([len(rows) - 1 - i + 0.45 for i in range(len(rows))], rows, fontsize=8)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.legend(handles=[Patch(color=W.LEVEL_COLOURS[k], label=W.LEVEL_ZH[k] + W.LEVEL_WORDS[k]) for k in (1, 2, 3)],
              loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize=7, frameon=False)
    ax.set_title("各市州节能目标完成进度预警（按季度）", fontsize=10)
    fig.tight_layout()
    return _svg_text(fig, plt)
