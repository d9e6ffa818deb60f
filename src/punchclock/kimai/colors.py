"""Colours and initials derived the way Kimai derives them."""

from __future__ import annotations

from functools import lru_cache

# The configured colour choices (name -> hex), in order: GET /api/config/colors.
COLOR_CHOICES: dict[str, str] = {
    "Silver": "#c0c0c0",
    "Gray": "#808080",
    "Black": "#000000",
    "Maroon": "#800000",
    "Brown": "#a52a2a",
    "Red": "#ff0000",
    "Orange": "#ffa500",
    "Gold": "#ffd700",
    "Yellow": "#ffff00",
    "Peach": "#ffdab9",
    "Khaki": "#f0e68c",
    "Olive": "#808000",
    "Lime": "#00ff00",
    "Jelly": "#9acd32",
    "Green": "#008000",
    "Teal": "#008080",
    "Aqua": "#00ffff",
    "LightBlue": "#add8e6",
    "DeepSky": "#00bfff",
    "Dodger": "#1e90ff",
    "Blue": "#0000ff",
    "Navy": "#000080",
    "Purple": "#800080",
    "Fuchsia": "#ff00ff",
    "Violet": "#ee82ee",
    "Rose": "#ffe4e1",
    "Lavender": "#E6E6FA",
}

# The fallback palette for entities without a colour, indexed by a checksum of the name.
_SAFE_PALETTE = [
    "#AAAAAA",
    "#DDDDDD",
    "#a972c9",
    "#9C27B0",
    "#673AB7",
    "#041fd1",
    "#5319e7",
    "#3F51B5",
    "#0074D9",
    "#2196F3",
    "#03A9F4",
    "#7FDBFF",
    "#39CCCC",
    "#00BCD4",
    "#006b75",
    "#009688",
    "#00bb32",
    "#4CAF50",
    "#3D9970",
    "#2ECC40",
    "#01FF70",
    "#8BC34A",
    "#CDDC39",
    "#FFDC00",
    "#FFC107",
    "#FF851B",
    "#FF9800",
    "#FF5722",
    "#f41a00",
    "#E91E63",
    "#85144b",
    "#b60205",
    "#FF4136",
    "#cc317c",
    "#F012BE",
    "#d82d80",
    "#B10DC9",
    "#e135f4",
    "#2d3748",
    "#4a5568",
    "#718096",
]

DEFAULT_COLOR = "#d2d6de"


def visible_color(color: str | None) -> str | None:
    """The ``color`` field: null when unset or Kimai's neutral default."""
    return None if not color or color == DEFAULT_COLOR else color


@lru_cache(maxsize=4096)
def safe_color(color: str | None, name: str) -> str:
    """The ``color-safe`` field: the colour, or one picked from the palette by the name's ASCII bytes."""
    shown = visible_color(color)
    if shown:
        return shown
    checksum = sum(byte for byte in name.encode() if byte < 128)
    return _SAFE_PALETTE[checksum % len(_SAFE_PALETTE)]


def initials(display_name: str) -> str:
    name = display_name
    if "@" in name:
        name = name.split("@", 1)[0].replace(".", " ")
    words = name.split()
    result = name.strip()[:2] if len(words) <= 1 else "".join(word[0] for word in words)[:2]
    return result.upper()
