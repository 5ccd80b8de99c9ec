"""Draw the volunteers' app icons (PNG, with Pillow) into volunteer_api/webapp/static/icons/.

A white building under a check mark on the app's green; the maskable one keeps the drawing inside the
central 80 % safe zone that launchers may crop to a circle. Run again after changing the drawing.
"""
from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "volunteer_api" / "webapp" / "static" / "icons"
GREEN = (11, 93, 59, 255)
WHITE = (255, 255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # draw large, then shrink: smooth edges
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=GREEN)
        inset = big * 0.2
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.22, fill=GREEN)
        inset = big * 0.14

    def at(x: float, y: float) -> tuple[float, float]:
        """A point of the 100 × 100 drawing, placed inside the inset."""
        span = big - 2 * inset
        return inset + x / 100 * span, inset + y / 100 * span

    # The building: a block with a roof line and windows.
    pen.rectangle((*at(18, 44), *at(82, 92)), fill=WHITE)
    pen.polygon([at(12, 46), at(50, 26), at(88, 46)], fill=WHITE)
    for row in (54, 70):
        for column in ((26, 44, 62) if row == 54 else (26, 62)):
            pen.rectangle((*at(column, row), *at(column + 11, row + 10)), fill=GREEN)
    pen.rectangle((*at(43, 72), *at(57, 92)), fill=GREEN)  # the door
    # The check mark above it.
    pen.line([at(30, 12), at(44, 22), at(72, 0)], fill=WHITE, width=int(big * 0.06), joint="curve")
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(ICONS / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(ICONS / "icon-maskable-512.png", optimize=True)
    print(f"icons written to {ICONS}")


if __name__ == "__main__":
    main()
