"""Locales for learners: the packaged gettext catalogues, text direction and locale-aware dates, numbers and credits.

Both homes and the core use it. The XBlock passes the language of the Open edX `i18n` service, the
LTI tool the launch's `locale` claim or the browser's Accept-Language (see `negotiate`). Formatting
goes through Babel (CLDR), so 1.5 credits read "1,5" in French and Spanish and "1.5" in English.

Strings in the core are marked with `N_` (extraction only) where they are defined, and translated
with `translator(locale).gettext` where they are shown, because the core has no request language.
"""

from __future__ import annotations

import gettext as gettext_mod
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers

DOMAIN = "text"
DEFAULT_LOCALE = "en"
# ce_xblock/translations is a symlink to the repository's translations/ (and real files in a wheel).
LOCALE_DIR = Path(__file__).resolve().parents[1] / "translations"
if not LOCALE_DIR.is_dir():  # an editable checkout where the symlink was not followed
    LOCALE_DIR = Path(__file__).resolve().parents[2] / "translations"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
JS_CATALOG = "js/translations/{locale}/text.js"

Direction = Literal["ltr", "rtl"]

_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for extraction without translating it now (it is translated where it is shown)."""
    return message


class Phrase(str):
    """Generated text that reads as English where it is stored, and translates as a whole where shown.

    `Phrase(N_("This activity met its objective: %(objective)s"), objective=text)` equals the filled
    English string (records, exports and comparisons see plain text); `localize(gettext)` fills the
    translated template instead. A broken translation falls back to the English text.
    """

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Phrase:
        self = super().__new__(cls, template % params)
        self.template, self.params = template, params
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, Any]]:  # pickle and copy keep the template
        return (self.template,), self.params

    def localize(self, gettext: Callable[[str], str]) -> str:
        """The translated template, filled with the params (a param that is a Phrase is translated too)."""
        try:
            return gettext(self.template) % {k: localize(v, gettext) for k, v in self.params.items()}
        except (KeyError, ValueError, TypeError):
            return str(self)


def localize(text: Any, gettext: Callable[[str], str]) -> str:
    """`text` in the learner's language when it is a generated `Phrase`; author text stays as written."""
    return text.localize(gettext) if isinstance(text, Phrase) else text


def sentences(*parts: str) -> str:
    """The non-empty `parts` joined by a space, each translated on its own where shown.

    A problem's message and its fix are two sentences: `sentences(message, fix)` reads "message fix"
    in English, and `localize` gives each its translation.
    """
    kept = [part for part in parts if part]
    if len(kept) <= 1:
        return kept[0] if kept else ""
    return Phrase(" ".join(f"%(s{i})s" for i in range(len(kept))), **{f"s{i}": part for i, part in enumerate(kept)})


