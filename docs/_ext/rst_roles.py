"""A griffe extension: the docstrings' reST roles, shown as code in the docs site.

The docstrings are Google style, but name other objects the Sphinx way
(``:class:`~signing_async.Document```), which Markdown would print as is.
Each role becomes inline code of the name a reader would type; a ``~``
prefix keeps only the last part, as Sphinx does.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj|const):`(~?)([^`]+)`")


def _as_code(match: re.Match[str]) -> str:
    short, name = match.groups()
    return f"`{name.rsplit('.', 1)[-1] if short else name}`"


class RstRoles(griffe.Extension):
    """Rewrites every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Walk the package's own objects (not aliases) and rewrite their docstrings."""
        pending: list[griffe.Object] = [pkg]
        while pending:
            obj = pending.pop()
            if obj.docstring is not None:
                obj.docstring.value = _ROLE.sub(_as_code, obj.docstring.value)
            pending.extend(member for member in obj.members.values() if not member.is_alias)
