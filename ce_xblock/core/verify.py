"""Verification of a certificate: a signed record, a PDF, an Open Badges credential, or a typed id.

Used by `ce-credit verify` (offline) and by both homes' public verification pages: each home
looks the id up in its own store and calls `verify_stored`, then returns `as_json(result)` or
`render_html(result)`. Every failure says what is wrong in words a licensing board understands.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any

from ce_xblock.core import credential as cred
from ce_xblock.core.certificate import (
    CertificateIdError,
    CertificateRecord,
    SignatureError,
    SignedRecord,
    Status,
    StatusEvent,
    certificate_status,
    normalize_certificate_id,
    verify_signature,
)

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "verify.html"


@dataclass
class VerificationResult:
    """What a verifier learned. `ok` is True only for an authentic certificate whose status is valid
    (or, offline without a status log, an authentic one whose status is not known to be otherwise)."""

    kind: str  # "record" | "pdf" | "credential" | "id"
    certificate_id: str = ""
    authentic: bool = False  # the signature checked out
    status: Status = Status.UNKNOWN
    record: CertificateRecord | None = None
    reason: str = ""
    status_at: datetime | None = None
    replacement_id: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status_checked: bool = False  # a status log was consulted

    @property
    def ok(self) -> bool:
        if not self.authentic or self.problems:
            return False
        return self.status is Status.VALID or (not self.status_checked and self.status is Status.UNKNOWN)

    def summary(self) -> str:
        if self.problems:
            return f"NOT VERIFIED: {' '.join(self.problems)}"
        if not self.authentic:
            return f"NOT VERIFIED: certificate {self.certificate_id or '(no id)'} is unknown."
        if self.status is Status.REVOKED:
            return f"REVOKED: certificate {self.certificate_id} was revoked ({self.reason})."
        if self.status is Status.SUPERSEDED:
            return (
                f"SUPERSEDED: certificate {self.certificate_id} was replaced by {self.replacement_id} ({self.reason})."
            )
        state = "valid" if self.status is Status.VALID else "authentic (status not checked: no status log given)"
        return f"VERIFIED: certificate {self.certificate_id} is {state}."


def _apply_status(result: VerificationResult, signed: SignedRecord, log: Iterable[StatusEvent] | None) -> None:
    result.certificate_id = signed.certificate_id
    result.record = signed.record
    result.authentic = True
    if log is None:
        return
    st = certificate_status(signed.certificate_id, signed, log)
    result.status_checked = True
    result.status = st.status
    result.reason, result.status_at, result.replacement_id = st.reason, st.at, st.replacement_id


def verify_record(
    data: SignedRecord | Mapping[str, Any], public_keys: Any, log: Iterable[StatusEvent] | None = None
) -> VerificationResult:
    """A signed record (object or parsed JSON)."""
    result = VerificationResult("record")
    try:
        signed = verify_signature(data, public_keys)
    except SignatureError as e:
        result.problems.append(str(e))
        rec = data.get("record") if isinstance(data, Mapping) else None
        if isinstance(rec, Mapping):
            result.certificate_id = str(rec.get("certificate_id", ""))
        return result
    _apply_status(result, signed, log)
    if log is None:
        result.status = Status.UNKNOWN
    return result


def verify_pdf(
    pdf: bytes,
    public_keys: Any,
    log: Iterable[StatusEvent] | None = None,
    *,
    logo: bytes | None = None,
    signature_image: bytes | None = None,
) -> VerificationResult:
    """A certificate PDF: the embedded signed record, and whether the printed page matches it."""
    from ce_xblock.core import pdf as pdfmod  # noqa: PLC0415 - reportlab is only needed for PDFs

    if not pdf.startswith(b"%PDF"):
        r = VerificationResult("pdf")
        r.problems.append("This file is not a PDF.")
        return r
    data = pdfmod.extract_signed_record(pdf)
    if data is None:
        r = VerificationResult("pdf")
        r.problems.append(
            "This PDF carries no signed certificate record, so it was not issued by ce-credit or was re-saved by "
            "another program. Check the certificate id on the provider's verification page."
        )
        return r
    result = verify_record(data, public_keys, log)
    result.kind = "pdf"
    if result.authentic:
        signed = SignedRecord.from_dict(data)
        # Rendering is deterministic: the genuine page is byte-identical to a fresh render of its record.
        same = any(
            pdfmod.render_pdf(signed, page_size=size, logo=logo, signature_image=signature_image) == pdf
            for size in pdfmod.PAGE_SIZES
        )
        if same:
            result.notes.append("The printed page matches the signed record exactly.")
        else:
            result.notes.append(
                "The signed record inside the PDF is authentic, but the page could not be matched byte for byte "
                "(the provider's logo or signature image was not supplied, or another renderer version made it). "
                "Rely on the fields shown here, not on the printed page."
            )
    return result


def verify_credential_data(
    data: str | bytes | Mapping[str, Any],
    public_keys: Any,
    log: Iterable[StatusEvent] | None = None,
    lookup: Callable[[str], SignedRecord | None] | None = None,
) -> VerificationResult:
    """An Open Badges VC-JWT (compact or enveloped)."""
    result = VerificationResult("credential")
    try:
        vc = cred.verify_credential(data, public_keys)
    except cred.CredentialError as e:
        result.problems.append(str(e))
        return result
    result.authentic = True
    result.certificate_id = cred.certificate_id_of(vc)
    if lookup is not None and log is not None:
        signed = lookup(result.certificate_id)
        st = certificate_status(result.certificate_id, signed, log)
        result.status_checked = True
        result.status, result.record = st.status, st.record
        result.reason, result.status_at, result.replacement_id = st.reason, st.at, st.replacement_id
    return result


def verify_stored(
    certificate_id: str,
    signed: SignedRecord | None,
    public_keys: Any,
    log: Iterable[StatusEvent] = (),
) -> VerificationResult:
    """What a verification page shows for a typed or scanned id, given the home's stored record (None if none)."""
    result = VerificationResult("id")
    try:
        cid = normalize_certificate_id(certificate_id)
    except CertificateIdError as e:
        result.certificate_id = str(certificate_id)[:40]
        result.problems.append(str(e))
        return result
    result.certificate_id = cid
    result.status_checked = True
    if signed is None or signed.certificate_id != cid:
        result.status = Status.UNKNOWN
        return result
    try:
        verify_signature(signed, public_keys)
    except SignatureError as e:
        result.problems.append(f"The stored record of {cid} fails its signature check ({e}) — contact the provider.")
        return result
    _apply_status(result, signed, list(log))
    return result


