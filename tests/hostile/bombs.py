"""Hostile documents, built in a second or two from a few kilobytes, never committed.

A ZIP member of a gigabyte is written as one deflate block of a megabyte of the same byte,
flushed so it stands alone, repeated a thousand times: a valid deflate stream (RFC 1951) that
inflates to the full size, with its real CRC-32, in a `.docx` that Word would open. A PDF is
written object by object with a correct cross-reference table (PDF 32000-1, 7.5).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

MB = 1024 * 1024
GB = 1024 * MB


# -- ZIP -------------------------------------------------------------------------------------

@dataclass
class Member:
    name: str
    #: The member's bytes as stored (deflated, unless `method` says otherwise).
    deflated: bytes
    crc: int
    size: int
    #: ZIP compression method (APPNOTE.TXT 4.4.5): 8 deflate, 9 Deflate64, 12 bzip2, 14 LZMA.
    method: int = 8
    #: General purpose flags (APPNOTE.TXT 4.4.4): bit 0 set means encrypted.
    flags: int = 0


def plain(name: str, data: bytes) -> Member:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(name, c.compress(data) + c.flush(), zlib.crc32(data), len(data))


def inflating(name: str, size: int, fill: bytes = b" ", head: bytes = b"", tail: bytes = b"",
              adler: bool = False) -> Member:
    """A member of `head`, then about `size` bytes of `fill` (whole copies of it), then
    `tail`, deflated in kilobytes. With `adler`, `crc` is the Adler-32 a zlib stream needs."""
    chunk = fill * (MB // len(fill))
    repeats, rest = divmod(size, len(chunk))
    rest -= rest % len(fill)
    block = _flushed(chunk)
    check = zlib.adler32 if adler else zlib.crc32
    crc = check(head)
    for _ in range(repeats):
        crc = check(chunk, crc)
    crc = check(chunk[:rest] + tail, crc)
    final = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = (_flushed(head) + block * repeats
                + final.compress(chunk[:rest] + tail) + final.flush())
    return Member(name, deflated, crc, len(head) + repeats * len(chunk) + rest + len(tail))


def flate(size: int, fill: bytes = b" ", head: bytes = b"", tail: bytes = b"") -> bytes:
    """A zlib stream (RFC 1950), as a PDF's /FlateDecode holds, of `inflating`'s content."""
    member = inflating("", size, fill, head, tail, adler=True)
    return b"\x78\x9c" + member.deflated + struct.pack(">I", member.crc)


def _flushed(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)


def write_zip(members: Iterable[Member], *, declared: dict[str, int] | None = None) -> bytes:
    """A ZIP of deflated members. `declared` states other uncompressed sizes in the headers and
    the directory than the members really have (a lying archive)."""
    declared = declared or {}
    out, directory = io.BytesIO(), io.BytesIO()
    count = 0
    for m in members:
        count += 1
        name = m.name.encode()
        size = declared.get(m.name, m.size)
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, m.flags, m.method, 0, 0x21,
                              m.crc, len(m.deflated), size, len(name), 0) + name)
        out.write(m.deflated)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m.flags, m.method,
                                    0, 0x21, m.crc, len(m.deflated), size, len(name), 0, 0, 0,
                                    0, 0, offset) + name)
    start = out.tell()
    out.write(directory.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count,
                          len(directory.getvalue()), start, 0))
    return out.getvalue()


def real_docx(with_picture: bool = False) -> dict[str, bytes]:
    """The members of a small real Word fact sheet (made by python-docx)."""
    import docx

    document = docx.Document()
    document.add_paragraph("Joint Task Force Meridian", style="Title")
    document.add_paragraph("Our mission", style="Heading 2")
    document.add_paragraph("The task force supports partner forces in the region.")
    if with_picture:
        from PIL import Image

        png = io.BytesIO()
        Image.new("RGB", (4, 4), (10, 90, 160)).save(png, "PNG")
        document.add_paragraph().add_run().add_picture(io.BytesIO(png.getvalue()))
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def docx_bomb(kind: str, size: int = GB) -> bytes:
    """A small .docx that unpacks to `size` more bytes: `image` (its picture), `mimetype`, or
    `whitespace` inside word/document.xml."""
    parts = real_docx(with_picture=kind == "image")
    members = []
    for name, data in parts.items():
        if kind == "image" and name.startswith("word/media/"):
            members.append(inflating(name, size, b"\0"))
        elif kind == "whitespace" and name == "word/document.xml":
            at = data.index(b"</w:body>")
            members.append(inflating(name, size, b" ", head=data[:at], tail=data[at:]))
        else:
            members.append(plain(name, data))
    if kind == "mimetype":
        members.insert(0, inflating("mimetype", size, b"application/vnd."))
    return write_zip(members)


def docx_lying_bomb(size: int = GB) -> bytes:
    """document.xml inflates to `size` but the archive says 4 KB."""
    parts = real_docx()
    members = []
    for name, data in parts.items():
        if name == "word/document.xml":
            at = data.index(b"</w:body>")
            members.append(inflating(name, size, b" ", head=data[:at], tail=data[at:]))
        else:
            members.append(plain(name, data))
    return write_zip(members, declared={"word/document.xml": 4096})


def bzip2ed(name: str, size: int, fill: bytes = b"\0") -> Member:
    """A bzip2 member (method 12) of `size` bytes of `fill`: a gigabyte takes 800 bytes, and
    zipfile inflates each 4 KB it reads of it in one piece."""
    import bz2

    chunk = fill * (16 * MB // len(fill))
    compressor, out, crc = bz2.BZ2Compressor(9), [], 0
    for _ in range(size // len(chunk)):
        out.append(compressor.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    out.append(compressor.flush())
    return Member(name, b"".join(out), crc, size // len(chunk) * len(chunk), method=12)


def docx_odd_member(kind: str, size: int = 256 * MB) -> bytes:
    """A .docx whose picture is a `size` bomb compressed with `bzip2`, or whose document.xml is
    stored as `deflate64` (method 9: a deflate stream is valid Deflate64) or `lzma` (method 14),
    or `encrypted` (flag bit 0, with the 12-byte header of ZIP's traditional encryption). The
    bzip2 picture claims 4 KB in the archive's directory."""
    import lzma

    members = []
    for name, data in real_docx(with_picture=kind == "bzip2").items():
        member = plain(name, data)
        if kind == "bzip2" and name.startswith("word/media/"):
            member = bzip2ed(name, size)
        elif name == "word/document.xml" and kind == "deflate64":
            member.method = 9
        elif name == "word/document.xml" and kind == "lzma":
            # APPNOTE.TXT 5.8.8: LZMA version 9.20, the properties' size, then the properties.
            raw = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1}])
            body = raw.compress(data) + raw.flush()
            props = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})
            member = Member(name, struct.pack("<BBH", 9, 20, len(props)) + props + body,
                            zlib.crc32(data), len(data), method=14)
        elif name == "word/document.xml" and kind == "encrypted":
            member.deflated, member.flags = bytes(12) + member.deflated, 1
        members.append(member)
    return write_zip(members, declared={m.name: 4096 for m in members if m.method == 12})


