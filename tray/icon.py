"""Drawing the tray icon with Pillow: a colored tile with the minutes left and a badge with the number waiting.

Tray icons are 16 to 64 px. Anti-aliased fonts turn to mush at 16 px, so digits come from a 3x5 pixel font scaled
by whole numbers, and shapes are whole-pixel rectangles: every pixel is one of a few palette colors, at every size.
Rectangles are filled with `Image.paste`, so the long-lived tray does not load ImageDraw and its font machinery.
"""
from __future__ import annotations

from PIL import Image

from tray.state import IconState

# Colors chosen to stay apart from one another and from common panel colors (tests classify pixels by them).
COLORS: dict[str, tuple[int, int, int]] = {
    "waiting": (30, 142, 62),  # green: time left
    "due_soon": (242, 153, 0),  # amber: a quarter of the target or less left
    "overdue": (210, 32, 39),  # red: past the deadline
    "idle": (47, 111, 171),  # blue: connected, nothing waiting
    "offline": (120, 120, 120),  # grey: no server
}
TEXT = (255, 255, 255)
BADGE = (32, 32, 32)

# 3x5 glyphs, rows top to bottom, "#" = ink.
GLYPHS: dict[str, tuple[str, ...]] = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    "h": ("#..", "#..", "###", "#.#", "#.#"),
    "d": ("..#", "..#", "###", "#.#", "###"),
    "+": ("...", ".#.", "###", ".#.", "..."),
    "-": ("...", "...", "###", "...", "..."),
    "!": (".#.", ".#.", ".#.", "...", ".#."),
    "?": ("###", "..#", ".##", "...", ".#."),
}


def minutes_label(minutes: int | None, level: str) -> str:
    """At most two glyphs: '7', '42', '3h', '2d'; '-' when there is nothing to count down, '?' when offline."""
    if level == "offline":
        return "?"
    if minutes is None:
        return "-"
    if minutes < 100:
        return str(minutes)
    hours = minutes // 60
    if hours < 10:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d" if days < 10 else "9d"


def count_label(count: int) -> str:
    return str(count) if count < 100 else "99"


def text_size(text: str, scale: int) -> tuple[int, int]:
    if not text:
        return 0, 0
    return (len(text) * 4 - 1) * scale, 5 * scale


def fill(img: Image.Image, x0: int, y0: int, x1: int, y1: int, color: tuple[int, ...]) -> None:
    """Fill the rectangle with corners (x0, y0) and (x1, y1), both inclusive."""
    if x1 >= x0 and y1 >= y0:
        img.paste(color if len(color) == 4 else (*color, 255), (x0, y0, x1 + 1, y1 + 1))


def draw_text(img: Image.Image, x: int, y: int, text: str, scale: int, color: tuple[int, int, int]) -> None:
    for n, ch in enumerate(text):
        rows = GLYPHS.get(ch, GLYPHS["?"])
        gx = x + n * 4 * scale
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                if cell == "#":
                    fill(img, gx + c * scale, y + r * scale, gx + (c + 1) * scale - 1, y + (r + 1) * scale - 1,
                         color)


def render(state: IconState, size: int = 64) -> Image.Image:
    """The icon for `state`, drawn natively at `size` px (not scaled from another size)."""
    size = max(16, min(256, int(size)))
    color = COLORS.get(state.level, COLORS["offline"])
    img = Image.new("RGBA", (size, size), (*color, 255))
    corner = max(1, size // 16)  # square-cut corners stay crisp where rounded ones would blur
    for cx, cy in ((0, 0), (size - corner, 0), (0, size - corner), (size - corner, size - corner)):
        fill(img, cx, cy, cx + corner - 1, cy + corner - 1, (0, 0, 0, 0))

    label = minutes_label(state.minutes, state.level)
    show_badge = state.level not in ("idle", "offline") and state.count > 0
    if size < 24:
        # Too small for two numbers: the minutes fill the tile, the count becomes pips along the bottom edge.
        scale = 1
        while text_size(label, scale + 1)[0] <= size - 2 and text_size(label, scale + 1)[1] <= size - 6:
            scale += 1
        w, h = text_size(label, scale)
        draw_text(img, (size - w) // 2, 1 if show_badge else (size - h) // 2, label, scale, TEXT)
        if show_badge:
            pips = min(state.count, (size - 2) // 3)
            for i in range(pips):
                x = 2 + i * 3
                fill(img, x, size - 3, x + 1, size - 2, BADGE)
        return img

    scale = max(1, int(size * 0.55) // 5)
    while scale > 1 and text_size(label, scale)[0] > size - 4:
        scale -= 1
    w, h = text_size(label, scale)
    top = max(1, size // 12)
    draw_text(img, (size - w) // 2 if not show_badge else max(2, size // 10), top, label, scale, TEXT)
    if show_badge:
        badge = count_label(state.count)
        bscale = max(1, int(size * 0.3) // 5)
        bw, bh = text_size(badge, bscale)
        pad = max(1, bscale)
        x1, y1 = size - 1, size - 1
        x0, y0 = x1 - bw - 2 * pad + 1, y1 - bh - 2 * pad + 1
        fill(img, x0, y0, x1 - corner, y1, BADGE)
        fill(img, x0, y0, x1, y1 - corner, BADGE)
        draw_text(img, x0 + pad, y0 + pad, badge, bscale, TEXT)
    return img


def render_window(state: IconState, width: int, height: int) -> Image.Image:
    """An opaque RGB icon for a tray slot of exactly `width` x `height` px (pystray's xorg backend, whose window
    has no alpha and may not be square): the tile drawn natively at the slot's smaller side, centred on its color.

    pystray itself would squeeze whatever image it has into the slot with LANCZOS, which blurs the pixel font and
    turns transparent corners black.
    """
    width, height = max(1, int(width)), max(1, int(height))
    side = max(16, min(width, height))
    tile = render(state, side)
    img = Image.new("RGB", (width, height), COLORS.get(state.level, COLORS["offline"]))
    img.paste(tile, ((width - side) // 2, (height - side) // 2), tile)
    return img
