"""Verification of a certificate: a signed record, a PDF, an Open Badges credential, or a typed id.

Used by `ce-credit verify` (offline) and by both homes' public verification pages: each home
looks the id up in its own store and calls `verify_stored`, then returns `as_json(result)` or
`render_html(result, lang=...)`. Every failure says what is wrong in words a licensing board understands.
The page is in the language the home passes (its status words, labels, dates and numbers); the
certificate's own values are shown as issued, and the JSON is language-neutral.
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
from ce_xblock.core import locale as L
from ce_xblock.core.certificate import (
    CHECK_ALPHABET,
    ID_ALPHABET,
    ID_DATA_SYMBOLS,
    ID_PREFIX,
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
from ce_xblock.core.locale import N_, Phrase

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
    malformed_id: bool = False  # the typed id cannot be a certificate id (a typing error)
    # What the public page says instead of an English problem text (from another module's exception):
    # a `locale.Phrase`, translated where it is shown. `problems` stays English for the CLI and JSON.
    page_text: dict[str, Phrase] = field(default_factory=dict)

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
        result.page_text[str(e)] = Phrase(
            N_(
                "This certificate record fails its signature check: it was changed after issue, or it was not "
                "signed with a key this provider trusts. Do not accept this certificate; contact the provider."
            )
        )
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
        r.problems.append(Phrase(N_("This file is not a PDF.")))
        return r
    data = pdfmod.extract_signed_record(pdf)
    if data is None:
        r = VerificationResult("pdf")
        r.problems.append(
            Phrase(
                N_(
                    "This PDF carries no signed certificate record, so it was not issued by ce-credit or was "
                    "re-saved by another program. Check the certificate id on the provider's verification page."
                )
            )
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
            result.notes.append(Phrase(N_("The printed page matches the signed record exactly.")))
        else:
            result.notes.append(
                Phrase(
                    N_(
                        "The signed record inside the PDF is authentic, but the page could not be matched byte for "
                        "byte (the provider's logo or signature image was not supplied, or another renderer version "
                        "made it). Rely on the fields shown here, not on the printed page."
                    )
                )
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


def _id_problem(typed: str) -> Phrase:
    """What is wrong with a typed id, in words the page translates (certificate.py's check, in its order)."""
    raw = typed.strip().upper().replace(" ", "").replace("-", "").replace("_", "")
    size = ID_DATA_SYMBOLS + 1
    if raw.startswith(ID_PREFIX) and len(raw) == size + len(ID_PREFIX):
        raw = raw[len(ID_PREFIX) :]
    raw = raw.translate(str.maketrans({"I": "1", "L": "1", "O": "0"}))
    if len(raw) < size:
        # Translators: %(id)s is what the visitor typed. Keep the example id as it is.
        return Phrase(
            N_("“%(id)s” is not a certificate id: it is too short. Type it as printed, for example CE-7F3K-9Q2M."),
            id=typed,
        )
    if len(raw) > size:
        # Translators: %(id)s is what the visitor typed. Keep the example id as it is.
        return Phrase(
            N_("“%(id)s” is not a certificate id: it is too long. Type it as printed, for example CE-7F3K-9Q2M."),
            id=typed,
        )
    bad = "".join(dict.fromkeys(c for c in raw[:-1] if c not in ID_ALPHABET)) or (
        raw[-1] if raw[-1] not in CHECK_ALPHABET else ""
    )
    if bad:
        # Translators: %(id)s is what the visitor typed, %(symbols)s the characters that cannot be in an id.
        return Phrase(
            N_(
                "“%(id)s” is not a certificate id: it contains %(symbols)s. Certificate ids use only the digits "
                "0 to 9 and the letters A to Z except I, L, O and U."
            ),
            id=typed,
            symbols=" ".join(bad),
        )
    # Translators: %(id)s is what the visitor typed.
    return Phrase(
        N_(
            "“%(id)s” is not a certificate id: its last symbol does not match the others, so a symbol was probably "
            "mistyped or two were swapped. Check it against the certificate."
        ),
        id=typed,
    )


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
        result.malformed_id = True
        result.page_text[str(e)] = _id_problem(result.certificate_id)
        return result
    result.certificate_id = cid
    result.status_checked = True
    if signed is None or signed.certificate_id != cid:
        result.status = Status.UNKNOWN
        return result
    try:
        verify_signature(signed, public_keys)
    except SignatureError as e:
        text = f"The stored record of {cid} fails its signature check ({e}) — contact the provider."
        result.problems.append(text)
        result.page_text[text] = Phrase(
            N_(
                "The provider's stored record of %(id)s fails its signature check, so this page cannot confirm "
                "it. Do not accept this certificate; contact the provider."
            ),
            id=cid,
        )
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


# ---------------------------------------------------------------------------------------------
# The public page, in the visitor's language
#
# The page's own words go through the catalogue of the locale the home passes (`lang`), dates and
# numbers through Babel. What the certificate says (names, titles, accreditors, provider numbers,
# approval statements, a staff member's reason) is shown exactly as issued, in `<bdi translate="no">`
# (or `dir="auto"`), so that a browser's page translation leaves it alone and Latin text keeps its
# order on a right-to-left page.
# ---------------------------------------------------------------------------------------------

# The same source strings as the PDF's and the learner front end's, so they read the same everywhere.
FORMAT_LABELS = {
    "home-study": N_("Home study"),
    "self-paced-online": N_("Self-paced online"),
    "live-webinar": N_("Live webinar"),
}
LEVEL_LABELS = {"introductory": N_("Introductory"), "intermediate": N_("Intermediate"), "advanced": N_("Advanced")}


def page_locale(lang: str | None) -> str:
    """The locale a page is shown in: the best shipped catalogue for `lang` ("fr-CA" gives "fr"), else "en"."""
    return L.negotiate(lang) if lang else L.DEFAULT_LOCALE


def _status_text(t: L.Translator, key: str) -> tuple[str, str]:
    """The status heading and its explanation, for the status codes of `as_json`."""
    if key == "valid":
        return (
            t.pgettext("certificate status", "Valid certificate"),
            t.gettext("This certificate was issued by the provider and has not been changed or revoked."),
        )
    if key == "superseded":
        return (
            t.pgettext("certificate status", "Superseded"),
            t.gettext("This certificate was replaced by a corrected one. Use the new certificate."),
        )
    if key == "revoked":
        return (
            t.pgettext("certificate status", "Revoked"),
            t.gettext("The provider revoked this certificate. It must not be accepted for credit."),
        )
    if key == "unknown":
        return (
            t.pgettext("certificate status", "Unknown certificate"),
            t.gettext("No certificate with this id was issued by this provider."),
        )
    return (t.pgettext("certificate status", "Not verified"), t.gettext("This certificate could not be verified."))


def _asis(value: Any) -> str:
    """A value from the certificate, escaped and shown as issued."""
    return f'<bdi translate="no">{html.escape(str(value))}</bdi>'


def lookup_form(
    action: str,
    value: str = "",
    *,
    lang: str | None = "en",
    hidden: Mapping[str, str] | None = None,
    error_id: str = "",
) -> str:
    """An accessible form to type an id (GET `action?id=...`), in the language `lang`.

    `hidden` adds fields the next request needs (the LTI tool keeps an explicit `?lang=`). With
    `error_id`, the element that says what is wrong with `value`, the field is marked invalid and
    described by that text as well as by its hint.
    """
    t = L.translator(page_locale(lang))
    e = html.escape
    described = "ce-certificate-id-hint" + (f" {e(error_id)}" if error_id else "")
    invalid = ' aria-invalid="true"' if error_id else ""
    keep = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in (hidden or {}).items())
    return (
        f'<form method="get" action="{e(action)}" class="lookup">{keep}'
        f'<label for="ce-certificate-id">{e(t.gettext("Certificate ID"))}</label>'
        f'<p id="ce-certificate-id-hint" class="hint">'
        f"{e(t.gettext('For example CE-7F3K-9Q2M. It is printed under the QR code.'))}</p>"
        # Ids are Latin letters and digits: typed left to right on a right-to-left page too.
        f'<span class="lookup-row"><input id="ce-certificate-id" name="id" value="{e(value)}" dir="ltr" '
        f'autocomplete="off" spellcheck="false" aria-describedby="{described}"{invalid} size="16"> '
        f'<button type="submit">{e(t.gettext("Verify"))}</button></span></form>'
    )


