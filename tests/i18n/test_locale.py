"""Locale-aware formatting, language negotiation and the Python translator (ce_xblock.core.locale)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from babel.numbers import parse_decimal
from hypothesis import given
from hypothesis import strategies as st

from ce_xblock.core import locale as L

NBSP = {"\u00a0", "\u202f"}  # CLDR puts a (narrow) no-break space before % and between thousands in French


def plain_spaces(text: str) -> str:
    return "".join(" " if c in NBSP else c for c in text)


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        (Decimal("1.5"), "fr", "1,5"),
        (Decimal("1.5"), "es", "1,5"),
        (Decimal("1.5"), "en", "1.5"),
        (Decimal("1.50"), "fr_CA", "1,5"),
        ("0.25", "es", "0,25"),
        (1, "fr", "1"),
        (Decimal("1.00"), "en", "1"),
        (1.1, "fr", "1,1"),
        (Decimal("12"), "ar", "12"),
    ],
)
def test_credits_use_the_locale_decimal_separator_and_drop_trailing_zeros(value, locale, expected):
    assert L.format_credits(value, locale) == expected


def test_large_numbers_group_thousands_the_locale_way():
    assert L.format_number(Decimal("1234.5"), "en") == "1,234.5"
    assert plain_spaces(L.format_number(Decimal("1234.5"), "fr")) == "1 234,5"
    assert L.format_number(Decimal("1234.5"), "de") == "1.234,5"


@given(st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False))
def test_credits_read_back_to_the_same_value_in_every_shipped_locale(value):
    for locale in ("en", "es", "fr", "ar"):
        text = L.format_credits(value, locale)
        assert parse_decimal(text, locale=locale) == value, (locale, text)


def test_a_value_that_is_not_a_number_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="'one and a half' is not a number"):
        L.format_credits("one and a half", "fr")
    with pytest.raises(ValueError, match="not a finite number"):
        L.format_credits(float("nan"), "fr")


def test_percentages_are_given_in_points_and_formatted_for_the_locale():
    assert L.format_percent(75, "en") == "75%"
    assert L.format_percent(Decimal("75.5"), "en") == "75.5%"
    assert plain_spaces(L.format_percent(Decimal("75.5"), "fr")) == "75,5 %"
    assert plain_spaces(L.format_percent(80, "es")) == "80 %"


def test_dates_are_written_in_the_learner_language():
    day = date(2026, 3, 5)
    assert L.format_date(day, "en") == "March 5, 2026"
    assert L.format_date(day, "fr") == "5 mars 2026"
    assert L.format_date(day, "es") == "5 de marzo de 2026"
    assert L.format_date(day, "ar") == "5 مارس 2026"
    assert L.format_date(datetime(2026, 3, 5, 23, 0, tzinfo=UTC), "fr") == "5 mars 2026"
    assert L.format_date(day, "fr", format="short") == "05/03/2026"


def test_datetimes_are_shown_in_the_requested_time_zone():
    moment = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
    assert L.format_datetime(moment, "fr", tz="Europe/Paris", format="short") == "06/03/2026 00:30"
    naive = datetime(2026, 3, 5, 23, 30)  # taken as UTC
    assert L.format_datetime(naive, "fr", tz="UTC", format="short") == "05/03/2026 23:30"


@pytest.mark.parametrize(
    ("locale", "direction"),
    [("ar", "rtl"), ("ar-EG", "rtl"), ("he", "rtl"), ("fa_IR", "rtl"), ("fr", "ltr"), ("en", "ltr"), (None, "ltr")],
)
def test_text_direction_follows_the_script_of_the_locale(locale, direction):
    assert L.text_direction(locale) == direction


@pytest.mark.parametrize(
    ("given_tag", "expected"),
    [("fr-ca", "fr_CA"), ("fr_CA", "fr_CA"), ("ES", "es"), ("", "en"), (None, "en"), ("*", "en"), ("not a tag", "en")],
)
def test_language_tags_are_normalised_for_gettext_and_babel(given_tag, expected):
    assert L.normalize(given_tag) == expected


def test_accept_language_is_ordered_by_quality_and_drops_refusals():
    header = "de;q=0.5, fr-CA, es;q=0.9, ar;q=0, *;q=0.1"
    assert L.parse_accept_language(header) == ["fr-CA", "es", "de"]
    assert L.parse_accept_language(None) == []


def test_negotiation_prefers_the_launch_claim_then_the_browser_then_english():
    assert L.negotiate("fr-CA") == "fr"
    assert L.negotiate("es-MX", accept_language="fr") == "es"
    assert L.negotiate(None, accept_language="de-DE, es-MX;q=0.8") == "es"
    assert L.negotiate("ar-EG") == "ar"
    assert L.negotiate("de", accept_language="ja") == "en"
    assert L.negotiate("en-US", accept_language="fr") == "en"  # an explicit English choice wins
    assert L.negotiate(["xx-unknown", "fr"]) == "fr"


def test_available_locales_are_english_plus_the_shipped_catalogues():
    assert {"en", "es", "fr", "ar"} <= set(L.available_locales())


def test_the_translator_reads_the_packaged_catalogue_and_falls_back_to_english():
    assert L.translator("fr").gettext("Submit answers") == "Envoyer les réponses"
    assert L.translator("fr-CA").gettext("Submit answers") == "Envoyer les réponses"
    assert L.translator("es").gettext("Submit answers") == "Enviar respuestas"
    assert L.translator("ar").gettext("Submit answers") == "إرسال الإجابات"
    assert L.translator("de").gettext("Submit answers") == "Submit answers"
    assert L.translator("fr").gettext("A string nobody translated") == "A string nobody translated"
    assert L.translator("ar").direction == "rtl"
    assert L.translator("fr")._("Post-test") == L.translator("fr").gettext("Post-test")


def test_french_uses_the_singular_for_zero_and_one():
    t = L.translator("fr")
    forms = [t.ngettext("%(n)s minute", "%(n)s minutes", n) for n in (0, 1, 2)]
    assert forms == ["%(n)s minute", "%(n)s minute", "%(n)s minutes"]


def test_spanish_uses_the_plural_for_zero():
    t = L.translator("es")
    assert [t.ngettext("%(n)s minute", "%(n)s minutes", n) for n in (0, 1, 2)] == [
        "%(n)s minutos",
        "%(n)s minuto",
        "%(n)s minutos",
    ]


# gettext's Arabic rule: 0 -> zero, 1 -> one, 2 -> two, 3-10 -> few, 11-99 -> many, 100-102 -> other
# (and the same again for each hundred: 103 is "few", 111 is "many").
ARABIC_FORM = {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 102: 5, 103: 3, 111: 4, 1000: 5}


def test_arabic_picks_each_of_its_six_plural_forms_by_count():
    from babel.messages.pofile import read_po

    with (L.LOCALE_DIR / "ar" / "LC_MESSAGES" / "text.po").open("rb") as f:
        catalog = read_po(f, locale="ar")
    forms = catalog[("%(n)s minute", "%(n)s minutes")].string
    assert len(forms) == 6 and all(forms)
    assert len(set(forms)) >= 5  # zero and other may share a wording ("0 دقيقة", "100 دقيقة")
    t = L.translator("ar")
    for n, index in ARABIC_FORM.items():
        assert t.ngettext("%(n)s minute", "%(n)s minutes", n) == forms[index], n


def test_js_catalogue_path_is_found_for_a_region_and_absent_for_english():
    assert L.js_catalog("fr") == "js/translations/fr/text.js"
    assert L.js_catalog("fr-CA") == "js/translations/fr/text.js"
    assert L.js_catalog("ar") == "js/translations/ar/text.js"
    assert L.js_catalog("en") is None
    assert L.js_catalog("de") is None
    assert (L.STATIC_DIR / L.js_catalog("es")).is_file()


def test_marker_returns_the_string_untranslated():
    assert L.N_("Post-test") == "Post-test"


def test_jinja_templates_follow_the_locale_of_each_render():
    from jinja2 import Environment

    env = Environment(autoescape=True)
    current = {"locale": "fr"}
    L.install_jinja(env, lambda: current["locale"])
    template = env.from_string(
        '<html lang="{{ lang }}" dir="{{ text_direction(lang) }}">'
        "<p>{{ _('Submit answers') }}</p>"
        "<p>{{ _('Attempt %(n)s of %(m)s', n=1, m=3) }}</p>"
        "<p>{% trans n=2 %}{{ n }} minute{% pluralize %}{{ n }} minutes{% endtrans %}</p>"
        '<script src="/static/{{ js_catalog(lang) }}"></script>'
    )
    french = template.render(lang="fr")
    assert '<html lang="fr" dir="ltr">' in french
    assert "<p>Envoyer les réponses</p>" in french
    assert "<p>Tentative 1 sur 3</p>" in french
    assert "<p>2 minutes</p>" in french
    assert 'src="/static/js/translations/fr/text.js"' in french
    current["locale"] = "ar"
    arabic = template.render(lang="ar")
    assert 'dir="rtl"' in arabic
    assert "<p>إرسال الإجابات</p>" in arabic
    assert "<p>دقيقتان</p>" in arabic  # the dual: "two minutes"
    current["locale"] = None
    assert "<p>Submit answers</p>" in template.render(lang="en")
