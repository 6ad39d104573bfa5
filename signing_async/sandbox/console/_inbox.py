"""``/inbox`` — every one-time code the sandbox "sent", like a mail catcher."""

from __future__ import annotations

from aiohttp import web

from .._sofia import MAX_ATTEMPTS, SOFIA, Transaction
from ._html import page, table, text

__all__ = ["inbox"]


def _state(transaction: Transaction) -> str:
    if transaction.signed is not None:
        return "used: the document is signed"
    if transaction.locked:
        return f"locked after {MAX_ATTEMPTS} wrong codes"
    left = MAX_ATTEMPTS - transaction.failed_attempts
    return f"not used yet ({left} attempts left)"


async def inbox(request: web.Request) -> web.StreamResponse:
    """``GET /inbox`` — the codes, newest first, with where they went and their state."""
    transactions = reversed(request.app[SOFIA].transactions.values())
    rows = (
        [
            text(t.created_at),
            f"SMS to {text(t.phone)}<br>e-mail to {text(t.email)}",
            text(t.transaction_id),
            f'<code class="otp" data-transaction="{text(t.transaction_id)}">{text(t.otp)}</code>',
            "never (the sandbox keeps codes until it is reset)",
            text(_state(t)),
        ]
        for t in transactions
    )
    body = (
        "<p>The one-time codes S.O.F.I.A. would send to each signer's phone and e-mail."
        " Sign with one through <code>client.otp_signatures.sign(transaction_id, code)</code>.</p>"
        + table(
            "One-time codes, newest first",
            ("Sent", "To", "Transaction", "Code", "Expires", "State"),
            rows,
            empty="No codes sent yet: create a transaction with client.otp_signatures.create(...).",
        )
    )
    return page("OTP inbox", body, current="/inbox")
