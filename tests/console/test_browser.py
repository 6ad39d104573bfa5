"""Click through the sandbox console in a real, headless Chromium.

Each test drives the SDK against a sandbox started here, does in the browser
what a developer would, and saves screenshots of the pages it saw.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import signing_async as sa
from signing_async.sandbox import samples

from .live import LiveSandbox

PDF = samples.make_pdf(pages=2, text="Contract")
SIGNER = sa.CircuitSigner(name="Ana Pérez", email="ana@example.com", nif="12345678Z")


def _by(kind: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def shot(browser: Any, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    assert browser.save_screenshot(str(path)), path
    assert path.stat().st_size > 0


def button(browser: Any, label: str) -> Any:
    return browser.find_element(_by("XPATH"), f"//button[normalize-space()='{label}']")


def main_text(browser: Any) -> str:
    return str(browser.find_element(_by("TAG_NAME"), "main").text)


@contextmanager
def navigating(browser: Any) -> Iterator[None]:
    """Wait, after the block's click or key, until the next page has replaced this one.

    Reading the page right after a form is sent would read the old page, or
    an element the new page has just thrown away (a stale element). While
    the old page is being torn down, chromedriver may answer a question
    about it with "unhandled inspector error" instead of "stale": that is
    the same moment, so the wait asks again rather than failing.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(_by("TAG_NAME"), "html")
    yield
    # 30 s is a bound on a hang, not a measure.
    wait = WebDriverWait(browser, 30, ignored_exceptions=(WebDriverException,))
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda b: b.execute_script("return document.readyState") == "complete")


def test_sign_a_circuit_from_its_link(
    live: LiveSandbox, browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    async def start() -> sa.Circuit:
        async with live.sandbox.client() as client:
            return await client.circuits.start(
                id="order-1", signer=SIGNER, docs=sa.Document(PDF, "contract.pdf")
            )

    circuit = live.run(start)
    browser.get(circuit.link)
    assert browser.find_element(_by("TAG_NAME"), "h1").text == f"Circuit {circuit.circuit_id}"
    assert "contract.pdf" in main_text(browser)
    shot(browser, screenshots, "circuit-signer-page")
    with navigating(browser):
        button(browser, "Sign the documents").click()
    assert "The documents are signed." in main_text(browser)

    async def download() -> sa.DownloadedFile:
        async with live.sandbox.client() as client:
            return await client.circuits.download_to(circuit.circuit_id, tmp_path / "signed.zip")

    downloaded = live.run(download)
    assert downloaded.size > len(PDF)
    browser.get(f"{live.url}/")
    assert "Signed ZIP" in main_text(browser)
    shot(browser, screenshots, "console")


def test_two_danasign_signers_sign_in_order(
    live: LiveSandbox, browser: Any, screenshots: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    signers = [
        sa.Signer(role="Client", name="Ana Pérez", email="ana@example.com"),
        sa.Signer(role="Provider", name="Luis Gómez", email="luis@example.com"),
    ]
    widget = sa.Widget(type="signature", page=1, x=72, y=520, w=220, h=60)

    async def create() -> sa.CreatedDocument:
        async with live.sandbox.client() as client:
            return await client.documents.create(
                file=PDF,
                title="Service contract",
                signers=signers,
                placeholders=[sa.Placeholder(role=s.role, widgets=[widget]) for s in signers],
                settings=sa.DocumentSettings(send_in_order=True),
            )

    async def listed(status: str) -> list[str]:
        async with live.sandbox.client() as client:
            return [d.document_id async for d in client.documents.list(status)]

    document = live.run(create)
    assert document.document_id in live.run(lambda: listed("sent"))
    page = f"{live.url}/sign/danasign/{document.document_id}"

    browser.get(f"{page}/Provider")
    assert "signers sign in order: Client signs first" in main_text(browser)
    assert not browser.find_elements(_by("XPATH"), "//button[normalize-space()='Sign']")

    browser.get(f"{page}/Client")
    shot(browser, screenshots, "danasign-first-signer")
    # By keyboard: focus the button and press Enter.
    sign = button(browser, "Sign")
    with navigating(browser):
        sign.send_keys(Keys.ENTER)
    assert "Client has already signed" in main_text(browser)
    assert document.document_id in live.run(lambda: listed("inprogress"))

    browser.get(f"{page}/Provider")
    with navigating(browser):
        button(browser, "Sign").click()
    shot(browser, screenshots, "danasign-last-signer")
    assert document.document_id in live.run(lambda: listed("completed"))
    assert document.document_id not in live.run(lambda: listed("sent"))


def test_read_the_otp_from_the_inbox_and_sign_with_it(
    live: LiveSandbox, browser: Any, screenshots: Path
) -> None:
    async def create() -> sa.OtpSignatureRequest:
        async with live.sandbox.client() as client:
            return await client.otp_signatures.create(
                transaction_id="txn-42",
                user_selfie=samples.make_jpeg(),
                image_front=samples.make_png(),
                document_sign=PDF,
                phone="+573001234567",
                email="ana@example.com",
            )

    live.run(create)
    browser.get(f"{live.url}/inbox")
    code = browser.find_element(_by("CSS_SELECTOR"), 'code[data-transaction="txn-42"]').text
    assert "+573001234567" in main_text(browser)
    shot(browser, screenshots, "otp-inbox")

    async def sign() -> sa.OtpSignature:
        async with live.sandbox.client() as client:
            return await client.otp_signatures.sign("txn-42", code)

    assert live.run(sign).status == "SIGNED"
    browser.refresh()
    assert "used: the document is signed" in main_text(browser)


def test_a_503_added_in_the_faults_form_shows_the_retry_in_the_request_log(
    live: LiveSandbox, browser: Any, screenshots: Path
) -> None:
    from selenium.webdriver.support.select import Select

    browser.get(f"{live.url}/faults")
    Select(browser.find_element(_by("ID"), "f-route")).select_by_value("danasign.contacts.create")
    browser.find_element(_by("ID"), "f-status").send_keys("503")
    browser.find_element(_by("ID"), "f-times").send_keys("1")
    with navigating(browser):
        button(browser, "Add the fault").click()
    assert "danasign.contacts.create" in main_text(browser)
    shot(browser, screenshots, "faults")

    async def create() -> sa.Contact:
        async with live.sandbox.client() as client:
            return await client.contacts.create(name="Ana Pérez", email="ana@example.com")

    assert live.run(create).email == "ana@example.com"
    browser.get(f"{live.url}/requests")
    Select(browser.find_element(_by("ID"), "route")).select_by_value("danasign.contacts.create")
    with navigating(browser):
        button(browser, "Filter").click()
    rows = browser.find_elements(_by("CSS_SELECTOR"), "main tbody tr")
    cells = [[td.text for td in row.find_elements(_by("TAG_NAME"), "td")] for row in rows]
    # Newest first: the retry that succeeded, then the injected 503.
    assert [(row[4], row[6]) for row in cells] == [("201", "—"), ("503", "status")], cells
    # The headers are on the page, the API token is not.
    assert "x-api-token" in browser.page_source
    assert live.sandbox.credentials.danasign_api_token not in browser.page_source
    shot(browser, screenshots, "requests")