def _page(loc: str, head_title: str, heading: str, status: str, body: str) -> str:
    e = html.escape
    tpl = Template(TEMPLATE.read_text(encoding="utf-8"))
    return tpl.substitute(
        lang=e(loc.replace("_", "-")),
        dir=L.text_direction(loc),
        head_title=e(head_title),
        heading=e(heading),
        status=status,
        body=body,
    )


def render_lookup_page(
    action: str,
    *,
    page_title: str | None = None,
    lang: str | None = "en",
    hidden: Mapping[str, str] | None = None,
) -> str:
    """The page before an id is typed: the heading and the form, in the language `lang`."""
    loc = page_locale(lang)
    title = page_title or L.translator(loc).gettext("Verify a CE certificate")
    return _page(loc, title, title, "", lookup_form(action, lang=loc, hidden=hidden))


def render_html(
    result: VerificationResult,
    *,
    page_title: str | None = None,
    lang: str | None = "en",
    form_action: str | None = None,
    hidden: Mapping[str, str] | None = None,
) -> str:
    """A standalone accessible page (one h1, a status region, a definition list, a table of credits),
    with the id form below when `form_action` is given (`hidden`: see `lookup_form`).

    The page's words are in `lang` (the best shipped catalogue for it, else English; `<html lang dir>`
    say which), its dates and numbers formatted for that locale. The certificate's own values are
    shown as issued. Everything from the record is escaped; the page loads nothing from elsewhere.
    """
    e = html.escape
    loc = page_locale(lang)
    t = L.translator(loc)
    _ = t.gettext
    title = page_title or _("Verify a CE certificate")
    data = as_json(result)
    key = data["status"]
    heading, explanation = _status_text(t, key)
    cid = result.certificate_id or ""

    status = [f"<p><strong>{e(heading)}</strong></p>"]
    if cid and not result.malformed_id:  # a mistyped id is quoted in its problem text instead
        status.append("<p>" + e(_("Certificate ID %(id)s")) % {"id": _asis(cid)} + "</p>")
    status.append(f"<p>{e(explanation)}</p>")
    if result.reason:
        if result.status_at:
            # Translators: the reason a certificate was revoked or corrected, as staff typed it, and the date.
            text = e(_("Reason: %(reason)s (%(date)s)"))
            values = {"reason": _asis(result.reason), "date": e(L.format_date(result.status_at, loc))}
        else:
            # Translators: the reason a certificate was revoked or corrected, as staff typed it.
            text, values = e(_("Reason: %(reason)s")), {"reason": _asis(result.reason)}
        status.append(f"<p>{text % values}</p>")
    if result.replacement_id:
        replaced = f"<strong>{_asis(result.replacement_id)}</strong>"
        status.append("<p>" + e(_("Replaced by certificate %(id)s.")) % {"id": replaced} + "</p>")
    problem_ids = []
    for i, p in enumerate(result.problems):
        problem_ids.append(f"ce-verify-problem-{i}")
        phrase = p if isinstance(p, Phrase) else result.page_text.get(p)
        if phrase is not None:
            status.append(f'<p id="ce-verify-problem-{i}">{e(phrase.localize(t.gettext))}</p>')
        elif loc == L.DEFAULT_LOCALE:
            status.append(f'<p id="ce-verify-problem-{i}">{e(p)}</p>')
        else:  # a detail with no translation: shown, and marked as English (WCAG 3.1.2)
            status.append(f'<p id="ce-verify-problem-{i}" lang="en" dir="ltr">{e(p)}</p>')

    body = ""
    rec = result.record if "certificate" in data else None
    if rec is not None:
        licence = " · ".join(
            _asis(x) for x in (mask_license_number(rec.license_number), rec.license_state, rec.profession) if x
        )
        fmt, level = rec.delivery_format, rec.level
        rows = [
            (_("Legal name"), _asis(rec.legal_name) if rec.legal_name else ""),
            (_("Licence"), licence),
            (
                _("Activity"),
                # Translators: the activity's title and version, as printed on the certificate.
                e(_("%(title)s (version %(version)s)"))
                % {"title": _asis(rec.activity_title), "version": _asis(rec.activity_version)},
            ),
            (_("Format"), e(_(FORMAT_LABELS[fmt])) if fmt in FORMAT_LABELS else _asis(fmt.replace("-", " "))),
            (_("Level"), e(_(LEVEL_LABELS[level])) if level in LEVEL_LABELS else _asis(level)),
            (_("Completed"), e(L.format_date(rec.completion_date, loc))),
            # Translators: a label on the verification page, followed by the date and time the certificate was issued.
            (t.pgettext("certificate field", "Issued"), e(L.format_datetime(rec.issued_at, loc, format="long"))),
            # Translators: a label on the verification page, followed by the CE provider's name.
            (t.pgettext("certificate field", "Provider"), _asis(rec.sponsor_name) if rec.sponsor_name else ""),
            # Translators: a label on the verification page, followed by the name of who signed the certificate.
            (t.pgettext("certificate field", "Signed by"), _asis(rec.signatory_name) if rec.signatory_name else ""),
        ]
        if rec.supersedes:
            # Translators: a label on the verification page, followed by the id of the certificate this one corrects.
            rows.append((t.pgettext("certificate field", "Replaces"), _asis(rec.supersedes)))
        dl = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in rows if v)
        trs = []
        for a in rec.accreditations:
            start = L.format_date(a.approval_start, loc) if a.approval_start else ""
            end = L.format_date(a.approval_end, loc) if a.approval_end else ""
            if start and end:
                # Translators: an approval period in the table of credits, e.g. "January 1, 2025 to December 31, 2027".
                period = _("%(start)s to %(end)s") % {"start": start, "end": end}
            elif start:
                # Translators: an approval period with no end date.
                period = _("from %(start)s") % {"start": start}
            elif end:
                # Translators: an approval period with no start date.
                period = _("until %(end)s") % {"end": end}
            else:
                period = ""
            trs.append(
                f'<tr><th scope="row">{_asis(a.body_name)}</th>'
                f"<td>{e(L.format_credits(a.credits, loc))}</td><td>{e(L.credit_type_label(t, a.credit_type))}</td>"
                f"<td>{_asis(a.provider_number) if a.provider_number else ''}</td><td>{e(period)}</td></tr>"
            )
        caption = e(_("Credits by accreditor"))
        body = (
            f"<h2>{e(_('Certificate details'))}</h2><dl>{dl}</dl>"
            # The table scrolls inside its own focusable region, so the page reflows at 320 px (WCAG 1.4.10).
            f'<h2>{e(_("Credits"))}</h2><div class="table-wrap" role="region" aria-label="{caption}" tabindex="0">'
            f'<table><caption>{caption}</caption><thead><tr><th scope="col">{e(_("Accreditor"))}</th>'
            f'<th scope="col">{e(_("Credits"))}</th><th scope="col">{e(_("Credit type"))}</th>'
            f'<th scope="col">{e(_("Provider number"))}</th><th scope="col">{e(_("Approval period"))}</th>'
            f"</tr></thead><tbody>{''.join(trs)}</tbody></table></div>"
        )
        statements = "".join(
            f'<li dir="auto" translate="no">{e(a.statement)}</li>' for a in rec.accreditations if a.statement
        )
        if statements:
            heading_html = e(_("Approval statements"))
            body += f'<h2>{heading_html}</h2><ul class="statements">{statements}</ul>'
    for n in result.notes:
        if isinstance(n, Phrase):
            body += f'<p class="note">{e(n.localize(t.gettext))}</p>'
        elif loc == L.DEFAULT_LOCALE:
            body += f'<p class="note">{e(n)}</p>'
        else:
            body += f'<p class="note" lang="en" dir="ltr">{e(n)}</p>'
    if form_action is not None:
        typo = result.malformed_id and bool(problem_ids)
        body += f"<h2>{e(_('Check another certificate'))}</h2>" + lookup_form(
            form_action,
            cid if typo else "",
            lang=loc,
            hidden=hidden,
            error_id=problem_ids[0] if typo else "",
        )
    if cid and not result.malformed_id:
        # Translators: the browser tab's title: the status, the certificate id and the page's name.
        head_title = _("%(status)s: %(id)s — %(page)s") % {"status": heading, "id": cid, "page": title}
    else:
        # Translators: the browser tab's title: the status and the page's name.
        head_title = _("%(status)s — %(page)s") % {"status": heading, "page": title}
    status_html = f'<div class="status {e(key)}" role="status">{"".join(status)}</div>'
    return _page(loc, head_title, title, status_html, body)
