"""The certificate PDF: one landscape page rendered from a signed record, the same bytes every time.

reportlab canvas, TrueType fonts embedded (subset) so any name renders: Latin, Greek, Cyrillic
and Hebrew from DejaVu Sans, Arabic from Noto Naskh Arabic (shaped with arabic-reshaper, ordered
with python-bidi), Chinese, Japanese and Korean from Droid Sans Fallback, chosen per character.
The QR code is drawn as vector rectangles from the `qrcode` package with a fixed mask. The signed
record is embedded in the document information dictionary (key ``/CECertificate``, base64url of
the canonical signed JSON) so `verify` can check a PDF offline.

Public: `render_pdf(signed, page_size="letter", logo=None, signature_image=None) -> bytes`,
`extract_signed_record(pdf_bytes) -> dict | None`, `FontMissing`.

Language: the record's `locale` (frozen at issue) chooses the labels (`translator(locale)`), the
dates and numbers (Babel) and, for right-to-left languages, a mirrored layout. English keeps the
exact wording and formats of the first template, so a certificate issued before languages existed
still renders to the same bytes. The accreditation statements are printed verbatim in every language.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import unicodedata
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import arabic_reshaper
import qrcode
import qrcode.util
from babel import Locale
from bidi import get_display
from bidi.algorithm import get_display as legacy_get_display
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ce_xblock.core import locale as L
from ce_xblock.core.certificate import SignedRecord, b64url, b64url_decode
from ce_xblock.core.locale import N_

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
# name -> (file, system path, Debian package that provides it)
FONTS = {
    "CE-Sans": ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
    "CE-Arabic": (
        "NotoNaskhArabic-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
        "fonts-noto-core",
    ),
    "CE-CJK": (
        "DroidSansFallbackFull.ttf",
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        "fonts-droid-fallback",
    ),
    # Droid Sans Fallback has almost no Hangul; Nanum Gothic (4.7 MB) is not bundled to keep the
    # wheel small, so Korean names need the Debian package.
    "CE-Korean": ("NanumGothic.ttf", "/usr/share/fonts/truetype/nanum/NanumGothic.ttf", "fonts-nanum"),
}
# Last resort for other scripts (Devanagari, Thai, ...): any installed Noto Sans TrueType font.
EXTRA_FONT_GLOB = ("/usr/share/fonts/truetype/noto", "NotoSans*-Regular.ttf")
PAGE_SIZES = {"letter": landscape(letter), "a4": landscape(A4)}
INFO_KEY = "CECertificate"

BOLD_STROKE = 0.045  # stroke width per point of size for bold text
BOLD_SPACE = 0.025  # extra advance per character per point of size, for the ink the stroke adds

INK = Color(0.11, 0.16, 0.27)
ACCENT = Color(0.12, 0.30, 0.52)
MUTED = Color(0.33, 0.36, 0.42)

FORMAT_LABELS = {
    "home-study": N_("Home study"),
    "self-paced-online": N_("Self-paced online"),
    "live-webinar": N_("Live webinar"),
}
LEVEL_LABELS = {
    "introductory": N_("Introductory level"),
    "intermediate": N_("Intermediate level"),
    "advanced": N_("Advanced level"),
}


class FontMissing(RuntimeError):
    """A font the certificate needs is neither bundled nor installed."""


# ---------------------------------------------------------------------------------------------
# Fonts: loaded once per process; the CJK and Arabic fonts only when a name needs them.
# ---------------------------------------------------------------------------------------------

_loaded: dict[str, TTFont] = {}
_font_load_lock = threading.Lock()


def font(name: str) -> TTFont:
    f = _loaded.get(name)
    if f is None:
        with _font_load_lock:
            return _load_font(name)
    return f


def _load_font(name: str) -> TTFont:
    f = _loaded.get(name)  # another thread may have loaded it while this one waited
    if f is None:
        filename, system_path, package = FONTS[name]
        for candidate in (FONT_DIR / filename, Path(system_path)):
            if candidate.is_file():
                f = TTFont(name, str(candidate))
                _slim_name_table(f)
                pdfmetrics.registerFont(f)
                break
        else:
            raise FontMissing(
                f"The font {filename} is missing: it is neither in {FONT_DIR} nor at {system_path}. "
                f"Reinstall ce-credit, or install the Debian package {package} (apt-get install {package})."
            )
        _loaded[name] = f
    return f


def _slim_name_table(f: TTFont) -> None:
    """Embed a name table with only the copyright, family, style, full and PostScript names.

    reportlab copies the whole 'name' table into every subset; DejaVu's carries its licence text
    (15 KB), a third of each embedded font. The licence ships with the package (fonts/LICENSE-*).
    """
    face = f.face
    try:
        raw = face.get_table("name")
    except Exception:  # noqa: BLE001 - a font without a name table keeps reportlab's behaviour
        return
    count, offset = struct.unpack(">HH", raw[2:6])
    keep = []
    for i in range(count):
        pid, eid, lid, nid, length, off = struct.unpack(">HHHHHH", raw[6 + 12 * i : 18 + 12 * i])
        if pid == 3 and nid in (0, 1, 2, 4, 6):
            keep.append((pid, eid, lid, nid, raw[offset + off : offset + off + length]))
    if not keep:
        return
    header = struct.pack(">HHH", 0, len(keep), 6 + 12 * len(keep))
    records, strings = b"", b""
    for pid, eid, lid, nid, data in keep:
        records += struct.pack(">HHHHHH", pid, eid, lid, nid, len(data), len(strings))
        strings += data
    slim = header + records + strings
    original = face.get_table

    def get_table(tag: str) -> bytes:
        return slim if tag == "name" else original(tag)

    face.get_table = get_table


_font_lock = threading.Lock()
_warm_up_started = False


def warm_up(all_scripts: bool = False) -> None:
    """Load the fonts now, so that the first certificate of a worker is fast.

    The Latin font always; with `all_scripts`, also every other font that is available (the CJK
    and Korean fonts take 40-70 ms each to load). A font that is not installed is skipped here:
    a certificate that needs it says so when it is issued.
    """
    font("CE-Sans")
    if all_scripts:
        for name in FONTS:
            try:
                face = font(name).face
            except FontMissing:
                continue
            # The first lookups build reportlab's subsetting state; do them here, not in a request.
            face.charToGlyph.get(0x41)


def warm_up_in_background() -> None:
    """Start `warm_up(all_scripts=True)` in a daemon thread, once per process (a home calls this
    when a worker starts, or on its first page, so that no learner waits for a font to load)."""
    global _warm_up_started
    with _font_lock:
        if _warm_up_started:
            return
        _warm_up_started = True
    threading.Thread(target=warm_up, args=(True,), name="ce-credit-font-warm-up", daemon=True).start()


def _covers(name: str, cp: int) -> bool:
    return cp in font(name).face.charToGlyph


def _is_arabic(cp: int) -> bool:
    return 0x0600 <= cp <= 0x08FF or 0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch) in ("Mn", "Me")


@lru_cache(maxsize=8192)
def _has_marks(s: str) -> bool:
    return any(unicodedata.category(ch) in ("Mn", "Me") for ch in s)


def _is_hangul(cp: int) -> bool:
    return 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F or 0xA960 <= cp <= 0xA97F


class GlyphMissing(FontMissing):
    """No available font has a glyph for a character of the text."""


def _font_for(cp: int, primary: str) -> str:
    if _is_arabic(cp) and _covers("CE-Arabic", cp):
        return "CE-Arabic"
    if _is_hangul(cp):
        return "CE-Korean" if _covers("CE-Korean", cp) else _missing(cp)
    if unicodedata.category(chr(cp)) in ("Zs", "Cc", "Cf"):
        return primary
    for name in (primary, "CE-Sans", "CE-CJK", "CE-Arabic"):
        if _covers(name, cp):
            return name
    return _extra_font_for(cp) or _missing(cp)


def _missing(cp: int) -> str:
    raise GlyphMissing(
        f"No font available here can draw {chr(cp)!r} (U+{cp:04X} {unicodedata.name(chr(cp), 'unnamed character')}), "
        "so the certificate would show a box. Install a TrueType font for that script (Debian: fonts-noto-core "
        "for most scripts, fonts-nanum for Korean), or ask the learner to confirm the legal name."
    )


# The printed fields of a record, as they are named in a refusal.
_PRINTED_FIELDS = (
    ("legal_name", N_("legal name")),
    ("license_number", N_("license number")),
    ("license_state", N_("license state")),
    ("profession", N_("profession")),
    ("activity_title", N_("activity title")),
    ("activity_version", N_("activity version")),
    ("sponsor_name", N_("sponsor name")),
    ("signatory_name", N_("signatory name")),
    ("signatory_title", N_("signatory title")),
    ("verification_url", N_("verification address")),
)


def unprintable(record: Any) -> list[Any]:
    """Refusals (`credit.Refusal`, code "unprintable") for each printed field that has a character no
    embedded or installed font can draw, so that such a certificate is refused at issue, with the
    field and the character named, rather than failing (or printing a box) at download."""
    from ce_xblock.core import credit  # noqa: PLC0415

    texts = [(field, label, getattr(record, field, "") or "") for field, label in _PRINTED_FIELDS]
    for line in record.accreditations:
        texts += [
            ("accreditation", N_("accreditation body"), line.body_name or ""),
            ("accreditation", N_("accreditation statement"), line.statement or ""),
            ("accreditation", N_("provider number"), line.provider_number or ""),
        ]
    out = []
    for _field, label, text in texts:
        for ch in dict.fromkeys(text):
            try:
                runs(ch)
            except GlyphMissing:
                out.append(
                    credit.refusal(
                        "unprintable",
                        N_(
                            "The certificate cannot print the %(what)s: no font here can draw “%(char)s” "
                            "(U+%(codepoint)s). Correct the %(what)s, or ask the administrator to install a font "
                            "for that script."
                        ),
                        what=credit.Term(label),
                        char=ch,
                        codepoint=f"{ord(ch):04X}",
                    )
                )
                break
    return out


@lru_cache(maxsize=1024)
def _extra_font_for(cp: int) -> str | None:
    folder, pattern = EXTRA_FONT_GLOB
    for path in sorted(Path(folder).glob(pattern)):
        name = "CE-X-" + path.stem
        f = _loaded.get(name)
        if f is None:
            try:
                f = TTFont(name, str(path))
            except Exception:  # noqa: BLE001 - CFF-outline or broken fonts cannot be embedded; skip them
                continue
            _slim_name_table(f)
            pdfmetrics.registerFont(f)
            _loaded[name] = f
        if cp in f.face.charToGlyph:
            return name
    return None


@lru_cache(maxsize=8192)
def _glyph_box(font_name: str, cp: int) -> tuple[float, float] | None:
    """The glyph's horizontal extent (xMin, xMax) in 1/1000 em, read from its 'glyf' header."""
    face = font(font_name).face
    g = face.charToGlyph.get(cp)
    if g is None or g + 1 >= len(face.glyphPos):
        return None
    pos = face.glyphPos[g]
    if face.glyphPos[g + 1] == pos:
        return None  # an empty glyph (a space)
    start = face.get_table_pos("glyf")[0]
    _, xmin, _, xmax, _ = struct.unpack(">hhhhh", face.get_chunk(start + pos, 10))
    scale = 1000 / face.unitsPerEm
    return xmin * scale, xmax * scale


