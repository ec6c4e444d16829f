"""The printed certificate: A4 landscape, Vietnamese first, embedded TrueType fonts, QR code to its verify page.

The PDF is drawn from the signed credential's `certificate` object only, so the paper and the signed JSON
cannot say different things. Layout follows Vietnamese administrative documents (Nghị định 30/2020/NĐ-CP):
issuing body top left, national motto top right, place and date over the signer's title bottom right.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

import segno
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"  # spelling of Nghị định 30/2020/NĐ-CP, appendix I
MOTTO = "Độc lập - Tự do - Hạnh phúc"
RED = HexColor("#8b1a1a")
INK = HexColor("#1b2a4a")
GREY = HexColor("#555555")
GOLD = HexColor("#b8860b")
PAGE_W, PAGE_H = landscape(A4)


class FontError(RuntimeError):
    pass


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str


_registered: dict[tuple[str, str, str], Fonts] = {}


def register_fonts(regular: str, bold: str, italic: str) -> Fonts:
    """Register the TrueType files once per process (parsing a font costs more than drawing a page)."""
    key = (regular, bold, italic)
    if key not in _registered:
        names = []
        for kind, path in zip(("R", "B", "I"), key, strict=True):
            if not path:
                raise FontError("no TrueType font for Vietnamese found (install fonts-noto-core or fonts-dejavu-core)")
            name = f"TS-{kind}-{hashlib.sha1(path.encode()).hexdigest()[:10]}"
            try:
                pdfmetrics.registerFont(TTFont(name, path))
            except Exception as exc:  # reportlab raises TTFError and plain errors alike
                raise FontError(f"cannot use font {path}: {exc}") from None
            names.append(name)
        _registered[key] = Fonts(*names)
    return _registered[key]


def vn_date(value: date) -> str:
    return f"ngày {value.day:02d} tháng {value.month:02d} năm {value.year}"


def en_date(value: date) -> str:
    return value.strftime("%d %B %Y").lstrip("0")


def hours_text(hours: str) -> str:
    return hours.replace(".", ",")  # Vietnamese decimal comma


class _Page:
    """Small drawing helpers: centred text that shrinks to fit, never wraps (keeps pdftotext lines whole)."""

    def __init__(self, canvas: Canvas, fonts: Fonts) -> None:
        self.c = canvas
        self.f = fonts

    def _fit(
        self, text: str, font: str, size: float, color: Color, max_width: float, smallest: float, step: float
    ) -> tuple[str, float]:
        """`text` in NFC and the size it fits `max_width` at (shrunk by `step` while above `smallest`), with the
        canvas's font and colour set to draw it."""
        text = unicodedata.normalize("NFC", text)
        while size > smallest and pdfmetrics.stringWidth(text, font, size) > max_width:
            size -= step
        self.c.setFont(font, size)
        self.c.setFillColor(color)
        return text, size

    def centred(
        self, text: str, x: float, y: float, font: str, size: float, color: Color = INK, max_width: float = PAGE_W - 140
    ) -> float:
        text, size = self._fit(text, font, size, color, max_width, smallest=6, step=0.5)
        self.c.drawCentredString(x, y, text)
        return pdfmetrics.stringWidth(text, font, size)

    def left(
        self, text: str, x: float, y: float, font: str, size: float, color: Color = INK, max_width: float = 400
    ) -> None:
        text, _ = self._fit(text, font, size, color, max_width, smallest=5, step=0.25)
        self.c.drawString(x, y, text)


def render_pdf(credential: dict[str, Any], fonts: Fonts) -> bytes:
    """The certificate as PDF bytes (deterministic for the same credential)."""
    cert = credential["certificate"]
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=(PAGE_W, PAGE_H), invariant=True, pageCompression=1)
    c.setTitle(f"Giấy chứng nhận {cert['serial']} — {cert['fullName']}")
    c.setAuthor(cert["school"]["vi"])
    c.setSubject(f"{cert['courseTitle']['vi']} / {cert['courseTitle']['en']}")
    page = _Page(c, fonts)
    _border(c)
    _header(page, cert)
    _body(page, cert)
    _footer(page, cert, credential["id"])
    c.showPage()
    c.save()
    return buffer.getvalue()


def _border(c: Canvas) -> None:
    m = 20
    c.setStrokeColor(RED)
    c.setLineWidth(3)
    c.rect(m, m, PAGE_W - 2 * m, PAGE_H - 2 * m)
    c.setStrokeColor(GOLD)
    c.setLineWidth(0.8)
    c.rect(m + 6, m + 6, PAGE_W - 2 * (m + 6), PAGE_H - 2 * (m + 6))
    c.setFillColor(GOLD)
    for x, y in ((m + 6, m + 6), (PAGE_W - m - 6, m + 6), (m + 6, PAGE_H - m - 6), (PAGE_W - m - 6, PAGE_H - m - 6)):
        path = c.beginPath()
        path.moveTo(x, y - 7)
        path.lineTo(x + 7, y)
        path.lineTo(x, y + 7)
        path.lineTo(x - 7, y)
        path.close()
        c.drawPath(path, stroke=0, fill=1)


