"""Draw the app's icons (web/static/icons/): a green tile with a leaf, in the sizes the web manifest names.

Run once after changing the drawing: .venv/bin/python scripts/make_icons.py (the PNGs are committed)."""
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "web" / "static" / "icons"
GREEN, LEAF, VEIN = (46, 125, 50), (200, 230, 201), (46, 125, 50)


def icon(size, maskable=False):
    scale = 4  # drawn large, then shrunk: smooth edges
    big = size * scale
    image = Image.new("RGB", (big, big), GREEN)
    draw = ImageDraw.Draw(image)
    pad = big * (0.26 if maskable else 0.18)  # a maskable icon keeps its drawing in the safe circle
    box = (pad, pad, big - pad, big - pad)
    draw.ellipse((box[0], box[1] + (box[3] - box[1]) * 0.12, box[2] - (box[2] - box[0]) * 0.12, box[3]), fill=LEAF)
    draw.ellipse((box[0] + (box[2] - box[0]) * 0.12, box[1], box[2], box[3] - (box[3] - box[1]) * 0.12), fill=LEAF)
    draw.line((box[0] + big * 0.04, box[3] - big * 0.04, box[2] - big * 0.12, box[1] + big * 0.12),
              fill=VEIN, width=max(2, big // 40))
    return image.resize((size, size), Image.LANCZOS)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size).save(OUT / f"icon-{size}.png", optimize=True)
    icon(512, maskable=True).save(OUT / "maskable-512.png", optimize=True)
    icon(180).save(OUT / "apple-touch-icon.png", optimize=True)
    for path in sorted(OUT.glob("*.png")):
        print(path.name, path.stat().st_size, "bytes")