_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_NOT_NBSP_SPACE = re.compile(r"[^\S\u00a0]+")
_MARKS = dict.fromkeys(map(ord, "\u200e\u200f"))


def _strong(ch: str) -> str | None:
    """The strong direction of a character as bracket pairing (UBA rule N0) sees it: numbers count as R."""
    kind = unicodedata.bidirectional(ch)
    if kind in ("R", "AL", "EN", "AN"):
        return "R"
    return "L" if kind == "L" else None


def _pin_brackets(text: str) -> str:
    """Marks (RLM, LRM) that fix each bracket pair's direction in a right-to-left paragraph as rule N0
    resolves it: right to left if the pair holds right-to-left text or numbers; left to right if it holds
    only left-to-right text after left-to-right text ("Council (TX)"); else the paragraph's direction."""
    stack: list[tuple[str, int]] = []
    direction: dict[int, str] = {}
    for i, ch in enumerate(text):
        if ch in _BRACKETS:
            stack.append((ch, i))
        elif ch in _BRACKETS.values():
            for k in range(len(stack) - 1, -1, -1):
                if _BRACKETS[stack[k][0]] == ch:
                    start = stack[k][1]
                    del stack[k:]
                    inside = {_strong(c) for c in text[start + 1 : i]}
                    if "R" in inside:
                        direction[start] = direction[i] = "R"
                    elif "L" in inside:
                        before = next((d for d in map(_strong, reversed(text[:start])) if d), "R")
                        direction[start] = direction[i] = before
                    break
    if not direction:
        return text
    out = []
    for i, ch in enumerate(text):
        mark = {"R": "\u200f", "L": "\u200e"}.get(direction.get(i, ""), "")
        out.append(mark + ch + mark)
    return "".join(out)