def _header(p: _Page, cert: dict[str, Any]) -> None:
    f, top = p.f, PAGE_H - 62
    left_x, right_x = 215, PAGE_W - 235
    y = top
    if cert.get("governingBody"):
        p.centred(cert["governingBody"].upper(), left_x, y, f.regular, 11, max_width=330)
        y -= 15
    width = p.centred(cert["school"]["vi"].upper(), left_x, y, f.bold, 11, max_width=330)
    p.c.setStrokeColor(INK)
    p.c.setLineWidth(0.6)
    p.c.line(left_x - width / 6, y - 5, left_x + width / 6, y - 5)
    p.centred(f"Số / No.: {cert['serial']}", left_x, y - 22, f.regular, 10.5, max_width=330)

    p.centred(NATION, right_x, top, f.bold, 11, max_width=360)
    width = p.centred(MOTTO, right_x, top - 16, f.bold, 12, max_width=360)
    p.c.line(right_x - width / 2, top - 21, right_x + width / 2, top - 21)


def _body(p: _Page, cert: dict[str, Any]) -> None:
    f, cx = p.f, PAGE_W / 2
    p.centred("GIẤY CHỨNG NHẬN", cx, 418, f.bold, 34, RED)
    p.centred("HOÀN THÀNH KHOÁ HỌC", cx, 393, f.bold, 15, RED)
    p.centred("Certificate of Course Completion", cx, 376, f.italic, 11, GREY)

    school = cert["school"]
    p.centred(f"{cert['signerTitle']['vi']} {school['vi']} chứng nhận".upper(), cx, 348, f.bold, 11.5)
    p.centred(f"The {cert['signerTitle']['en']} of the {school['en']} certifies that", cx, 335, f.italic, 9.5, GREY)

    p.centred("Ông/Bà  ·  Mr/Ms", cx, 313, f.italic, 10, GREY)
    p.centred(cert["fullName"], cx, 287, f.bold, 26, INK, max_width=PAGE_W - 200)
    if cert.get("organisation"):
        p.centred(f"Đơn vị công tác / Organisation: {cert['organisation']}", cx, 266, f.regular, 11.5)

    p.centred("đã hoàn thành khoá học  ·  has completed the course", cx, 244, f.italic, 10.5, GREY)
    p.centred(cert["courseTitle"]["vi"], cx, 219, f.bold, 20, RED, max_width=PAGE_W - 180)
    if cert["courseTitle"].get("en"):
        p.centred(cert["courseTitle"]["en"], cx, 202, f.italic, 11, GREY)

    hours = hours_text(cert["hours"])
    parts_vi = [f"Thời lượng: {hours} giờ"]
    parts_en = [f"Duration: {cert['hours']} hours"]
    if cert.get("className"):
        parts_vi.append(f"Lớp: {cert['className']}")
        parts_en.append(f"Class: {cert['className']}")
    if cert.get("completedOn"):
        done = date.fromisoformat(cert["completedOn"])
        parts_vi.append(f"Hoàn thành {vn_date(done)}")
        parts_en.append(f"Completed on {en_date(done)}")
    p.centred("   ·   ".join(parts_vi), cx, 180, f.regular, 11)
    p.centred("   ·   ".join(parts_en), cx, 166, f.italic, 9, GREY)


def draw_qr(c: Canvas, text: str, x: float, y: float, size: float) -> None:
    """A QR code (error correction M, quiet zone of 2 modules) as one vector path of horizontal runs.

    segno picks the mask pattern scanners read best; drawing runs instead of one shape per module keeps a
    page at a few milliseconds."""
    matrix = segno.make_qr(text, error="m").matrix
    border = 2
    n = len(matrix) + 2 * border
    module = size / n
    c.setFillColor(HexColor("#ffffff"))
    c.rect(x, y, size, size, stroke=0, fill=1)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - (r + border + 1) * module
        col = 0
        while col < len(row):
            if row[col]:
                start = col
                while col < len(row) and row[col]:
                    col += 1
                path.rect(x + (start + border) * module, top, (col - start) * module, module)
            else:
                col += 1
    c.setFillColor(HexColor("#000000"))
    c.drawPath(path, stroke=0, fill=1)


def _footer(p: _Page, cert: dict[str, Any], url: str) -> None:
    f = p.f
    size = 78
    qr_x, qr_y = 52, 48
    draw_qr(p.c, url, qr_x, qr_y, size)
    tx = qr_x + size + 8
    code = cert.get("verificationCode")  # absent from certificates issued before codes existed: drawn as then
    top = qr_y + (70 if code else 62)
    p.left(f"Quyết định / Decision: {cert['decision']}", tx, top, f.regular, 9.5, max_width=300)
    p.left(f"Số hiệu / Serial: {cert['serial']}", tx, top - 14, f.bold, 9.5, max_width=300)
    if code:
        # Without the code the public page shows only whether the serial is in force, never the holder.
        p.left(f"Mã xác thực / Verification code: {code}", tx, top - 28, f.bold, 9.5, max_width=300)
    p.left("Kiểm tra tính hợp lệ / Verify at:", tx, qr_y + (20 if code else 30), f.italic, 8.5, GREY, max_width=300)
    p.left(url, tx, qr_y + (9 if code else 19), f.regular, 7.5, INK, max_width=300)

    sx = PAGE_W - 210
    issued = date.fromisoformat(cert["issuedOn"])
    p.centred(f"{cert['place']}, {vn_date(issued)}", sx, 140, f.italic, 11.5, max_width=300)
    p.centred(cert["signerTitle"]["vi"].upper(), sx, 122, f.bold, 12.5, max_width=300)
    p.centred(f"({cert['signerTitle']['en']})", sx, 109, f.italic, 9, GREY, max_width=300)
    if cert.get("signerName"):
        p.centred(cert["signerName"], sx, 48, f.bold, 12.5, max_width=300)
