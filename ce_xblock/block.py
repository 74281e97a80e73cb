"""The `ce_credit` XBlock: a thin Open edX home over the CE engine in `ce_xblock.core`.

It maps XBlock fields and services to the engine and the engine's results to grade and completion
events. The learner flow is `core.flow`; the OLX is `core.olx`; certificates are `core.certificate`
and `core.pdf`. Everything the learner front end does goes through one JSON handler, `api`.
"""

from __future__ import annotations

import gettext as gettext_module
import hashlib
import html
import json
import logging
import math
import os
import re
import string
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree
from web_fragments.fragment import Fragment
from webob import Response
from xblock.completable import CompletableXBlockMixin
from xblock.core import XBlock
from xblock.fields import Dict, Float, List, Scope, String
from xblock.scorable import ScorableXBlockMixin, Score
from xblock.validation import ValidationMessage

from ce_xblock import editing
from ce_xblock.core import attempts as attempts_mod
from ce_xblock.core import flow, olx, records
from ce_xblock.core import locale as locale_mod
from ce_xblock.core.activity import Activity
from ce_xblock.core.flow import FlowError, LearnerState
from ce_xblock.core.locale import N_, Phrase

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"
EXAMPLES_DIRS = (PACKAGE_DIR / "examples", PACKAGE_DIR.parent / "examples")
TEXT_DOMAIN = "text"  # the catalogue name Open edX's i18n service looks for in a block's translations/
RTL_LANGUAGES = {"ar", "he", "fa", "ur"}
# Attributes of the <ce_credit> root that belong to the activity (everything else is a block setting).
ACTIVITY_ATTRIBUTES = frozenset({"id", "version", "display_name", "format", "level", "duration_minutes", "min_minutes"})
GRADE_POLICIES = ("best", "last")
EXPORT_KINDS = ("completion", "attendance", "annual", "roster-csv", "roster-xlsx")
# Accommodation bounds: generous, but a typo such as 300 attempts is refused rather than stored.
MAX_EXTRA_ATTEMPTS = 20
MAX_EXTRA_MINUTES = 24 * 60
# What staff may correct on an issued certificate: what the learner typed. The rest comes from the activity.
CORRECTABLE_FIELDS = ("legal_name", "license_number", "license_state", "profession")


def _(text: str) -> str:
    """Marks a string for extraction; it is translated where it is used (see CECreditBlock._)."""
    return text


@lru_cache(maxsize=1)
def starter_olx() -> str:
    """The activity a new block starts with: small, valid, and obviously a template."""
    return olx.dumps(olx.load(TEMPLATES_DIR / "starter.xml"))


@lru_cache(maxsize=64)
def _parse(text: str) -> Activity:
    # Parsing is pure, so one cache serves every block and learner with the same content.
    return olx.loads(text)


@lru_cache(maxsize=16)
def _translations(language: str, directory: str) -> gettext_module.NullTranslations:
    langs = [language.replace("-", "_"), language.split("-")[0]]
    return gettext_module.translation(TEXT_DOMAIN, directory, languages=langs, fallback=True)


def _template(name: str) -> string.Template:
    return string.Template((TEMPLATES_DIR / name).read_text(encoding="utf-8"))