def _visual(text: str, rtl: bool = False) -> str:
    """Logical text as drawn left to right: Arabic shaped, right-to-left runs reversed, marks after their base.

    The paragraph direction comes from the text's first strong character, or is right to left
    when `rtl` (a label of a right-to-left certificate that may start with a number or a Latin word).
    """
    if not rtl and not _RTL_RE.search(text):
        return text
    if any(_is_arabic(ord(c)) for c in text):
        text = arabic_reshaper.reshape(text)
    if rtl:
        # python-bidi's current algorithm pairs brackets (UBA 6.3) but draws no mirrored glyphs;
        # its pre-6.3 one mirrors but does not pair. Pinning each pair's direction first gives both.
        vis = legacy_get_display(_pin_brackets(text), base_dir="R").translate(_MARKS)
    else:
        vis = get_display(text)
    # python-bidi reverses a base and its combining marks together, leaving the marks before the
    # base; a zero-width mark must follow its base to be drawn over it.
    out: list[str] = []
    i = 0
    while i < len(vis):
        j = i
        while j < len(vis) and _is_mark(vis[j]):
            j += 1
        prev_rtl = not out or _RTL_RE.match(out[-1]) is not None or out[-1].isspace()
        if j > i and j < len(vis) and prev_rtl and _RTL_RE.match(vis[j]):
            out.append(vis[j])
            out.extend(reversed(vis[i:j]))  # the reversal also reversed the marks' own order
            i = j + 1
        else:
            out.extend(vis[i : j + 1])
            i = j + 1
    return "".join(out)


