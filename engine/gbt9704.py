"""GB/T 9704-2012 page geometry, type sizes and the fonts the DOCX and PDF writers name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PT_PER_MM = 72 / 25.4

PAGE_W, PAGE_H = 210.0, 297.0              # A4, mm
TOP, LEFT = 37.0, 28.0                     # 天头, 订口
BLOCK_W, BLOCK_H = 156.0, 225.0            # 版心
RIGHT = PAGE_W - LEFT - BLOCK_W            # 26 mm
BOTTOM = PAGE_H - TOP - BLOCK_H            # 35 mm
LINES, CHARS = 22, 28                      # lines a page, characters a line

BODY_PT = 16.0                             # 3号
TITLE_PT = 22.0                            # 2号
SMALL_PT = 14.0                            # 4号: page numbers, 版记
TABLE_PT = 12.0                            # 小4号: table cells
LINE_PITCH_PT = BLOCK_H * PT_PER_MM / LINES        # 28.99 pt
CHAR_PITCH_PT = BLOCK_W * PT_PER_MM / CHARS        # 15.79 pt
PAGE_NUMBER_GAP = 7.0                      # mm from the text block's foot to the page number line
MARK_TOP = 35.0                            # mm from the text block's top to the 发文机关标志's top edge
REDLINE_GAP = 4.0                          # mm between 发文字号 and the red separator line
SEAL_DIAMETER = 42.0                       # mm, a department seal
RED = "FF0000"

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
ARPHIC_DIR = Path("/usr/share/fonts/truetype/arphic")
FONT_DIRS = (NOTO_DIR, ARPHIC_DIR)
FONT_FILES = (NOTO_DIR / "NotoSerifCJK-Regular.ttc", NOTO_DIR / "NotoSerifCJK-Bold.ttc",
              NOTO_DIR / "NotoSansCJK-Regular.ttc", ARPHIC_DIR / "ukai.ttc")
DEBIAN_FONT_PACKAGES = "fonts-noto-cjk fonts-arphic-ukai"


@dataclass(frozen=True)
class FontSet:
    """Font family names for each role: 仿宋 body, 黑体 and 楷体 headings, 小标宋 title and mark, 宋体 page numbers."""

    fangsong: str
    heiti: str
    kaiti: str
    title: str
    songti: str
    latin: str
    title_bold: bool = False


# What Word/WPS users in government offices have installed; Word substitutes others when these are missing.
GB_FONTS = FontSet(fangsong="仿宋_GB2312", heiti="黑体", kaiti="楷体_GB2312", title="方正小标宋简体",
                   songti="宋体", latin="Times New Roman")
# Open fonts from Debian (fonts-noto-cjk, fonts-arphic-ukai): what the PDF embeds, and the DOCX fallbacks.
OPEN_FONTS = FontSet(fangsong="Noto Serif CJK SC", heiti="Noto Sans CJK SC", kaiti="AR PL UKai CN",
                     title="Noto Serif CJK SC", songti="Noto Serif CJK SC", latin="Noto Serif CJK SC",
                     title_bold=True)
FALLBACKS = {GB_FONTS.fangsong: OPEN_FONTS.fangsong, GB_FONTS.heiti: OPEN_FONTS.heiti,
             GB_FONTS.kaiti: OPEN_FONTS.kaiti, GB_FONTS.title: OPEN_FONTS.title, GB_FONTS.songti: OPEN_FONTS.songti}


def missing_fonts() -> list[str]:
    """The open font files the PDF writer needs that are not on this machine."""
    return [str(p) for p in FONT_FILES if not p.is_file()]


CHAR_MM = BLOCK_W / CHARS                  # one body character cell, 5.57 mm
SIGNATURE_SPACING = BLOCK_W / 2            # mm between the centres of two 署名 side by side (joint documents)
SEAL_ABOVE_NAME = 19.0                     # mm from a seal's top edge down to the top of the 署名 line


@dataclass(frozen=True)
class SignatureRow:
    """One row of 署名: (name, centre in mm from the text block's left edge) for each authority in it."""

    names: tuple[tuple[str, float], ...]


def signature_layout(names: list[str], date: str, per_row: int = 2) -> tuple[list[SignatureRow], float]:
    """Where the 署名 go and where the 成文日期 is centred (mm from the block's left edge).

    The date sits four characters in from the right edge (右空四字); each 署名 is centred over the date
    (以成文日期为准居中); in a joint document the authorities stand side by side, two a row, in order, the
    last one over the date.
    """
    from engine.officialdoc import display_width
    date_centre = BLOCK_W - 4 * CHAR_MM - display_width(date) * CHAR_MM / 2
    rows: list[SignatureRow] = []
    count = len(names)
    first = count % per_row or per_row   # the first row takes the remainder, so the last row is full
    start = 0
    for size in [first] + [per_row] * ((count - first) // per_row):
        chunk = names[start:start + size]
        start += size
        centres = []
        for i, name in enumerate(chunk):
            centre = date_centre - (size - 1 - i) * SIGNATURE_SPACING
            half = display_width(name) * CHAR_MM / 2
            centre = min(max(centre, half), BLOCK_W - half)
            centres.append((name, round(centre, 2)))
        rows.append(SignatureRow(tuple(centres)))
    return rows, round(date_centre, 2)
