"""Each anyio test in this directory runs on the backend its id names."""

from __future__ import annotations

import pytest
import sniffio

pytestmark = pytest.mark.anyio


async def test_runs_on_the_backend_it_is_named_after(anyio_backend: str) -> None:
    # Were pytest-asyncio in auto mode, it would run the [trio] variant on asyncio.
    assert sniffio.current_async_library() == anyio_backend