@lru_cache(maxsize=4096)
def runs(text: str, bold: bool = False, rtl: bool = False) -> tuple[tuple[str, str], ...]:
    """The text in drawing order, split into (font name, string) runs so each character has a glyph."""
    primary = "CE-Sans"
    vis = _visual(text, rtl)
    out: list[list[str]] = []
    for ch in vis:
        cp = ord(ch)
        if _is_mark(ch) and out and _covers(out[-1][0], cp):
            name = out[-1][0]  # keep a mark in its base's font so it sits on the base
        else:
            name = _font_for(cp, primary)
        if out and out[-1][0] == name:
            out[-1][1] += ch
        else:
            out.append([name, ch])
    return tuple((n, s) for n, s in out)


@lru_cache(maxsize=16384)
def _width1(text: str, bold: bool, rtl: bool = False) -> float:
    w = sum(pdfmetrics.stringWidth(s, n, 1000) for n, s in runs(text, bold, rtl))
    return w + len(text) * BOLD_SPACE * 1000 if bold else w


def width(text: str, size: float, bold: bool = False, rtl: bool = False) -> float:
    return _width1(text, bold, rtl) * size / 1000


def draw(
    c: Canvas, text: str, x: float, y: float, size: float, bold: bool = False, align: str = "left", rtl: bool = False
) -> None:
    """Draw text with per-character font fallback. Bold is the regular face filled and stroked
    (text render mode 2): one embedded subset instead of two keeps the PDF small and fast.
    `rtl`: the text is a right-to-left paragraph (see `_visual`)."""
    w = width(text, size, bold, rtl)
    if align == "center":
        x -= w / 2
    elif align == "right":
        x -= w
    space = size * BOLD_SPACE if bold else 0.0
    if bold:
        c.setStrokeColor(c._fillColorObj)
        c.setLineWidth(size * BOLD_STROKE)
    for name, s in runs(text, bold, rtl):
        c.setFont(name, size)
        if _has_marks(s):
            x = _draw_with_marks(c, name, s, x, y, size, space, bold)
            continue
        if bold:
            c.drawString(x, y, s, mode=2, charSpace=space)
        else:
            c.drawString(x, y, s)
        x += pdfmetrics.stringWidth(s, name, size) + len(s) * space


def _draw_with_marks(c: Canvas, name: str, s: str, x: float, y: float, size: float, space: float, bold: bool) -> float:
    """Draw a run whose combining marks are centred on their base glyph.

    reportlab does no OpenType mark positioning; some fonts (DejaVu's Latin marks) place a
    zero-width mark over the previous glyph by design, others (its Hebrew points) rely on GPOS.
    Centring each mark on its base's ink box gives the right result for both.
    """
    mode = 2 if bold else None
    base, base_x = None, x
    for ch in s:
        if _is_mark(ch) and base is not None:
            bb, mb = _glyph_box(name, ord(base)), _glyph_box(name, ord(ch))
            mx = base_x + ((bb[0] + bb[1]) / 2 - (mb[0] + mb[1]) / 2) * size / 1000 if bb and mb else x
            c.drawString(mx, y, ch, mode=mode)
            continue
        c.drawString(x, y, ch, mode=mode)
        base, base_x = ch, x
        x += pdfmetrics.stringWidth(ch, name, size) + space
    return x


def wrap(
    text: str, max_width: float, size: float, bold: bool = False, rtl: bool = False, nbsp: bool = False
) -> list[str]:
    """Greedy word wrap in logical order; a word longer than the line is broken by character.

    `nbsp`: a no-break space joins its neighbours (a date, French "Association : 2")."""
    lines: list[str] = []
    line, line_w = "", 0.0
    space = width(" ", size, bold)
    words = [w for w in _NOT_NBSP_SPACE.split(text) if w] if nbsp else text.split()
    for word in words:
        w = width(word, size, bold)
        # Summing word widths is exact for left-to-right text; right-to-left lines are re-measured.
        if (
            line
            and line_w + space + w <= max_width
            and (not _RTL_RE.search(word) or width(f"{line} {word}", size, bold, rtl) <= max_width)
        ):
            line, line_w = f"{line} {word}", line_w + space + w
            continue
        if not line and w <= max_width:
            line, line_w = word, w
            continue
        if line:
            lines.append(line)
        while width(word, size, bold) > max_width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and width(word[:cut], size, bold) > max_width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line, line_w = word, width(word, size, bold)
    if line:
        lines.append(line)
    return lines or [""]


def fit(
    text: str,
    max_width: float,
    size: float,
    min_size: float,
    max_lines: int,
    bold: bool = False,
    more: tuple[tuple[int, float], ...] = (),
) -> tuple[float, list[str]]:
    """The largest size at which the whole text fits: first down to `min_size` in `max_lines`, then
    through each further `(lines, min_size)` stage of `more`. If nothing fits, the text is wrapped at
    the last stage's size into as many lines as it takes. Nothing is ever cut off: callers draw every line.
    """
    start = size
    for lines_allowed, smallest in ((max_lines, min_size), *more):
        s = start
        while s >= smallest:
            lines = wrap(text, max_width, s, bold)
            if len(lines) <= lines_allowed:
                return s, lines
            s -= 1
        start = smallest  # the next stage allows more lines, starting at this stage's smallest size
    return start, wrap(text, max_width, start, bold)


