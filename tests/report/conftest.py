"""A real browser for the report tests: Debian's chromium, by playwright (skipped if absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def playwright_api() -> Any:
    """``playwright.sync_api``, or a skip when chromium or playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install -y chromium)")
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture
def page_1280(playwright_api: Any) -> Iterator[Any]:
    """A fresh browser page 1280 px wide (800 px high), closed after the test."""
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 800})
        finally:
            browser.close()
