"""What each item of a contact batch became, from the batch's counts: a pure decision.

The batch endpoint answers only how many contacts it created and how many
it refused, not which. When the counts settle it (all created, all refused)
nothing more is needed; otherwise every contact is looked up by e-mail and
:func:`reconcile` weighs what was found (see ``Contacts.create_many``).
"""

from __future__ import annotations

from collections.abc import Sequence

from .._core.errors import APIError, SigningError
from ._errors import PROVIDER
from ._models import BatchResult
from ._requests import NewContact

__all__ = ["needs_lookup", "reconcile"]

Found = bool | Exception
"""Whether a contact was found after the batch, or why looking it up failed."""


def needs_lookup(result: BatchResult, size: int) -> bool:
    """Whether the counts leave some item's fate open (the contacts must be looked up)."""
    settled = (result.failed == 0 and result.success == size) or (
        result.success == 0 and result.failed == size
    )
    return not settled


def reconcile(
    contacts: Sequence[NewContact], result: BatchResult, found: Sequence[Found] = ()
) -> list[NewContact | Exception]:
    """Each contact's outcome: the contact created, or why it was not (or may not be).

    Args:
        contacts: The batch, in order.
        result: The batch answer's counts.
        found: For each contact, whether a lookup after the batch found it
            (or the lookup's error); needed only when :func:`needs_lookup`.
    """
    size = len(contacts)
    operation = f"create {size} contacts"
    counts = f"the batch answer says {result.success} created and {result.failed} failed"
    if result.failed == 0 and result.success == size:
        return list(contacts)
    if result.success == 0 and result.failed == size:
        return [_refused(operation, counts, result) for _ in contacts]
    consistent = result.success + result.failed == size
    # Exactly ``success`` found: those are the ones created (a refused item
    # creates nothing). More found: some existed before and nobody can say which.
    confirmed = (
        consistent
        and not any(isinstance(exists, Exception) for exists in found)
        and sum(exists is True for exists in found) == result.success
    )
    answers: list[NewContact | Exception] = []
    for contact, exists in zip(contacts, found, strict=True):
        if isinstance(exists, Exception):
            answers.append(
                SigningError(
                    f"{PROVIDER} {operation}: {counts} without saying which, and looking"
                    f" {contact.email!r} up failed ({exists}); check whether it exists,"
                    " then run again with on_uncertain='resend' if it does not"
                )
            )
        elif not exists:
            answers.append(_refused(operation, f"{counts}, and it is not there", result))
        elif confirmed:
            answers.append(contact)
        else:
            answers.append(
                SigningError(
                    f"{PROVIDER} {operation}: {counts} without saying which; a contact"
                    f" {contact.email!r} exists but may have existed before the batch"
                )
            )
    return answers


def _refused(operation: str, counts: str, result: BatchResult) -> APIError:
    # The batch request itself succeeded; the provider refused this item in it.
    return APIError(
        f"{counts}: this contact was not created (DANAsign gives no reason;"
        " a contact with this e-mail existing already is the usual one)",
        status=200,
        provider=PROVIDER,
        operation=operation,
        body={"success": result.success, "failed": result.failed, **result.raw},
    )