def verify_file(
    path: str | Path,
    public_keys: Any,
    log: Iterable[StatusEvent] | None = None,
    **pdf_options: Any,
) -> VerificationResult:
    """Sniff a file (PDF, signed record JSON, credential JSON or JWT) and verify it."""
    data = Path(path).read_bytes()
    if data.startswith(b"%PDF"):
        return verify_pdf(data, public_keys, log, **pdf_options)
    text = data.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as e:
            r = VerificationResult("record")
            r.problems.append(f"{path} is not valid JSON ({e}).")
            return r
        if isinstance(obj, dict) and "record" in obj and "signature" in obj:
            return verify_record(obj, public_keys, log)
        return verify_credential_data(obj, public_keys, log)
    return verify_credential_data(text, public_keys, log)


# ---------------------------------------------------------------------------------------------
# What the homes return: JSON and an accessible standalone HTML page
# ---------------------------------------------------------------------------------------------


def mask_license_number(number: str) -> str:
    """A licence number as the public page shows it: only its last four characters.

    Anyone who types a certificate id sees the page, so it must not hand out whole licence
    numbers; a board official holding the certificate can still match the visible end.
    """
    number = number.strip()
    if not number:
        return ""
    keep = 4 if len(number) > 6 else max(1, len(number) // 3)
    return "\u2022" * (len(number) - keep) + number[-keep:]


def _record_fields(rec: CertificateRecord) -> dict[str, Any]:
    return {
        "legal_name": rec.legal_name,
        "license_number": mask_license_number(rec.license_number),
        "license_state": rec.license_state,
        "profession": rec.profession,
        "activity_title": rec.activity_title,
        "activity_version": rec.activity_version,
        "delivery_format": rec.delivery_format,
        "level": rec.level,
        "completion_date": rec.completion_date.isoformat(),
        "issued_at": rec.issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sponsor_name": rec.sponsor_name,
        "signatory": rec.signatory_name,
        "accreditations": [
            {
                "body": a.body,
                "body_name": a.body_name,
                "provider_number": a.provider_number,
                "approval_start": a.approval_start.isoformat() if a.approval_start else None,
                "approval_end": a.approval_end.isoformat() if a.approval_end else None,
                "credits": str(a.credits),
                "credit_unit": a.credit_unit,
                "credit_type": a.credit_type,
                "statement": a.statement,
            }
            for a in rec.accreditations
        ],
        "supersedes": rec.supersedes,
        "template_version": rec.template_version,
    }


def as_json(result: VerificationResult) -> dict[str, Any]:
    """The body of the JSON verification endpoint."""
    out: dict[str, Any] = {
        "certificate_id": result.certificate_id,
        "status": result.status.value if not result.problems else "invalid",
        "authentic": result.authentic,
        "verified": result.ok,
        "summary": result.summary(),
        "problems": list(result.problems),
        "notes": list(result.notes),
    }
    if result.reason:
        out["reason"] = result.reason
    if result.status_at:
        out["status_date"] = result.status_at.date().isoformat()
    if result.replacement_id:
        out["replaced_by"] = result.replacement_id
    if result.record is not None and result.authentic and not result.problems:
        out["certificate"] = _record_fields(result.record)
    return out


_STATUS_TEXT = {
    "valid": ("Valid certificate", "This certificate was issued by the provider and has not been changed or revoked."),
    "superseded": ("Superseded", "This certificate was replaced by a corrected one. Use the new certificate."),
    "revoked": ("Revoked", "The provider revoked this certificate. It must not be accepted for credit."),
    "unknown": ("Unknown certificate", "No certificate with this id was issued by this provider."),
    "invalid": ("Not verified", "This certificate could not be verified."),
}


def lookup_form(action: str, value: str = "") -> str:
    """An accessible form to type an id (GET `action?id=...`)."""
    e = html.escape
    return (
        f'<form method="get" action="{e(action)}"><label for="ce-certificate-id">Certificate ID</label> '
        f'<input id="ce-certificate-id" name="id" value="{e(value)}" autocomplete="off" spellcheck="false" '
        'aria-describedby="ce-certificate-id-hint" size="16"> <button type="submit">Check</button>'
        '<p id="ce-certificate-id-hint">As printed under the QR code, for example CE-7F3K-9Q2M.</p></form>'
    )


def render_lookup_page(action: str, *, page_title: str = "Certificate verification", lang: str = "en") -> str:
    """The page before an id is typed: the heading and the form (English, like `render_html`)."""
    e = html.escape
    del lang
    return (
        '<!DOCTYPE html><html lang="en" dir="ltr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(page_title)}</title></head><body><main><h1>{e(page_title)}</h1>"
        f"{lookup_form(action)}</main></body></html>"
    )


def render_html(
    result: VerificationResult,
    *,
    page_title: str = "Certificate verification",
    lang: str = "en",
    form_action: str | None = None,
) -> str:
    """A standalone accessible page (one h1, a status region, a definition list, a table of credits),
    with the id form below when `form_action` is given.

    Everything from the record is escaped; the page loads nothing from elsewhere.
    """
    e = html.escape
    data = as_json(result)
    key = data["status"]
    heading, explanation = _STATUS_TEXT[key]
    details = []
    if result.reason:
        details.append(
            f"<p>Reason: {e(result.reason)}"
            + (f" ({e(data.get('status_date', ''))})" if result.status_at else "")
            + "</p>"
        )
    if result.replacement_id:
        details.append(f"<p>Replaced by certificate <strong>{e(result.replacement_id)}</strong>.</p>")
    for p in result.problems:
        details.append(f"<p>{e(p)}</p>")
    body = ""
    cert = data.get("certificate")
    if cert:
        rows = [
            ("Name", cert["legal_name"]),
            (
                "Licence",
                " · ".join(x for x in (cert["license_number"], cert["license_state"], cert["profession"]) if x),
            ),
            ("Activity", f"{cert['activity_title']} (version {cert['activity_version']})"),
            ("Format and level", f"{cert['delivery_format'].replace('-', ' ')}, {cert['level']}"),
            ("Completed", cert["completion_date"]),
            ("Issued", cert["issued_at"]),
            ("Provider", cert["sponsor_name"]),
            ("Signed by", cert["signatory"]),
        ]
        if cert["supersedes"]:
            rows.append(("Replaces", cert["supersedes"]))
        dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows if v)
        trs = "".join(
            "<tr>"
            f'<th scope="row">{e(a["body_name"])}</th><td>{e(a["credits"])}</td><td>{e(a["credit_type"].replace("-", " "))}</td>'
            f"<td>{e(a['provider_number'])}</td>"
            f"<td>{e((a['approval_start'] or 'open') + ' to ' + (a['approval_end'] or 'open') if (a['approval_start'] or a['approval_end']) else '')}</td>"
            "</tr>"
            for a in cert["accreditations"]
        )
        statements = "".join(f"<li>{e(a['statement'])}</li>" for a in cert["accreditations"])
        body = (
            f"<h2>Certificate details</h2><dl>{dl}</dl>"
            # The table scrolls inside its own focusable region, so the page reflows at 320 px (WCAG 1.4.10).
            '<h2>Credits</h2><div class="table-wrap" role="region" aria-label="Credits by accreditor" tabindex="0">'
            '<table><caption>Credits by accreditor</caption><thead><tr><th scope="col">Accreditor</th>'
            '<th scope="col">Credits</th><th scope="col">Credit type</th><th scope="col">Provider number</th>'
            f'<th scope="col">Approval period</th></tr></thead><tbody>{trs}</tbody></table></div>'
            f"<h2>Approval statements</h2><ul>{statements}</ul>"
        )
    for n in result.notes:
        body += f'<p class="note">{e(n)}</p>'
    if form_action is not None:
        body += "<h2>Check another certificate</h2>" + lookup_form(form_action)
    tpl = Template(TEMPLATE.read_text(encoding="utf-8"))
    # The page's own words are English until it has a catalogue; declaring the learner's language
    # on English text would mislead screen readers (WCAG 3.1.1). `lang` is kept for that day.
    del lang
    return tpl.substitute(
        lang="en",
        title=e(page_title),
        status_class=e(key),
        heading=e(heading),
        certificate_id=e(result.certificate_id or ""),
        explanation=e(explanation),
        details="".join(details),
        body=body,
    )
