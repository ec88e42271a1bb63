"""Recognizers for validated numbers: national ids (no/se/dk), bank accounts, IBAN, cards."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

from stdnum import iban, luhn
from stdnum.dk import cpr
from stdnum.no import fodselsnummer, kontonr
from stdnum.se import personnummer

from stemme.privacy._text import before, digit_count, digits, longest_digit_run
from stemme.privacy.types import Span

# Eleven digits, optionally one space or dot between the 6 and the 5 (fødselsnummer form).
_NO_ID_RE = re.compile(r"(?<![\d+])(?<!\d[.,/-])(\d{6})[ .]?(\d{5})(?!\d|[.,/-]\d)")
# Account form 4.2.5 with the same separator twice (dots or spaces).
_ACCOUNT_RE = re.compile(r"(?<![\d+])(?<!\d[.,/-])(\d{4})([. ])(\d{2})\2(\d{5})(?!\d|[.,/-]\d)")
_ACCOUNT_CUE_RE = re.compile(
    r"(?:konto|kontonr|kontonummer|kontonummeret|bankkonto|account|acct|overf[øo]r|overført|"
    r"innbetal|betal|vipps|bank|sparekonto|lønnskonto|konto-?nr)"
)
_ID_CUE_RE = re.compile(
    r"(?:f[øo]dselsnummer|fødselsnr|f\.?\s?nr|fnr|personnummer|personnr|pers\.?\s?nr|"
    r"d-?nummer|h-?nummer|personal (?:id|number)|national id|id-?nummer|cpr|"
    r"samordningsnummer|person-?nr|birth number|fødselsdato|f[øo]dd|f[øo]dt|född|født den|"
    r"\bf\.|born)"
)
_NOT_ID_CUE_RE = re.compile(r"(?:\bkid\b|kid-?n|faktura|invoice|ordre|order|sporing|tracking)")

# Swedish personnummer / Danish CPR: YYMMDD-XXXX, YYYYMMDD-XXXX, DDMMYY-XXXX (also "+").
_DASH_ID_RE = re.compile(
    r"(?<![\d+])(?<!\d[.,/-])((?:19|20)?\d{6})\s?([-+])\s?(\d{4})(?![\d]|[.,/-]\d)"
)
# Twelve digits starting 19/20 (Swedish long form without dash), ten digits only with a cue.
_LONG_SE_RE = re.compile(r"(?<![\d+])(?<!\d[.,/-])((?:19|20)\d{10})(?![\d]|[.,/-]\d)")
_TEN_RE = re.compile(r"(?<![\d+])(?<!\d[.,/-])(\d{10})(?![\d]|[.,/-]\d)")

_IBAN_RE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,3})?"
)
_CARD_RE = re.compile(
    r"(?<![\d+])(?<!\d[.,/-])(?:\d{4}[ -]?\d{6}[ -]?\d{5}|\d{4}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?"
    r"|\d{13,19})(?![\d]|[.,/-]\d)"
)

_RUN_RE = re.compile(r"\d+")
_GROUPED_16_RE = re.compile(r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}")
_CARD_CUE_RE = re.compile(
    r"(?:kort|card|visa|mastercard|master card|amex|kredittkort|bankkort|debetkort|kortnummer|"
    r"kortnr|kortet|kortnummeret)"
)


def _cue(text: str, start: int, pattern: re.Pattern[str], width: int = 40) -> bool:
    return pattern.search(before(text, start, width)) is not None


def is_fodselsnummer(number: str) -> bool:
    """Both mod-11 check digits and a real day/month (D- and H-nummer offsets allowed).

    The century rule of the individual number is not checked: it changes with the new
    numbering scheme, and a number with valid check digits is personal data either way.
    """
    if len(number) != 11 or not number.isdigit():
        return False
    if number[9] != fodselsnummer.calc_check_digit1(number[:9]):
        return False
    if number[10] != fodselsnummer.calc_check_digit2(number[:10]):
        return False
    day, month = int(number[:2]), int(number[2:4])
    if 41 <= day <= 71:
        day -= 40
    elif day >= 80:
        return True  # FH-nummer: no date by design
    if 41 <= month <= 52:
        month -= 40
    try:
        datetime.date(2000, month, day)  # a leap year, so 29.02 passes
    except ValueError:
        return False
    return True


def _has_date(six: str) -> bool:
    """Whether six digits read as YYMMDD or DDMMYY (samordningsnummer day + 60 allowed)."""
    for day, month in ((int(six[4:]), int(six[2:4])), (int(six[:2]), int(six[2:4]))):
        day = day - 60 if day > 60 else day
        try:
            datetime.date(2000, month, day)
        except ValueError:
            continue
        return True
    return False


def find_norwegian_ids(text: str, language: str | None = None) -> Iterator[Span]:
    """Fødselsnummer, D-nummer and H-nummer (11 digits, mod-11), told apart from accounts."""
    if longest_digit_run(text) < 6 or digit_count(text) < 11:
        return
    for match in _NO_ID_RE.finditer(text):
        number = match.group(1) + match.group(2)
        valid_id = is_fodselsnummer(number)
        valid_account = bool(kontonr.is_valid(number))
        if not valid_id and not valid_account:
            continue
        start, end = match.span()
        if not valid_id and _cue(text, start, _NOT_ID_CUE_RE, 20):
            continue  # a KID or invoice number that happens to pass mod-11
        id_cue = _cue(text, start, _ID_CUE_RE)
        account_cue = _cue(text, start, _ACCOUNT_CUE_RE)
        if valid_id and (id_cue or not account_cue):
            yield Span(start, end, "NATIONAL_ID", 0.97 if id_cue else 0.93, "no_fodselsnummer")
        else:
            score = 0.95 if account_cue else 0.7
            yield Span(start, end, "BANK_ACCOUNT", score, "no_kontonr")


def find_norwegian_accounts(text: str, language: str | None = None) -> Iterator[Span]:
    """Norwegian account numbers written 1234.56.78903 or 1234 56 78903 (mod-11)."""
    if longest_digit_run(text) < 4 or digit_count(text) < 11:
        return
    for match in _ACCOUNT_RE.finditer(text):
        number = match.group(1) + match.group(3) + match.group(4)
        start, end = match.span()
        if kontonr.is_valid(number):
            yield Span(start, end, "BANK_ACCOUNT", 0.96, "no_kontonr")
        elif _cue(text, start, _ACCOUNT_CUE_RE):
            # a mistyped account in the unmistakable dotted form: still personal data
            yield Span(start, end, "BANK_ACCOUNT", 0.6, "no_kontonr")


def find_iban(text: str, language: str | None = None) -> Iterator[Span]:
    """IBAN (ISO 13616, mod-97), grouped in fours or not."""
    if longest_digit_run(text) < 4:
        return
    for match in _IBAN_RE.finditer(text):
        candidate = match.group(0)
        # The pattern may run into a following code-like word: shorten until valid.
        for end in range(len(candidate), 14, -1):
            part = candidate[:end]
            if part[-1] != " " and iban.is_valid(part.upper()):
                yield Span(match.start(), match.start() + end, "BANK_ACCOUNT", 0.97, "iban")
                break


def find_nordic_ids(text: str, language: str | None = None) -> Iterator[Span]:
    """Swedish personnummer/samordningsnummer and Danish CPR."""
    if longest_digit_run(text) < 6 or digit_count(text) < 10:
        return
    dashed = _DASH_ID_RE.finditer(text) if "-" in text or "+" in text else ()
    for match in dashed:
        head, sign, tail = match.groups()
        start, end = match.span()
        if personnummer.is_valid(head + sign + tail):
            yield Span(start, end, "NATIONAL_ID", 0.95, "se_personnummer")
        elif len(head) == 6 and cpr.is_valid(head + tail):
            # CPR has had no check digit since 2007: the dash form and a real date suffice.
            yield Span(start, end, "NATIONAL_ID", 0.85, "dk_cpr")
        elif _cue(text, start, _ID_CUE_RE, 30) and _has_date(head[-6:]):
            # a mistyped number right after "personnummer": still personal data
            yield Span(start, end, "NATIONAL_ID", 0.6, "se_personnummer")
    if longest_digit_run(text) < 10:  # _TEN_RE, _LONG_SE_RE
        return
    for match in _LONG_SE_RE.finditer(text):
        if personnummer.is_valid(match.group(1)):
            yield Span(*match.span(), "NATIONAL_ID", 0.9, "se_personnummer")
    for match in _TEN_RE.finditer(text):
        number = match.group(1)
        if not _cue(text, match.start(), _ID_CUE_RE):
            continue
        if personnummer.is_valid(number):
            yield Span(*match.span(), "NATIONAL_ID", 0.9, "se_personnummer")
        elif cpr.is_valid(number):
            yield Span(*match.span(), "NATIONAL_ID", 0.85, "dk_cpr")


def find_payment_cards(text: str, language: str | None = None) -> Iterator[Span]:
    """Payment card numbers: 13-19 digits, grouped or not, Luhn-valid."""
    if longest_digit_run(text) < 4 or digit_count(text) < 13:
        return
    for match in _CARD_RE.finditer(text):
        groups = [
            (m.start() + match.start(), m.end() + match.start())
            for m in _RUN_RE.finditer(match.group(0))
        ]
        # The longest run of whole groups that is a valid card (a neighbouring number may have
        # been swallowed by the pattern).
        best: tuple[int, int] | None = None
        for first in range(len(groups)):
            for last in range(len(groups), first, -1):
                start, end = groups[first][0], groups[last - 1][1]
                number = digits(text[start:end])
                if 13 <= len(number) <= 19 and luhn.is_valid(number):
                    if best is None or end - start > best[1] - best[0]:
                        best = (start, end)
                    break
        if best is not None:
            number = digits(text[best[0] : best[1]])
            score = 0.95 if number[0] in "23456" else 0.8
            yield Span(best[0], best[1], "PAYMENT_CARD", score, "payment_card")
        elif _GROUPED_16_RE.fullmatch(match.group(0)) and _cue(
            text, match.start(), _CARD_CUE_RE, 30
        ):
            # sixteen digits in fours right after "kort"/"card": a mistyped card number
            yield Span(*match.span(), "PAYMENT_CARD", 0.6, "payment_card")
