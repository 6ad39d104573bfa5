"""Take the README's screenshot of the sandbox console: ``python docs/screenshots.py [PNG]``.

It starts a sandbox, fills it through the SDK with a circuit, two DANAsign
documents and an OTP transaction, opens ``/`` in headless Chromium (Debian's
``chromium`` and ``chromium-driver``) and saves the page to ``PNG``
(``docs/images/console.png`` by default).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import signing_async as sa  # noqa: E402 - after the path above
from signing_async.sandbox import samples  # noqa: E402
from tests.console.live import LiveSandbox, live_sandbox, start_chromium  # noqa: E402

PDF = samples.make_pdf(text="Contract")


async def fill(live: LiveSandbox) -> None:
    """Give the console something to show."""
    signers = [
        sa.Signer(role="Client", name="Ana Pérez", email="ana@example.com"),
        sa.Signer(role="Provider", name="Luis Gómez", email="luis@example.com"),
    ]
    widget = sa.Widget(type="signature", page=1, x=72, y=520, w=220, h=60)
    async with live.sandbox.client() as client:
        circuit = await client.circuits.start(
            id="order-1001",
            signer=sa.CircuitSigner(name="Ana Pérez", email="ana@example.com", nif="12345678Z"),
            docs=[sa.Document(PDF, "contract.pdf"), sa.Document(PDF, "annex.pdf")],
        )
        await live.sandbox.complete_circuit(circuit.circuit_id)
        await client.contacts.create(name="Luis Gómez", email="luis@example.com")
        for title, external_id in (("Lease", "lease-7"), ("Service contract", "svc-42")):
            await client.documents.create(
                file=PDF,
                title=title,
                signers=signers,
                placeholders=[sa.Placeholder(role=s.role, widgets=[widget]) for s in signers],
                settings=sa.DocumentSettings(send_in_order=True),
                metadata=sa.DocumentMetadata(external_id=external_id),
            )
        await client.otp_signatures.create(
            transaction_id="txn-2024-001",
            user_selfie=samples.make_jpeg(),
            image_front=samples.make_png(),
            document_sign=PDF,
            phone="+57 300 123 4567",
            email="ana@example.com",
        )


def main(target: Path) -> None:
    """Fill a sandbox, open the console and save its screenshot to ``target``."""
    with live_sandbox() as live, tempfile.TemporaryDirectory() as downloads:
        live.run(lambda: fill(live))
        browser = start_chromium(Path(downloads))
        try:
            browser.set_window_size(1366, 1000)
            browser.get(f"{live.url}/")
            browser.save_screenshot(str(target))
        finally:
            browser.quit()
    print(target)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "console.png")