# ---------------------------------------------------------------------------------------------
# QR code
# ---------------------------------------------------------------------------------------------


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR code of `data` (byte mode, error correction M, mask 0, no quiet zone), from `qrcode`.

    A fixed mask skips qrcode's eight-way mask search (about 5 ms); any mask decodes."""
    qr = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_M, border=0, mask_pattern=0)
    qr.add_data(qrcode.util.QRData(data.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE))
    qr.make(fit=True)
    return qr.get_matrix()


def draw_qr(c: Canvas, data: str, x: float, y: float, size: float) -> None:
    """A vector QR code (with its 4-module quiet zone inside `size`) with its lower-left corner at x, y."""
    m = qr_matrix(data)
    n = len(m)
    module = size / (n + 8)
    c.setFillColorRGB(1, 1, 1)
    c.rect(x, y, size, size, stroke=0, fill=1)
    # One path of integer rectangles in module units: short content, few number conversions.
    ops = []
    for r, row in enumerate(m):
        top = n - 1 - r
        col = 0
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                ops.append(f"{start} {top} {col - start} 1 re")
            else:
                col += 1
    c.saveState()
    c.translate(x + 4 * module, y + 4 * module)
    c.scale(module, module)
    c.setFillColorRGB(0, 0, 0)
    c._code.append("\n".join(ops) + "\nf")  # raw path operators; reportlab has no bulk-rectangle API
    c.restoreState()


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------


class _Info(pdfdoc.PDFInfo):
    """The document information dictionary plus the signed record (base64url of its canonical JSON)."""

    signed_record = ""

    def format(self, document):  # noqa: A003 - reportlab's name
        d = {
            "Title": pdfdoc.PDFString(self.title),
            "Author": pdfdoc.PDFString(self.author),
            "Subject": pdfdoc.PDFString(self.subject),
            "Creator": pdfdoc.PDFString(self.creator),
            "Producer": pdfdoc.PDFString(self.producer),
            "Keywords": pdfdoc.PDFString(self.keywords),
            "CreationDate": pdfdoc.PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter),
            "ModDate": pdfdoc.PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter),
            "Trapped": pdfdoc.PDFName(self.trapped),
            INFO_KEY: pdfdoc.PDFString(self.signed_record),
        }
        return pdfdoc.PDFDictionary(d).format(document)


_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def _us_date(d: date | None) -> str:
    return d.strftime("%m/%d/%Y") if d else "open"


