"""The registry of recognizers: name -> Recognizer (entities it reports and its function)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stemme.privacy.contact import find_emails, find_ip_addresses, find_usernames
from stemme.privacy.names import find_persons
from stemme.privacy.numbers import (
    find_iban,
    find_nordic_ids,
    find_norwegian_accounts,
    find_norwegian_ids,
    find_payment_cards,
)
from stemme.privacy.phone import find_phones
from stemme.privacy.places import find_addresses, find_license_plates
from stemme.privacy.types import Span

FindFunction = Callable[[str, "str | None"], Iterable[Span]]


@dataclass(frozen=True, slots=True)
class Recognizer:
    """One small recognizer: a name, the entity types it reports, a find function, and
    whether it needs the language of the text (phone numbers: which countries to read)."""

    name: str
    entities: tuple[str, ...]
    find: FindFunction
    uses_language: bool = False  # False: ``find`` ignores the language (None is passed)

    def __call__(self, text: str, language: str | None = None) -> list[Span]:
        """The spans this recognizer finds in ``text`` (may overlap; detect() resolves)."""
        return list(self.find(text, language))


_ALL = (
    Recognizer("no_fodselsnummer", ("NATIONAL_ID", "BANK_ACCOUNT"), find_norwegian_ids),
    Recognizer("no_kontonr", ("BANK_ACCOUNT",), find_norwegian_accounts),
    Recognizer("iban", ("BANK_ACCOUNT",), find_iban),
    Recognizer("nordic_id", ("NATIONAL_ID",), find_nordic_ids),
    Recognizer("payment_card", ("PAYMENT_CARD",), find_payment_cards),
    Recognizer("phone", ("PHONE",), find_phones, uses_language=True),
    Recognizer("email", ("EMAIL",), find_emails),
    Recognizer("ip_address", ("IP_ADDRESS",), find_ip_addresses),
    Recognizer("username", ("USERNAME",), find_usernames),
    Recognizer("street_address", ("STREET_ADDRESS",), find_addresses),
    Recognizer("license_plate", ("LICENSE_PLATE",), find_license_plates),
    Recognizer("person_name", ("PERSON",), find_persons),
)

RECOGNIZERS: Mapping[str, Recognizer] = MappingProxyType({r.name: r for r in _ALL})
"""Every recognizer detect() runs, by name (read-only)."""
