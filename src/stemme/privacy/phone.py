"""Phone numbers: phonenumbers' matcher behind a cheap pre-filter, with Nordic hard negatives."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import phonenumbers

from stemme.privacy._text import (
    DATE_RE,
    TIME_RE,
    PerText,
    after,
    before,
    blanked,
    digits,
    overlaps,
    spans_of,
)
from stemme.privacy.types import Span

# At least six digits with at most two separator characters between them.
_PREFILTER_RE = re.compile(r"\d(?:[\s.\-()/]{0,2}\d){5,}")
_INTERNATIONAL_RE = re.compile(r"\+\d{1,3}[\s.\-]?\(?\d")
_SWEDISH_LOCAL_RE = re.compile(r"(?<!\d)0\d{1,3}[- ]\d")

# Emergency and official service numbers (digits of the national number) are not personal data.
OFFICIAL_NUMBERS = frozenset(
    {"112", "113", "110", "116111", "116117", "116000", "02800", "1412", "815", "0200", "114"}
)
# "47 91745302" / "4791745302": the country code written without + or 00.
_BARE_COUNTRY_RE = re.compile(
    r"(?<![\d+])47[ ]?(?:\d{8}|\d{3} \d{2} \d{3}|\d{2} \d{2} \d{2} \d{2})(?!\d)"
)
_REGIONS = {"sv": ("SE",), "da": ("DK",), "en": ("GB", "US")}

# The short words are whole words ("id", not the end of "Hamid"); the stems may be glued
# to what comes before ("bankkonto", "bestillingsnummer").
_NEGATIVE_CUE_RE = re.compile(
    r"(?:saks?(?:nummer|nr|\s?nr\.?)|referanse\w*|kid-?n\w*|"
    r"ordre\w*|order|faktura\w*|invoice|org\.?\s?nr|orgnr|organisasjonsnummer|org\.?\s?nummer|"
    r"kunde(?:nummer|nr)|journal\w*|anmeldelse\w*|ramme\w*|serie\w*|imei|konto\w*|"
    r"polise\w*|bestilling\w*|sporing\w*|tracking|reference|ticket|kroner|beløp|beløpet|"
    r"\b(?:sak|ref\.?(?:nr)?|kid|case|id|kr\.?|nok|sek|dkk|eur|sum|lønn|pris)\b\.?)\W*$"
)
_POSITIVE_CUE_RE = re.compile(
    r"(?:tlf|telefon\w*|mobil\w*|ring\w*|nummer\w*|nr\b|tel\b|phone|call|sms|tekst|"
    r"kontakt\w*|nå meg|nås|reach)"
)
_AMOUNT_AFTER_RE = re.compile(r"^\s?(?:kr\b|,-|nok\b|kroner|euro|€|\$|sek\b|dkk\b|usd\b|%)")


def _groups_look_like_phone(raw: str) -> bool:
    """Norwegian groupings are 8, 3-2-3, 2-2-2-2, 4-4 or 3-5; reject 2-6 or year/number."""
    if raw.startswith(("+", "00")):
        return True
    if "/" in raw:
        return False
    groups = [len(g) for g in re.split(r"[^\d]+", raw) if g]
    if len(groups) > 1 and any(length >= 6 for length in groups):
        return False
    first = re.match(r"\d+", raw)
    return not (
        first is not None
        and len(first.group(0)) == 4
        and first.group(0)[:2] in ("19", "20")
        and len(groups) == 2
        and re.search(r"\d-\d", raw) is not None
    )


def _dates_and_times(text: str) -> list[tuple[int, int]]:
    return [*spans_of(DATE_RE, text), *spans_of(TIME_RE, text)]


_dates_and_times_of = PerText(_dates_and_times)


def _phone_score(text: str, match: phonenumbers.PhoneNumberMatch) -> float:
    """The score of a number phonenumbers matched, or 0 when it is no personal phone number:
    an official number, a date or time, a grouping no phone number has, or a number after a
    case, order or amount cue."""
    start, end, raw = match.start, match.end, match.raw_string
    national = str(match.number.national_number)
    if national in OFFICIAL_NUMBERS or digits(raw) in OFFICIAL_NUMBERS:
        return 0.0
    if overlaps(start, end, _dates_and_times_of(text)) or not _groups_look_like_phone(raw):
        return 0.0
    context = before(text, start, 30)
    if _NEGATIVE_CUE_RE.search(context) or _AMOUNT_AFTER_RE.search(after(text, end)):
        return 0.0
    return 0.9 if _POSITIVE_CUE_RE.search(context) or raw.startswith("+") else 0.8


def _possible_international(text: str, scanned: str, seen: set[tuple[int, int]]) -> Iterator[Span]:
    """Numbers written with "+" and a country code that phonenumbers finds possible but not
    valid: numbers from ranges its metadata does not list (new ranges, numbers reserved
    for fiction such as +44 7700 900…). Written so, a number is a phone number all the same."""
    if "+" not in scanned:
        return
    scanned = blanked(scanned, seen) if seen else scanned  # the valid numbers are found
    if not _INTERNATIONAL_RE.search(scanned):
        return
    matcher = phonenumbers.PhoneNumberMatcher(
        scanned, "NO", leniency=phonenumbers.Leniency.POSSIBLE
    )
    for match in matcher:
        raw = match.raw_string
        if raw.startswith("+") and len(digits(raw)) >= 9 and _phone_score(text, match):
            yield Span(match.start, match.end, "PHONE", 0.75, "phone")


def find_phones(
    text: str, language: str | None = None, covered: Iterable[tuple[int, int]] = ()
) -> Iterator[Span]:
    """Phone numbers valid for NO (and SE/DK/GB by language), minus official numbers.

    ``covered``: ranges already taken by personal data that outranks any phone number
    (identity, account and card numbers, IP and e-mail addresses found by the other
    recognizers): phonenumbers does not look at them. Further regions do not look again
    at the numbers an earlier region matched.
    """
    covered = list(covered)
    scanned = blanked(text, covered) if covered else text
    if not _PREFILTER_RE.search(scanned):
        return
    regions = ["NO", *_REGIONS.get(language or "", ())]
    if "SE" not in regions and _SWEDISH_LOCAL_RE.search(text):
        regions.append("SE")
    seen: set[tuple[int, int]] = set()
    for index, region in enumerate(regions):
        if index and seen:
            scanned = blanked(scanned, seen)
            if not _PREFILTER_RE.search(scanned):
                break
        matcher = phonenumbers.PhoneNumberMatcher(
            scanned, region, leniency=phonenumbers.Leniency.VALID
        )
        for match in matcher:
            if (match.start, match.end) in seen:
                continue
            seen.add((match.start, match.end))
            if score := _phone_score(text, match):
                yield Span(match.start, match.end, "PHONE", score, "phone")
    yield from _possible_international(text, scanned, seen)
    for bare in _BARE_COUNTRY_RE.finditer(text):
        if any(s <= bare.start() < e for s, e in seen) or _NEGATIVE_CUE_RE.search(
            before(text, bare.start(), 30)
        ):
            continue
        try:
            number = phonenumbers.parse("+" + digits(bare.group(0)), None)
        except phonenumbers.NumberParseException:  # pragma: no cover - the pattern is strict
            continue
        if phonenumbers.is_valid_number(number):
            yield Span(*bare.span(), "PHONE", 0.8, "phone")
