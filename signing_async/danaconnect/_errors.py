"""How DANAconnect's error answers map to exceptions: by HTTP status alone."""

from __future__ import annotations

from .._core.error_mapping import ErrorMapper

__all__ = ["ERRORS", "PROVIDER"]

PROVIDER = "DANAconnect"

ERRORS = ErrorMapper(PROVIDER)
