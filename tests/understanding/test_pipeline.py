"""The pipeline composes the stages in order (with a fake privacy module)."""

from __future__ import annotations

import dataclasses

import pytest

from stemme import privacy
from stemme.understanding import Analysis, AnalysisContext, analyze
from stemme.understanding.pipeline import PrivacyUnavailableError, redact_text
from tests.understanding.conftest import FakePrivacy


def test_stages_run_in_order(fake_privacy: FakePrivacy) -> None:
    text = "Eg heiter Eirik Hovden og vil ikkje leve lenger. Ring 917 45 302. Eg bur i Førde."
    result = analyze(text)
    assert isinstance(result, Analysis)
    # language first, and passed to detect
    assert result.lang == "nn"
    assert fake_privacy.detect_calls == [(text, "nn")]
    # redaction before triage: the redacted text is what is returned
    assert "<PERSON>" in result.redacted
    assert "<PHONE>" in result.redacted
    assert "917 45 302" not in result.redacted
    assert [(s.type, text[s.start : s.end]) for s in result.entities] == [
        ("PERSON", "Eirik Hovden"),
        ("PHONE", "917 45 302"),
    ]
    assert (result.category, result.urgent) == ("emergency", True)
    assert result.reasons
    assert result.category_scores
    # district from the text; the person name "Hovden" is not read as a place
    assert (result.district, result.place, result.district_source) == ("Vest", "Førde", "text")


def test_triage_sees_the_redacted_text(
    fake_privacy: FakePrivacy, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    from stemme.understanding import pipeline

    real = pipeline.triage_many

    def spy(texts: list[str], langs: list[str], use_model: bool = True) -> object:
        seen.extend(texts)
        return real(texts, langs, use_model)

    monkeypatch.setattr(pipeline, "triage_many", spy)
    analyze("Ring Ola på 917 45 302")
    assert seen == ["Ring <PERSON> på <PHONE>"]


def test_channel_district_fallback_and_rules_only(fake_privacy: FakePrivacy) -> None:
    context = AnalysisContext(channel="messenger", channel_district="Agder", use_model=False)
    result = analyze("Hvordan fornyer jeg passet?", context)
    assert (result.district, result.district_source, result.place) == ("Agder", "channel", None)
    assert result.category == "question"
    assert analyze("Hvordan fornyer jeg passet?").district is None


def test_analysis_is_frozen(fake_privacy: FakePrivacy) -> None:
    result = analyze("Hei")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.category = "tip"  # type: ignore[misc]


def test_missing_privacy_functions_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(privacy, "Detection", raising=False)
    with pytest.raises(PrivacyUnavailableError):
        analyze("Hei")
    with pytest.raises(PrivacyUnavailableError):
        redact_text("Hei")


def test_a_batch_gives_what_one_message_at_a_time_gives() -> None:
    from stemme.understanding import analyze_many

    texts = [
        "Han står utenfor døra mi med kniv! Ring 917 45 302",
        "",
        "Hvordan fornyer jeg passet? Mvh Kari Nordmann",
        "Eg bur i Førde og vil tipse om noko",
        "Hei",
    ]
    contexts = [
        AnalysisContext(),
        AnalysisContext(use_model=False),
        AnalysisContext(channel_district="Agder"),
        AnalysisContext(use_model=False, channel_district="Øst"),
        AnalysisContext(channel_district="Agder"),
    ]
    batch = analyze_many(texts, contexts)
    assert batch == [analyze(t, c) for t, c in zip(texts, contexts, strict=True)]
    assert analyze_many(texts) == [analyze(t) for t in texts]
    assert analyze_many([]) == []


def test_the_language_is_read_without_the_personal_data() -> None:
    # the name and the e-mail address (Danish-looking "æ") do not make the message Danish
    text = "Hvordan fornyer jeg passet? Mvh Gry Sellæg, gry.sellæg@example.no"
    assert analyze(text).lang == "nb"
