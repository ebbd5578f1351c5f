"""Refresh docs/screenshots/*.png: runs the browser tests with screenshots kept in the repository.

    .venv/bin/python scripts/screenshots.py

Needs Debian's Chromium at /usr/bin/chromium (Playwright never downloads a browser here).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    folder = ROOT / "docs" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FACTPOST_SCREENSHOTS": str(folder)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/test_web_browser.py"], cwd=ROOT, env=env, check=False)
    if result.returncode == 0:
        print(f"screenshots written to {folder.relative_to(ROOT)}/")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
