"""Reconciling a contact batch's counts with lookups: a pure decision, no server."""

from __future__ import annotations

import signing_async as sa
from signing_async.danasign._batch import needs_lookup, reconcile
from signing_async.danasign._models import BatchResult

A = sa.NewContact(name="Ana", email="ana@example.com")
B = sa.NewContact(name="Bo", email="bo@example.com")
C = sa.NewContact(name="Cy", email="cy@example.com")


def test_counts_that_settle_every_item_need_no_lookup() -> None:
    assert not needs_lookup(BatchResult(success=3, failed=0), 3)
    assert not needs_lookup(BatchResult(success=0, failed=3), 3)
    assert needs_lookup(BatchResult(success=2, failed=1), 3)
    assert needs_lookup(BatchResult(success=2, failed=0), 3)  # one unaccounted for


def test_all_created() -> None:
    assert reconcile([A, B], BatchResult(success=2)) == [A, B]


def test_all_refused_each_item_carries_the_refusal() -> None:
    outcomes = reconcile([A, B], BatchResult(failed=2))
    assert all(isinstance(outcome, sa.APIError) for outcome in outcomes)
    assert "was not created" in str(outcomes[0])


def test_exactly_as_many_found_as_created_confirms_them() -> None:
    outcomes = reconcile([A, B, C], BatchResult(success=2, failed=1), [True, False, True])
    assert outcomes[0] == A
    assert outcomes[2] == C
    assert isinstance(outcomes[1], sa.APIError)
    assert "it is not there" in str(outcomes[1])


def test_more_found_than_created_leaves_the_found_ones_uncertain() -> None:
    outcomes = reconcile([A, B, C], BatchResult(success=1, failed=2), [True, True, False])
    assert [type(outcome) for outcome in outcomes] == [
        sa.SigningError,
        sa.SigningError,
        sa.APIError,
    ]
    assert "may have existed before the batch" in str(outcomes[0])


def test_a_failed_lookup_leaves_its_item_uncertain_and_nothing_confirmed() -> None:
    outcomes = reconcile(
        [A, B], BatchResult(success=1, failed=1), [True, sa.ConnectError("refused")]
    )
    assert type(outcomes[0]) is sa.SigningError  # not confirmed: the count cannot be checked
    assert type(outcomes[1]) is sa.SigningError
    assert "looking 'bo@example.com' up failed" in str(outcomes[1])


def test_inconsistent_counts_confirm_nothing() -> None:
    outcomes = reconcile([A, B], BatchResult(success=1, failed=0), [True, False])
    assert type(outcomes[0]) is sa.SigningError
    assert isinstance(outcomes[1], sa.APIError)
