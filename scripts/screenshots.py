"""Regenerate docs/screenshots/: every main page, desktop and phone, English and Arabic, named
<page>.<language>.<desktop|phone>.png, taken by the browser tests.

    make screenshots        (or .venv/bin/python scripts/screenshots.py)

The old PNGs are removed first, so a page that is no longer shot leaves no stale picture.
Each new one is reduced to a 256-colour palette with Pillow (already a dependency, for PDF
images): a page of flat colours and text loses nothing visible, and the files shrink to about
a third of Chromium's. Needs Debian's Chromium at /usr/bin/chromium (Playwright
never downloads a browser here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "docs" / "screenshots"
TEST = "tests/test_web_browser.py::test_screenshots_of_every_page"


def optimise(png: Path) -> None:
    """Rewrite `png` as a 256-colour palette image, without dithering (which would speckle
    the flat backgrounds and cost bytes), with zlib's best compression."""
    with Image.open(png) as image:
        palette = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    palette.save(png, optimize=True)


def main() -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for old in FOLDER.glob("*.png"):
        old.unlink()
    env = {**os.environ, "FACTPOST_SCREENSHOTS": str(FOLDER)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             TEST], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        return result.returncode
    shots = sorted(FOLDER.glob("*.png"))
    for png in shots:
        optimise(png)
    size = sum(png.stat().st_size for png in shots)
    print(f"{len(shots)} screenshots, {size / 1e6:.1f} MB, in {FOLDER.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
