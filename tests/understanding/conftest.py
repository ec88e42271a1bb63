"""Fixtures for the understanding tests: a fake privacy module when asked for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from stemme import privacy
from stemme.privacy.types import Span

_PHONE_RE = re.compile(r"\b\d{3} ?\d{2} ?\d{3}\b")
_NAME_RE = re.compile(r"\b(?:Kari Nordmann|Ola|Eirik Hovden)\b")


@dataclass
class FakePrivacy:
    """Finds a few phone numbers and names; records what it was called with."""

    detect_calls: list[tuple[str, str | None]] = field(default_factory=list)
    redact_calls: list[str] = field(default_factory=list)

    def detect(self, text: str, language: str | None = None) -> list[Span]:
        self.detect_calls.append((text, language))
        spans = [Span(m.start(), m.end(), "PHONE", 0.9, "fake") for m in _PHONE_RE.finditer(text)]
        spans += [Span(m.start(), m.end(), "PERSON", 0.8, "fake") for m in _NAME_RE.finditer(text)]
        return sorted(spans, key=lambda s: s.start)

    def detection(self, texts: list[str]) -> FakeDetection:
        return FakeDetection(self, list(texts))

    def redact(
        self,
        text: str,
        spans: list[Span] | None = None,
        operator: str = "tag",
        pseudonymiser: object = None,
    ) -> str:
        self.redact_calls.append(text)
        spans = self.detect(text) if spans is None else spans
        for span in sorted(spans, key=lambda s: s.start, reverse=True):
            text = f"{text[: span.start]}<{span.type}>{text[span.end :]}"
        return text


@dataclass
class FakeDetection:
    """privacy.Detection's two steps over FakePrivacy.detect (nothing is masked)."""

    fake: FakePrivacy
    texts: list[str]

    def masked(self) -> list[str]:
        return self.texts

    def finish(self, languages: list[str | None]) -> list[list[Span]]:
        pairs = zip(self.texts, languages, strict=True)
        return [self.fake.detect(text, language) for text, language in pairs]


@pytest.fixture
def fake_privacy(monkeypatch: pytest.MonkeyPatch) -> FakePrivacy:
    fake = FakePrivacy()
    monkeypatch.setattr(privacy, "detect", fake.detect, raising=False)
    monkeypatch.setattr(privacy, "Detection", fake.detection, raising=False)
    monkeypatch.setattr(privacy, "redact", fake.redact, raising=False)
    return fake