def docx_many_members(count: int = 20_000) -> bytes:
    members = [plain(name, data) for name, data in real_docx().items()]
    members += [plain(f"customXml/item{i}.xml", b"<a/>") for i in range(count)]
    return write_zip(members)


def docx_dense_xml(size: int = 7 * MB) -> bytes:
    """A document.xml just under the XML limit, all empty paragraphs: the most tree per byte."""
    parts = real_docx()
    members = []
    for name, data in parts.items():
        if name == "word/document.xml":
            at = data.index(b"</w:body>")
            members.append(inflating(name, size, b"<w:p/>", head=data[:at], tail=data[at:]))
        else:
            members.append(plain(name, data))
    return write_zip(members)


# -- PDF -------------------------------------------------------------------------------------

def write_pdf(objects: list[bytes]) -> bytes:
    """A PDF of these objects (1-based: objects[0] is "1 0 obj"), the catalog being object 1."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def stream(dictionary: bytes, data: bytes, *, deflated: bytes | None = None) -> bytes:
    if deflated is not None:
        return (b"<< " + dictionary + b" /Filter /FlateDecode /Length %d >>\nstream\n"
                % len(deflated) + deflated + b"\nendstream")
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


_TEXT = b"BT /F1 12 Tf 72 720 Td (Joint Task Force Meridian supports partner forces.) Tj ET"
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_repeated_page(fan_out: Iterable[int]) -> bytes:
    """One page, referenced by a page tree whose levels fan out as given (10, 10, 10, 10: the
    same page 10,000 times, in about a kilobyte)."""
    fan_out = list(fan_out)
    total = 1
    for n in fan_out:
        total *= n
    # 1 catalog, 2 font, 3 content, 4 the page, then one Pages node per level.
    objects = [b"<< /Type /Catalog /Pages 5 0 R >>", _FONT, stream(b"", _TEXT)]
    first_level = 5
    levels = len(fan_out)
    page = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
            b"/Resources << /Font << /F1 2 0 R >> >> >>" % (first_level + levels - 1))
    objects.append(page)
    below = total
    for level, n in enumerate(fan_out):
        number = first_level + level
        child = number + 1 if level < levels - 1 else 4
        below //= n
        parent = b" /Parent %d 0 R" % (number - 1) if level else b""
        objects.append(b"<< /Type /Pages%s /Count %d /Kids [%s] >>"
                       % (parent, below * n, b" ".join([b"%d 0 R" % child] * n)))
    return write_pdf(objects)


def pdf_huge_image(pages: int = 1, side: int = 8000) -> bytes:
    """`pages` pages with a line of text each, drawing one side x side RGB image."""
    raw = side * side * 3
    image = stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
                   b"/DeviceRGB /BitsPerComponent 8" % (side, side), b"",
                   deflated=flate(raw))
    content = stream(b"", _TEXT + b" q 200 0 0 200 72 400 cm /Im1 Do Q")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", _FONT, content, image]
    kids = []
    for i in range(pages):
        kids.append(b"%d 0 R" % (6 + i))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 5 0 R >> >> >>")
    objects[1] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages, b" ".join(kids))
    return write_pdf(objects)


def pdf_content_bomb(size: int = GB) -> bytes:
    """One page whose content stream inflates to `size` bytes of spaces after its text."""
    deflated = flate(size, b" ", head=_TEXT + b"\n")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count 1 /Kids [4 0 R] >>", _FONT,
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
               b"/Resources << /Font << /F1 3 0 R >> >> >>",
               stream(b"", b"", deflated=deflated)]
    return write_pdf(objects)


def docx_nested(levels: int) -> bytes:
    """A .docx whose one body paragraph, "Deep text.", sits inside `levels` nested content
    controls (w:sdt/w:sdtContent: two XML levels each)."""
    members = []
    for name, data in real_docx().items():
        if name == "word/document.xml":
            at = data.index(b"</w:body>")
            data = (data[:at] + b"<w:sdt><w:sdtContent>" * levels
                    + b"<w:p><w:r><w:t>Deep text.</w:t></w:r></w:p>"
                    + b"</w:sdtContent></w:sdt>" * levels + data[at:])
        members.append(plain(name, data))
    return write_zip(members)


def nested_html(levels: int) -> bytes:
    return (b"<html><body><h1>Fact sheet</h1><h2>Operations</h2>" + b"<div>" * levels
            + b"<p>Deep text.</p>" + b"</div>" * levels + b"<p>After text.</p></body></html>")


def nested_markdown(levels: int, kind: str = "quotes") -> bytes:
    """Markdown with "Deep text." inside `levels` nested block quotes, or list items."""
    if kind == "quotes":
        deep = "> " * levels + "Deep text.\n"
    else:
        deep = "".join("  " * i + f"- item {i}\n" for i in range(levels)) + "  " * levels + (
            "- Deep text.\n")
    return f"# Fact sheet\n\n## Operations\n\n{deep}\nAfter text.\n".encode()


def pdf_pages(contents: Iterable[bytes]) -> bytes:
    """A PDF of one page for each content stream (deflated, so a megabyte of repeated
    operators takes a few kilobytes), all in font F1."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", _FONT]
    kids = []
    for content in contents:
        objects.append(stream(b"", b"", deflated=zlib.compress(content, 9)))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % len(objects))
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Count %d /Kids [%s] >>" % (len(kids), b" ".join(kids))
    return write_pdf(objects)


