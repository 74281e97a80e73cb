"""Verification: PDFs, signed records, credentials and typed ids, offline (CLI) and for the homes' pages."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import UTC, datetime

import pytest
from certhelpers import ISSUED_AT, id_from_seed, key_from_seed
from click.testing import CliRunner

from ce_xblock.cli import main
from ce_xblock.core import certificate as cert
from ce_xblock.core import credential as cr
from ce_xblock.core import pdf
from ce_xblock.core import verify as ver


@pytest.fixture
def files(tmp_path, signed, key):
    (tmp_path / "pub.pem").write_bytes(cert.public_key_pem(key))
    (tmp_path / "cert.pdf").write_bytes(pdf.render_pdf(signed))
    (tmp_path / "record.json").write_text(signed.to_json())
    (tmp_path / "badge.json").write_text(json.dumps(cr.envelope(cr.issue_credential(signed, key))))
    (tmp_path / "badge.jwt").write_text(cr.issue_credential(signed, key))
    (tmp_path / "records.jsonl").write_text(signed.to_json() + "\n")
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


@pytest.mark.parametrize("name", ["cert.pdf", "record.json", "badge.json", "badge.jwt"])
def test_the_cli_verifies_each_kind_of_file(files, signed, name):
    r = run("verify", files / name, "--key", files / "pub.pem")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"VERIFIED: certificate {signed.certificate_id}")


def test_the_cli_says_the_pdf_page_matches_the_record(files):
    r = run("verify", files / "cert.pdf", "--key", files / "pub.pem")
    assert "The printed page matches the signed record exactly." in r.output
    assert "Name: Zoë Łukasiewicz-Nguyễn" in r.output


def _reembed(pdf_bytes: bytes, data: dict) -> bytes:
    blob = base64.urlsafe_b64encode(cert.canonical_json(data)).rstrip(b"=")
    return re.sub(rb"/CECertificate \([A-Za-z0-9_-]*\)", b"/CECertificate (" + blob + b")", pdf_bytes)


def test_a_pdf_whose_embedded_record_was_edited_fails(files, signed):
    data = json.loads(signed.to_json())
    data["record"]["accreditations"][0]["credits"] = "20"
    (files / "forged.pdf").write_bytes(_reembed((files / "cert.pdf").read_bytes(), data))
    r = run("verify", files / "forged.pdf", "--key", files / "pub.pem")
    assert r.exit_code == 1
    assert "NOT VERIFIED" in r.output and "changed after issue" in r.output


def test_a_pdf_whose_page_was_edited_is_not_confirmed(files):
    original = (files / "cert.pdf").read_bytes()
    # Change one byte of the page's content stream (ASCII85 + Flate), leaving the embedded record alone.
    m = re.search(rb"/ASCII85Decode /FlateDecode \] /Length \d+\s*>>\s*stream\r?\n", original)
    assert m
    i = m.end() + 20
    edited = original[:i] + (b"A" if original[i : i + 1] != b"A" else b"B") + original[i + 1 :]
    (files / "edited.pdf").write_bytes(edited)
    result = ver.verify_pdf(edited, (files / "pub.pem").read_bytes())
    assert result.authentic  # the embedded record is genuine...
    assert not any("matches the signed record exactly" in n for n in result.notes)  # ...the page is not confirmed
    r = run("verify", files / "edited.pdf", "--key", files / "pub.pem")
    assert r.exit_code == 3 and "could not be matched" in r.output


def test_a_pdf_without_a_record_is_explained(files):
    (files / "other.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    r = run("verify", files / "other.pdf", "--key", files / "pub.pem")
    assert r.exit_code == 1 and "carries no signed certificate record" in r.output


def test_a_tampered_credential_fails_in_the_cli(files, key):
    token = (files / "badge.jwt").read_text()
    head, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["vc"]["credentialSubject"]["creditsEarned"] = 20
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    (files / "forged.jwt").write_text(f"{head}.{forged}.{sig}")
    r = run("verify", files / "forged.jwt", "--key", files / "pub.pem")
    assert r.exit_code == 1 and "does not match its content" in r.output


def test_an_id_is_checked_against_a_records_file_and_status_log(files, signed):
    r = run("verify", signed.certificate_id.lower(), "--key", files / "pub.pem", "--records", files / "records.jsonl")
    assert r.exit_code == 0 and "is valid" in r.output
    event = cert.revoke(signed, reason="Attestation was false", at=datetime(2026, 4, 1, tzinfo=UTC))
    (files / "log.jsonl").write_text(json.dumps(event.to_dict()) + "\n")
    r = run(
        "verify",
        signed.certificate_id,
        "--key",
        files / "pub.pem",
        "--records",
        files / "records.jsonl",
        "--status-log",
        files / "log.jsonl",
        "--json",
    )
    assert r.exit_code == 1
    out = json.loads(r.output)
    assert (out["status"], out["reason"], out["status_date"]) == ("revoked", "Attestation was false", "2026-04-01")


def test_a_typed_id_with_a_typo_or_unknown_id_is_explained(files, signed):
    typo = signed.certificate_id[:-1] + ("A" if signed.certificate_id[-1] != "A" else "B")
    r = run("verify", typo, "--key", files / "pub.pem")
    assert r.exit_code != 0 and "mistyped" in r.output
    unknown = id_from_seed("never issued")
    r = run("verify", unknown, "--key", files / "pub.pem", "--records", files / "records.jsonl")
    assert r.exit_code == 1 and "unknown" in r.output
    r = run("verify", unknown, "--key", files / "pub.pem")
    # Well-formed is not verified: without records there is nothing to check it against.
    assert r.exit_code == 2 and "well-formed" in r.output and "not verified" in r.output and "--records" in r.output


def test_a_key_is_required(files):
    r = run("verify", files / "record.json")
    assert r.exit_code == 2 and "--key" in r.output


def test_the_page_and_json_for_each_status(signed, key):
    new, sup = cert.supersede(
        signed,
        changes={"legal_name": "Zoë Ng"},
        reason="Name <b>typo</b>",
        certificate_id=id_from_seed("two"),
        issued_at=ISSUED_AT,
        private_key=key,
    )
    cases = {
        "valid": ver.verify_stored(signed.certificate_id, signed, key, []),
        "superseded": ver.verify_stored(signed.certificate_id, signed, key, [sup]),
        "revoked": ver.verify_stored(
            signed.certificate_id, signed, key, [cert.revoke(signed, reason="r", at=ISSUED_AT)]
        ),
        "unknown": ver.verify_stored(id_from_seed("x"), None, key, []),
        "invalid": ver.verify_stored("CE-XXXX", None, key, []),
    }
    for status, result in cases.items():
        body = ver.as_json(result)
        assert body["status"] == status
        assert body["verified"] is (status == "valid")
        page = ver.render_html(result)
        assert 'role="status"' in page and "<h1>" in page and page.count("<h1>") == 1
        assert ('class="status ' + status + '"') in page
    sup_page = ver.render_html(cases["superseded"])
    assert "Name &lt;b&gt;typo&lt;/b&gt;" in sup_page and "<b>typo" not in sup_page
    assert new.certificate_id in sup_page
    assert "certificate" not in ver.as_json(cases["unknown"])


def test_the_page_escapes_everything_from_the_record(activity, key):
    from certhelpers import BASE_URL, make_completion

    s = cert.issue(
        activity,
        make_completion(name='<script>alert("x")</script>'),
        certificate_id=id_from_seed("xss"),
        issued_at=ISSUED_AT,
        private_key=key,
        verification_base_url=BASE_URL,
    )
    page = ver.render_html(ver.verify_stored(s.certificate_id, s, key, []))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_a_stored_record_that_fails_its_signature_is_reported(signed):
    result = ver.verify_stored(signed.certificate_id, signed, key_from_seed("other").public_key(), [])
    assert not result.ok and "fails its signature check" in result.summary()


def test_the_lookup_form_is_labelled_and_escaped(signed, key):
    page = ver.render_html(ver.verify_stored(signed.certificate_id, signed, key, []), form_action='/verify?"x')
    assert '<label for="ce-certificate-id">' in page and 'id="ce-certificate-id"' in page
    assert 'action="/verify?&quot;x"' in page
    empty = ver.render_lookup_page("/verify")
    assert "<h1>" in empty and 'name="id"' in empty


def test_the_public_verification_shows_only_the_end_of_a_licence_number(signed, key) -> None:
    assert signed.record.license_number == "LCSW-12345"
    result = ver.verify_stored(signed.certificate_id, signed, key, [])
    body = json.dumps(ver.as_json(result), ensure_ascii=False)
    page = ver.render_html(result)
    for shown in (body, page):
        assert "LCSW-12345" not in shown and "LCSW" not in shown
        assert "\u2022" * 6 + "2345" in shown
    assert ver.mask_license_number("12345") == "\u2022" * 4 + "5"
    assert ver.mask_license_number("  ") == ""


def test_the_page_declares_the_language_it_is_written_in(signed, key):
    result = ver.verify_stored(signed.certificate_id, signed, key, [])
    for asked, lang, direction in (
        ("fr-CA", "fr", "ltr"),
        ("ar", "ar", "rtl"),
        ("es_MX", "es", "ltr"),
        ("de", "en", "ltr"),  # no German catalogue: English, and said to be English
        (None, "en", "ltr"),
    ):
        for page in (ver.render_html(result, lang=asked), ver.render_lookup_page("/verify", lang=asked)):
            assert f'<html lang="{lang}" dir="{direction}">' in page, asked
    assert "Certificat valide" in ver.render_html(result, lang="fr")
    assert "Valid certificate" in ver.render_html(result, lang="de")


@pytest.mark.parametrize(
    ("typed", "english", "french"),
    [
        ("CE-7F3K", "it is too short", "il est trop court"),
        ("CE-7F3K-9Q2M-XX", "it is too long", "il est trop long"),
        ("CE-7F3K-9Q#M", "it contains #", "il contient #"),
        (None, "its last symbol does not match", "son dernier caractère ne correspond pas"),
    ],
)
def test_a_mistyped_id_is_explained_in_the_page_language(typed, english, french):
    if typed is None:  # one symbol changed in a real id: the check symbol catches it
        real = id_from_seed("typo")
        typed = real[:-2] + ("0" if real[-2] != "0" else "1") + real[-1]
    result = ver.verify_stored(typed, None, [], [])
    assert result.malformed_id and not result.ok
    with pytest.raises(cert.CertificateIdError) as err:
        cert.normalize_certificate_id(typed)
    assert ver.as_json(result)["problems"] == [str(err.value)]  # the JSON keeps the engine's English text
    page = ver.render_html(result, form_action="/verify")
    assert english in page and 'aria-invalid="true"' in page
    fr = ver.render_html(result, lang="fr", form_action="/verify")
    assert french in fr and english not in fr and 'aria-describedby="ce-certificate-id-hint ce-verify-problem-0"' in fr
    assert html.escape(typed) in fr


def test_problems_without_a_translation_are_marked_as_english(signed, key):
    result = ver.verify_stored(signed.certificate_id, signed, key, [])
    result.problems.append("Something only the engine says.")
    page = ver.render_html(result, lang="fr")
    assert '<p id="ce-verify-problem-0" lang="en" dir="ltr">Something only the engine says.</p>' in page
    assert ver.render_html(result).count('lang="en"') == 1  # the page's own, on <html>


def test_the_pdf_notes_read_the_same_in_json_and_translate_on_the_page(files, signed):
    result = ver.verify_pdf((files / "cert.pdf").read_bytes(), (files / "pub.pem").read_bytes())
    assert ver.as_json(result)["notes"] == ["The printed page matches the signed record exactly."]
    assert "La page imprimée correspond exactement" in ver.render_html(result, lang="fr")
    bad = ver.verify_pdf(b"not a pdf", b"")
    assert json.loads(json.dumps(ver.as_json(bad)))["problems"] == ["This file is not a PDF."]
    assert "Ce fichier n'est pas un PDF." in html.unescape(ver.render_html(bad, lang="fr"))
