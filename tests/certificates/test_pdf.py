"""The certificate PDF: text layer per accreditor, names in every script against stored images, QR, bytes."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from certhelpers import BASE_URL, ISSUED_AT, id_from_seed, key_from_seed, make_activity, make_completion
from PIL import Image, ImageChops, ImageStat

from ce_xblock.core import certificate as cert
from ce_xblock.core import credit, pdf

EXPECTED = Path(__file__).resolve().parent / "expected"
UPDATE = os.environ.get("CE_UPDATE_EXPECTED") == "1"

SCRIPT_NAMES = {
    "latin": "Zoë Łukasiewicz-Nguyễn Øster",
    "greek": "Αλέξανδρος Παπαδόπουλος",
    "cyrillic": "Анна Кузнецова",
    "arabic": "محمد عبد الله",
    "hebrew": "שָׂרָה כֹּהֵן",
    "chinese": "王小明",
    "japanese": "山田 はなこ",
    "korean": "김민준",
    "combining": "Ọ̀ṣun Adébáyọ̀ q̃",
    "mixed": "María Ωμέγα Иван 李 دانا",
}


def issue(name="Zoë Łukasiewicz-Nguyễn", seed="one", activity=None, **completion):
    return cert.issue(
        activity or make_activity(),
        make_completion(name=name, **completion),
        certificate_id=id_from_seed(seed),
        issued_at=ISSUED_AT,
        private_key=key_from_seed("provider key"),
        verification_base_url=BASE_URL,
    )


def pdftotext(data: bytes, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def flat(text: str) -> str:
    return " ".join(text.split())


def png(data: bytes, tmp_path: Path, dpi: int = 100, crop: tuple[int, int, int, int] | None = None) -> Image.Image:
    src = tmp_path / "c.pdf"
    src.write_bytes(data)
    args = ["pdftoppm", "-r", str(dpi), "-png", "-gray"]
    if crop:
        x, y, w, h = crop
        args += ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)]
    subprocess.run([*args, str(src), str(tmp_path / "page")], check=True)
    return Image.open(next(tmp_path.glob("page*.png"))).convert("L")


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute grey-level difference, 0 (same) to 255."""
    if a.size != b.size:
        return 255.0
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


def changed_pixels(a: Image.Image, b: Image.Image) -> int:
    """How many pixels differ by more than a quarter of the grey range (anti-aliasing noise does not)."""
    if a.size != b.size:
        return a.size[0] * a.size[1]
    return sum(ImageChops.difference(a, b).histogram()[64:])


# The name band of a Letter page at 100 dpi (the name's baseline is about 170 pt from the top).
NAME_BAND = (0, 170, 1100, 95)
# The same name renders identically here (0 changed pixels); changing one letter of any name in
# SCRIPT_NAMES changes 500-8,700 pixels of the band. 100 leaves room for rasteriser differences only.
MAX_CHANGED_PIXELS = 100
TOLERANCE = 0.3


@pytest.mark.parametrize("script", sorted(SCRIPT_NAMES))
def test_a_name_in_each_script_renders_like_the_stored_image(script, tmp_path):
    data = issue(SCRIPT_NAMES[script], seed=script)
    image = png(pdf.render_pdf(data), tmp_path, crop=NAME_BAND)
    expected = EXPECTED / f"name-{script}.png"
    if UPDATE:
        image.save(expected)
    assert expected.exists(), f"{expected} is missing; run with CE_UPDATE_EXPECTED=1 and look at it"
    stored = Image.open(expected).convert("L")
    assert changed_pixels(image, stored) <= MAX_CHANGED_PIXELS
    assert difference(image, stored) < TOLERANCE


def test_the_image_comparison_catches_a_different_name(tmp_path):
    image = png(pdf.render_pdf(issue("Anna Kuznetsova", seed="cyrillic")), tmp_path, crop=NAME_BAND)
    assert difference(image, Image.open(EXPECTED / "name-cyrillic.png").convert("L")) > TOLERANCE


@pytest.mark.parametrize("script", sorted(SCRIPT_NAMES))
def test_the_image_comparison_catches_one_changed_letter(script, tmp_path):
    """A wrong or missing glyph for a single letter must fail the comparison, in every script."""
    name = SCRIPT_NAMES[script]
    image = png(pdf.render_pdf(issue(name[:-1] + "x", seed=script)), tmp_path, crop=NAME_BAND)
    assert changed_pixels(image, Image.open(EXPECTED / f"name-{script}.png").convert("L")) > MAX_CHANGED_PIXELS


