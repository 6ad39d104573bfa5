"""Which async library schedules the running task."""

from __future__ import annotations

import sys

__all__ = ["in_trio_task"]


def in_trio_task() -> bool:
    """Whether trio schedules the running task (also when it runs inside asyncio's loop).

    trio-asyncio and trio's guest mode run trio on an asyncio loop: asking
    asyncio for its running loop would answer, and wrongly say asyncio.
    """
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