def operators(count: int, operator: bytes = b"(a) Tj") -> bytes:
    """A content stream of a line of text, then `operator` `count` times (text-showing by
    default: the reviewer's bomb was 900,000 of them on one page, 10 KB of file)."""
    return _TEXT + b"\nBT /F1 12 Tf 72 700 Td\n" + (operator + b"\n") * count + b"ET"


def pdf_form_fan_out(depth: int = 6, fan_out: int = 10) -> bytes:
    """One page drawing form X1 `fan_out` times, X1 drawing X2 as often, and so on `depth`
    levels down to a line of text: fan_out ** depth lines from a kilobyte."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Count 1 /Kids [5 0 R] >>", _FONT,
               stream(b"", _TEXT + b" " + b"/X1 Do " * fan_out),
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 3 0 R >> /XObject << /X1 6 0 R >> >> >>"]
    for level in range(1, depth + 1):
        inner = level < depth
        body = (b"/X%d Do " % (level + 1)) * fan_out if inner else _TEXT
        forms = b" /XObject << /X%d %d 0 R >>" % (level + 1, 6 + level) if inner else b""
        objects.append(stream(b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources "
                              b"<< /Font << /F1 3 0 R >>" + forms + b" >>", body))
    return write_pdf(objects)


def pdf_object_stream(count: int = 850_000) -> bytes:
    """A one-page PDF whose font sits last in an object stream declaring `count` objects (the
    number 1 each: 16 MB unpacked, 3 MB packed); pypdf parses and keeps them all the first time
    it needs the font. Written with a cross-reference stream (PDF 32000-1, 7.5.7 and 7.5.8)."""
    # Written into one buffer: lists of 850,000 small objects would leave the test process
    # hundreds of megabytes larger.
    head = bytearray()
    for n in range(count - 1):
        head += b"%d %d " % (100 + n, 2 * n)  # each body is "1 "
    head += b"3 %d " % (2 * (count - 1))
    packed = zlib.compress(bytes(head) + b"1 " * (count - 1) + _FONT + b" ", 9)
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    where = {}
    for number, body in (
            (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
            (2, b"<< /Type /Pages /Count 1 /Kids [5 0 R] >>"),
            (4, stream(b"", _TEXT)),
            (5, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 3 0 R >> >> >>"),
            (6, b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n"
                b"stream\n" % (count, len(head), len(packed)) + packed + b"\nendstream")):
        where[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    where[7] = out.tell()
    rows = b"".join(struct.pack(">BII", 2, 6, count - 1) if n == 3 else
                    struct.pack(">BII", 1, where[n], 0) if n in where else
                    struct.pack(">BII", 0, 0, 65535) for n in range(8))
    out.write(b"7 0 obj\n<< /Type /XRef /Size 8 /W [1 4 4] /Root 1 0 R /Length %d >>\nstream\n"
              % len(rows) + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % where[7])
    return out.getvalue()
