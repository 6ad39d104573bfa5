"""Minimal PDF writing and reading: sample documents and "signed" incremental updates."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

__all__ = ["info_update", "pdf_parts", "read_info"]

_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
_FILLER_FOOT = b"\nendstream\nendobj\n"
_FILLER_CHUNK = 1 << 20
_TAIL = 64 * 1024

_STARTXREF = re.compile(rb"startxref\s+(\d+)")
_SIZE = re.compile(rb"/Size\s+(\d+)")
_ROOT = re.compile(rb"/Root\s+(\d+\s+\d+\s+R)")
_ID = re.compile(rb"/ID\s*(\[[^\]]*\])")
_INFO = re.compile(rb"/Info\s+(\d+)\s+(\d+)\s+R")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\-]+")


def _literal(text: str) -> bytes:
    """A PDF string: literal when plain ASCII, else UTF-16BE hex with a BOM."""
    if text.isascii() and text.isprintable():
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        return f"({escaped})".encode("ascii")
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _name(key: str) -> bytes:
    if not _NAME_CHARS.fullmatch(key):
        raise ValueError(f"info key {key!r} is not a plain PDF name")
    return b"/" + key.encode("ascii")


def _page_objects(pages: int, text: str, page_size: tuple[float, float]) -> list[bytes]:
    """The bodies of objects 1..N: catalog, page tree, font, then page/content pairs."""
    width, height = page_size
    kids = " ".join(f"{4 + 2 * index} 0 R" for index in range(pages))
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode("ascii"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    # Helvetica in a Type1 font only covers Latin-1; anything else shows as "?".
    safe = text.encode("latin-1", "replace").decode("latin-1")
    for index in range(pages):
        escaped = safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = (
            f"BT /F1 18 Tf 72 {height - 96:g} Td ({escaped}) Tj "
            f"0 -28 Td (Page {index + 1} of {pages}) Tj ET\n"
        ).encode("latin-1")
        bodies.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:g} {height:g}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * index} 0 R >>".encode(
                "ascii"
            )
        )
        bodies.append(
            f"<< /Length {len(stream)} >>\nstream\n".encode("ascii") + stream + b"endstream"
        )
    return bodies


def _xref(offsets: list[int]) -> bytes:
    # Each entry is exactly 20 bytes, as the cross-reference table requires.
    lines = [f"xref\n0 {len(offsets) + 1}\n", "0000000000 65535 f \n"]
    lines.extend(f"{offset:010d} 00000 n \n" for offset in offsets)
    return "".join(lines).encode("ascii")


def _trailer(count: int, startxref: int, pad: int = 0) -> bytes:
    return (
        f"trailer\n<< /Size {count} /Root 1 0 R{' ' * pad} >>\nstartxref\n{startxref}\n%%EOF\n"
    ).encode("ascii")


def _filler_head(number: int, length: int) -> bytes:
    return f"{number} 0 obj\n<< /Length {length} >>\nstream\n".encode("ascii")


def pdf_parts(
    pages: int, text: str, page_size: tuple[float, float], size: int | None
) -> Iterator[bytes]:
    """Yield a PDF piece by piece; with ``size`` it is padded to exactly that many bytes.

    The padding is an unreferenced stream object placed after the pages; its
    payload is yielded in chunks so that very large samples never sit in memory.

    Raises:
        ValueError: If the arguments are out of range or ``size`` is smaller
            than the PDF without padding.
    """
    if pages < 1:
        raise ValueError(f"pages must be >= 1, got {pages}")
    if page_size[0] <= 0 or page_size[1] <= 0:
        raise ValueError(f"page_size must be positive, got {page_size!r}")
    objects = [
        f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
        for number, body in enumerate(_page_objects(pages, text, page_size), start=1)
    ]
    offsets: list[int] = []
    position = len(_HEADER)
    for obj in objects:
        offsets.append(position)
        position += len(obj)
    body_end = position

    filler: tuple[int, int] | None = None
    if size is not None:
        filler = _solve_filler(len(objects) + 1, body_end, size)

    yield _HEADER
    yield from objects
    if filler is None:
        yield _xref(offsets)
        yield _trailer(len(objects) + 1, body_end)
        return
    length, pad = filler
    number = len(objects) + 1
    offsets.append(body_end)
    yield _filler_head(number, length)
    # Spaces keep the padding inert and readable in a text editor.
    block = b" " * min(length, _FILLER_CHUNK)
    remaining = length
    while remaining:
        step = min(remaining, len(block))
        yield block[:step]
        remaining -= step
    yield _FILLER_FOOT
    xref_at = body_end + len(_filler_head(number, length)) + length + len(_FILLER_FOOT)
    yield _xref(offsets)
    yield _trailer(number + 1, xref_at, pad)


def _solve_filler(number: int, body_end: int, size: int) -> tuple[int, int]:
    """Find a filler length (and trailer padding) giving exactly ``size`` bytes."""
    xref_len = len(_xref([0] * number))

    def total(length: int, pad: int) -> int:
        xref_at = body_end + len(_filler_head(number, length)) + length + len(_FILLER_FOOT)
        return xref_at + xref_len + len(_trailer(number + 1, xref_at, pad))

    smallest = total(0, 0)
    if size < smallest:
        raise ValueError(f"size {size} is too small: this PDF needs at least {smallest} bytes")
    # total() grows strictly with the length, but jumps by more than one byte
    # where /Length or startxref gains a digit; spaces in the trailer
    # dictionary (after every offset) fill the gap.
    for pad in range(4):
        low, high = 0, size
        while low <= high:
            middle = (low + high) // 2
            value = total(middle, pad)
            if value == size:
                return middle, pad
            if value < size:
                low = middle + 1
            else:
                high = middle - 1
    raise AssertionError(f"no padding reaches {size} bytes")  # pragma: no cover


def _trailer_dict(read_at: Callable[[int, int], bytes], size: int) -> tuple[bytes, int, bytes]:
    """The last trailer dictionary, the last ``startxref`` value, and the file's last byte."""
    tail_start = max(0, size - _TAIL)
    tail = read_at(tail_start, size - tail_start)
    matches = list(_STARTXREF.finditer(tail))
    if not matches:
        raise ValueError("no startxref found: not a complete PDF")
    last = matches[-1]
    prev = int(last.group(1))
    at_prev = read_at(prev, _TAIL)
    if at_prev.lstrip().startswith(b"xref"):
        keyword = tail.rfind(b"trailer", 0, last.start())
        if keyword < 0:
            raise ValueError("no trailer found: not a complete PDF")
        source = tail[keyword : last.start()]
    else:
        # A cross-reference stream: its dictionary is the trailer.
        end = at_prev.find(b"stream")
        source = at_prev if end < 0 else at_prev[:end]
    return source, prev, tail[-1:]


