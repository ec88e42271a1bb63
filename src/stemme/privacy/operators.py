"""Operators that transform detected spans: tag, mask and pseudonymise."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from stemme.privacy.engine import detect
from stemme.privacy.types import Span

OPERATORS = ("tag", "mask", "pseudonymise")
_NUMERIC_TYPES = frozenset({"PHONE", "NATIONAL_ID", "BANK_ACCOUNT", "PAYMENT_CARD"})
_SPACE_RE = re.compile(r"\s+")
_MAX_PASSES = 10


def normalise(entity_type: str, value: str) -> str:
    """The comparable form of a value: digits for numbers, casefolded text otherwise."""
    if entity_type in _NUMERIC_TYPES:
        number = "".join(ch for ch in value if ch.isdigit())
        if entity_type == "PHONE":
            if number.startswith("00"):
                number = number[2:]
            if len(number) == 10 and number.startswith("47"):
                number = number[2:]
        if entity_type == "BANK_ACCOUNT" and any(ch.isalpha() for ch in value):
            return "".join(ch for ch in value.upper() if ch.isalnum())
        return number
    if entity_type == "USERNAME":
        value = value.lstrip("@")
    return _SPACE_RE.sub(" ", value).strip().casefold()


class Pseudonymiser:
    """Consistent pseudonyms (<PHONE_1>, <PERSON_2>) for the values of one scope.

    A value is keyed by HMAC-SHA256(key, scope + type + normalised value), so the mapping
    holds no raw values and cannot be reversed without the key. Numbers count per type, in
    order of first appearance.
    """

    def __init__(self, key: bytes, scope: str) -> None:
        if not key:
            raise ValueError("Pseudonymiser needs a non-empty key")
        self._key = bytes(key)
        self.scope = scope
        self._labels: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def digest(self, entity_type: str, value: str) -> str:
        """The keyed digest of a value of a type within this scope."""
        message = "\x1f".join((self.scope, entity_type, normalise(entity_type, value)))
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def pseudonym(self, entity_type: str, value: str) -> str:
        """The pseudonym of ``value``, e.g. ``<PHONE_1>``; the same value gets the same one."""
        digest = self.digest(entity_type, value)
        label = self._labels.get(digest)
        if label is None:
            count = self._counts.get(entity_type, 0) + 1
            self._counts[entity_type] = count
            label = f"<{entity_type}_{count}>"
            self._labels[digest] = label
        return label

    @property
    def mapping(self) -> dict[str, str]:
        """A copy of digest -> pseudonym (never the raw values)."""
        return dict(self._labels)

    def __repr__(self) -> str:
        return f"Pseudonymiser(scope={self.scope!r}, values={len(self._labels)})"


def _mask(value: str) -> str:
    return "".join("*" if ch.isalnum() else ch for ch in value)


def _apply(text: str, spans: list[Span], operator: str, pseudonymiser: Pseudonymiser | None) -> str:
    parts: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < position or not 0 <= span.start < span.end <= len(text):
            continue
        value = text[span.start : span.end]
        if operator == "tag":
            replacement = f"<{span.type}>"
        elif operator == "mask":
            replacement = _mask(value)
        else:
            assert pseudonymiser is not None
            replacement = pseudonymiser.pseudonym(span.type, value)
        parts.append(text[position : span.start])
        parts.append(replacement)
        position = span.end
    parts.append(text[position:])
    return "".join(parts)


def redact(
    text: str,
    spans: list[Span] | None = None,
    operator: str = "tag",
    pseudonymiser: Pseudonymiser | None = None,
) -> str:
    """``text`` with personal data replaced by the operator ("tag", "mask", "pseudonymise").

    With ``spans=None`` detect() runs first, and again on the result until nothing more is
    found, so redact(redact(x)) == redact(x).
    """
    if operator not in OPERATORS:
        raise ValueError(f"unknown operator {operator!r}; use one of {', '.join(OPERATORS)}")
    if operator == "pseudonymise" and pseudonymiser is None:
        pseudonymiser = Pseudonymiser(secrets.token_bytes(32), "")
    if spans is not None:
        return _apply(text, spans, operator, pseudonymiser)
    for _ in range(_MAX_PASSES):
        found = detect(text)
        if not found:
            break
        text = _apply(text, found, operator, pseudonymiser)
    return text