def _json_response(body: Any, status: int = 200) -> Response:
    return Response(
        body=json.dumps(body).encode("utf-8"),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def _csv_download(rows: Any, header: tuple[str, ...], name: str, stem: str) -> Response:
    return Response(
        body="".join(records.csv_lines(rows, header=header)).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        content_disposition=f'attachment; filename="{name}-{stem}.csv"',
    )


def _error(status: int, code: str, message: str, field: str | None = None) -> Response:
    return _json_response({"error": code, "message": message, "field": field}, status)


def _scroll_region(content: str, labelledby: str) -> str:
    """Wide content (a chart at its drawn size, a table of many columns) that scrolls sideways in its
    own box instead of the page (WCAG 1.4.10): a region keyboard users can Tab to and scroll, named
    by the element(s) `labelledby` (ids: the chart's title, the table's caption)."""
    return f"<div class='cec-table-wrap' role='region' tabindex='0' aria-labelledby='{labelledby}'>{content}</div>"


_warm_up_started = False


def _warm_up_certificates() -> None:
    """Import the PDF code and load every certificate font in a daemon thread, once per LMS process,
    from its first CE page, so that no learner asking for a certificate waits ~150 ms for a font."""
    global _warm_up_started
    if _warm_up_started:
        return
    _warm_up_started = True

    def run() -> None:
        from ce_xblock.core import pdf  # noqa: PLC0415 - reportlab loads off the request thread

        pdf.warm_up(all_scripts=True)

    threading.Thread(target=run, name="ce-credit-font-warm-up", daemon=True).start()


@XBlock.needs("i18n")
@XBlock.wants("user")
@XBlock.wants("settings")
class CECreditBlock(ScorableXBlockMixin, CompletableXBlockMixin, XBlock):
    """A CE activity: information, post-test, evaluation, attestation and certificate."""

    display_name = String(
        display_name=_("Display name"),
        help=_("The activity title, as printed on the certificate."),
        scope=Scope.settings,
        default="CE Credit",
    )
    activity_olx = String(
        help=_("The whole activity as <ce_credit> OLX (see docs/olx.md)."),
        scope=Scope.content,
        default="",
    )
    weight = Float(
        display_name=_("Problem weight"),
        help=_("How many points the post-test is worth in the course grade."),
        scope=Scope.settings,
        default=1.0,
        values={"min": 0},
    )
    grade_policy = String(
        display_name=_("Grade policy"),
        help=_("Which attempt counts for the grade: the best one, or the last one (the grade may go down)."),
        scope=Scope.settings,
        default="best",
        values=[
            {"display_name": _("Best attempt"), "value": "best"},
            {"display_name": _("Last attempt"), "value": "last"},
        ],
    )

    learner_state = Dict(help="flow.LearnerState.to_dict() of this learner", scope=Scope.user_state, default={})
    raw_earned = Float(help="The raw score last published", scope=Scope.user_state, default=None)
    raw_possible = Float(help="The raw maximum last published", scope=Scope.user_state, default=None)

    # Shared by all learners of this block: what the public verification page and staff need.
    issued_certificates = Dict(help="certificate id -> signed record", scope=Scope.user_state_summary, default={})
    certificate_log = List(help="revocations and corrections", scope=Scope.user_state_summary, default=[])
    stats = Dict(help="counts for the staff summary", scope=Scope.user_state_summary, default={})
    # The staff report cannot read other learners' state when it renders, so the item statistics and
    # the evaluation summary are kept as running sums (core.records), added to once per scored
    # attempt and once per evaluation, when it is first recorded.
    item_sums = Dict(
        help='{"first": sums of first attempts, "all": sums of every attempt} (records.add_score_to_sums)',
        scope=Scope.user_state_summary,
        default={},
    )
    evaluation_sums = Dict(
        help="records.add_evaluation_to_sums of every submitted evaluation",
        scope=Scope.user_state_summary,
        default={},
    )
    # The attendance list: staff cannot read other learners' state, so each learner's progress is
    # noted here (records.participation_to_dict) when it changes, and again on their next visit if
    # a concurrent write lost it.
    participation = Dict(
        help="learner key -> records.participation_to_dict of their progress",
        scope=Scope.user_state_summary,
        default={},
    )
    # Staff cannot write another learner's user_state, so accommodations live beside the block's
    # shared data, keyed by the learner's anonymous user id, and are laid over the state on read.
    accommodations = Dict(
        help="anonymous user id -> {extra_attempts, extra_minutes, learner, granted_by, granted_at}",
        scope=Scope.user_state_summary,
        default={},
    )
    # Written once per certificate, at issue (and after a staff correction, on the next download):
    # every download serves these bytes, whatever later happens to fonts, libraries or settings.
    certificate_pdf_store = Dict(
        help='The learner\'s certificate PDF as issued: {"id": certificate id, "pdf": base64}',
        scope=Scope.user_state,
        default={},
    )
    demo_signing_key = String(
        help="Only when no signing key is configured (workbench, trials): a per-block Ed25519 key",
        scope=Scope.user_state_summary,
        default="",
    )

    public_dir = "static"
    i18n_js_namespace = "CECreditI18N"
    has_author_view = True
    show_in_read_only_mode = True
    translations_dir = str(TRANSLATIONS_DIR)  # tests may point this at their own catalogue

    # ------------------------------------------------------------------ engine access

    @staticmethod
    def now() -> datetime:
        """The clock. Tests replace it on the instance to move time forward."""
        return datetime.now(UTC)

    @property
    def activity(self) -> Activity:
        return _parse(self.activity_olx or starter_olx())

    def _state(self) -> LearnerState:
        try:
            state = LearnerState.from_dict(self.learner_state)
        except (ValueError, TypeError) as e:
            # A damaged record must not lock the learner out of the page; staff see it in the log.
            log.error("ce_credit %s: learner state unreadable (%s); starting fresh", self.scope_ids.usage_id, e)
            state = LearnerState()
        # The accommodation staff granted is the truth, whatever an older stored state says.
        granted = (self.accommodations or {}).get(self._learner_key()) or {}
        return replace(
            state,
            extra_attempts=int(granted.get("extra_attempts") or 0),
            extra_minutes=int(granted.get("extra_minutes") or 0),
        )

    def _seed(self) -> str:
        key = f"{self.scope_ids.user_id}|{self.scope_ids.usage_id}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    # ------------------------------------------------------------------ services

    def _language(self) -> str:
        i18n = self.runtime.service(self, "i18n")
        for source in (i18n, _django_translation()):
            get = getattr(source, "get_language", None) if source is not None else None
            if callable(get):
                try:
                    lang = get()
                except Exception:  # noqa: BLE001 - a runtime without a language falls back to English
                    lang = None
                if lang:
                    return str(lang)
        return "en"

    def _translator(self) -> gettext_module.NullTranslations:
        return _translations(self._language(), self.translations_dir)

    def _(self, text: str) -> str:
        """Translate with the runtime's i18n service first, then the packaged catalogue.

        In Open edX the service reads the block's catalogue, or the one openedx-atlas pulled for it,
        so a translation updated there wins. Runtimes whose service does not translate (the
        workbench, tests) give the text back unchanged, and the catalogue in translations/ answers.
        """
        i18n = self.runtime.service(self, "i18n")
        get = getattr(i18n, "gettext", None) if i18n is not None else None
        if callable(get):
            try:
                out = get(text)
            except Exception:  # noqa: BLE001 - a broken service must not break the page; use ours
                out = None
            if isinstance(out, str) and out and out != text:
                return out
        return self._translator().gettext(text)

    def _learner(self) -> dict[str, Any]:
        """What we know of the current user: full name, anonymity and staff status.

        No user service (some runtimes, tests): a learner with no name, who types it. An anonymous
        user (public course preview): may read the information but not take the post-test.
        """
        anonymous = self.scope_ids.user_id is None
        full_name, staff = "", False
        svc = self.runtime.service(self, "user")
        if svc is not None:
            user = svc.get_current_user()
            attrs = getattr(user, "opt_attrs", None) or {}
            if attrs.get("edx-platform.is_authenticated") is False:
                anonymous = True
            full_name = (getattr(user, "full_name", "") or "").strip()
            staff = bool(attrs.get("edx-platform.user_is_staff"))
        staff = staff or bool(getattr(self.runtime, "user_is_staff", False))
        return {"full_name": "" if anonymous else full_name, "anonymous": anonymous, "staff": staff}

    def _learner_key(self, user: Any = None) -> str:
        """The current learner's key for accommodations: the anonymous user id, as the LMS gives it.

        Runtimes without one (workbench, tests) key by the runtime's user id.
        """
        if user is None:
            svc = self.runtime.service(self, "user")
            user = svc.get_current_user() if svc is not None else None
        attrs = getattr(user, "opt_attrs", None) or {}
        anon = attrs.get("edx-platform.anonymous_user_id")
        return str(anon) if anon else str(self.scope_ids.user_id)

    def _resolve_learner(self, typed: str) -> str:
        """Staff typed a username or an anonymous user id: the key the learner's own requests use.

        The LMS's user service maps a username to its anonymous id (for staff only), as ORA2's
        staff tools do; when it does not know the name, what was typed is taken as the id.
        """
        svc = self.runtime.service(self, "user")
        lookup = getattr(svc, "get_anonymous_user_id", None)
        if callable(lookup):
            course_id = getattr(self.runtime, "course_id", None) or getattr(
                self.scope_ids.usage_id, "context_key", None
            )
            try:
                anon = lookup(typed, course_id)
            except Exception:  # noqa: BLE001 - an unknown username: use the id as typed
                anon = None
            if anon:
                return str(anon)
        return typed

    def _settings(self) -> Mapping[str, Any]:
        svc = self.runtime.service(self, "settings")
        if svc is None:
            return {}
        try:
            return svc.get_settings_bucket(self) or {}
        except Exception:  # noqa: BLE001 - misconfigured settings must not break the learner page
            log.exception("ce_credit: XBLOCK_SETTINGS could not be read")
            return {}

    # ------------------------------------------------------------------ views

    def _links(self, state: LearnerState) -> dict[str, str]:
        if not state.certificate:
            return {}
        links = {
            "pdf": self.runtime.handler_url(self, "certificate_pdf"),
            "credential": self.runtime.handler_url(self, "certificate_credential"),
        }
        url = (state.certificate or {}).get("verification_url")
        if url:
            links["verify"] = url
        return links

    def _view(self, state: LearnerState, learner: Mapping[str, Any] | None = None) -> dict[str, Any]:
        learner = learner or self._learner()
        return flow.view(
            self.activity,
            state,
            self.now(),
            locale=self._language(),
            profile=learner,
            links=self._links(state),
        )

    def _activity_problems(self) -> list[olx.OLXProblem]:
        """Why the stored activity cannot be read (empty when it can), as the validation panel says.

        Studio refuses a bad edit, but a course imported from elsewhere or written by an older
        version may hold one; the learner page then says so instead of failing with a 500.
        The problems read as English (`str`, for the log); `localize(self._)` where they are shown.
        """
        try:
            self.activity  # noqa: B018 - parsing is the check
        except olx.OLXError as e:
            return e.problems[:10]
        return []

    def _unavailable_message(self) -> str:
        return self._(
            "This CE activity is not available at the moment: the course team must correct its settings. "
            "Any progress you have made is kept."
        )

    def _unavailable_html(self, problems: list[olx.OLXProblem], show_problems: bool) -> str:
        _ = self._
        lang = self._language()
        parts = [
            f'<div class="cec-xblock" lang="{html.escape(lang)}" '
            f'dir="{"rtl" if lang.split("-")[0] in RTL_LANGUAGES else "ltr"}">',
            '<div class="cec-root cec" role="alert">',
            "<p>" + html.escape(self._unavailable_message()) + "</p>",
        ]
        if show_problems:
            parts.append(
                "<p>" + html.escape(_("Learners cannot use this activity until these problems are fixed:")) + "</p>"
            )
            # The engine's messages come translated, in the page's language (lang on the block).
            parts.append(
                '<ul class="cec-problems">'
                + "".join(f"<li>{html.escape(p.localize(_))}</li>" for p in problems)
                + "</ul>"
            )
        parts.append("</div></div>")
        return "".join(parts)

    @XBlock.supports("multi_device")
    def student_view(self, context: dict | None = None) -> Fragment:
        _warm_up_certificates()
        problems = self._activity_problems()
        if problems:
            # str(): the English text, with the OLX line of the problem.
            log.error("ce_credit %s: the stored activity cannot be read: %s", self.scope_ids.usage_id, problems[0])
            frag = Fragment(self._unavailable_html(problems, self._learner()["staff"]))
            frag.add_css_url(self.runtime.local_resource_url(self, "static/css/ce_credit.css"))
            return frag
        self._reconcile_certificate()
        learner = self._learner()
        # An attempt whose time ran out while the learner was away is stored closed (and graded).
        state = self._store_expired(self._state(), self.now(), learner)
        if not learner["anonymous"]:
            self._note_participation(state, only_if_missing=True)  # saved by runtime.render, as the LMS renders
        view = self._view(state, learner)
        lang = self._language()
        _ = self._
        staff_html = self._staff_summary_html() if learner["staff"] else ""
        body = _template("student_view.html").substitute(
            lang=html.escape(lang),
            dir="rtl" if lang.split("-")[0] in RTL_LANGUAGES else "ltr",
            title=html.escape(self.activity.title),
            loading=html.escape(_("Loading the CE activity...")),
            noscript=html.escape(_("This CE activity needs JavaScript. Please turn it on and reload the page.")),
            # Said before the script runs too (and without it); the front end says it again in place.
            anonymous='<p class="cec-notice">'
            + html.escape(_("Sign in to take the post-test and earn a certificate."))
            + "</p>"
            if learner["anonymous"]
            else "",
            staff=staff_html,
        )
        frag = Fragment(body)
        frag.add_css_url(self.runtime.local_resource_url(self, "static/css/ce_credit.css"))
        self._add_i18n_js(frag)
        frag.add_javascript_url(self.runtime.local_resource_url(self, "static/js/ce_credit.js"))
        frag.initialize_js("CECreditXBlock", {"view": view})
        return frag

    def author_view(self, context: dict | None = None) -> Fragment:
        """Studio preview: the learner view, or the problems that keep it from learners."""
        problems = self._activity_problems()
        if problems:
            frag = Fragment(self._unavailable_html(problems, show_problems=True))
            frag.add_css_url(self.runtime.local_resource_url(self, "static/css/ce_credit.css"))
            return frag
        frag = self.student_view(context)
        note = html.escape(self._("Preview: this is what a learner sees. Answers given here are not graded."))
        frag.content = f'<p class="cec-author-note">{note}</p>' + frag.content
        return frag

    def student_view_data(self, context: dict | None = None) -> dict[str, Any]:
        """For the mobile apps: the same view dict the web front end renders (never a key)."""
        if self._activity_problems():
            return {"error": "activity-unavailable", "message": self._unavailable_message()}
        self._reconcile_certificate()
        return {
            "activity_id": self.activity.id,
            "title": self.activity.title,
            "api_handler": "api",
            "view": self._view(self._state()),
        }

    def _add_i18n_js(self, frag: Fragment) -> None:
        """The JS catalogue as the CECreditI18N namespace, loaded before ce_credit.js reads it.

        In order: the runtime's catalogue URL (Open edX with translations from atlas), the compiled
        static/js/translations/<lang>/text.js shipped in the package, else one built from the .mo.
        """
        i18n = self.runtime.service(self, "i18n")
        if callable(getattr(type(i18n), "get_javascript_i18n_catalog_url", None)):
            try:
                url = i18n.get_javascript_i18n_catalog_url(self)
            except Exception:  # noqa: BLE001 - fall back to our own catalogue
                url = None
            if url:
                frag.add_javascript_url(url)
                return
        lang = self._language()
        if self.translations_dir == str(TRANSLATIONS_DIR):
            for code in (lang.replace("_", "-"), lang.split("-")[0].split("_")[0]):
                rel = f"static/js/translations/{code}/text.js"
                if (PACKAGE_DIR / rel).is_file():
                    frag.add_javascript_url(self.runtime.local_resource_url(self, rel))
                    return
        frag.add_javascript(js_catalog(self._translator()))

    def _staff_summary_html(self) -> str:
        s = self.stats or {}
        started = int(s.get("learners_started", 0))
        passed = int(s.get("learners_passed", 0))
        rate = f"{round(100 * passed / started)}%" if started else "-"
        _ = self._
        statuses = self._statuses()
        corrected = sum(1 for st in statuses.values() if st == "superseded")
        revoked = sum(1 for st in statuses.values() if st == "revoked")
        rows = [
            (_("Learners who started"), str(started)),
            (_("Attempts submitted"), str(int(s.get("attempts", 0)))),
            (_("Learners who passed"), f"{passed} ({rate})"),
            (_("Pass rate"), rate),
            # A correction is a new record for the same completion: count each completion once.
            (_("Certificates issued"), str(len(self.issued_certificates or {}) - corrected)),
            (_("Certificates revoked"), str(revoked)),
            (_("Certificates corrected"), str(corrected)),
        ]
        cells = "".join(f"<tr><th scope='row'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return (
            f"<section class='cec cec-staff' aria-labelledby='cec-staff-h-{self._dom_id()}'>"
            f"<h3 id='cec-staff-h-{self._dom_id()}'>{html.escape(_('Staff summary'))}</h3>"
            f"<table class='cec-history'><caption class='cec-sr'>{html.escape(_('Staff summary'))}</caption>"
            f"{cells}</table>{self._reports_html()}{self._exports_html()}{self._certificate_admin_html()}"
            f"{self._accommodation_html()}</section>"
        )

    def _statuses(self) -> dict[str, str]:
        """Certificate id -> "revoked" or "superseded" (revoked wins), from the status log."""
        out: dict[str, str] = {}
        for e in self.certificate_log or ():
            cid, status = e.get("certificate_id"), e.get("status")
            if cid and status in ("revoked", "superseded") and out.get(cid) != "revoked":
                out[cid] = status
        return out

    def _reports_html(self) -> str:
        """Item statistics and evaluation means as accessible SVG charts, each with its data table."""
        _ = self._
        esc = html.escape
        activity = self.activity
        d = self._dom_id()
        prefix = f"cec-{d}-"
        sums = self.item_sums or {}
        stats = records.item_statistics_from_sums(activity, sums.get("first") or {})
        # The charts mirror on a right-to-left page, as the block does (dir on .cec-xblock).
        direction = "rtl" if self._language().split("-")[0] in RTL_LANGUAGES else "ltr"
        words = {"gettext": _, "direction": direction}
        parts = [f"<h4 id='cec-rep-h-{d}'>{esc(_('Post-test item statistics (first attempts)'))}</h4>"]
        # Each chart keeps its drawn size and scrolls in a region named by its heading or title
        # (svg_bar_chart gives the chart's <title> the id "<chart_id>-title").
        if stats:
            charts = records.item_statistics_charts(stats, id_prefix=prefix, **words)
            parts.append(_scroll_region(charts, f"cec-rep-h-{d}"))
            labels, values = [], []
            for st in stats:
                for choice, count in st.choices.items():
                    mark = " ✓" if choice in st.correct_choices else ""
                    labels.append(f"{st.question_id}: {choice}{mark}")
                    values.append(float(count))
            chart = records.svg_bar_chart(
                _("Post-test choices selected (✓ marks a correct choice)"),
                labels,
                values,
                value_format=lambda v: str(int(v)),
                unit=_("times chosen"),
                chart_id=prefix + "distractors",
                **words,
            )
            parts.append(_scroll_region(chart, f"{prefix}distractors-title"))
        else:
            parts.append(f"<p class='cec-hint'>{esc(_('No post-test attempts yet.'))}</p>")
        summary = records.evaluation_summary_from_sums(activity, self.evaluation_sums or {})
        parts.append(
            f"<h4>{esc(_('Evaluation summary'))}</h4>"
            f"<p class='cec-hint'>{esc(_('Evaluations submitted: {n}').format(n=summary.respondents))}</p>"
        )
        if summary.respondents and summary.items:
            chart = records.evaluation_chart(summary, id_prefix=prefix, **words)
            parts.append(_scroll_region(chart, f"{prefix}evaluation-title"))
            if activity.objectives:
                chart = records.objectives_chart(activity, summary, id_prefix=prefix, **words)
                parts.append(_scroll_region(chart, f"{prefix}objectives-title"))
        return f"<div class='cec-reports'>{''.join(parts)}</div>"

    def _exports_html(self) -> str:
        """A plain GET form (works without JavaScript) for the completion list and the CE Broker roster."""
        _ = self._
        esc = html.escape
        d = self._dom_id()
        action = esc(self.runtime.handler_url(self, "export"))
        kinds = (
            ("completion", _("Completion list (CSV)")),
            ("attendance", _("Attendance list: everyone who started (CSV)")),
            ("annual", _("Annual summary (CSV)")),
            ("roster-xlsx", _("CE Broker roster (Excel)")),
            ("roster-csv", _("CE Broker roster (CSV)")),
        )
        options = "".join(f"<option value='{k}'>{esc(label)}</option>" for k, label in kinds)
        return f"""
<div class='cec-exports'>
<h4 id='cec-exp-h-{d}'>{esc(_("Exports"))}</h4>
<form class='cec-form cec-export-form' method='get' action='{action}' aria-labelledby='cec-exp-h-{d}'>
<div class='cec-field'><label class='cec-label' for='cec-exp-kind-{d}'>{esc(_("Report"))}</label>
<select class='cec-input' id='cec-exp-kind-{d}' name='kind'>{options}</select></div>
<div class='cec-field'><label class='cec-label' for='cec-exp-start-{d}'>{esc(_("Completed from (optional)"))}</label>
<input class='cec-input' id='cec-exp-start-{d}' name='start' type='date'></div>
<div class='cec-field'><label class='cec-label' for='cec-exp-end-{d}'>{esc(_("Completed until (optional)"))}</label>
<input class='cec-input' id='cec-exp-end-{d}' name='end' type='date'></div>
<div class='cec-field'><label class='cec-label' for='cec-exp-tracking-{d}'>{
            esc(_("CE Broker provider tracking number (roster only)"))
        }</label>
<input class='cec-input' id='cec-exp-tracking-{d}' name='provider_tracking' autocomplete='off'></div>
<div class='cec-field'><label class='cec-label' for='cec-exp-course-{d}'>{
            esc(_("CE Broker course number (roster only)"))
        }</label>
<input class='cec-input' id='cec-exp-course-{d}' name='course_number' autocomplete='off'></div>
<div class='cec-actions'><button type='submit' class='cec-button'>{esc(_("Download"))}</button></div>
</form>
</div>"""

    def _certificate_log_rows_html(self) -> str:
        _ = self._
        esc = html.escape
        rows = []
        for e in reversed(self.certificate_log or []):
            status = _("Revoked") if e.get("status") == "revoked" else _("Corrected")
            new = e.get("replacement_id") or ""
            rows.append(
                f"<tr><th scope='row'>{esc(str(e.get('certificate_id', '')))}</th><td>{esc(status)}</td>"
                f"<td>{esc(new)}</td><td>{esc(str(e.get('reason', '')))}</td><td>{esc(str(e.get('at', '')))}</td></tr>"
            )
        if not rows:
            rows.append(f"<tr class='cec-none'><td colspan='5'>{esc(_('No revocations or corrections.'))}</td></tr>")
        return "".join(rows)

    def _certificate_admin_html(self) -> str:
        """Staff: revoke a certificate, or correct it (a new record supersedes it). ce_credit.js posts it."""
        _ = self._
        esc = html.escape
        d = self._dom_id()
        fields = "".join(
            f"<div class='cec-field'><label class='cec-label' for='cec-cert-{name}-{d}'>{esc(label)}</label>"
            f"<input class='cec-input' id='cec-cert-{name}-{d}' name='{name}' autocomplete='off'></div>"
            for name, label in (
                ("legal_name", _("Corrected legal name")),
                ("license_number", _("Corrected licence number")),
                ("license_state", _("Corrected licence state")),
                ("profession", _("Corrected profession")),
            )
        )
        log = f"""<table class='cec-history cec-certificate-log'>
<caption id='cec-cert-log-h-{d}'>{esc(_("Revocations and corrections"))}</caption>
<thead><tr><th scope='col'>{esc(_("Certificate"))}</th><th scope='col'>{esc(_("Status"))}</th>
<th scope='col'>{esc(_("New certificate"))}</th><th scope='col'>{esc(_("Reason"))}</th>
<th scope='col'>{esc(_("When"))}</th></tr></thead>
<tbody>{self._certificate_log_rows_html()}</tbody>
</table>"""
        return f"""
<div class='cec-certificate-admin'>
<h4 id='cec-cert-h-{d}'>{esc(_("Revoke or correct a certificate"))}</h4>
<p class='cec-hint' id='cec-cert-hint-{d}'>{
            esc(
                _(
                    "The old record is kept. A correction issues a new certificate that replaces it; "
                    "the verification page shows the old one as superseded. Fill in only the fields to correct."
                )
            )
        }</p>
<form class='cec-form cec-certificate-form' novalidate aria-labelledby='cec-cert-h-{d}'
 aria-describedby='cec-cert-hint-{d}'>
<div class='cec-field'><label class='cec-label' for='cec-cert-id-{d}'>{esc(_("Certificate number"))}</label>
<input class='cec-input' id='cec-cert-id-{d}' name='certificate_id' autocomplete='off' spellcheck='false' required
 aria-required='true'></div>
<fieldset class='cec-field'><legend class='cec-label'>{esc(_("Action"))}</legend>
<label><input type='radio' name='action' value='correct' checked> {esc(_("Correct it"))}</label>
<label><input type='radio' name='action' value='revoke'> {esc(_("Revoke it"))}</label></fieldset>
<div class='cec-field'><label class='cec-label' for='cec-cert-reason-{d}'>{esc(_("Reason (required)"))}</label>
<textarea class='cec-input' id='cec-cert-reason-{d}' name='reason' rows='2' required aria-required='true'></textarea>
</div>
{fields}
<div class='cec-actions'><button type='submit' class='cec-button cec-primary'>{esc(_("Save the change"))}</button></div>
<p class='cec-certificate-message' tabindex='-1' hidden></p>
</form>
{_scroll_region(log, f"cec-cert-log-h-{d}")}
</div>"""

    # ------------------------------------------------------------------ staff: exports and certificate administration

    @XBlock.handler
    def export(self, request: Any, suffix: str = "") -> Response:
        """Staff: GET ?kind=completion|attendance|annual|roster-csv|roster-xlsx&start=&end= (ISO dates, inclusive).

        The rows come from the issued-certificate index; revoked and superseded certificates are left
        out (a correction's new record is in). The roster also needs provider_tracking and course_number.
        """
        from datetime import date

        _ = self._
        if not self._learner()["staff"]:
            return _error(403, "staff-only", _("Only course staff can download reports."))
        if self._activity_problems():
            return _error(503, "activity-unavailable", self._unavailable_message())
        params = request.params
        kind = params.get("kind", "completion")
        if kind not in EXPORT_KINDS:
            return _error(
                400,
                "kind",
                _("The report must be one of {kinds}, not {value!r}.").format(
                    kinds=", ".join(EXPORT_KINDS), value=kind
                ),
                "kind",
            )
        bounds: dict[str, Any] = {}
        for name in ("start", "end"):
            raw = (params.get(name) or "").strip()
            try:
                bounds[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                return _error(
                    400,
                    "bad-date",
                    _("{value!r} is not a date. Use the form YYYY-MM-DD, e.g. 2026-03-31.").format(value=raw),
                    name,
                )
        if bounds["start"] and bounds["end"] and bounds["start"] > bounds["end"]:
            return _error(400, "bad-range", _("The start date is after the end date; swap them."), "end")
        exclude = set(self._statuses())
        index = list((self.issued_certificates or {}).values())
        stem = f"{self.activity.id}-{bounds['start'] or 'all'}-{bounds['end'] or 'all'}"
        if kind == "attendance":
            # Everyone who started in the range (by the day they started), completed or not.
            people = (records.participation_from_dict(e) for e in (self.participation or {}).values())
            return _csv_download(
                records.attendance_rows(people, **bounds), records.ATTENDANCE_COLUMNS, "attendance", stem
            )
        if kind == "annual":
            return _csv_download(
                records.annual_rows(index, exclude=exclude, **bounds), records.ANNUAL_COLUMNS, "annual-summary", stem
            )
        if kind == "completion":
            rows = records.completion_rows(index, exclude=exclude, **bounds)
            return _csv_download(rows, records.COMPLETION_COLUMNS, "completions", stem)
        tracking = (params.get("provider_tracking") or "").strip()
        course = (params.get("course_number") or "").strip()
        for name, value, label in (
            ("provider_tracking", tracking, _("CE Broker provider tracking number")),
            ("course_number", course, _("CE Broker course number")),
        ):
            if not value:
                return _error(400, "missing-" + name, _("Enter the {label} for the roster.").format(label=label), name)
        report = records.RosterReport()
        rows = records.roster_rows(
            index, provider_tracking=tracking, course_number=course, report=report, exclude=exclude, **bounds
        )
        if kind == "roster-csv":
            import io

            buf = io.StringIO()
            records.write_roster_csv(rows, buf)
            resp = Response(
                body=buf.getvalue().encode("utf-8"),
                content_type="text/csv",
                charset="utf-8",
                content_disposition=f'attachment; filename="ce-broker-roster-{stem}.csv"',
            )
        else:
            import io

            out = io.BytesIO()
            records.write_roster_xlsx(rows, out)
            resp = Response(
                body=out.getvalue(),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                content_disposition=f'attachment; filename="ce-broker-roster-{stem}.xlsx"',
            )
        # Certificates without a licence number cannot go to CE Broker: say how many were left out.
        resp.headers["X-CE-Roster-Skipped"] = str(len(report.skipped))
        return resp

    @XBlock.handler
    def certificate_admin(self, request: Any, suffix: str = "") -> Response:
        """Staff: POST {"action": "revoke"|"correct", "certificate_id", "reason", "changes": {...}}.

        The old record stays in the index; the status log gains an entry, so the verification page
        shows it revoked or superseded. A correction issues a new, signed record with the changes.
        """
        from ce_xblock.core import certificate as cert

        _ = self._
        if request.method != "POST":
            return _error(405, "method", _("Send the request as a POST with a JSON body."))
        if not self._learner()["staff"]:
            return _error(403, "staff-only", _("Only course staff can revoke or correct a certificate."))
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return _error(400, "bad-json", _("The request must be a JSON object."))
        action = body.get("action")
        if action not in ("revoke", "correct"):
            return _error(400, "bad-action", _("Choose revoke or correct."), "action")
        typed = str(body.get("certificate_id") or "").strip()
        try:
            cid = cert.normalize_certificate_id(typed)
        except cert.CertificateIdError as e:
            return _error(400, "certificate_id", str(e), "certificate_id")
        index = dict(self.issued_certificates or {})
        if cid not in index:
            return _error(
                400,
                "unknown-certificate",
                _("This activity issued no certificate {id}. Check the number on the certificate.").format(id=cid),
                "certificate_id",
            )
        reason = str(body.get("reason") or "").strip()
        if not reason or len(reason) > 500:
            return _error(
                400, "reason", _("Give the reason (up to 500 characters); it is kept with the record."), "reason"
            )
        status = self._statuses().get(cid)
        if status == "revoked":
            return _error(400, "revoked", _("{id} is already revoked.").format(id=cid), "certificate_id")
        if status == "superseded":
            newer = next(
                (
                    e.get("replacement_id")
                    for e in reversed(self.certificate_log or [])
                    if e.get("certificate_id") == cid
                ),
                "",
            )
            return _error(
                400,
                "superseded",
                _("{id} was already corrected; revoke or correct its replacement {new} instead.").format(
                    id=cid, new=newer
                ),
                "certificate_id",
            )
        signed = cert.SignedRecord.from_dict(index[cid])
        now = self.now()
        log_entries = list(self.certificate_log or [])
        if action == "revoke":
            event = cert.revoke(signed, reason=reason, at=now)
            new_id = ""
            message = _("{id} is revoked.").format(id=cid)
        else:
            raw = body.get("changes") if isinstance(body.get("changes"), dict) else {}
            changes = {}
            for name in CORRECTABLE_FIELDS:
                value = raw.get(name)
                if isinstance(value, str) and value.strip() and value.strip() != getattr(signed.record, name):
                    changes[name] = value.strip()[:200]
            if "license_state" in changes:
                changes["license_state"] = changes["license_state"].upper()
            if not changes:
                return _error(
                    400,
                    "no-changes",
                    _(
                        "Enter the corrected value of at least one field (legal name, licence number, state, profession)."
                    ),
                    "legal_name",
                )
            new_id = cert.new_certificate_id(os.urandom(5))
            while new_id in index:
                new_id = cert.new_certificate_id(os.urandom(5))
            try:
                new, event = cert.supersede(
                    signed,
                    changes=changes,
                    reason=reason,
                    certificate_id=new_id,
                    issued_at=now,
                    private_key=self._signing_key(),
                )
            except ValueError as e:  # e.g. a character no font here can print
                return _error(400, "bad-correction", str(e), "legal_name")
            index[new_id] = new.to_dict()
            self.issued_certificates = index
            message = _("{id} is corrected; the new certificate is {new}.").format(id=cid, new=new_id)
        log_entries.append(event.to_dict())
        self.certificate_log = log_entries
        log.info("ce_credit %s: certificate %s %s (%s)", self.scope_ids.usage_id, cid, action, reason)
        return _json_response(
            {
                "result": "success",
                "certificate_id": cid,
                "status": event.status.value,
                "replacement_id": new_id,
                "message": message,
                "rows_html": self._certificate_log_rows_html(),
            }
        )

    # ------------------------------------------------------------------ the learner's certificate and the index

    def _reconcile_certificate(self) -> None:
        """Bring the shared index and this learner's certificate in line, on each load.

        user_state_summary writes race between learners, so an issue may have been lost from the index:
        put the learner's signed record back (after checking its signature). After a staff correction,
        the learner's state points at the newest record that supersedes theirs.
        """
        from ce_xblock.core import certificate as cert

        mine = (self.learner_state or {}).get("certificate")
        if not isinstance(mine, dict) or not mine.get("id") or not isinstance(mine.get("signed"), dict):
            return
        cid = mine["id"]
        index = self.issued_certificates or {}
        changed = False
        if cid not in index:
            try:
                cert.verify_signature(mine["signed"], self._trusted_keys())
            except (cert.SignatureError, ValueError) as e:
                log.error("ce_credit %s: certificate %s not restored to the index: %s", self.scope_ids.usage_id, cid, e)
                return
            index = {**index, cid: mine["signed"]}
            self.issued_certificates = index
            changed = True
            log.warning(
                "ce_credit %s: certificate %s was missing from the index; restored", self.scope_ids.usage_id, cid
            )
        replaced = {
            e["certificate_id"]: e.get("replacement_id")
            for e in self.certificate_log or ()
            if e.get("status") == "superseded" and e.get("replacement_id")
        }
        current, seen = cid, {cid}
        while replaced.get(current) in index and replaced[current] not in seen:
            current = replaced[current]
            seen.add(current)
        if current != cid:
            state = dict(self.learner_state)
            state["certificate"] = _certificate_summary(cert.SignedRecord.from_dict(index[current]))
            self.learner_state = state
            changed = True
        if changed:
            self.save()

    def generate_report_data(self, user_state_iterator: Any, limit_responses: int | None = None) -> Any:
        """Rows for the instructor dashboard's problem responses report: one per learner with a state.

        Yields (username, {...}) as the LMS expects (see capa and xblock-poll).
        """
        if limit_responses == 0:
            return
        statuses = self._statuses()
        count = 0
        for user_state in user_state_iterator:
            if limit_responses is not None and count >= limit_responses:
                return
            raw = (getattr(user_state, "state", None) or {}).get("learner_state")
            if not raw:
                continue
            try:
                state = LearnerState.from_dict(raw)
            except (ValueError, TypeError):
                continue
            history = [
                f"{a.number}: {a.score.points:g}/{a.score.max_points} ({'passed' if a.score.passed else 'not passed'})"
                for a in state.submitted
                if a.score is not None
            ]
            raw_score = flow.raw_score(state, self.grade_policy)
            cid = (state.certificate or {}).get("id", "")
            count += 1
            yield (
                user_state.username,
                {
                    "Attempts": len(state.submitted),
                    "Attempt scores": "; ".join(history),
                    "Score": f"{raw_score[0]:g}/{raw_score[1]}" if raw_score else "",
                    "Passed": state.passed,
                    "Evaluation submitted": state.evaluation_submitted_at is not None,
                    "Certificate id": cid,
                    "Certificate status": statuses.get(cid, "valid") if cid else "",
                },
            )

    def _dom_id(self) -> str:
        return hashlib.sha256(str(self.scope_ids.usage_id).encode("utf-8")).hexdigest()[:8]

    def _accommodation_rows_html(self) -> str:
        _ = self._
        esc = html.escape
        rows = []
        for key, a in sorted((self.accommodations or {}).items(), key=lambda kv: str(kv[1].get("learner", kv[0]))):
            label = a.get("learner") or key
            rows.append(
                f"<tr data-key='{esc(key)}'><th scope='row'>{esc(label)}</th>"
                f"<td>{int(a.get('extra_attempts') or 0)}</td><td>{int(a.get('extra_minutes') or 0)}</td></tr>"
            )
        if not rows:
            rows.append(f"<tr class='cec-none'><td colspan='3'>{esc(_('No accommodations yet.'))}</td></tr>")
        return "".join(rows)

    def _accommodation_html(self) -> str:
        """The staff form: give one learner extra attempts and extra minutes. ce_credit.js posts it."""
        _ = self._
        esc = html.escape
        d = self._dom_id()
        table = f"""<table class='cec-history cec-accommodation-table'>
<caption id='cec-acc-table-h-{d}'>{esc(_("Learners with an accommodation"))}</caption>
<thead><tr><th scope='col'>{esc(_("Learner"))}</th><th scope='col'>{esc(_("Extra attempts"))}</th>
<th scope='col'>{esc(_("Extra minutes"))}</th></tr></thead>
<tbody>{self._accommodation_rows_html()}</tbody>
</table>"""
        return f"""
<div class='cec-accommodation-admin'>
<h4 id='cec-acc-h-{d}'>{esc(_("Accommodations"))}</h4>
<p class='cec-hint' id='cec-acc-hint-{d}'>{
            esc(_("Give one learner extra post-test attempts or extra time. Enter 0 and 0 to remove an accommodation."))
        }</p>
<form class='cec-form cec-accommodation-form' novalidate aria-labelledby='cec-acc-h-{d}'
 aria-describedby='cec-acc-hint-{d}'>
<div class='cec-field'><label class='cec-label' for='cec-acc-learner-{d}'>{
            esc(_("Username or anonymous user id"))
        }</label>
<input class='cec-input' id='cec-acc-learner-{d}' name='learner' autocomplete='off' spellcheck='false' required
 aria-required='true'></div>
<div class='cec-field'><label class='cec-label' for='cec-acc-attempts-{d}'>{esc(_("Extra attempts"))}</label>
<input class='cec-input cec-input-number' id='cec-acc-attempts-{d}' name='extra_attempts' type='number' min='0'
 max='{MAX_EXTRA_ATTEMPTS}' step='1' value='1' inputmode='numeric'></div>
<div class='cec-field'><label class='cec-label' for='cec-acc-minutes-{d}'>{esc(_("Extra minutes"))}</label>
<input class='cec-input cec-input-number' id='cec-acc-minutes-{d}' name='extra_minutes' type='number' min='0'
 max='{MAX_EXTRA_MINUTES}' step='1' value='0' inputmode='numeric'></div>
<div class='cec-actions'><button type='submit' class='cec-button cec-primary'>{
            esc(_("Save the accommodation"))
        }</button></div>
<p class='cec-accommodation-message' tabindex='-1' hidden></p>
</form>
{_scroll_region(table, f"cec-acc-table-h-{d}")}
</div>"""

    @XBlock.handler
    def accommodation(self, request: Any, suffix: str = "") -> Response:
        """Staff: POST {"learner", "extra_attempts", "extra_minutes"} gives one learner an accommodation.

        The learner is a username (mapped to the anonymous user id through the user service) or an
        anonymous user id. 0 and 0 removes it. 403 for anyone but course staff.
        """
        _ = self._
        if request.method != "POST":
            return _error(405, "method", _("Send the request as a POST with a JSON body."))
        learner = self._learner()
        if not learner["staff"]:
            return _error(403, "staff-only", _("Only course staff can give an accommodation."))
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return _error(400, "bad-json", _("The request must be a JSON object."))
        typed = str(body.get("learner") or "").strip()
        if not typed or len(typed) > 255:
            return _error(
                400,
                "learner",
                _("Enter the learner's username or anonymous user id (up to 255 characters)."),
                "learner",
            )
        values = {}
        for name, top, label in (
            ("extra_attempts", MAX_EXTRA_ATTEMPTS, _("Extra attempts")),
            ("extra_minutes", MAX_EXTRA_MINUTES, _("Extra minutes")),
        ):
            raw = body.get(name, 0)
            try:
                value = int(str(raw).strip() or "0")
            except ValueError:
                value = -1
            if isinstance(raw, bool) or not 0 <= value <= top:
                message = _("{label} must be a whole number from 0 to {top}, not {value!r}.").format(
                    label=label, top=top, value=raw
                )
                return _error(400, "bad-" + name, message, name)
            values[name] = value
        key = self._resolve_learner(typed)
        accommodations = dict(self.accommodations or {})
        if values["extra_attempts"] == 0 and values["extra_minutes"] == 0:
            accommodations.pop(key, None)
            message = _("{learner} has no accommodation now.").format(learner=typed)
        else:
            accommodations[key] = {
                **values,
                "learner": typed,
                "granted_by": self._learner_key(),
                "granted_at": self.now().isoformat(),
            }
            message = _("Saved for {learner}: extra attempts {attempts}, extra minutes {minutes}.").format(
                learner=typed, attempts=values["extra_attempts"], minutes=values["extra_minutes"]
            )
        self.accommodations = accommodations
        log.info("ce_credit %s: accommodation for %s: %s", self.scope_ids.usage_id, key, values)
        return _json_response(
            {
                "result": "success",
                "key": key,
                "learner": typed,
                **values,
                "message": message,
                "rows_html": self._accommodation_rows_html(),
            }
        )

    # ------------------------------------------------------------------ the learner API

    @XBlock.handler
    def api(self, request: Any, suffix: str = "") -> Response:
        """POST {"action", "payload"} -> the next view, or 400 {"error", "message", "field"}."""
        _ = self._
        if request.method != "POST":
            return _error(405, "method", _("Send the request as a POST with a JSON body."))
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _error(400, "bad-json", _("The request is not valid JSON. Reload the page and try again."))
        if not isinstance(body, dict):
            return _error(
                400, "bad-json", _('The request must be a JSON object like {"action": ..., "payload": {...}}.')
            )
        action = body.get("action")
        payload = body.get("payload") or {}
        if not isinstance(action, str):
            return _error(400, "bad-action", _("The request names no action."))
        if self._activity_problems():
            return _error(503, "activity-unavailable", self._unavailable_message())
        self._reconcile_certificate()
        learner = self._learner()
        before = self._state()
        if action == "view":
            # An attempt whose time ran out is stored closed (and graded) when the learner looks.
            closed = self._store_expired(before, self.now(), learner)
            return _json_response(self._view(closed, learner))
        if learner["anonymous"]:
            return _error(403, "sign-in", _("Sign in to take the post-test and earn a certificate."))
        now = self.now()
        try:
            after, _view = flow.act(
                self.activity,
                before,
                action,
                payload,
                now,
                seed=self._seed(),
                issue_certificate=lambda a, s, c: self._issue_certificate(a, s, c, request, now),
                locale=self._language(),
                profile=learner,
            )
        except FlowError as e:
            # Already in the learner's language; 400, or 409 when the post-test's time ran out. A
            # refused late submit still closes the expired attempt as failed, stored and graded.
            if isinstance(e, flow.Conflict):
                self._store_expired(before, now, learner)
            return _json_response(e.to_dict(), e.status)
        self.learner_state = after.to_dict()
        self._after(before, after)
        return _json_response(self._view(after, learner))

    def _store_expired(self, before: LearnerState, now: datetime, learner: Mapping[str, Any]) -> LearnerState:
        """The state with an attempt whose time ran out closed as failed, stored and graded like any
        failed attempt (the same object when no attempt expired, or for an anonymous user)."""
        closed = flow.close_expired(before, now)
        if closed is not before and not learner["anonymous"]:
            self.learner_state = closed.to_dict()
            self._after(before, closed)
        return closed

    def _after(self, before: LearnerState, after: LearnerState) -> None:
        """Grades, completion and the staff counts that follow from one learner action."""
        activity = self.activity
        stats = dict(self.stats or {})
        if not before.attempts and after.attempts:
            stats["learners_started"] = stats.get("learners_started", 0) + 1
        new_submits = len(after.submitted) - len(before.submitted)
        if new_submits > 0:
            stats["attempts"] = stats.get("attempts", 0) + new_submits
            score = self.calculate_score()
            self.set_score(score)
            self._publish_grade(score)
        if new_submits > 0:
            self._add_attempts_to_sums(before, after)
        if after.evaluation_submitted_at is not None and before.evaluation_submitted_at is None:
            self.evaluation_sums = records.add_evaluation_to_sums(
                self.evaluation_sums or {}, activity, after.evaluation_answers
            )
        if after.passed and not before.passed:
            stats["learners_passed"] = stats.get("learners_passed", 0) + 1
        if flow.is_complete(activity, after) and not flow.is_complete(activity, before):
            self.emit_completion(1.0)
        if after.certificate and not before.certificate:
            stats["certificates"] = stats.get("certificates", 0) + 1
        if stats != (self.stats or {}):
            self.stats = stats
        self._note_participation(after)

    def _note_participation(self, state: LearnerState, only_if_missing: bool = False) -> None:
        """Keep this learner's line of the attendance list in step with their state."""
        key = self._learner_key()
        index = self.participation or {}
        if only_if_missing and key in index:
            return
        svc = self.runtime.service(self, "user")
        user = svc.get_current_user() if svc is not None else None
        attrs = getattr(user, "opt_attrs", None) or {}
        p = records.participation_of(
            state,
            activity_id=self.activity.id,
            learner_id=str(attrs.get("edx-platform.username") or key),
            learner_name=(getattr(user, "full_name", "") or "").strip(),
        )
        if p is None:
            return
        entry = records.participation_to_dict(p)
        if index.get(key) != entry:
            self.participation = {**index, key: entry}

    def _add_attempts_to_sums(self, before: LearnerState, after: LearnerState) -> None:
        # Only attempts that became scored in this request: a retried submit adds nothing.
        seen = {a.number for a in before.submitted}
        sums = dict(self.item_sums or {})
        for a in after.submitted:
            if a.number in seen or a.score is None:
                continue
            sums["all"] = records.add_score_to_sums(sums.get("all") or {}, a.score)
            if a.number == 1:  # classical item statistics use first attempts
                sums["first"] = records.add_score_to_sums(sums.get("first") or {}, a.score)
        self.item_sums = sums

    # ------------------------------------------------------------------ scoring (ScorableXBlockMixin)

    def max_score(self) -> float:
        try:
            return float(self.activity.form_size)
        except olx.OLXError:
            # The course's progress page must not fail over one broken activity: keep the last known.
            return float(self.raw_possible or 0.0)

    def has_submitted_answer(self) -> bool:
        return bool(self._state().submitted)

    def get_score(self) -> Score:
        return Score(raw_earned=self.raw_earned or 0.0, raw_possible=self.raw_possible or self.max_score())

    def set_score(self, score: Score) -> None:
        self.raw_earned = float(score.raw_earned)
        self.raw_possible = float(score.raw_possible)

    def calculate_score(self) -> Score:
        """The grade policy's attempt, rescored against the current answer key.

        Rescoring matters when an author corrects a key: each stored response is scored again.
        An attempt whose form no longer fits the bank keeps the score it was given.
        """
        state = self._state()
        activity = self.activity
        rescored = []
        for a in state.submitted:
            try:
                s = attempts_mod.score(activity, a.form, a.responses or {}, allow_blank=True)
            except (attempts_mod.FormError, attempts_mod.ResponseError, KeyError):
                s = a.score
            rescored.append(
                attempts_mod.Attempt(a.number, a.seed, a.form, a.started_at, a.submitted_at, a.responses, s)
            )
        if not rescored:
            return Score(0.0, self.max_score())
        pick = attempts_mod.last_attempt if self.grade_policy == "last" else attempts_mod.best_attempt
        chosen = pick(rescored)
        return Score(float(chosen.score.points), float(chosen.score.max_points))

    # ------------------------------------------------------------------ certificates

    def _signing_key(self) -> Any:
        from ce_xblock.core import certificate as cert

        pem = self._settings().get("signing_key")
        if pem:
            return cert.load_private_key(pem)
        if not self.demo_signing_key:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            log.warning(
                "ce_credit: no signing_key in XBLOCK_SETTINGS['CECreditBlock']; using a per-block demo key. "
                "Configure a provider key before issuing real certificates."
            )
            key = Ed25519PrivateKey.generate()
            self.demo_signing_key = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode("ascii")
        return cert.load_private_key(self.demo_signing_key)

    def _trusted_keys(self) -> list[Any]:
        from ce_xblock.core import certificate as cert

        conf = self._settings()
        keys = [cert.load_public_key(k) for k in conf.get("trusted_public_keys") or ()]
        if conf.get("signing_key"):
            keys.append(cert.load_public_key(conf["signing_key"]))
        if self.demo_signing_key:
            keys.append(cert.load_public_key(self.demo_signing_key))
        return keys

    def _verification_base(self, request: Any) -> str:
        base = self._settings().get("verification_base_url")
        if base:
            return str(base)
        url = self.runtime.handler_url(self, "verify", thirdparty=True)
        if url.startswith("/") and request is not None:
            url = request.host_url.rstrip("/") + url
        return url

    def _issue_certificate(
        self, activity: Activity, state: LearnerState, completion: Any, request: Any, now: datetime
    ) -> dict[str, Any]:
        from ce_xblock.core import certificate as cert

        issued = dict(self.issued_certificates or {})
        cid = cert.new_certificate_id(os.urandom(5))
        while cid in issued:  # 32^7 ids: a clash is rare, but a clash would merge two learners
            cid = cert.new_certificate_id(os.urandom(5))
        try:
            signed = cert.issue(
                activity,
                completion,
                certificate_id=cid,
                issued_at=now,
                private_key=self._signing_key(),
                verification_base_url=self._verification_base(request),
                # The certificate is printed in the learner's language, frozen in the signed record.
                locale=locale_mod.negotiate(self._language()),
            )
        except cert.CertificateRefused as e:
            raise flow.Refused(e.refusals) from e
        self._store_pdf(signed, self._render_pdf(signed))
        issued[cid] = signed.to_dict()
        self.issued_certificates = issued
        return _certificate_summary(signed)

    def _certificate_layout(self) -> dict[str, Any]:
        """The PDF's page size, logo and signature image from XBLOCK_SETTINGS (certificate_page_size
        "letter" or "a4", certificate_logo and certificate_signature: PNG or JPEG file paths)."""
        from ce_xblock.core import credit, pdf

        settings = self._settings()
        try:
            return pdf.layout_options(
                settings.get("certificate_page_size"),
                settings.get("certificate_logo"),
                settings.get("certificate_signature"),
            )
        except ValueError as e:
            log.error("ce_credit %s: XBLOCK_SETTINGS certificate layout: %s", self.scope_ids.usage_id, e)
            raise flow.Refused(
                [
                    credit.refusal(
                        "certificate-settings",
                        _(
                            "The certificate cannot be printed now because this site's certificate settings "
                            "are wrong. Your progress is kept; tell the course team, who will find the details "
                            "in the server log."
                        ),
                    )
                ]
            ) from e

    def _render_pdf(self, signed: Any) -> bytes:
        from ce_xblock.core import pdf

        return pdf.render_pdf(signed, **self._certificate_layout())

    def _store_pdf(self, signed: Any, data: bytes) -> None:
        import base64

        self.certificate_pdf_store = {"id": signed.certificate_id, "pdf": base64.b64encode(data).decode("ascii")}

    def _stored_pdf(self, signed: Any) -> bytes:
        """The PDF stored at issue; a certificate from before PDFs were stored, or a staff correction,
        is rendered once here and stored."""
        import base64

        stored = self.certificate_pdf_store or {}
        if stored.get("id") == signed.certificate_id and stored.get("pdf"):
            return base64.b64decode(stored["pdf"])
        data = self._render_pdf(signed)
        self._store_pdf(signed, data)
        self.save()
        return data

    def _signed(self) -> Any:
        from ce_xblock.core import certificate as cert

        self._reconcile_certificate()
        data = (self._state().certificate or {}).get("signed")
        return cert.SignedRecord.from_dict(data) if data else None

    @XBlock.handler
    def certificate_pdf(self, request: Any, suffix: str = "") -> Response:
        """The learner's certificate as a PDF: the bytes stored at issue, the same every time."""
        signed = self._signed()
        if signed is None:
            return _error(404, "no-certificate", self._("You have no certificate for this activity yet."))
        try:
            data = self._stored_pdf(signed)
        except flow.Refused as e:
            return _error(503, "certificate-settings", e.refusals[0].translate(self._))
        return Response(
            body=data,
            content_type="application/pdf",
            content_disposition=f'attachment; filename="{signed.certificate_id}.pdf"',
        )

    @XBlock.handler
    def certificate_credential(self, request: Any, suffix: str = "") -> Response:
        """The learner's certificate as an Open Badges 3.0 credential (JSON)."""
        signed = self._signed()
        if signed is None:
            return _error(404, "no-certificate", self._("You have no certificate for this activity yet."))
        from ce_xblock.core import credential

        # A VC-JWT in its JSON envelope, signed with the key that signed the record (Ed25519 is
        # deterministic, so the download is the same bytes every time).
        body = credential.envelope(credential.issue_credential(signed, self._signing_key()))
        resp = _json_response(body)
        resp.content_disposition = f'attachment; filename="{signed.certificate_id}.json"'
        return resp

    @XBlock.handler
    def verify(self, request: Any, suffix: str = "") -> Response:
        """The public verification page (no login): valid, revoked, superseded, unknown or not verified.

        The QR code carries `.../verify/<id>`; a board official may also type the id. `?format=json`
        gives the same answer as JSON. Tampering with the stored record fails the signature check.
        """
        from ce_xblock.core import certificate as cert
        from ce_xblock.core import verify as verification

        typed = (suffix or request.params.get("id", "")).strip().strip("/")[:64]
        if not typed:
            return Response(body=self._lookup_page().encode("utf-8"), content_type="text/html", charset="utf-8")
        try:
            cid = cert.normalize_certificate_id(typed)
        except cert.CertificateIdError:
            cid = ""
        data = (self.issued_certificates or {}).get(cid) if cid else None
        if data is None:
            result = verification.verify_stored(typed, None, self._trusted_keys())
        else:
            events = [cert.StatusEvent.from_dict(e) for e in self.certificate_log or ()]
            result = verification.verify_record(data, self._trusted_keys(), events)
        status = 200 if result.authentic and not result.problems else (404 if data is None else 409)
        if request.params.get("format") == "json":
            return _json_response(verification.as_json(result), status)
        # The page in the viewer's language (the best shipped catalogue for it); the certificate's
        # values stay as issued. A mistyped id comes back in the form below, marked invalid.
        page = verification.render_html(
            result,
            lang=locale_mod.negotiate(self._language()),
            form_action=self.runtime.handler_url(self, "verify", thirdparty=True),
        )
        return Response(body=page.encode("utf-8"), status=status, content_type="text/html", charset="utf-8")

    def _lookup_page(self) -> str:
        """The page before an id is typed, in the viewer's language, with the block's stylesheet."""
        lang = locale_mod.negotiate(self._language())
        _ = locale_mod.translator(lang).gettext  # the catalogue of the verification page's other words
        esc = html.escape
        return _template("verify_page.html").substitute(
            lang=esc(lang.replace("_", "-")),
            dir=locale_mod.text_direction(lang),
            title=esc(_("Verify a CE certificate")),
            label=esc(_("Certificate ID")),
            hint=esc(_("For example CE-7F3K-9Q2M. It is printed under the QR code.")),
            button=esc(_("Verify")),
            value="",
            action=esc(self.runtime.handler_url(self, "verify", thirdparty=True)),
            css=esc(self.runtime.local_resource_url(self, "static/css/ce_credit.css")),
            result="",
        )

    # ------------------------------------------------------------------ Studio

    def studio_view(self, context: dict | None = None) -> Fragment:
        _ = self._
        try:
            model = editing.to_model(self.activity)
            broken: list[dict[str, Any]] = []
        except olx.OLXError as e:
            # A stored activity the engine no longer accepts: the editor opens on its OLX, with
            # every problem and its line, so the author can fix it; nothing is replaced.
            model = editing.to_model(olx.loads(starter_olx()))
            broken = self._olx_problems(e.problems)
        body = _template("studio_view.html").substitute(
            save=esc_(_("Save")),
            cancel=esc_(_("Cancel")),
            loading=esc_(_("Loading the editor...")),
        )
        frag = Fragment(body)
        frag.add_css_url(self.runtime.local_resource_url(self, "static/css/ce_credit_studio.css"))
        self._add_i18n_js(frag)
        frag.add_javascript_url(self.runtime.local_resource_url(self, "static/js/ce_credit.js"))
        frag.add_javascript_url(self.runtime.local_resource_url(self, "static/js/ce_credit_studio.js"))
        frag.initialize_js(
            "CECreditStudio",
            {
                "model": model,
                "olx": self.activity_olx or starter_olx(),
                "settings": {"weight": self.weight, "grade_policy": self.grade_policy},
                "choices": editing.choices(),
                "broken": broken,
            },
        )
        return frag

    def _olx_problems(self, problems: list[olx.OLXProblem]) -> list[dict[str, Any]]:
        """OLX problems for the editor: each with its line, in the author's language."""
        return [
            {
                "path": ["olx"],
                "line": p.line,
                "message": Phrase(
                    # Translators: %(line)s is a line number of the OLX; %(problem)s says what is wrong there.
                    N_("Line %(line)s: %(problem)s"),
                    line=p.line,
                    problem=locale_mod.sentences(p.message, p.fix),
                ).localize(self._),
            }
            for p in problems
        ]

    @XBlock.handler
    def studio_save(self, request: Any, suffix: str = "") -> Response:
        """Save the editor's model or pasted OLX. 400 with every problem and its field path; never a 500."""
        _ = self._
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _error(400, "bad-json", _("The request is not valid JSON."))
        if not isinstance(body, dict):
            return _error(400, "bad-json", _("The request must be a JSON object."))
        if request.method != "POST":
            return _error(405, "method", _("Send the request as a POST with a JSON body."))
        problems: list[dict[str, Any]] = []
        settings = body.get("settings")
        if settings is None:
            settings = {}
        if not isinstance(settings, dict):
            return _error(400, "bad-value", _("The settings must be a JSON object."), field="settings")
        weight, grade_policy = self.weight, self.grade_policy
        if "weight" in settings:
            try:
                if isinstance(settings["weight"], bool):
                    raise TypeError
                weight = float(settings["weight"])
                if not math.isfinite(weight) or weight < 0:
                    raise ValueError
            except (TypeError, ValueError, OverflowError):
                problems.append(
                    editing.problem(
                        ("settings", "weight"),
                        _("The weight must be a number, 0 or more, not {value!r}.").format(value=settings["weight"]),
                    )
                )
        if "grade_policy" in settings:
            if settings["grade_policy"] in GRADE_POLICIES:
                grade_policy = settings["grade_policy"]
            else:
                problems.append(
                    editing.problem(("settings", "grade_policy"), _("The grade policy must be 'best' or 'last'."))
                )
        activity = None
        if isinstance(body.get("olx"), str):
            try:
                activity = olx.loads(body["olx"], filename="OLX")
            except olx.OLXError as e:
                problems += self._olx_problems(e.problems)
        elif isinstance(body.get("model"), dict):
            unsafe = list(_xml_unsafe_paths(body["model"], ()))
            if unsafe:
                # OLX is XML: a control character (e.g. ESC pasted from a terminal) cannot be stored.
                problems += [
                    editing.problem(path, _("This text contains a control character that cannot be saved; remove it."))
                    for path in unsafe
                ]
            else:
                activity, model_problems = editing.from_model(body["model"])
                problems += model_problems
        else:
            return _error(400, "bad-request", _('Send {"model": ...} from the editor or {"olx": "..."}.'))
        if problems or activity is None:
            # The engine's problems read as English; the author reads them in their language.
            shown = [{**p, "message": locale_mod.localize(p["message"], _)} for p in problems]
            return _json_response(
                {"error": "invalid", "message": _("Fix the marked fields, then save."), "problems": shown}, 400
            )
        text = olx.dumps(activity)
        try:
            activity = olx.loads(text)  # sanitises rich text and checks it reads back
        except olx.OLXError as e:
            return _json_response(
                {
                    "error": "invalid",
                    "message": _("Fix the marked fields, then save."),
                    "problems": [
                        {"path": [], "message": f"{p.filename}:{p.line}: {p.localize(_)}"} for p in e.problems
                    ],
                },
                400,
            )
        self.activity_olx = olx.dumps(activity)
        self.display_name = activity.title
        self.weight = weight
        self.grade_policy = grade_policy
        return _json_response({"result": "success", "model": editing.to_model(activity), "olx": self.activity_olx})

    def validate(self) -> Any:
        """Studio's validation panel: every problem with the activity as it is stored."""
        result = super().validate()
        try:
            olx.loads(self.activity_olx or starter_olx())
        except olx.OLXError as e:
            for p in e.problems[:10]:
                result.add(ValidationMessage(ValidationMessage.ERROR, p.localize(self._)))
        return result

    # ------------------------------------------------------------------ OLX import and export

    @classmethod
    def parse_xml(cls, node: Any, runtime: Any, keys: Any, *args: Any, **kwargs: Any) -> CECreditBlock:
        """Import <ce_credit> through the engine's reader; block settings ride along as attributes."""
        block = runtime.construct_xblock_from_class(cls, keys)
        if not isinstance(node, etree._Element):
            import xml.etree.ElementTree as ET

            node = etree.fromstring(ET.tostring(node))
        settings = {
            name
            for name in node.attrib
            if name not in ACTIVITY_ATTRIBUTES and name in block.fields and name != "activity_olx"
        }
        activity = olx.from_element(node, filename=str(keys.usage_id), extra_root_attributes=settings)
        block.activity_olx = olx.dumps(activity)
        block.display_name = activity.title
        for name in settings:
            field = block.fields[name]
            if field.scope in (Scope.settings, Scope.content):
                setattr(block, name, field.from_string(node.get(name)))
        return block

    def add_xml_to_node(self, node: Any) -> None:
        """Export as readable <ce_credit> OLX (never a JSON blob), plus any block settings that were set."""
        root = olx.to_element(self.activity)
        node.tag = self.scope_ids.block_type
        node.set("xblock-family", self.entry_point)
        for k, v in root.attrib.items():
            node.set(k, v)
        for name, field in self.fields.items():
            if name in ("activity_olx", "display_name", "children", "parent") or name in ACTIVITY_ATTRIBUTES:
                continue
            if field.scope in (Scope.settings, Scope.content) and field.is_set_on(self):
                node.set(name, field.to_string(field.read_from(self)))
        node.text = root.text
        for child in root:
            node.append(child)

    # ------------------------------------------------------------------ workbench

    @staticmethod
    def workbench_scenarios() -> list[tuple[str, str]]:
        """One scenario per example activity, plus a quick demo without the minimum time."""
        scenarios = []
        for directory in EXAMPLES_DIRS:
            if not directory.is_dir():
                continue
            for path in sorted(directory.glob("*.xml")):
                try:
                    activity = olx.load(path)
                except (olx.OLXError, OSError) as e:
                    log.warning("ce_credit: example %s skipped: %s", path, e)
                    continue
                scenarios.append((f"CE Credit: {activity.title}", olx.dumps(activity)))
                if not scenarios[1:]:
                    quick = activity.replace(min_minutes=0, id=activity.id + "-demo")
                    scenarios.append((f"CE Credit demo (no minimum time): {activity.title}", olx.dumps(quick)))
            break
        if not scenarios:
            scenarios.append(("CE Credit: starter activity", starter_olx()))
        return scenarios


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_unsafe_paths(value: Any, path: tuple) -> Any:
    """Paths (as the editor names fields) of strings XML 1.0 cannot hold, anywhere in a JSON value."""
    if isinstance(value, str):
        if _XML_UNSAFE.search(value):
            yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _xml_unsafe_paths(k, path)
            yield from _xml_unsafe_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _xml_unsafe_paths(v, (*path, i))


def _certificate_summary(signed: Any) -> dict[str, Any]:
    """What the learner's state keeps of their certificate: the id, the printed name and the signed record."""
    data = signed.to_dict()
    return {
        "id": signed.certificate_id,
        "issued_at": data["record"]["issued_at"],
        "learner_name": signed.record.legal_name,
        "verification_url": signed.record.verification_url,
        "signed": data,
    }


def esc_(text: str) -> str:
    return html.escape(text)


@lru_cache(maxsize=1)
def _django_translation() -> Any:
    try:
        from django.conf import settings
        from django.utils import translation

        return translation if settings.configured else None
    except Exception:  # noqa: BLE001 - no Django here: the i18n service or English
        return None


def js_catalog(translations: gettext_module.NullTranslations) -> str:
    """A gettext catalogue for the browser, as the CECreditI18N namespace ce_credit.js looks for."""
    catalog: dict[str, Any] = {}
    plural = "n != 1"
    raw = getattr(translations, "_catalog", None) or {}
    for key, value in raw.items():
        if key == "":
            for line in str(value).splitlines():
                if line.lower().startswith("plural-forms:") and "plural=" in line:
                    expr = line.split("plural=", 1)[1].strip().rstrip(";")
                    # Only a plain arithmetic/logic expression of n is embedded in the page.
                    if all(c in "n0123456789 ()<>=!&|?:%+-" for c in expr):
                        plural = expr
            continue
        if isinstance(key, tuple):
            forms = catalog.setdefault(key[0], [])
            while len(forms) <= key[1]:
                forms.append("")
            forms[key[1]] = value
        else:
            catalog[key] = value
    data = json.dumps(catalog, ensure_ascii=False).replace("</", "<\\/")
    return (
        "(function (g) {\n"
        f"  var catalog = {data};\n"
        f"  function plural(n) {{ return Number({plural}); }}\n"
        "  g.CECreditI18N = {\n"
        "    gettext: function (s) { var v = catalog[s]; return typeof v === 'string' && v ? v : (v && v[0]) || s; },\n"
        "    ngettext: function (a, b, n) { var v = catalog[a]; var i = plural(n);\n"
        "      if (v && typeof v !== 'string' && v[i]) { return v[i]; } return n === 1 ? a : b; }\n"
        "  };\n"
        "}(window));\n"
    )
