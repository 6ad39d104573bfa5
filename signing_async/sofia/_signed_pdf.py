"""The check a downloaded signed PDF must pass before it is moved into place.

Two things are checked, in a worker thread, on the complete temporary file:

1. it starts with the ``%PDF-`` magic number;
2. when an expected signature hash is known (an :class:`OtpSignature` was
   given) and pypdf is installed (extra ``[pdf]``, imported only here), the
   document-info entry ``/SignatureHash`` of the PDF's last revision, when
   present, must equal it (both stripped of surrounding whitespace, compared
   exactly).

A PDF that pypdf cannot parse at all is rejected when a hash was to be
checked; an encrypted one whose metadata cannot be opened without a password,
or one without a ``/SignatureHash`` entry, is accepted unverified. Every
outcome is logged at INFO, and :attr:`SignedPdfCheck.verified` tells the caller.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .._core.validation import PDF_MAGIC

__all__ = ["HASH_KEY", "SignedPdfCheck"]

logger = logging.getLogger("signing_async")

HASH_KEY = "/SignatureHash"
"""The document-info key under which S.O.F.I.A. embeds the signature hash."""


class _CannotVerify(Exception):
    """The PDF may be fine, but its metadata cannot be read without more (a password)."""


class SignedPdfCheck:
    """A ``write_atomically`` check for a signed PDF; see the module docstring.

    Args:
        expected_hash: ``OtpSignature.signature_hash``, or None when unknown.
        what: Names the download in log records.

    Attributes:
        verified: Set to True once the embedded hash was found equal to the expected one.
    """

    def __init__(self, expected_hash: str | None, *, what: str) -> None:
        self.expected_hash = expected_hash.strip() if expected_hash else None
        self.what = what
        self.verified = False

    def __call__(self, path: Path) -> str | None:
        """Inspect the complete download; return what is wrong with it, or None."""
        with path.open("rb") as file:
            head = file.read(len(PDF_MAGIC))
        if head != PDF_MAGIC:
            return "the answer is not a PDF (it does not start with %PDF-)"
        if self.expected_hash is None:
            logger.info("%s: PDF header checked; no signature hash to compare with", self.what)
            return None
        try:
            import pypdf  # noqa: F401 - only probing whether the optional extra is there
        except ImportError:
            logger.info(
                "%s: PDF header checked; signature hash NOT checked "
                "(install signing-async[pdf] for pypdf)",
                self.what,
            )
            return None
        try:
            found = _embedded_hash(path)
        except _CannotVerify as exc:
            logger.info("%s: PDF header checked; signature hash NOT checked: %s", self.what, exc)
            return None
        except Exception as exc:  # pypdf raises many types on malformed files
            return f"the signed PDF cannot be read to check its signature hash: {exc}"
        if found is None:
            logger.info(
                "%s: PDF header checked; the PDF carries no %s, so the hash was not checked",
                self.what,
                HASH_KEY,
            )
            return None
        if found.strip() != self.expected_hash:
            return (
                f"the PDF's {HASH_KEY} {found.strip()!r} does not match "
                f"the signature hash {self.expected_hash!r}"
            )
        self.verified = True
        logger.info(
            "%s: PDF header checked; embedded %s matches the signature hash",
            self.what,
            HASH_KEY,
        )
        return None


def _embedded_hash(path: Path) -> str | None:
    """The ``/SignatureHash`` document-info entry, or None when there is none."""
    from pypdf import PdfReader
    from pypdf.generic import ByteStringObject

    # An open file, not the path: given a path, pypdf reads the whole file into memory.
    with path.open("rb") as file:
        reader = PdfReader(file, strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # missing crypto backend, unsupported algorithm
                raise _CannotVerify(f"the PDF is encrypted ({exc})") from exc
            if not opened:
                raise _CannotVerify("the PDF is encrypted with a user password")
        info = reader.metadata
        if info is None:
            return None
        value = info.get(HASH_KEY)
        if value is None:
            return None
        value = value.get_object()
        if isinstance(value, ByteStringObject):
            return bytes(value).decode("latin-1")
        return str(value)
