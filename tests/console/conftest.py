"""Fixtures of the browser tests: one headless Chromium per test session, a sandbox per test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .live import LiveSandbox, live_sandbox, missing_browser, start_chromium


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """The folder the browser tests save their screenshots in (printed once)."""
    folder = tmp_path_factory.mktemp("console-screenshots")
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"console screenshots: {folder}")
    return folder


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium; the tests fail, saying what to install, when there is none."""
    # Selenium logs every WebDriver call, screenshots included, at DEBUG.
    logging.getLogger("selenium").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    if (missing := missing_browser()) is not None:
        pytest.fail(f"the browser tests need Chromium: {missing}", pytrace=False)
    driver = start_chromium(tmp_path_factory.mktemp("browser-downloads"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def live() -> Iterator[LiveSandbox]:
    """A fresh sandbox on a loopback port, served from a thread of its own."""
    with live_sandbox() as sandbox:
        yield sandbox
