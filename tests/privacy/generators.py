"""Valid test numbers with check digits (fødselsnummer, D-nummer, accounts, cards)."""

from __future__ import annotations

from hypothesis import strategies as st

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ACCOUNT = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit, or None when the remainder gives 10 (no valid number)."""
    check = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def fodselsnummer(day: int, month: int, year: int, individual: int, d_number: bool) -> str | None:
    """A fødselsnummer (or D-nummer) with valid check digits, or None if none exists."""
    base = f"{day + (40 if d_number else 0):02d}{month:02d}{year:02d}{individual:03d}"
    k1 = mod11(base, _K1)
    if k1 is None:
        return None
    k2 = mod11(base + str(k1), _K2)
    return None if k2 is None else f"{base}{k1}{k2}"


def luhn_complete(partial: str) -> str:
    """``partial`` with a Luhn check digit appended."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return partial + str((10 - total % 10) % 10)


@st.composite
def national_ids(draw: st.DrawFn) -> str:
    """Fødselsnummer and D-nummer with valid check digits (any individual number)."""
    day, month, year = draw(st.integers(1, 28)), draw(st.integers(1, 12)), draw(st.integers(0, 99))
    start, d_number = draw(st.integers(0, 999)), draw(st.booleans())
    # Step through individual numbers (no further draws) until the check digits exist.
    for offset in range(500):
        number = fodselsnummer(day, month, year, (start + offset) % 1000, d_number)
        if number is not None:
            return number
    raise AssertionError("no valid number for this date")  # pragma: no cover


@st.composite
def account_numbers(draw: st.DrawFn) -> str:
    """Valid Norwegian account numbers, written plain, 1234.56.78903 or 1234 56 78903."""
    base = draw(st.integers(1_000_000_000, 9_999_999_999))
    while (check := mod11(str(base), _ACCOUNT)) is None:
        base = base + 1 if base < 9_999_999_999 else 1_000_000_000
    number = f"{base}{check}"
    style = draw(st.sampled_from(["plain", "dots", "spaces"]))
    if style == "dots":
        return f"{number[:4]}.{number[4:6]}.{number[6:]}"
    if style == "spaces":
        return f"{number[:4]} {number[4:6]} {number[6:]}"
    return number


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """Luhn-valid 16-digit card numbers, grouped in fours or not."""
    prefix = draw(st.sampled_from(["4", "51", "52", "55", "22"]))
    body = draw(st.integers(0, 10 ** (15 - len(prefix)) - 1))
    number = luhn_complete(prefix + f"{body:0{15 - len(prefix)}d}")
    if draw(st.booleans()):
        return " ".join(number[i : i + 4] for i in range(0, 16, 4))
    return number
