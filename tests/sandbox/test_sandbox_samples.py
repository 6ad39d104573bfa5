"""Sample generators: valid PDFs of exact sizes, Info updates, PNG and JPEG."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pypdf
import pytest

from signing_async.sandbox import samples


def _reader(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data), strict=True)


def test_make_pdf_is_readable_with_pages_and_text() -> None:
    pdf = samples.make_pdf(3, text="Contrato de prueba")
    reader = _reader(pdf)
    assert pdf.startswith(b"%PDF-")
    assert len(reader.pages) == 3
    assert "Contrato de prueba" in reader.pages[0].extract_text()
    assert "Page 3 of 3" in reader.pages[2].extract_text()
    assert [float(v) for v in reader.pages[0].mediabox] == [0, 0, 595, 842]


def test_make_pdf_page_size() -> None:
    reader = _reader(samples.make_pdf(page_size=(612, 792)))
    assert [float(v) for v in reader.pages[0].mediabox] == [0, 0, 612, 792]


@pytest.mark.parametrize("size", [1_000, 1_203, 9_999, 10_000, 65_536, 1_000_001])
def test_make_pdf_padded_to_exact_size(size: int) -> None:
    pdf = samples.make_pdf(2, size=size)
    assert len(pdf) == size
    assert len(_reader(pdf).pages) == 2


def test_every_size_near_the_minimum_is_reachable() -> None:
    # The padding object itself takes some room beyond the unpadded PDF.
    smallest = len(samples.make_pdf()) + 100
    # Sizes where /Length or startxref gain a digit are the tricky ones.
    for size in range(smallest, smallest + 1_200):
        assert len(samples.make_pdf(size=size)) == size


def test_make_pdf_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="too small"):
        samples.make_pdf(size=100)
    with pytest.raises(ValueError, match="pages"):
        samples.make_pdf(0)
    with pytest.raises(ValueError, match="page_size"):
        samples.make_pdf(page_size=(0, 10))


def test_write_pdf_writes_the_same_bytes_atomically(tmp_path: Path) -> None:
    target = tmp_path / "doc.pdf"
    returned = samples.write_pdf(target, 2, text="x", size=300_000)
    assert returned == target
    assert target.read_bytes() == samples.make_pdf(2, text="x", size=300_000)
    assert [p.name for p in tmp_path.iterdir()] == ["doc.pdf"]


def test_write_pdf_validates_before_creating_anything(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too small"):
        samples.write_pdf(tmp_path / "doc.pdf", size=10)
    assert list(tmp_path.iterdir()) == []


def test_add_info_keeps_the_original_as_prefix_and_sets_metadata() -> None:
    original = samples.make_pdf(2, size=5_000)
    signed = samples.add_info(original, {"Producer": "test", "SignedBy": "María (Gómez)"})
    assert signed.startswith(original)
    reader = _reader(signed)
    assert len(reader.pages) == 2
    assert reader.metadata is not None
    assert reader.metadata["/SignedBy"] == "María (Gómez)"
    assert samples.read_info(signed) == {"Producer": "test", "SignedBy": "María (Gómez)"}


def test_second_update_wins_and_chains_to_the_first() -> None:
    once = samples.add_info(samples.make_pdf(), {"Producer": "first"})
    twice = samples.add_info(once, {"Producer": "second", "Extra": "yes"})
    assert twice.startswith(once)
    assert samples.read_info(twice) == {"Producer": "second", "Extra": "yes"}
    assert _reader(twice).metadata == {"/Producer": "second", "/Extra": "yes"}


def test_add_info_on_a_pdf_written_by_pypdf() -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    buffer = io.BytesIO()
    writer.write(buffer)
    signed = samples.add_info(buffer.getvalue(), {"SignatureHash": "ab" * 32})
    assert samples.read_info(signed)["SignatureHash"] == "ab" * 32
    assert len(_reader(signed).pages) == 1


def test_read_info_without_info_and_bad_input() -> None:
    assert samples.read_info(samples.make_pdf()) == {}
    with pytest.raises(ValueError, match="startxref"):
        samples.read_info(b"%PDF-1.4 but nothing else")
    with pytest.raises(ValueError, match="name"):
        samples.add_info(samples.make_pdf(), {"not a name": "x"})


def test_make_png_is_a_valid_png() -> None:
    png = samples.make_png(5, 3)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks[kind] = data
        offset += 12 + length
    assert list(chunks) == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">II", chunks[b"IHDR"][:8]) == (5, 3)
    assert len(zlib.decompress(chunks[b"IDAT"])) == 3 * (1 + 5 * 3)


def test_make_jpeg_is_a_baseline_jpeg() -> None:
    jpeg = samples.make_jpeg()
    assert jpeg.startswith(b"\xff\xd8\xff")
    assert jpeg.endswith(b"\xff\xd9")
    markers = []
    offset = 2
    while jpeg[offset + 1] != 0xDA:
        marker = jpeg[offset + 1]
        (length,) = struct.unpack(">H", jpeg[offset + 2 : offset + 4])
        markers.append(marker)
        if marker == 0xC0:
            precision, height, width, components = struct.unpack(
                ">BHHB", jpeg[offset + 4 : offset + 10]
            )
            assert (precision, height, width, components) == (8, 16, 16, 1)
        offset += 2 + length
    assert markers == [0xE0, 0xDB, 0xC0, 0xC4, 0xC4]