def info_update(read_at: Callable[[int, int], bytes], size: int, info: Mapping[str, str]) -> bytes:
    """The bytes to append to a PDF so that its Info dictionary holds ``info``.

    This is a PDF incremental update: a new Info object, a one-entry
    cross-reference section and a trailer whose ``/Prev`` points at the
    original's, so the original bytes stay untouched as a prefix.

    Args:
        read_at: Reads ``length`` bytes at ``offset`` of the original.
        size: The original's size in bytes.
        info: Info entries; keys are plain PDF names (``Producer``).

    Raises:
        ValueError: If the original has no readable trailer.
    """
    source, prev, last_byte = _trailer_dict(read_at, size)
    size_match, root_match = _SIZE.search(source), _ROOT.search(source)
    if size_match is None or root_match is None:
        raise ValueError("trailer lacks /Size or /Root")
    number = int(size_match.group(1))
    id_match = _ID.search(source)
    separator = b"" if last_byte in (b"\n", b"\r") else b"\n"
    entries = b" ".join(_name(key) + b" " + _literal(value) for key, value in info.items())
    obj = f"{number} 0 obj\n".encode("ascii") + b"<< " + entries + b" >>\nendobj\n"
    obj_at = size + len(separator)
    xref_at = obj_at + len(obj)
    trailer = (
        b"xref\n"
        # The "0 1" free-entry subsection keeps strict readers from guessing
        # that the table is misnumbered.
        + f"0 1\n0000000000 65535 f \n{number} 1\n{obj_at:010d} 00000 n \n".encode("ascii")
        + b"trailer\n<< /Size "
        + str(number + 1).encode("ascii")
        + b" /Root "
        + root_match.group(1)
        + f" /Info {number} 0 R /Prev {prev}".encode("ascii")
        + (b" /ID " + id_match.group(1) if id_match else b"")
        + f" >>\nstartxref\n{xref_at}\n%%EOF\n".encode("ascii")
    )
    return separator + obj + trailer


