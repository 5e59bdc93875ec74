"""A real browser for the tests: Debian's Chromium, headless, driven by Playwright, offline; and
axe-core's verdict on a page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("STUDENTGROUPS_CHROMIUM", "/usr/bin/chromium")
# As root, on a machine with no network but the package registries: no sandbox, nothing that
# would reach for Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Not a skip: `make test` installs Debian's chromium where it is missing, and CI must run this.
    assert shutil.which(CHROMIUM) or os.path.exists(CHROMIUM), (
        f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


SCREENSHOTS = os.environ.get("STUDENTGROUPS_SCREENSHOTS")
"""Where `make screenshots` wants the pages' pictures (unset: the tests take none)."""


def screenshot(page: Page, name: str) -> None:
    """The page as it looks, into docs/console/NAME.png, when `make screenshots` runs the tests."""
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def serious_accessibility_faults(page: Page) -> tuple[list[tuple[str, str, int]], str]:
    """axe-core's serious and critical violations on the page (rule, impact, how many nodes),
    and its whole report, to show when there are any."""
    results = Axe().run(page)
    serious = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    return serious, results.generate_report()