def test_no_name_falls_back_to_a_missing_glyph_box():
    for name in SCRIPT_NAMES.values():
        for font_name, text in pdf.runs(name, True):
            face = pdf.font(font_name).face
            missing = [c for c in text if not c.isspace() and ord(c) not in face.charToGlyph]
            assert not missing, (name, font_name, missing)


def test_scripts_use_the_right_fonts():
    fonts = {script: {f for f, _ in pdf.runs(name, True)} for script, name in SCRIPT_NAMES.items()}
    assert fonts["arabic"] >= {"CE-Arabic"}
    assert fonts["chinese"] == {"CE-CJK"}
    assert fonts["korean"] == {"CE-Korean"}
    assert fonts["mixed"] >= {"CE-Sans", "CE-CJK", "CE-Arabic"}


def test_right_to_left_names_are_drawn_in_visual_order():
    ((_, hebrew),) = pdf.runs("שרה כהן", False)
    assert hebrew == "ןהכ הרש"
    marks = pdf._visual("שָׂרָה")
    assert marks[-3:] == "\u05e9\u05b8\u05c2"  # shin, then its points in logical order, at the right end


@pytest.mark.parametrize("body", ["apa", "aswb-ace", "nbcc", "naadac", "state-board"], ids=lambda b: b)
def test_the_text_layer_has_every_field_the_accreditor_requires(body):
    full = make_activity()
    acc = next(a for a in full.accreditations if a.body.value == body)
    activity = full.replace(accreditations=(acc,))
    signed = issue(activity=activity, seed=body)
    text = flat(pdftotext(pdf.render_pdf(signed)))
    rec = signed.record
    line = rec.accreditations[0]
    required = [
        rec.legal_name,
        rec.activity_title,
        "Completed March 3, 2026",
        f"Certificate ID {rec.certificate_id}",
        rec.verification_url,
        rec.sponsor_name,
        rec.signatory_name,
        rec.signatory_title,
        "Self-paced online",
        "Intermediate level",
        "Version 3",
        line.body_name,
        f"2 credits (unit: {line.credit_unit})",
        line.credit_type.replace("-", " "),
        flat(credit.statement(activity, acc)),
    ]
    if acc.provider_number:
        required.append(f"Provider/approval no. {acc.provider_number}")
    if acc.approval_start:
        required.append(f"Approval period {acc.approval_start:%m/%d/%Y}–{acc.approval_end:%m/%d/%Y}")
    if any(d.value != "legal-name" for d in acc.required_details) or rec.license_number:
        required += ["License LCSW-12345", "State: TX", "Profession: Social Worker"]
    missing = [r for r in required if r not in text]
    assert not missing, missing


def test_the_qr_code_carries_the_verification_url(signed, tmp_path):
    src = tmp_path / "c.pdf"
    src.write_bytes(pdf.render_pdf(signed))
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(src), str(tmp_path / "page")], check=True)
    out = subprocess.run(
        ["zbarimg", "-q", "--raw", *map(str, tmp_path.glob("page*.png"))], capture_output=True, text=True
    )
    assert out.stdout.strip() == signed.record.verification_url == f"{BASE_URL}/{signed.certificate_id}"


def test_the_same_record_renders_the_same_bytes_in_another_process(signed):
    first = pdf.render_pdf(signed)
    assert pdf.render_pdf(signed) == first
    code = (
        "import sys;from ce_xblock.core import pdf, certificate as c;"
        "s=c.SignedRecord.from_json(sys.stdin.read());sys.stdout.buffer.write(pdf.render_pdf(s))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], input=signed.to_json().encode(), capture_output=True, check=True
    )
    assert hashlib.sha256(other.stdout).hexdigest() == hashlib.sha256(first).hexdigest()
    assert b"/CreationDate (D:20260304153000+00'00')" in first
    assert b"/Lang (en-US)" in first  # screen readers pick the right voice for the printed text


def test_the_pdf_is_small_and_one_landscape_page(signed):
    for size, dims in (("letter", "792 x 612"), ("a4", "841.89 x 595.276")):
        data = pdf.render_pdf(signed, page_size=size)
        assert len(data) <= 50_000
        info = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True).stdout.decode()
        assert re.search(r"Pages:\s+1\n", info)
        assert dims in info
    with pytest.raises(ValueError, match="letter"):
        pdf.render_pdf(signed, page_size="legal")


def test_fonts_are_embedded(signed):
    out = subprocess.run(
        ["pdffonts", "-"], input=pdf.render_pdf(signed), capture_output=True, check=True
    ).stdout.decode()
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert rows and all(re.search(r"\byes\s+yes\b", r) for r in rows)  # embedded, subset


