"""Triage: rules that must never miss, the model, and how they combine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stemme.understanding import triage
from stemme.understanding.rules import ages, apply_rules

# (text, lang) that must be emergency + urgent, model or not
EMERGENCIES = [
    ("Han står utenfor døra mi med kniv og prøver å komme inn", "nb"),
    ("Jeg vil ikke leve lenger", "nb"),
    ("Kompisen min sier han skal ta livet sitt i kveld", "nb"),
    ("Eg vil ikkje leve lenger", "nn"),
    ("Han trugar meg med kniv no", "nn"),
    ("Hjelp!", "nb"),
    ("hjelp", "nb"),
    ("Sønnen min på 5 år er borte, vi finner ham ikke", "nb"),
    ("Veslebroren min har gått seg vekk på senteret, vi finn han ikkje", "nn"),
    ("Det kjører en full mann på E6 nå, han vingler over veien", "nb"),
    ("Det er noen inne i huset mitt nå, jeg hører dem i kjelleren", "nb"),
    ("Naboen slår kona si nå, hun skriker", "nb"),
    ("Jag vill inte leva längre", "sv"),
    ("Min pojke är försvunnen sedan en timme", "sv"),
    ("Der er en mand udenfor min dør med en kniv lige nu", "da"),
    ("He is outside my door with a knife", "en"),
    ("I don't want to live anymore", "en"),
    ("Someone is breaking into my house right now", "en"),
    ("A drunk driver is on the E18 right now swerving all over the road", "en"),
    ("my girlfriend says she took all her pills", "en"),
    ("Huset til naboen brenner og det er folk inne", "nb"),
    ("Det er en mann som følger etter meg og nå står han ved inngangen, jeg er redd", "nb"),
    ("Pomocy! Ktoś włamuje się do mieszkania teraz", "other"),
]

EMERGENCIES += [
    ("Kom fort, det er innbrudd hos naboen og de er fortsatt inne", "nb"),
    ("En mann har dratt en kvinne inn i en bil mot hennes vilje her på parkeringen", "nb"),
    ("Mamma har falt og slått hodet og hun svarer ikke", "nb"),
    ("Det er ran i butikken akkurat nå, han har en kniv", "nb"),
    ("Det er noen som truer med å hoppe fra taket på kjøpesenteret", "nb"),
    ("ei jente på 4 år går alene langs motorveien", "nb"),
    ("Jeg gjemmer meg på badet, han har slått meg og leter etter meg", "nb"),
    ("Eksen min har sagt at han kommer hit i kveld for å drepe meg", "nb"),
    ("Jeg ser røyk og flammer fra en leilighet i blokka", "nb"),
    ("Vi hører skudd i nærheten av skolen", "nb"),
    ("En eldre mann har gått seg bort fra sykehjemmet, han har demens og det er kaldt ute", "nb"),
    ("kjæresten min holder meg innestengt og tar telefonen min, skriver i smug", "nb"),
    ("Min venn har skrevet et selvmordsbrev og vi vet ikke hvor han er", "nb"),
    ("Det er ein mann som slår ei kvinne på busshaldeplassen no", "nn"),
    ("Eg har lyst å døy, orkar ikkje meir", "nn"),
    ("Kom fort, nokon har knivstukke ein gut utanfor skulen", "nn"),
    ("Ungen vår på 3 år er borte frå hagen", "nn"),
    ("Någon har blivit knivhuggen utanför stationen, han blöder mycket", "sv"),
    ("Min sambo hotar att döda mig och jag har låst in mig", "sv"),
    ("Det brinner i lägenheten bredvid", "sv"),
    ("Min kæreste har slået mig og jeg tør ikke gå ud af værelset", "da"),
    ("Der er en mand der truer folk med en pistol på torvet", "da"),
    ("I'm hiding in the closet, there's someone in the house", "en"),
    ("my dad is drunk and hitting my mum, please come", "en"),
    ("a child fell into the river and we cant see him", "en"),
    ("there's a man threatening people with a machete on the street", "en"),
    ("I'm going to end it tonight, I can't do this anymore", "en"),
    ("my friend is unconscious after taking something at the party", "en"),
    ("Help us, my brother is having a seizure and not breathing", "en"),
    # a vehicle in the water; someone overdue out in the dark or cold
    ("En bil rullet ut i havna nå, det sitter folk i den", "nb"),
    ("a car just drove into the harbour, someone is inside", "en"),
    ("Far har ikkje kome ned frå fjellet og det byrjar å bli mørkt", "nn"),
    ("my sister is not back from her hike yet and it's snowing a lot", "en"),
    ("Pappa er ikke kommet i land etter fisketuren, og det er storm på sjøen", "nb"),
    ("Help. my friend fell and cant move his leg, its getting dark and very cold", "en"),
    ("Bestefar har gått fra sykehjemmet i bare pysjamas, og det er minusgrader ute nå", "nb"),
    ("Scooteren har stoppa på vidda og jeg fryser, det er snøfokk", "nb"),
    ("Pappa svarer ikke og skrev i natt at han skal sove for alltid", "nb"),
    ("a man is waving a gun at people in the parking garage right now", "en"),
    ("Ein bil har køyrt inn i eit tre her no og ingen har kome seg ut", "nn"),
    ("Pomocy! Szef bije teraz mojego kolegę na budowie", "other"),
]
SERIOUS_CHILD = [
    # grooming: an adult's secrecy, love talk or hotel plans with a minor
    "Sønnen min (14) chatter med en mann på 35 som sier han elsker ham",
    "Jenta på 13 sier en fyr på 28 har bestilt et rom til dem og at hun ikke må si det til noen",
    "My daughter is 14 and a 30 year old online told her not to tell anyone about their chats",
    # criminal exploitation of a child, with threats
    "Eldre gutter tvinger ham til å selge hasj, og de truer familien hans. Han er bare 13",
    "Broren min på 15 blir tvunget til å frakte pakker, de vet hvor han bor",
    "My son is 12 and a gang recruited him, they threaten his little sister",
    "En lærer på skolen sender snapper til datteren min på 14 om at hun er sexy",
    "Barnevernsbarn på 15 har rømt fra institusjonen og er med noen voksne menn",
    "Min 13 år gamle datter har blitt voldtatt av en gutt på 17",
    "Sønnen min blir slått av faren når han er der annenhver helg",
    "En mann på 30 gir ungdommene i bygda alkohol mot at jentene blir med ham hjem",
    "Dotter mi på 14 fortel at ho har sendt nakenbilete til ein ho ikkje kjenner",
    "Min dotter på 12 har fått bilder på en vuxen mans könsorgan",
    "a man has been sending sexual messages to my 11 year old son on roblox",
    # sextortion: threats to spread a child's pictures
    "im 13 and a guy says he will leak my pics to my school if i dont pay",
    "Jenta mi på 14 får beskjed om at han skal legge ut bildene hvis hun ikke sender flere",
    # forced marriage
    "Niesen min er 15 og familien skal gifte henne bort i sommerferien",
    "My 16 year old classmate says her parents are taking her abroad for a forced marriage",
]

# (text, urgent) that must be concern_for_child, decided by the rules alone
CHILD = [
    ("Datteren min på 13 får meldinger fra en voksen mann som ber om nakenbilder", True),
    ("Det deles nakenbilder av en 14 år gammel jente på skolen", True),
    ("Ein gut i klassen min har blåmerke og vil ikkje gå heim", True),
    ("Lillesøstera mi er 12 og har en kjæreste på nett som er 19", True),
    ("Jenta vår på 15 stakk av hjemmefra og svarer ikke på telefonen", True),
    ("Sønnen min på 14 kom ikke hjem fra skolen i går, og telefonen hans er av", True),
    ("some guy on discord keeps asking my little brother (12) for nudes", True),
    ("Min dotter på 13 får meddelanden från en vuxen man som vill ha bilder", True),
    ("En pige i min søns klasse siger at hendes stedfar slår hende", True),
    ("Naboen lar ungene være alene hjemme hele natta, de er sultne", False),
    ("I'm worried about the kids next door, they are left alone and look hungry", False),
]

NOT_URGENT = [
    "Han truet meg med kniv i går, jeg vil anmelde det",
    "Takk for god hjelp!",
    "Hvordan søker jeg om pass?",
    "Noen stjal sykkelen min forrige uke",
    "Min nabo kjører ofte bil etter å ha drukket, vil tipse om det",
    "Sønnen min var borte i går, men han er funnet og er hjemme igjen",
    # weapons kept, licensed or inherited: no danger
    "Eg har arva ei hagle etter far min, ho står no i våpenskåpet. Kva må eg gjere?",
    "My gun licence expires now, how do I renew it?",
]


def test_an_adult_partner_is_serious_below_the_age_of_consent() -> None:
    assert apply_rules("Jenta på 15 har en kjæreste på 22", "nb").child_serious
    assert not apply_rules("Jeg er 16 og kjæresten min er 22", "nb").child_serious


def test_absence_from_school_and_a_dated_collision_are_no_emergency() -> None:
    absent = "Eleven på 16 har vært borte fra skolen flere dager og har mye kontanter"
    assert apply_rules(absent, "nb").emergency == ()
    dated = "I was in a collision on 17 November, the other driver is now denying it"
    assert apply_rules(dated, "en").emergency == ()


def test_overdue_is_an_emergency_only_out_in_the_dark_or_cold() -> None:
    late = "Mannen min har ikke kommet hjem ennå, men han er ofte sen fra jobb"
    assert apply_rules(late, "nb").emergency == ()
    out = "Mannen min har ikke kommet hjem fra skituren og det er snøstorm"
    assert apply_rules(out, "nb").is_emergency


# threats of an attack on many people: urgent whatever the category
PLANNED_ATTACKS = [
    ("en gutt på discord sa at han skal skyte opp skolen på fredag", "nb"),
    ("someone in our group chat says he is going to shoot up the school tomorrow", "en"),
    ("Ein kar på nettet planlegg eit åtak på festivalen i helga", "nn"),
]
NOT_PLANNED_ATTACKS = [
    "Jeg så på nyhetene om skoleskytingen i USA, hvordan snakker jeg med barna om det?",
    "Sønnen min spiller et spill der de skyter hverandre, er det lov når han er 12?",
]


@pytest.mark.parametrize(("text", "lang"), PLANNED_ATTACKS)
def test_a_planned_attack_is_urgent(text: str, lang: str) -> None:
    result = triage.triage(text, lang=lang)
    assert result.urgent
    assert any(reason.startswith("hastesak – trussel om angrep") for reason in result.reasons)


@pytest.mark.parametrize("text", NOT_PLANNED_ATTACKS)
def test_talk_of_attacks_without_a_plan(text: str) -> None:
    assert apply_rules(text, "nb").threats == ()


@pytest.mark.parametrize(("text", "lang"), EMERGENCIES)
@pytest.mark.parametrize("use_model", [True, False])
def test_emergencies_are_never_missed(text: str, lang: str, use_model: bool) -> None:
    result = triage.triage(text, use_model=use_model, lang=lang)
    assert result.category == "emergency"
    assert result.urgent
    assert any(reason.startswith("nødsituasjon") for reason in result.reasons)


@pytest.mark.parametrize(("text", "urgent"), CHILD)
def test_child_welfare(text: str, urgent: bool) -> None:
    rules = apply_rules(text)
    assert rules.is_child_concern
    assert rules.child_serious is urgent
    result = triage.triage(text)
    assert result.category == "concern_for_child"
    assert result.urgent is urgent or (result.urgent and not urgent)
    if urgent:
        assert "alvorlig risiko for barnet" in result.reasons


@pytest.mark.parametrize("text", NOT_URGENT)
def test_not_urgent(text: str) -> None:
    result = triage.triage(text, lang="nb")
    assert not result.urgent
    assert result.category != "emergency"


MODEL_CASES = [
    ("Hei, hvor lang tid tar det å få nytt pass?", "question"),
    ("Kan eg ta med fyrverkeri frå Sverige?", "question"),
    ("Jeg vil anmelde et innbrudd i boden vår, verktøy er stjålet", "crime_report"),
    ("I was scammed on Finn, I paid for a phone that never came", "crime_report"),
    ("Vil tipse om at det selges hasj bak skolen hver fredag", "tip"),
    ("Tusen takk for god hjelp i går, dere var flinke", "feedback"),
    ("Jeg vil klage på en uhøflig betjent", "feedback"),
    ("test", "other"),
    ("Vinn en iPhone! Klikk på lenken", "other"),
]


@pytest.mark.parametrize(("text", "category"), MODEL_CASES)
def test_model_categories(text: str, category: str) -> None:
    result = triage.triage(text)
    assert result.category == category
    assert set(result.scores) == set(triage.CATEGORIES)
    assert any(reason.startswith("kategori:") for reason in result.reasons)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Hvordan søker jeg om pass?", "question"),
        ("Vil tipse om narkotika", "tip"),
        ("Hei", "other"),
    ],
)
def test_rules_only_path(text: str, category: str) -> None:
    assert triage.triage(text, use_model=False).category == category


def test_redaction_tags_are_folded() -> None:
    assert triage.normalise("Ring <PHONE_1> eller <PERSON>") == "Ring  xphonex  eller  xpersonx "


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gutten på 12 og mannen på 25", [12, 25]),
        ("en 15-åring", [15]),
        ("kl 14:30", []),
        ("hey im 14 from norway", [14]),
    ],
)
def test_ages(text: str, expected: list[int]) -> None:
    assert ages(text) == expected


def test_parse_examples_rejects_bad_lines() -> None:
    good = json.dumps({"text": "hei", "category": "other"})
    assert triage.parse_examples([good, ""])[0] == triage.Example("hei", "other", False)
    for bad in ("{", json.dumps({"category": "other"}), json.dumps({"text": "x", "category": "?"})):
        with pytest.raises(triage.InvalidLabelsError, match="linje 1"):
            triage.parse_examples([bad])


def test_model_is_trained_when_file_missing_or_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = triage.shipped_examples()[::8]
    monkeypatch.setattr(triage, "shipped_examples", lambda: examples)
    monkeypatch.setattr(triage, "default_model_path", lambda: tmp_path / "missing.joblib")
    triage.model.cache_clear()
    try:
        trained = triage.model().model
        assert set(trained.category.classes_) == set(triage.CATEGORIES)
        stale = tmp_path / "stale.joblib"
        import joblib

        joblib.dump({"sklearn": "0.0", "category": None, "urgent": None}, stale)
        assert triage._load_model(stale) is None
        triage.save_model(trained, tmp_path / "fresh.joblib")
        assert triage._load_model(tmp_path / "fresh.joblib") is not None
    finally:
        triage.model.cache_clear()


@pytest.mark.parametrize(
    "text",
    ["Hei, hvor lang tid tar det å få pass?", "han står utenfor med kniv", "", "Ring <PHONE_1>"],
)
def test_fast_scorer_matches_scikit_learn(text: str) -> None:
    scorer = triage.model()
    scores, urgent = scorer.scores(text)
    features = scorer.model.features.transform([triage.normalise(text)])
    expected = scorer.model.category.predict_proba(features)[0]
    for label, p in zip(scorer.model.category.classes_, expected, strict=True):
        assert scores[label] == pytest.approx(p, abs=1e-9)
    classes = list(scorer.model.urgent.classes_)
    assert urgent == pytest.approx(
        scorer.model.urgent.predict_proba(features)[0][classes.index(True)], abs=1e-9
    )


@pytest.mark.parametrize("text", SERIOUS_CHILD)
def test_serious_child_cases_are_urgent(text: str) -> None:
    rules = apply_rules(text)
    assert rules.child_serious
    assert triage.decide(rules, dict.fromkeys(triage.CATEGORIES, 0.0)).urgent


# Erratic driving now is an emergency even when nobody says "drunk"; long ago it is not.
ERRATIC = [
    ("Bilen foran meg sjangler over i motgående felt nå, vi kjører nordover på E6", True),
    ("A car ahead of us keeps swerving into oncoming traffic on the E18 right now", True),
    ("Det kör en bil som vinglar mellan körfälten framför mig nu", True),
    ("I fjor sommer så jeg en bil som vinglet mye på vei hjem fra hytta", False),
]


@pytest.mark.parametrize(("text", "emergency"), ERRATIC)
def test_erratic_driving_now(text: str, emergency: bool) -> None:
    result = apply_rules(text)
    labels = [hit.label for hit in result.emergency]
    assert ("nødsituasjon – farlig kjøring" in labels) is emergency, labels


def test_the_models_urgency_counts_for_every_category() -> None:
    rules = apply_rules("Noen har hacket kontoen min")
    scores = dict.fromkeys(triage.CATEGORIES, 0.0)
    scores["crime_report"] = 0.9
    assert triage.decide(rules, scores, urgent_p=0.9).urgent
    assert not triage.decide(rules, scores, urgent_p=0.1).urgent


def test_scores_of_a_batch_are_the_scores_of_each_text() -> None:
    texts = ["Hei, hvor lang tid tar det å få pass?", "", "han står utenfor med kniv", "!!"]
    scorer = triage.model()
    batch = scorer.scores_many(texts)
    for text, (scores, urgent) in zip(texts, batch, strict=True):
        single_scores, single_urgent = scorer.scores(text)
        assert urgent == pytest.approx(single_urgent, abs=1e-12)
        for label, value in single_scores.items():
            assert scores[label] == pytest.approx(value, abs=1e-12)
    assert scorer.scores_many([]) == []