def _long_date(d: date) -> str:
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def _credits(v) -> str:
    s = format(v.normalize(), "f") if v == v.to_integral_value() else format(v, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


class _Words:
    """The certificate's labels, dates and numbers in the record's language.

    English is exactly what the first template printed (US dates, "1.5 hours"), so old records
    re-render to the same bytes; other languages take Babel's (CLDR) formats for their locale.
    """

    def __init__(self, locale: str | None) -> None:
        self.locale = L.normalize(locale)
        self.english = self.locale.split("_")[0] == L.DEFAULT_LOCALE
        self.t = L.translator(self.locale)
        self.rtl = L.text_direction(self.locale) == "rtl"
        self.lang = "en-US" if self.english else self.locale.replace("_", "-")

    def _(self, message: str) -> str:
        return self.t.gettext(message)

    def count(self, value: Decimal | float | int) -> int:
        """A whole number that picks the gettext plural form CLDR gives `value`: 1.5 hours takes
        "other" in English and Arabic, but "one" in French ("1,5 heure")."""
        if value == int(value):
            return int(value)
        category = Locale.parse(self.locale).plural_form(Decimal(str(value)))
        rule = Locale.parse(self.locale).plural_form
        return next((n for n in range(200) if rule(n) == category), 2)

    def number(self, value: Decimal) -> str:
        return _credits(value) if self.english else L.format_number(value, self.locale)

    def hours(self, minutes: int) -> str:
        h = minutes / 60
        return f"{h:g}" if self.english else L.format_number(Decimal(minutes) / 60, self.locale)

    def _date(self, d: date, format: str) -> str:  # noqa: A002 - Babel's name
        # One unbreakable unit ("1 janv. 2025" never wraps), without the bidi marks some locales add.
        return L.format_date(d, self.locale, format).translate(_BIDI_CONTROLS).replace(" ", "\u00a0")

    def long_date(self, d: date) -> str:
        return _long_date(d) if self.english else self._date(d, "long")

    def short_date(self, d: date | None) -> str:
        if d is None:
            # Translators: an approval period with no end (or start) date, as in "01/01/2025-open".
            return self.t.pgettext("approval period", "open")
        return _us_date(d) if self.english else self._date(d, "medium")

    def issued(self, d: date) -> str:
        return d.strftime("%Y-%m-%d") if self.english else self._date(d, "medium")

    def credit_type(self, value: str) -> str:
        return L.credit_type_label(self.t, value)


MAX_IMAGE_BYTES = 2_000_000


def layout_options(page_size: Any = None, logo: Any = None, signature_image: Any = None) -> dict[str, Any]:
    """Checked `render_pdf` keyword arguments from a home's settings: the page size ("letter" or
    "a4"; empty: letter) and the logo and signature image, each PNG or JPEG bytes or a file path
    (empty: none). Raises ValueError naming the setting and the fix; the PDF is otherwise the same."""
    size = str(page_size or "letter").strip().lower()
    if size not in PAGE_SIZES:
        raise ValueError(f"The certificate page size {page_size!r} is not supported. Use 'letter' or 'a4'.")
    out: dict[str, Any] = {"page_size": size}
    for key, value, what in (("logo", logo, "logo"), ("signature_image", signature_image, "signature image")):
        if not value:
            out[key] = None
            continue
        data = value
        if isinstance(value, (str, Path)):
            try:
                data = Path(value).expanduser().read_bytes()
            except OSError as e:
                raise ValueError(f"The certificate {what} {str(value)!r} cannot be read: {e.strerror or e}.") from e
        if not isinstance(data, bytes) or not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8")):
            raise ValueError(f"The certificate {what} must be a PNG or JPEG image.")
        if len(data) > MAX_IMAGE_BYTES:
            raise ValueError(
                f"The certificate {what} is {len(data):,} bytes; keep it under {MAX_IMAGE_BYTES:,} "
                "(a 600-pixel-wide PNG is plenty), since every certificate embeds it."
            )
        try:
            ImageReader(io.BytesIO(data)).getSize()
        except Exception as e:  # noqa: BLE001 - any decoder failure means the same thing here
            raise ValueError(f"The certificate {what} is not a readable PNG or JPEG image ({e}).") from e
        out[key] = data
    return out


def _image(data: bytes | None) -> ImageReader | None:
    return ImageReader(io.BytesIO(data)) if data else None


def _draw_image(c: Canvas, img: ImageReader, x: float, y: float, max_w: float, max_h: float, align: str) -> None:
    iw, ih = img.getSize()
    scale = min(max_w / iw, max_h / ih)
    w, h = iw * scale, ih * scale
    if align == "center":
        x -= w / 2
    elif align == "right":
        x -= w
    c.drawImage(img, x, y, w, h, mask="auto")


def _is_rtl_text(text: str) -> bool:
    """Whether a paragraph reads right to left: its first strong character is Hebrew or Arabic."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def render_pdf(
    signed: SignedRecord,
    *,
    page_size: str = "letter",
    logo: bytes | None = None,
    signature_image: bytes | None = None,
) -> bytes:
    """The certificate of a signed record as PDF bytes. Same inputs, same bytes.

    `page_size` is "letter" or "a4" (landscape either way); `logo` and `signature_image` are
    optional PNG or JPEG bytes (the provider's, not per learner). The language is the record's.
    """
    try:
        pagesize = PAGE_SIZES[page_size.lower()]
    except KeyError:
        raise ValueError(f"Page size {page_size!r} is not supported. Use 'letter' or 'a4'.") from None
    rec = signed.record
    T = _Words(rec.locale)
    _ = T._
    rtl = T.rtl
    buf = io.BytesIO()
    warm_up()
    c = Canvas(buf, pagesize=pagesize, invariant=1, pageCompression=1, initialFontName="CE-Sans", lang=T.lang)
    doc = c._doc
    info = _Info()
    info.__dict__.update(doc.info.__dict__)
    info.signed_record = b64url(signed.to_json().encode("utf-8"))
    doc.info = info
    # The creation date is the issue date, so a re-render is byte-identical.
    ts = doc._timeStamp
    ts.YMDhms = rec.issued_at.timetuple()[:6]
    ts.dhh = ts.dmm = 0
    c.setTitle(_("Certificate %(id)s: %(title)s") % {"id": rec.certificate_id, "title": rec.activity_title})
    c.setAuthor(rec.sponsor_name or "CE Credit")
    c.setSubject(_("Certificate of completion for %(name)s") % {"name": rec.legal_name})
    c.setCreator("ce-credit")
    c.setProducer("ce-credit (reportlab)")
    c.setKeywords(f"certificate {rec.certificate_id} template {rec.template_version}")

    W, H = pagesize
    M = 30  # margin
    inner = W - 2 * M - 40
    cx = W / 2

    # Frame
    c.setStrokeColor(ACCENT)
    c.setLineWidth(3)
    c.rect(M, M, W - 2 * M, H - 2 * M, stroke=1, fill=0)
    c.setLineWidth(0.75)
    c.rect(M + 6, M + 6, W - 2 * M - 12, H - 2 * M - 12, stroke=1, fill=0)

    top = H - M - 12
    logo_img = _image(logo)
    if logo_img is not None:
        if rtl:  # a right-to-left page starts at the right: the logo is mirrored there
            _draw_image(c, logo_img, W - M - 20, top - 50, 130, 46, "right")
        else:
            _draw_image(c, logo_img, M + 20, top - 50, 130, 46, "left")

    c.setFillColor(INK)
    y = top - 28
    if rec.sponsor_name:
        size, lines = fit(rec.sponsor_name, inner - 300, 13, 9, 1, bold=True, more=((2, 7),))
        for line in lines:
            draw(c, line, cx, y, size, bold=True, align="center")
            y -= size * 1.15
        y += size * 1.15
    y -= 38
    c.setFillColor(ACCENT)
    draw(c, _("Certificate of completion").upper(), cx, y, 26, bold=True, align="center", rtl=rtl)
    c.setFillColor(INK)
    y -= 26
    draw(c, _("This certifies that"), cx, y, 11, align="center", rtl=rtl)

    # Name: one line, shrinking to 16 pt; then up to three lines, shrinking to 8 pt; never cut off.
    size, lines = fit(rec.legal_name, inner, 30, 16, 1, bold=True, more=((3, 16), (3, 8)))
    y -= size + 8
    for line in lines:
        draw(c, line, cx, y, size, bold=True, align="center")
        y -= size * 1.15
    y += size * 1.15
    c.setStrokeColor(MUTED)
    c.setLineWidth(0.5)
    c.line(cx - 220, y - 6, cx + 220, y - 6)
    y -= 20
    licence = []
    if rec.license_number:
        licence.append(_("License %(number)s") % {"number": rec.license_number})
    if rec.license_state:
        licence.append(_("State: %(state)s") % {"state": rec.license_state})
    if rec.profession:
        licence.append(_("Profession: %(profession)s") % {"profession": rec.profession})
    if licence:
        c.setFillColor(MUTED)
        draw(c, "  ·  ".join(licence), cx, y, 9.5, align="center", rtl=rtl)
        c.setFillColor(INK)
        y -= 18
    else:
        y -= 2
    draw(c, _("has completed the continuing education activity"), cx, y, 11, align="center", rtl=rtl)

    # Title: two lines shrinking to 11 pt, then four lines shrinking to 7 pt, then as many as it takes.
    size, lines = fit(rec.activity_title, inner, 18, 11, 2, bold=True, more=((4, 11), (4, 7)))
    y -= size + 8
    for line in lines:
        draw(c, line, cx, y, size, bold=True, align="center")
        y -= size * 1.2
    y += size * 1.2 - 16
    hours = rec.duration_minutes / 60
    details = "  ·  ".join(
        [
            _(FORMAT_LABELS[rec.delivery_format]) if rec.delivery_format in FORMAT_LABELS else rec.delivery_format,
            _(LEVEL_LABELS[rec.level]) if rec.level in LEVEL_LABELS else f"{rec.level.capitalize()} level",
            T.t.ngettext("%(hours)s hour of instruction", "%(hours)s hours of instruction", T.count(hours))
            % {"hours": T.hours(rec.duration_minutes)},
            _("Version %(version)s") % {"version": rec.activity_version},
            _("Completed %(date)s") % {"date": T.long_date(rec.completion_date)},
        ]
    )
    c.setFillColor(MUTED)
    draw(c, details, cx, y, 9, align="center", rtl=rtl)
    c.setFillColor(INK)

    # Accreditations: between the details line and the signature/QR band, shrinking to fit.
    band_top = y - 14
    band_bottom = M + 100
    _draw_accreditations(c, rec, M + 26, band_top, W - 2 * M - 52, band_top - band_bottom, T)

    # Signature: bottom left (bottom right on a right-to-left page)
    sig_x, sig_align = (W - M - 40, "right") if rtl else (M + 40, "left")
    sig_left = sig_x - 180 if rtl else sig_x
    sig_img = _image(signature_image)
    if sig_img is not None:
        _draw_image(c, sig_img, sig_left + 90, M + 58, 180, 36, "center")
    c.setStrokeColor(INK)
    c.setLineWidth(0.6)
    c.line(sig_left, M + 54, sig_left + 180, M + 54)
    # Under the line: the signatory, their title and the sponsor, each one line shrinking to 5 pt;
    # a longer text wraps and pushes what follows down (nothing is cut off).
    drop = 0.0
    for text, base, start, smallest, bold in (
        (rec.signatory_name, M + 42, 10, 7, True),
        (rec.signatory_title, M + 31, 8.5, 6, False),
        (rec.sponsor_name, M + 21, 8.5, 6, False),
    ):
        if not text:
            continue
        size, lines = fit(text, 200, start, smallest, 1, bold=bold, more=((1, 5),))
        for i, line in enumerate(lines):
            draw(c, line, sig_x, base - drop - i * size * 1.1, size, bold=bold, align=sig_align)
        drop += (len(lines) - 1) * size * 1.1

    # Id and verification: bottom right, the text on the QR code's left (mirrored on a right-to-left page)
    qr_size = 78
    if rtl:
        qx, qy = M + 16, M + 14
        tx, talign = qx + qr_size + 8, "left"
    else:
        qx, qy = W - M - 16 - qr_size, M + 14
        tx, talign = qx - 8, "right"
    draw_qr(c, rec.verification_url, qx, qy, qr_size)
    c.setFillColor(INK)
    # The verification URL: one line shrinking to 4 pt, else wrapped upwards (the labels above move up).
    size, url_lines = fit(rec.verification_url, 260, 7.5, 5, 1, more=((1, 4),))
    rise = (len(url_lines) - 1) * size * 1.1
    draw(c, _("Certificate ID %(id)s") % {"id": rec.certificate_id}, tx, qy + 46 + rise, 10, True, talign, rtl)
    c.setFillColor(MUTED)
    draw(c, _("Verify this certificate at"), tx, qy + 32 + rise, 7.5, align=talign, rtl=rtl)
    for i, line in enumerate(url_lines):
        draw(c, line, tx, qy + 22 + rise - i * size * 1.1, size, align=talign)
    c.linkURL(rec.verification_url, (qx, qy, qx + qr_size, qy + qr_size), relative=0)
    issued = _("Issued %(date)s  ·  template %(version)s") % {
        "date": T.issued(rec.issued_at.date()),
        "version": rec.template_version,
    }
    draw(c, issued, tx, qy + 10, 6.5, align=talign, rtl=rtl)
    if rec.supersedes:
        draw(c, _("Replaces certificate %(id)s") % {"id": rec.supersedes}, tx, qy + 1, 6.5, align=talign, rtl=rtl)

    c.showPage()
    c.save()
    return buf.getvalue()


def _accreditation_text(a, T: _Words | None = None) -> tuple[str, str]:
    """The heading of one accreditation in the certificate's language, and its statement verbatim."""
    T = T or _Words(L.DEFAULT_LOCALE)
    values = {
        "body": a.body_name,
        "credits": T.number(a.credits),
        "unit": T._(a.credit_unit),
        "type": T.credit_type(a.credit_type),
    }
    head = (
        T.t.ngettext(
            "%(body)s: %(credits)s credit (unit: %(unit)s), %(type)s",
            "%(body)s: %(credits)s credits (unit: %(unit)s), %(type)s",
            T.count(a.credits),
        )
        % values
    )
    bits = []
    if a.provider_number:
        bits.append(T._("Provider/approval no. %(number)s") % {"number": a.provider_number})
    if a.state:
        bits.append(T._("State %(state)s") % {"state": a.state})
    if a.approval_start or a.approval_end:
        period = {"start": T.short_date(a.approval_start), "end": T.short_date(a.approval_end)}
        bits.append(T._("Approval period %(start)s–%(end)s") % period)
    if bits:
        head += ". " + ". ".join(bits) + "."
    return head, a.statement


def _draw_accreditations(c: Canvas, rec, x: float, top: float, w: float, h: float, T: _Words | None = None) -> None:
    """Each accreditation's heading (in the certificate's language) and its statement (verbatim).

    On a right-to-left certificate the headings are right-aligned, and each statement is aligned to
    the side its own text starts on: an English statement stays left-aligned, as `dir="auto"` does."""
    T = T or _Words(L.DEFAULT_LOCALE)
    rtl = T.rtl
    blocks = [_accreditation_text(a, T) for a in rec.accreditations]
    for head_size, body_size in ((8.5, 7.5), (8, 7), (7.5, 6.5), (7, 6), (6.5, 5.5), (6, 5), (5.5, 4.5), (5, 4)):
        laid = [(wrap(hd, w, head_size, True, rtl, not T.english), wrap(st, w, body_size)) for hd, st in blocks]
        need = sum(len(hl) * head_size * 1.25 + len(sl) * body_size * 1.25 + 5 for hl, sl in laid)
        if need <= h:
            break
    y = top - head_size
    for (head_lines, body_lines), (_, statement_text) in zip(laid, blocks, strict=True):
        c.setFillColor(INK)
        for line in head_lines:
            if rtl:
                draw(c, line, x + w, y, head_size, bold=True, align="right", rtl=True)
            else:
                draw(c, line, x, y, head_size, bold=True)
            y -= head_size * 1.25
        c.setFillColor(MUTED)
        statement_rtl = rtl and _is_rtl_text(statement_text)
        for line in body_lines:
            if statement_rtl:
                draw(c, line, x + w, y, body_size, align="right", rtl=True)
            else:
                draw(c, line, x, y, body_size)
            y -= body_size * 1.25
        y -= 5
    c.setFillColor(INK)


_INFO_RE = re.compile(rb"/" + INFO_KEY.encode() + rb"\s*\(([A-Za-z0-9_-]*)\)")


def extract_signed_record(pdf: bytes) -> dict | None:
    """The signed record embedded by `render_pdf`, as a dict, or None if the PDF carries none."""
    import json  # noqa: PLC0415

    m = _INFO_RE.search(pdf)
    if not m:
        return None
    try:
        return json.loads(b64url_decode(m.group(1).decode("ascii")))
    except ValueError:
        return None


def render_many(signed: Iterable[SignedRecord], **kwargs) -> Iterable[bytes]:
    for s in signed:
        yield render_pdf(s, **kwargs)