def test_long_names_and_titles_stay_on_the_page():
    name = "Maximiliana Alexandrina Konstantinopoulou-Wolfeschlegelsteinhausenbergerdorff " * 2
    title = "A very long activity title about ethics, law, supervision and documentation in telehealth practice " * 3
    signed = issue(name.strip(), activity=make_activity(title=title.strip()), seed="long")
    data = pdf.render_pdf(signed)
    boxes = pdftotext(data, "-bbox")
    xs = [float(v) for v in re.findall(r'xMax="([0-9.]+)"', boxes)]
    xmins = [float(v) for v in re.findall(r'xMin="([0-9.]+)"', boxes)]
    assert xs and max(xs) <= 792 - 30 and min(xmins) >= 30
    text = flat(pdftotext(data))
    assert "Konstantinopoulou-" in text and "documentation in telehealth practice" in text


def test_logo_and_signature_images_are_drawn_and_verifiable(signed, tmp_path):
    def image(colour):
        buf = io.BytesIO()
        Image.new("RGB", (120, 40), colour).save(buf, "PNG")
        return buf.getvalue()

    logo, sig = image((200, 30, 30)), image((30, 30, 200))
    data = pdf.render_pdf(signed, logo=logo, signature_image=sig)
    assert data != pdf.render_pdf(signed)
    src = tmp_path / "logo.pdf"
    src.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(src), str(tmp_path / "logo")], check=True)
    colours = Image.open(next(tmp_path.glob("logo*.png"))).convert("RGB").getcolors(100_000)
    assert any(c[1][0] > 150 and c[1][2] < 80 for c in colours)  # red logo
    assert any(c[1][2] > 150 and c[1][0] < 80 for c in colours)  # blue signature


def test_the_signed_record_is_embedded(signed):
    assert pdf.extract_signed_record(pdf.render_pdf(signed)) == signed.to_dict()
    assert pdf.extract_signed_record(b"%PDF-1.4 nothing") is None


def test_a_missing_font_names_the_debian_package(monkeypatch):
    monkeypatch.setitem(pdf.FONTS, "CE-Test", ("Nope.ttf", "/nonexistent/Nope.ttf", "fonts-nope"))
    with pytest.raises(pdf.FontMissing, match="apt-get install fonts-nope"):
        pdf.font("CE-Test")


def test_a_character_no_font_has_is_an_error_not_a_box():
    with pytest.raises(pdf.GlyphMissing, match="U\\+E000"):
        pdf.runs("Ana \ue000", False)


def test_every_long_field_is_printed_whole_inside_the_frame():
    """Names, titles, sponsor, signatory and the verification address at their longest: every word
    is in the text layer (nothing is cut off) and every glyph is inside the page's frame."""
    name = " ".join(["Maximiliana Konstantinopoulou"] * 6) + " Nameend"  # 186 characters
    assert len(name) <= 200  # the longest legal name a learner can enter (flow.MAX_NAME)
    title = " ".join(["Supervision, documentation and ethics in telehealth practice"] * 7) + " Titleend"
    sponsor = " ".join(["Northwestern Regional Institute for Behavioral Health Education"] * 2) + " Sponsorend"
    signatory = "Dr. Alexandra Konstantinopoulou-Wolfeschlegelsteinhausen Signend"
    sig_title = "Director of Continuing Education and Professional Development Programs Roleend"
    activity = make_activity(title=title).replace(
        sponsor=make_activity().sponsor.__class__(name=sponsor, signatory_name=signatory, signatory_title=sig_title)
    )
    signed = cert.issue(
        activity,
        make_completion(name=name),
        certificate_id=id_from_seed("longest"),
        issued_at=ISSUED_AT,
        private_key=key_from_seed("provider key"),
        verification_base_url="https://continuing-education.example-university.edu/programs/behavioral-health/"
        "certificates/verification/lookup",
    )
    data = pdf.render_pdf(signed)
    text = flat(pdftotext(data))
    for field in (name, title, sponsor, signatory, sig_title):
        assert field in text, field[:40]
    assert signed.record.verification_url in text.replace(" ", "")
    boxes = pdftotext(data, "-bbox")
    for axis, low, high in (("x", 36, 792 - 36), ("y", 36, 612 - 36)):
        lows = [float(v) for v in re.findall(rf'{axis}Min="([0-9.]+)"', boxes)]
        highs = [float(v) for v in re.findall(rf'{axis}Max="([0-9.]+)"', boxes)]
        assert lows and min(lows) >= low and max(highs) <= high, (axis, min(lows), max(highs))