@lru_cache(maxsize=1024)
def normalize(locale: str | None) -> str:
    """A language tag as gettext and Babel name it: "fr-ca" -> "fr_CA", "zh-hant-tw" -> "zh_Hant_TW".

    Anything that is not a language tag (empty, "*", a typo Babel does not know) becomes "en".
    """
    if not locale or not _TAG_RE.match(locale.strip()):
        return DEFAULT_LOCALE
    try:
        return str(Locale.parse(locale.strip().replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        return DEFAULT_LOCALE


def available_locales() -> tuple[str, ...]:
    """The locales with a compiled catalogue, plus English (the source language), sorted."""
    found = {DEFAULT_LOCALE}
    if LOCALE_DIR.is_dir():
        for mo in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"):
            found.add(mo.parent.parent.name)
    return tuple(sorted(found))


def parse_accept_language(header: str | None) -> list[str]:
    """The languages of an HTTP Accept-Language header, best first (q=0 entries dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(*preferred: str | Iterable[str] | None, accept_language: str | None = None) -> str:
    """The best available locale for the learner, from the most to the least authoritative source.

    Pass the explicit choices first (the LTI launch's `locale` claim, the Open edX language), then
    the browser's Accept-Language header. "fr-CA" matches a French catalogue; no match gives "en".
    """
    candidates: list[str] = []
    for item in preferred:
        if item is None:
            continue
        candidates.extend([item] if isinstance(item, str) else list(item))
    candidates.extend(parse_accept_language(accept_language))
    available = available_locales()
    for candidate in candidates:
        name = normalize(candidate)
        if name == DEFAULT_LOCALE and not candidate.lower().startswith("en"):
            continue  # an unknown tag, not a request for English
        if name in available:
            return name
        language = name.split("_")[0]
        if language in available:
            return language if language != DEFAULT_LOCALE else DEFAULT_LOCALE
    return DEFAULT_LOCALE


@lru_cache(maxsize=256)
def text_direction(locale: str | None) -> Direction:
    """ "rtl" for right-to-left scripts (Arabic, Hebrew, Persian, Urdu...), else "ltr"."""
    try:
        order = Locale.parse(normalize(locale)).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def _decimal(value: Decimal | float | int | str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)  # 1.1 stays 1.1, not 1.100000000000000088817841970012523
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number. Give a number such as 1.5.") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number. Give a number such as 1.5.")
    return number


def format_number(value: Decimal | float | int | str, locale: str | None, max_digits: int = 2) -> str:
    """A number with the locale's separators and at most `max_digits` decimals (1234.5 -> "1 234,5" in fr)."""
    pattern = "#,##0" + ("." + "#" * max_digits if max_digits > 0 else "")
    return babel_numbers.format_decimal(_decimal(value), format=pattern, locale=normalize(locale))


def format_credits(value: Decimal | float | int | str, locale: str | None) -> str:
    """Credits as the learner's locale writes them: 1.5 -> "1,5" (fr, es), "1.5" (en); 1.00 -> "1".

    Up to two decimals, never rounded beyond what accreditors award (0.25 credit steps at most).
    """
    return format_number(value, locale, max_digits=2)


def format_percent(percent: Decimal | float | int | str, locale: str | None, max_digits: int = 1) -> str:
    """A percentage given in points (75.5, not 0.755) as the locale writes it: "75,5 %" in fr, "75.5%" in en.

    The locale's own pattern places the sign and its spacing; at most `max_digits` decimals are kept.
    """
    value = _decimal(percent).quantize(Decimal(1).scaleb(-max_digits)).normalize()
    return babel_numbers.format_percent(value / 100, locale=normalize(locale), decimal_quantization=False)


def format_date(value: date | datetime, locale: str | None, format: str = "long") -> str:  # noqa: A002
    """A date in the locale's words: "5 March 2026" (en_GB), "March 5, 2026" (en), "5 mars 2026" (fr)."""
    if isinstance(value, datetime):
        value = value.date()
    return babel_dates.format_date(value, format=format, locale=normalize(locale))


def format_datetime(
    value: datetime,
    locale: str | None,
    tz: str | tzinfo | None = "UTC",
    format: str = "medium",  # noqa: A002
) -> str:
    """A moment in the locale's words, in time zone `tz` (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = datetime.combine(value.date(), value.time(), ZoneInfo("UTC"))
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or ZoneInfo("UTC"))
    return babel_dates.format_datetime(value, format=format, tzinfo=zone, locale=normalize(locale))


def format_time(value: time | datetime, locale: str | None, format: str = "short") -> str:  # noqa: A002
    """A time of day in the locale's words ("14:30" in fr, "2:30 PM" in en)."""
    return babel_dates.format_time(value, format=format, locale=normalize(locale))


@dataclass(frozen=True)
class Translator:
    """gettext bound to one locale's packaged catalogue. Untranslated strings come back in English."""

    locale: str
    translations: gettext_mod.NullTranslations

    @property
    def direction(self) -> Direction:
        return text_direction(self.locale)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self.translations.pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self.translations.npgettext(context, singular, plural, n)

    # `_` so that code can write `_ = translator(locale).gettext` or `t._("...")` alike.
    _ = gettext


@lru_cache(maxsize=64)
def translator(locale: str | None) -> Translator:
    """The translator for `locale` ("fr", "fr-CA", "ar"...): the closest packaged catalogue, else English.

    The XBlock, the LTI tool and the core (certificate PDF, error messages) all use it, so a string
    reads the same in both homes. Cached: catalogues are read once per process.
    """
    name = normalize(locale)
    languages = [name] if "_" not in name else [name, name.split("_")[0]]
    translations = gettext_mod.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=languages, fallback=True)
    return Translator(name, translations)


def install_jinja(env: Any, current_locale: Callable[[], str | None]) -> None:
    """Bind a Jinja2 environment's `_`, `gettext`, `ngettext`, `pgettext` to the current learner's locale.

    `current_locale` is asked at render time (Flask: `lambda: g.get("locale")`), so one environment
    serves every learner. New-style gettext: `{{ _("Attempt %(n)s of %(m)s", n=1, m=3) }}`, and a
    literal percent sign is written `%%`. Also adds `text_direction(locale)` and `js_catalog(locale)`
    for `<html dir>` and the JS catalogue's `<script>`. Duck-typed, so the core does not import Jinja2.
    """
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(
        gettext=lambda message: translator(current_locale()).gettext(message),
        ngettext=lambda singular, plural, n: translator(current_locale()).ngettext(singular, plural, n),
        newstyle=True,
        pgettext=lambda context, message: translator(current_locale()).pgettext(context, message),
        npgettext=lambda context, singular, plural, n: translator(current_locale()).npgettext(
            context, singular, plural, n
        ),
    )
    env.globals.update(text_direction=text_direction, js_catalog=js_catalog)


def js_catalog(locale: str | None) -> str | None:
    """The JS catalogue for `locale`, relative to `static/` ("js/translations/fr/text.js"), or None.

    None for English and for languages with no catalogue: the front end then shows its English
    source strings (or the platform's `window.gettext`). Load it before `ce_credit.js`.
    """
    name = normalize(locale)
    for candidate in dict.fromkeys((name, name.split("_")[0])):
        if candidate == DEFAULT_LOCALE:
            return None
        relative = JS_CATALOG.format(locale=candidate)
        if (STATIC_DIR / relative).is_file():
            return relative
    return None


def credit_type_label(t: Translator, value: str) -> str:
    """A credit type (CreditType value, e.g. "laws-and-rules") in the language of `t`."""
    labels = {
        "general": t.pgettext("credit type", "general"),
        "ethics": t.pgettext("credit type", "ethics"),
        "clinical": t.pgettext("credit type", "clinical"),
        "cultural-diversity": t.pgettext("credit type", "cultural diversity"),
        "supervision": t.pgettext("credit type", "supervision"),
        "suicide-prevention": t.pgettext("credit type", "suicide prevention"),
        "pain-management": t.pgettext("credit type", "pain management"),
        "laws-and-rules": t.pgettext("credit type", "laws and rules"),
    }
    return labels.get(value, value.replace("-", " "))