def _parse_literal(data: bytes, start: int) -> tuple[bytes, int]:
    """Parse a literal string whose "(" is at ``start``; return bytes and end index."""
    out = bytearray()
    depth, index = 0, start
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    while index < len(data):
        byte = data[index]
        if byte == 0x5C:  # backslash
            following = data[index + 1] if index + 1 < len(data) else None
            if following is None:
                break
            if following in escapes:
                out += escapes[following]
                index += 2
            elif 0x30 <= following <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", data[index + 1 : index + 4])
                assert digits is not None
                out.append(int(digits.group(), 8) & 0xFF)
                index += 1 + len(digits.group())
            elif following in (0x0A, 0x0D):
                index += 2  # a line continuation
            else:
                out.append(following)
                index += 2
            continue
        if byte == 0x28:
            depth += 1
            if depth > 1:
                out.append(byte)
        elif byte == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), index + 1
            out.append(byte)
        else:
            out.append(byte)
        index += 1
    raise ValueError("unterminated string")


def _decode_text(raw: bytes) -> str:
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", "replace")
    return raw.decode("latin-1")


def read_info(pdf: bytes) -> dict[str, str]:
    """The string entries of a PDF's Info dictionary (``{}`` when it has none).

    Only the last revision's trailer is consulted, which is the one that
    counts; entries that are not strings are skipped.

    Raises:
        ValueError: If the PDF has no readable trailer.
    """

    def read_at(offset: int, length: int) -> bytes:
        return pdf[offset : offset + length]

    source, _, _ = _trailer_dict(read_at, len(pdf))
    info_ref = _INFO.search(source)
    if info_ref is None:
        return {}
    number, generation = info_ref.group(1), info_ref.group(2)
    header = re.compile(rb"(?<![0-9])" + number + rb"\s+" + generation + rb"\s+obj")
    matches = list(header.finditer(pdf))
    if not matches:
        return {}
    start = pdf.find(b"<<", matches[-1].end())
    end = pdf.find(b"endobj", start)
    body = pdf[start + 2 : end]
    result: dict[str, str] = {}
    index = 0
    name_re = re.compile(rb"/([^\s/<>\[\]()]+)\s*")
    while (found := name_re.search(body, index)) is not None:
        key = found.group(1).decode("latin-1")
        index = found.end()
        if body[index : index + 1] == b"(":
            raw, index = _parse_literal(body, index)
            result[key] = _decode_text(raw)
        elif body[index : index + 1] == b"<" and body[index : index + 2] != b"<<":
            close = body.index(b">", index)
            hex_digits = re.sub(rb"\s", b"", body[index + 1 : close])
            if len(hex_digits) % 2:
                hex_digits += b"0"
            result[key] = _decode_text(bytes.fromhex(hex_digits.decode("ascii")))
            index = close + 1
    return result