def test_a_short_name_keeps_the_first_templates_layout():
    """The fit stages only start when the old ones ran out: a usual certificate is laid out as before."""
    size, lines = pdf.fit("Zoë Łukasiewicz-Nguyễn", 692, 30, 16, 1, bold=True, more=((3, 16), (3, 8)))
    assert (size, lines) == (30, ["Zoë Łukasiewicz-Nguyễn"])
    # Too long for every stage: wrapped at the last stage's size, and every word is kept.
    text = "word " * 60
    size, lines = pdf.fit(text, 300, 10, 7, 1, more=((3, 6),))
    assert size == 6 and len(lines) > 3 and " ".join(lines).split() == text.split()


def test_a_character_no_font_has_refuses_the_certificate_at_issue_naming_field_and_character():
    with pytest.raises(cert.CertificateRefused) as e:
        issue("Ana \ue000 Silva", seed="pua")
    (refusal,) = e.value.refusals
    assert refusal.code == "unprintable"
    assert "legal name" in refusal.message and "U+E000" in refusal.message
    with pytest.raises(cert.CertificateRefused) as e:
        issue(activity=make_activity(title="Ethics \ue001"), seed="pua2")
    assert "activity title" in e.value.refusals[0].message


def test_layout_options_name_the_problem():
    assert pdf.layout_options() == {"page_size": "letter", "logo": None, "signature_image": None}
    assert pdf.layout_options(" A4 ")["page_size"] == "a4"
    with pytest.raises(ValueError, match="page size 'legal' is not supported"):
        pdf.layout_options("legal")
    with pytest.raises(ValueError, match="logo must be a PNG or JPEG"):
        pdf.layout_options(logo=b"GIF89a...")
    with pytest.raises(ValueError, match="signature image .* cannot be read"):
        pdf.layout_options(signature_image="/nonexistent/signature.png")
    with pytest.raises(ValueError, match="not a readable PNG or JPEG"):
        pdf.layout_options(logo=b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ValueError, match="keep it under"):
        pdf.layout_options(logo=b"\xff\xd8" + bytes(pdf.MAX_IMAGE_BYTES))


WARM_UP_CHECK = """
import sys, threading
from ce_xblock.core import pdf
assert set(pdf._loaded) <= {"CE-Sans"}, sorted(pdf._loaded)
{start}
for t in threading.enumerate():
    if t.name == "ce-credit-font-warm-up":
        t.join(30)
print(",".join(sorted(pdf._loaded)))
print(sum(t.name == "ce-credit-font-warm-up" for t in threading.enumerate()))
"""


def _warm_up_in_fresh_process(start: str, tmp_path: Path) -> list[str]:
    code = WARM_UP_CHECK.replace("{start}", start)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def _available_fonts() -> set[str]:
    return {n for n, (f, system, _) in pdf.FONTS.items() if (pdf.FONT_DIR / f).is_file() or Path(system).is_file()}


def test_warm_up_loads_every_available_font_and_only_latin_by_default(tmp_path):
    loaded, _ = _warm_up_in_fresh_process("pdf.warm_up()", tmp_path)
    assert loaded == "CE-Sans"
    loaded, _ = _warm_up_in_fresh_process("pdf.warm_up(all_scripts=True)", tmp_path)
    assert set(loaded.split(",")) == _available_fonts() >= {"CE-Sans", "CE-Arabic", "CE-CJK"}


def test_the_background_warm_up_runs_once_per_process(tmp_path):
    loaded, threads = _warm_up_in_fresh_process(
        "pdf.warm_up_in_background(); pdf.warm_up_in_background(); pdf.warm_up_in_background()", tmp_path
    )
    assert set(loaded.split(",")) == _available_fonts()
    assert threads == "0"  # joined, and never more than the one started


def test_the_lti_tool_and_the_xblock_warm_the_fonts_when_a_worker_starts(tmp_path):
    pytest.importorskip("flask")
    db = tmp_path / "t.db"
    start = (
        "from lti_tool import create_app\n"
        f"create_app({{'DATABASE_URL': 'sqlite:///{db}', 'OUTBOX_THREAD': False, 'INSTANCE_PATH': '{tmp_path}'}})"
    )
    loaded, _ = _warm_up_in_fresh_process(start, tmp_path)
    assert "CE-CJK" in loaded.split(",")
    loaded, _ = _warm_up_in_fresh_process("from ce_xblock import block\nblock._warm_up_certificates()", tmp_path)
    assert "CE-CJK" in loaded.split(",")


def test_fonts_loaded_from_many_threads_at_once_are_loaded_once():
    import threading  # noqa: PLC0415

    name = "CE-Korean" if "CE-Korean" in _available_fonts() else "CE-Arabic"
    pdf._loaded.pop(name, None)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(pdf.font(name))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(f is got[0] for f in got)
