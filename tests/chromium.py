"""Debian's Chromium for the browser tests, launched through Playwright (which never downloads
a browser here). Under CI a missing Chromium fails the test; elsewhere it skips, with how to
install it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def launched() -> Iterator:
    """A headless Chromium (a Playwright Browser), closed on exit."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium package to run the "
                    "browser tests (Playwright never downloads a browser here)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()
