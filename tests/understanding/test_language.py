"""Language identification, including short bokmål/nynorsk texts."""

from __future__ import annotations

import pytest

from stemme.understanding.language import LANGS, detect_language, lexicon_hits

CASES = [
    # bokmål
    ("Hei, jeg har mistet lommeboka mi på bussen i dag.", "nb"),
    ("Hvordan fornyer jeg passet?", "nb"),
    ("Jeg vil ikke leve lenger", "nb"),
    ("Takk for hjelpen!", "nb"),
    # "to", "i", "her" are Norwegian words too: no English evidence without an English word
    ("Jeg er redd for to små barn i huset her i gata, de er alene i kveld", "nb"),
    ("Vi har to katter i leiligheten her i byen, og jeg lurer på reglene", "nb"),
    # German that shares words with ours ("ein", "mit"): lingua weighs every language
    ("Guten Abend, ein Mann mit Hund hat unser Auto beschädigt, was können wir tun?", "other"),
    # a script none of ours is written in (Ge'ez)
    ("ሰላም፡ ቦርሳይ ጠፊኡኒ ኣብ ኦስሎ", "other"),
    ("Undskyld, forkert nummer", "da"),
    ("Tusen takk for hjelpa saman med dykk i går", "nn"),
    # words all of ours share ("og", "på", "det") settle that lingua weighs only ours
    ("Vil tipse om at det selges hasj ved stasjonen, og bilen står på parkeringen", "nb"),
    ("hva gjør jeg nå", "nb"),
    # nynorsk
    ("Eg veit ikkje kva eg skal gjere", "nn"),
    ("Korleis søkjer eg om pass?", "nn"),
    ("Ho er ikkje heime no", "nn"),
    ("Kvifor svarer de ikkje?", "nn"),
    ("Eg vil melde eit innbrot i hytta vår frå i helga.", "nn"),
    # Swedish
    ("Hej, jag har tappat min plånbok", "sv"),
    ("Hur gör jag en polisanmälan?", "sv"),
    ("Någon har stulit min cykel och jag vet inte vad jag ska göra", "sv"),
    # Danish
    ("Hvad gør jeg hvis min cykel er stjålet?", "da"),
    ("Jeg har mistet min taske, kan I hjælpe mig?", "da"),
    ("Der er nogen der har brudt ind i min lejlighed", "da"),
    # English
    ("Someone stole my bike yesterday", "en"),
    ("How do I apply for a passport?", "en"),
    ("hi", "en"),
    # other
    ("Dzień dobry, ukradziono mi rower wczoraj", "other"),
    ("مرحبا، سرقت دراجتي أمس", "other"),
    ("Здравствуйте, у меня украли телефон", "other"),
    ("Guten Tag, mein Fahrrad wurde gestohlen", "other"),
    # no words: the language most messages are in (as annotators read "👍" sent to the police)
    ("😀👍", "nb"),
    ("", "nb"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_detect_language(text: str, expected: str) -> None:
    result = detect_language(text)
    assert result.code == expected
    assert 0.0 <= result.confidence <= 1.0
    assert set(result.scores) == set(LANGS)


def test_lexicon_hits_count_discriminative_words_only() -> None:
    hits = lexicon_hits("eg veit ikkje kva")
    assert hits["nn"] == 4
    assert hits["nb"] == 0
    # "jeg" is both bokmål and Danish: it separates neither from the other
    assert lexicon_hits("jeg")["nb"] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hei, sykkelen ble stjålet i går", {"nb", "nn", "da"}),
        ("Hej, min cykel blev stulen igår", {"nb", "nn", "da", "sv"}),
        ("Cykeln blev stöld", {"nb", "nn", "da", "sv"}),  # "ö" without a Swedish word
        ("Hei, my bike was stolen i går", {"nb", "nn", "da", "en"}),
        ("Eg budde i byen", {"nb", "nn", "da"}),  # "i" alone is not English evidence
        ("Kan du hjelpe meg med sykkelen min?", {"nb", "nn", "da"}),  # Norwegian "kan", "min"
    ],
)
def test_lingua_weighs_only_the_languages_the_words_leave_open(
    text: str, expected: set[str]
) -> None:
    from stemme.understanding import language

    folded = text.casefold()
    words = language._WORD_RE.findall(folded)
    weak = sum(1 for w in words if w in language._WEAK_ENGLISH)
    hits = language.lexicon_hits(text)
    assert language._candidates(words, folded, hits, weak) == expected


def test_a_narrowed_detector_scores_only_its_languages() -> None:
    from stemme.understanding.language import lingua_scores

    scores = lingua_scores("sykkelen ble stjålet", everything=False, ours=frozenset({"nb", "da"}))
    assert scores["nb"] + scores["da"] == pytest.approx(1.0, abs=1e-6)
    assert scores["nn"] == scores["sv"] == scores["en"] == scores["other"] == 0.0


def test_a_batch_gets_the_languages_one_text_at_a_time_gets() -> None:
    from stemme.understanding.language import detect_languages

    texts = [
        "Hei, sykkelen min ble stjålet i går kveld",
        "",
        "Eg veit ikkje kva eg skal gjere",
        "Hej, jag behöver hjälp",
        "Dzień dobry, mam pytanie",
        "123 456",
        "Jeg har et spørgsmål om min cykel, hvad gør jeg nu?",
        "Please help me, someone stole my phone",
    ]
    assert detect_languages(texts) == [detect_language(t) for t in texts]
    assert detect_languages([]) == []
