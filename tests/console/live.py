"""A sandbox on a loopback port, run by an event loop in a thread of its own.

Selenium blocks while the browser loads a page; the sandbox must keep
answering meanwhile, so it runs on a loop in another thread, and the SDK's
calls run on that loop too (a client belongs to the loop it first ran in).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from signing_async.sandbox import Sandbox

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "apt-get install -y chromium chromium-driver"


class LiveSandbox:
    """A started sandbox and a way to run coroutines on its loop."""

    def __init__(self, sandbox: Sandbox, loop: asyncio.AbstractEventLoop) -> None:
        self.sandbox = sandbox
        self.loop = loop

    @property
    def url(self) -> str:
        return self.sandbox.url

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
        """Run ``make()`` on the sandbox's loop and return its result."""

        async def call() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)


@contextmanager
def live_sandbox() -> Iterator[LiveSandbox]:
    """Start a sandbox in a thread; stop it and its loop on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sandbox", daemon=True)
    thread.start()
    sandbox = Sandbox()
    live = LiveSandbox(sandbox, loop)
    try:
        live.run(sandbox.start)
        yield live
    finally:
        live.run(sandbox.aclose)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def missing_browser() -> str | None:
    """What is missing to drive Chromium, said as what to install, or ``None``."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -e '.[test]'"
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            return f"{path} is missing: install Chromium and its driver ({INSTALL}, as root)"
    return None


def start_chromium(downloads: Path) -> Any:
    """A headless Chromium under Selenium, from Debian's packages (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # Chromium refuses to run as root otherwise
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,900",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    # Anything the browser saves lands in a folder the caller made, never here.
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
