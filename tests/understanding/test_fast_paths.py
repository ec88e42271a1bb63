"""The fast paths of triage (n-grams, rule index) give exactly what the plain code gives."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stemme.understanding import rules, triage
from stemme.understanding.rules import _hit, _Scan, apply_rules

DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "messages-dev.jsonl"
TEXTS = [
    "Hei, jeg heter <PERSON> og vil anmelde at sykkelen min ble stjålet i Oslo. Ring <PHONE>.",
    "Han står utenfor døra mi med kniv nå!",
    "HJELP",
    "hjelp meg",
    "Takk for hjelpen!",
    "Eg vil ikkje leve lenger",
    "Min 13 år gamle datter har blitt voldtatt av en gutt på 17",
    "Datteren min på 13 får meldinger fra <USERNAME> på Snapchat som ber om bilder.",
    "Someone is breaking into my house right now",
    "  tabs\tand\nnew lines  ",
    "Ring <PHONE_1> eller <PERSON>, han står utenfor med kniv nå!",
    "Sønnen min (14) er borte siden kl. 18:30, sist sett på E18 ved Sandvika",
    "«HJELP» – han slår henne nå!!! 112?",
    "kom fort, 2 personer i vannet",
    "ſelvmord og İstanbul",
    "a b",
    "",
    "x",
]


def _texts() -> list[str]:
    texts = list(TEXTS)
    if DEV.is_file():
        texts += [json.loads(line)["text"] for line in DEV.read_text("utf-8").splitlines()]
    return texts


def _plain_counts(analyzer: Any, vocabulary: dict[str, int], text: str) -> list[int]:
    return [vocabulary[g] for g in analyzer(text) if g in vocabulary]


def _indices(part: Any, text: str) -> list[int]:
    """The part's arrays for ``text``, read one after the other."""
    return [int(index) for array in part.arrays(text, text.lower()) for index in array]


@pytest.mark.parametrize("text", _texts())
def test_ngram_indices_match_scikit_learn(text: str) -> None:
    scorer = triage.model()
    for part in scorer._parts:
        expected = _plain_counts(part.analyzer, part.vocabulary, text)
        got = _indices(part, text)
        assert got == expected
        assert list(Counter(got)) == list(Counter(expected))


def test_other_analyzers_fall_back_to_scikit_learn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]

    texts = ["Hei på deg", "Hallo du", "Ha det bra"]
    for vectorizer in (
        TfidfVectorizer(analyzer="char_wb", strip_accents="unicode", ngram_range=(2, 3)),
        TfidfVectorizer(analyzer="char", ngram_range=(2, 3)),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 1)),
        TfidfVectorizer(analyzer="word", ngram_range=(2, 3)),
    ):
        vectorizer.fit(texts)
        part = triage._Part(vectorizer, 0)
        for text in [*texts, "Hei hei på deg du"]:
            expected = _plain_counts(vectorizer.build_analyzer(), part.vocabulary, text)
            assert _indices(part, text) == expected


def test_word_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    scorer = triage.Scorer(triage.model().model)
    part = scorer._parts[0]
    monkeypatch.setattr(triage, "_WORD_CACHE_LIMIT", 2)
    before = scorer.scores("en to tre fire fem")
    assert len(part._words) <= 2
    assert scorer.scores("en to tre fire fem") == before


@pytest.mark.parametrize("text", _texts())
def test_rule_index_finds_what_the_whole_patterns_find(text: str) -> None:
    for variant in (text, text.upper(), text.lower()):
        scan = _Scan(variant)
        for cue in rules._all_cues():
            assert scan.hit(cue) == _hit(cue, variant), (cue.label, variant)
            assert scan.hit(cue) == _hit(cue, variant)  # remembered


def test_rules_on_a_cue_outside_the_index() -> None:
    cue = rules.Cue("egen", rules._rx("abc", "def"))
    assert _Scan("xx def abc").hit(cue) == rules.Hit("egen", "def")
    lone = rules.Cue("alene", rules.re.compile(r"\w+z"))
    assert _Scan("quiz").hit(lone) == rules.Hit("alene", "quiz")


def test_apply_rules_is_unchanged_for_unsafe_text() -> None:
    result = apply_rules("ſelvmord, hjelp!", "nb")
    assert result.is_emergency


@pytest.mark.parametrize("text", _texts())
def test_fast_scorer_matches_scikit_learn_on_many_texts(text: str) -> None:
    scorer = triage.model()
    scores, urgent = scorer.scores(text)
    features = scorer.model.features.transform([triage.normalise(text)])
    expected = scorer.model.category.predict_proba(features)[0]
    for label, p in zip(scorer.model.category.classes_, expected, strict=True):
        assert scores[label] == pytest.approx(p, abs=1e-9)
    urgent_classes = list(scorer.model.urgent.classes_)
    urgent_expected = scorer.model.urgent.predict_proba(features)[0][urgent_classes.index(True)]
    assert urgent == pytest.approx(urgent_expected, abs=1e-9)
