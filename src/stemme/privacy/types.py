"""The span a recognizer reports."""

from __future__ import annotations

from dataclasses import dataclass

ENTITY_TYPES = (
    "PERSON",
    "NATIONAL_ID",
    "PHONE",
    "EMAIL",
    "BANK_ACCOUNT",
    "PAYMENT_CARD",
    "IP_ADDRESS",
    "LICENSE_PLATE",
    "STREET_ADDRESS",
    "USERNAME",
)


@dataclass(frozen=True, slots=True)
class Span:
    """Personal data found at text[start:end] (code-point offsets into the original text)."""

    start: int
    end: int
    type: str
    score: float
    recognizer: str = ""
