"""Language identification: nb, nn, sv, da, en or other.

lingua's confidences are combined with small lexicons of function words that tell the
Scandinavian languages apart on short texts (where an n-gram model alone often confuses
bokmål, nynorsk and Danish). The detector is built once, on first use, for a fixed set of
languages: the five we answer in plus languages common among Norwegian residents, which
all map to ``"other"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

LANGS: tuple[str, ...] = ("nb", "nn", "sv", "da", "en", "other")

_OTHER_LANGUAGES: tuple[str, ...] = (
    "POLISH",
    "ARABIC",
    "SOMALI",
    "LITHUANIAN",
    "UKRAINIAN",
    "RUSSIAN",
    "GERMAN",
    "SPANISH",
    "TAGALOG",
    "URDU",
    "PERSIAN",
    "TURKISH",
    "FRENCH",
    "VIETNAMESE",
    "THAI",
    "PORTUGUESE",
    "ROMANIAN",
    "FINNISH",
    "ICELANDIC",
    "DUTCH",
    "ITALIAN",
)
_OURS: dict[str, str] = {
    "BOKMAL": "nb",
    "NYNORSK": "nn",
    "SWEDISH": "sv",
    "DANISH": "da",
    "ENGLISH": "en",
}

# Function words that occur in one of the Scandinavian languages (or English) but not in the
# others. A word listed under several languages is not discriminative and is left out.
LEXICONS: dict[str, frozenset[str]] = {
    "nn": frozenset(
        [
            "eg",
            "ikkje",
            "kva",
            "korleis",
            "kvifor",
            "kvar",
            "kor",
            "berre",
            "dei",
            "ho",
            "frå",
            "vere",
            "vore",
            "noko",
            "nokon",
            "nokre",
            "eit",
            "ein",
            "mykje",
            "heim",
            "heime",
            "kven",
            "då",
            "no",
            "òg",
            "sjølv",
            "veit",
            "trur",
            "fekk",
            "gjekk",
            "vart",
            "heilt",
            "fleire",
            "meir",
            "enno",
            "gong",
            "gonger",
            "hjå",
            "dykk",
            "dokker",
            "me",
            "oss",
            "mi",
            "dotter",
            "dottera",
            "sonen",
            "skule",
            "skulen",
            "sjukehus",
            "sjuk",
            "treng",
            "kjem",
            "gjere",
            "gjer",
            "mogleg",
            "sidan",
            "seinare",
            "elles",
            "difor",
            "høyrt",
            "høyre",
            "ynskjer",
            "ønskjer",
            "saman",
            "hjelpa",
            "utan",
            "orsak",
            "køyrer",
            "køyre",
            "køyrde",
            "fann",
            "ringde",
            "svara",
            "heile",
            "såg",
            "høyrde",
            "sjå",
            "gjev",
            "kome",
            "bur",
            "budde",
            "eigen",
            "eiga",
            "augo",
            "desse",
            "nokre",
            "vidaregåande",
            "ungane",
            "borna",
            "jenta",
            "guten",
            "ungdomen",
            "vaksen",
            "vaksne",
            "seier",
            "sa'kje",
            "tykkjer",
            "skal'kje",
            "ville'kje",
            "kvelden",
            "ikkje,",
        ]
    ),
    "nb": frozenset(
        [
            "jeg",
            "meg",
            "deg",
            "seg",
            "ikke",
            "hva",
            "noe",
            "noen",
            "mye",
            "hjem",
            "hjemme",
            "hvem",
            "nå",
            "ble",
            "fikk",
            "gikk",
            "etter",
            "hei",
            "takk",
            "dere",
            "hjelp",
            "hjelpe",
            "sykkel",
            "sykkelen",
            "veldig",
            "gutt",
            "gutten",
            "jente",
            "jenta",
            "datter",
            "datteren",
            "sønn",
            "sønnen",
            "skole",
            "skolen",
            "sykehus",
            "trenger",
            "kommer",
            "gjøre",
            "gjør",
            "mulig",
            "siden",
            "senere",
            "ellers",
            "derfor",
            "hørt",
            "tror",
            "vet",
            "helt",
            "flere",
            "mer",
            "ennå",
            "gang",
            "bor",
            "bodde",
            "egen",
            "disse",
            "selv",
            "også",
            "noen",
            "skjedde",
            "hvordan",
            "hvorfor",
            "hvor",
            "hvis",
            "bare",
            "fra",
            "være",
            "hun",
            "mitt",
            "mine",
            "vår",
            "våre",
            "kjæresten",
            "voksen",
            "voksne",
        ]
    ),
    "da": frozenset(
        [
            "jeg",
            "mig",
            "dig",
            "sig",
            "ikke",
            "hvad",
            "nogen",
            "noget",
            "meget",
            "nu",
            "blev",
            "fik",
            "gik",
            "efter",
            "hej",
            "tak",
            "hjælp",
            "hjælpe",
            "af",
            "sådan",
            "lige",
            "jer",
            "jeres",
            "vores",
            "undskyld",
            "forkert",
            "sjov",
            "sjove",
            "bliv",
            "kørekort",
            "derhjemme",
            "pige",
            "pigen",
            "dreng",
            "drengen",
            "cykel",
            "cyklen",
            "købt",
            "sket",
            "skete",
            "ud",
            "op",
            "hende",
            "hvornår",
            "nogle",
            "mand",
            "manden",
            "sidste",
            "uge",
            "søn",
            "sønnen",
            "spørgsmål",
            "venlig",
            "hilsen",
            "også",
            "hvordan",
            "hvorfor",
            "hvor",
            "hvis",
            "bare",
            "fra",
            "være",
            "hun",
            "mit",
            "mine",
            "selv",
            "kæreste",
            "gerne",
            "ville",
            "synes",
        ]
    ),
    "sv": frozenset(
        [
            "jag",
            "inte",
            "och",
            "vad",
            "hur",
            "är",
            "någon",
            "något",
            "några",
            "mycket",
            "också",
            "att",
            "mig",
            "dig",
            "sig",
            "hej",
            "tack",
            "polisen",
            "ni",
            "från",
            "bara",
            "för",
            "över",
            "även",
            "sedan",
            "hade",
            "blev",
            "fick",
            "gick",
            "hon",
            "dom",
            "detta",
            "denna",
            "dessa",
            "vara",
            "säger",
            "här",
            "där",
            "nu",
            "väldigt",
            "pojke",
            "flicka",
            "kvinna",
            "stulen",
            "stulit",
            "min",
            "mitt",
            "mina",
            "hjälp",
            "hjälpa",
            "kan",
            "ska",
            "skulle",
            "eller",
            "när",
            "var",
            "vet",
            "tror",
        ]
    ),
    "en": frozenset(
        [
            "i",
            "the",
            "and",
            "is",
            "are",
            "was",
            "were",
            "my",
            "me",
            "you",
            "your",
            "he",
            "she",
            "his",
            "her",
            "they",
            "them",
            "what",
            "how",
            "why",
            "who",
            "where",
            "when",
            "please",
            "someone",
            "somebody",
            "police",
            "help",
            "with",
            "from",
            "have",
            "has",
            "had",
            "this",
            "that",
            "there",
            "not",
            "dont",
            "don't",
            "can",
            "could",
            "would",
            "should",
            "will",
            "hi",
            "hello",
            "thanks",
            "thank",
            "of",
            "to",
            "in",
            "on",
            "at",
            "it",
            "its",
            "an",
            "a",
            "be",
            "been",
            "being",
            "do",
            "does",
            "did",
            "just",
            "now",
            "tonight",
            "yesterday",
        ]
    ),
}
# Remove words shared between two Scandinavian lexicons: they carry no signal between them.
_SCANDI = ("nn", "nb", "da", "sv")


def _discriminative(lexicons: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    result: dict[str, frozenset[str]] = {}
    for lang, words in lexicons.items():
        others = set().union(*(lexicons[o] for o in _SCANDI if o != lang and lang in _SCANDI))
        result[lang] = frozenset(w for w in words if w not in others)
    return result


_LEXICON = _discriminative(LEXICONS)
# Shared nb/da words still separate Dano-Norwegian from nynorsk and Swedish.
_DANO_NORWEGIAN = (LEXICONS["nb"] & LEXICONS["da"]) - LEXICONS["nn"] - LEXICONS["sv"]

_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_LEXICON_WEIGHT = 0.22
NB_PRIOR = 0.12
OURS_EVIDENCE = 2
_WEAK_ENGLISH = frozenset({"i", "a", "an", "to", "in", "on", "at", "it", "do", "be", "of", "me"})
# English function words that are Scandinavian words as well ("i" = in, "to" = two, "her" =
# here, "at" = that in Danish, "me" = we in nynorsk).
_NORWEGIAN_TOO = _WEAK_ENGLISH | {"her"}
# Function words of the other languages most often written to the police here (German,
# Polish, Spanish, French, Lithuanian, Romanian, Somali) that none of ours uses.
_FOREIGN_FUNCTION_WORDS = frozenset(
    re.findall(
        r"\S+",
        """und ich nicht ist wir sind haben das für auf eine einen bitte danke mein meine wurde
    auch aber oder wie kann können möchten sehr vielen dank gestern heute unser unsere
    nie jest się że mój moja mnie dzień dobry proszę dziękuję czy jak
    el los las es por para que mis una con gracias hola buenos días dónde cómo pero
    est je vous nous pour avec bonjour merci où
    ir yra mano kad labas ačiū
    și este sunt bună mulțumesc
    waa iyo waxaan""",
    )
)
_SCANDINAVIAN = frozenset(
    [
        "og",
        "på",
        "det",
        "har",
        "som",
        "til",
        "av",
        "ved",
        "fordi",
        "hvor",
        "hvordan",
        "noen",
        "også",
        "ikke",
        "kan",
        "skal",
        "vil",
    ]
)
DECISIVE_HITS = 6
DECISIVE_MARGIN = 5
# From this length on lingua runs in low-accuracy mode (trigrams only, half the cost). 70
# rather than 90: 12 µs a message less on the benchmark corpus, one message of 1,170
# annotated ones read differently (mean accuracy of eight sets 0.9744 -> 0.9735).
LOW_ACCURACY_FROM = 70
_LETTER_BONUS = {"æ": ("nb", "nn", "da"), "ø": ("nb", "nn", "da"), "ä": ("sv",), "ö": ("sv",)}


@dataclass(frozen=True, slots=True)
class LanguageResult:
    """The detected language code and a confidence in [0, 1]."""

    code: str
    confidence: float
    scores: dict[str, float]


_NAMES = {code: name for name, code in _OURS.items()}
_DANO_NORWEGIAN_CODES = frozenset({"nb", "nn", "da"})


@cache
def _detector(
    everything: bool = True, low: bool = False, ours: frozenset[str] = frozenset()
) -> Any:
    """A lingua detector (built once; the models are loaded once and shared by all): every
    language we know, or only ``ours`` (by default the five we answer in; the cost of lingua
    grows with the number of candidate languages), in low-accuracy mode if ``low``."""
    from lingua import Language, LanguageDetectorBuilder

    if everything:
        names: tuple[str, ...] = (*_OURS, *_OTHER_LANGUAGES)
    else:
        names = tuple(_NAMES[code] for code in sorted(ours)) if ours else tuple(_OURS)
    languages = [getattr(Language, name) for name in names]
    builder = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models()
    # Low-accuracy mode (trigrams only) costs a fifth (all languages) to a half (our five).
    # All languages: always, as these texts have too few of our function words and the
    # question is mostly "ours or another language". Our five: only from LOW_ACCURACY_FROM
    # characters on; shorter texts need all n-grams to tell bokmål from Danish (lingua itself
    # uses trigrams only from 120 characters on).
    return (builder.with_low_accuracy_mode() if low else builder).build()


def preload() -> None:
    """Load lingua's models now (seconds each): a long-running worker should not pay for it in
    the middle of its first busy minute. Detectors for fewer of our languages share these
    models, so building one later is instant."""
    for everything, low in ((True, True), (False, False), (False, True)):
        _detector(everything, low)


def lingua_scores(
    text: str, everything: bool = True, ours: frozenset[str] = frozenset()
) -> dict[str, float]:
    """lingua's confidence per code in LANGS ("other": the best of the other languages);
    unless ``everything``, lingua weighs only ``ours`` (default: all five of ours).

    Taking the best rather than the sum keeps sixteen small guesses on a two-word text from
    outweighing the one language the words actually belong to.
    """
    scores = dict.fromkeys(LANGS, 0.0)
    codes = _codes()
    detector = _detector(*_detector_key(text, everything, ours))
    for value in detector.compute_language_confidence_values(text):
        code = codes[value.language]
        scores[code] = max(scores[code], float(value.value))
    return scores


def _detector_key(
    text: str, everything: bool, ours: frozenset[str]
) -> tuple[bool, bool, frozenset[str]]:
    """The arguments of the ``_detector`` that weighs ``text``."""
    low = everything or len(text) >= LOW_ACCURACY_FROM
    return everything, low, frozenset() if everything else ours


@cache
def _codes() -> dict[Any, str]:
    """lingua's Language -> our code (looking up ``.name`` costs more than the dict)."""
    from lingua import Language

    return {language: _OURS.get(language.name, "other") for language in Language.all()}


@cache
def _word_langs() -> dict[str, tuple[str, ...]]:
    """Each discriminative word → the languages whose lexicon holds it."""
    index: dict[str, list[str]] = {}
    for lang in ("nn", "nb", "da", "sv", "en"):
        for word in _LEXICON[lang]:
            index.setdefault(word, []).append(lang)
    return {word: tuple(langs) for word, langs in index.items()}


def _hits(words: list[str]) -> tuple[dict[str, int], int]:
    """Discriminative words per language, and Dano-Norwegian words, in folded ``words``."""
    hits = dict.fromkeys(LANGS, 0)
    dano = shared = 0
    index = _word_langs()
    for word in words:
        for lang in index.get(word, ()):
            hits[lang] += 1
        if word in _DANO_NORWEGIAN:
            dano += 1
        if word in _NORWEGIAN_TOO:
            shared += 1
    if hits["en"] == shared:
        # "i", "to", "her" are everyday Norwegian too: without one English-only word they are
        # no evidence of English (six of them made "… to små barn i nabohuset her i …" English)
        hits["en"] = 0
    return hits, dano


def lexicon_hits(text: str) -> dict[str, int]:
    """How many words of the text are discriminative for each language."""
    return _hits(_WORD_RE.findall(text.casefold()))[0]


def _decisive(hits: dict[str, int]) -> bool:
    """So many more function words of one language that lingua cannot change the outcome."""
    ranked = sorted(hits.values(), reverse=True)
    return ranked[0] >= DECISIVE_HITS and ranked[0] - ranked[1] >= DECISIVE_MARGIN


# Swedish function words of the lexicon that are everyday Norwegian words too ("min sykkel",
# "kan", "var", "eller", "skulle"): evidence enough to weigh Swedish, not to call lingua for it.
_ALSO_NORWEGIAN = frozenset({"min", "kan", "var", "eller", "skulle", "ska", "ni", "dom"})
_SWEDISH_EVIDENCE = _LEXICON["sv"] - _ALSO_NORWEGIAN


def _candidates(
    words: list[str], folded: str, hits: dict[str, int], weak_english: int
) -> frozenset[str]:
    """The languages lingua has to weigh once the text is known to be one of ours: bokmål,
    nynorsk and Danish (which share most words, so only lingua's n-grams tell them apart),
    Swedish only when a word only Swedish uses or a Swedish "ä"/"ö" is in the text, English
    only when an English word (beyond "i", "a", "to", …) is."""
    candidates = set(_DANO_NORWEGIAN_CODES)
    if "ä" in folded or "ö" in folded or not _SWEDISH_EVIDENCE.isdisjoint(words):
        candidates.add("sv")
    if hits["en"] > weak_english:
        candidates.add("en")
    return frozenset(candidates)


@dataclass(frozen=True, slots=True)
class _Evidence:
    """What the words of one text say, and which lingua detector (if any) must weigh it."""

    folded: str
    hits: dict[str, int]
    dano: int
    weight: float
    lingua: tuple[bool, frozenset[str]] | None  # (everything, ours), None: words decide


def _evidence(text: str) -> _Evidence | None:
    """The function-word evidence of ``text`` (None: no words at all)."""
    folded = text.casefold()
    words = _WORD_RE.findall(folded)
    if not words:
        return None
    hits, dano = _hits(words)
    # Evidence from words counts more on short texts, where lingua is least reliable.
    weight = _LEXICON_WEIGHT * (2.0 if len(words) <= 6 else 1.0)
    lingua: tuple[bool, frozenset[str]] | None = None
    if not _decisive(hits):
        # Two or more function words of ours rule out the other languages: lingua only has
        # to weigh ours, which is several times faster than weighing all of them.
        weak = len(list(filter(_WEAK_ENGLISH.__contains__, words))) if hits["en"] else 0
        # German, Polish, Spanish … function words: a text that holds them may be in one
        # of those languages whatever it shares with ours ("Guten", "ein", "mit")
        foreign = len(list(filter(_FOREIGN_FUNCTION_WORDS.__contains__, words)))
        # words every Scandinavian language uses and no other ("og", "på", "det") tell
        # that the text is one of ours as well as the lexicons do
        scandinavian = len(list(filter(_SCANDINAVIAN.__contains__, words)))
        ours = sum(hits.values()) - weak + dano + scandinavian
        everything = foreign >= 2 or ours < OURS_EVIDENCE
        candidates = frozenset() if everything else _candidates(words, folded, hits, weak)
        lingua = (everything, candidates)
    return _Evidence(folded, hits, dano, weight, lingua)


def detect_language(text: str) -> LanguageResult:
    """The language of ``text``: lingua's confidences plus function-word evidence.

    lingua is skipped when the function words alone are decisive (long, clearly Scandinavian
    or English texts): its confidences are at most 1.0 in total, far less than the margin.
    """
    return detect_languages([text])[0]


def detect_languages(texts: Sequence[str]) -> list[LanguageResult]:
    """:func:`detect_language` of each text, lingua's calls grouped by detector (so that each
    detector's models stay in the CPU caches while it works through its texts)."""
    other_script = [_mostly_other_script(text) for text in texts]
    evidence = [
        None if other else _evidence(text) for text, other in zip(texts, other_script, strict=True)
    ]
    jobs = [
        (index, *found.lingua)
        for index, found in enumerate(evidence)
        if found is not None and found.lingua is not None
    ]

    def by_detector(job: tuple[int, bool, frozenset[str]]) -> tuple[bool, bool, list[str]]:
        everything, low, ours = _detector_key(texts[job[0]], job[1], job[2])
        return everything, low, sorted(ours)  # frozensets compare as sets: sort their items

    lingua = {
        index: lingua_scores(texts[index], everything, ours)
        for index, everything, ours in sorted(jobs, key=by_detector)
    }
    return [
        _other_script() if other else _combine(found, lingua.get(i)) if found else _no_words()
        for i, (found, other) in enumerate(zip(evidence, other_script, strict=True))
    ]


def _mostly_other_script(text: str) -> bool:
    """Whether most letters of ``text`` are of a script other than Latin (Arabic, Cyrillic,
    Ge'ez …): none of our five languages is written so, and lingua knows not all of them."""
    if _OTHER_SCRIPT_RE.search(text) is None:
        return False  # most texts: no such letter at all, found by one scan in C
    return len(_OTHER_SCRIPT_RE.findall(text)) * 2 > len(_LETTER_RE.findall(text))


_OTHER_SCRIPT_RE = re.compile(r"[^\W\d_\u0000-\u024f\u1e00-\u1eff]")
_LETTER_RE = re.compile(r"[^\W\d_]")


def _other_script() -> LanguageResult:
    return LanguageResult("other", 1.0, {**dict.fromkeys(LANGS, 0.0), "other": 1.0})


def _no_words() -> LanguageResult:
    """A message without words ("👍", "?"): the language most messages are in, unsure."""
    return LanguageResult("nb", 0.0, dict.fromkeys(LANGS, 0.0))


def _combine(evidence: _Evidence, lingua: dict[str, float] | None) -> LanguageResult:
    """lingua's confidences (if asked) plus the function-word evidence, normalised."""
    scores = lingua if lingua is not None else dict.fromkeys(LANGS, 0.0)
    hits, dano, weight, folded = evidence.hits, evidence.dano, evidence.weight, evidence.folded
    for lang in ("nn", "nb", "da", "sv", "en"):
        scores[lang] += weight * hits[lang]
    if dano:
        scores["nb"] += weight * 0.5 * dano
        scores["da"] += weight * 0.5 * dano
    for letter, langs in _LETTER_BONUS.items():
        if letter in folded:
            for lang in langs:
                scores[lang] += 0.1
    if "å" in folded:  # absent from Danish spelling only in "aa" texts; slight nb/nn/sv hint
        for lang in ("nb", "nn", "sv"):
            scores[lang] += 0.03
    # Prior: most messages to the Norwegian police are in bokmål. On a tie between
    # Dano-Norwegian readings (lingua often says Danish for short bokmål), bokmål wins.
    scores["nb"] += NB_PRIOR
    total = sum(scores.values()) or 1.0
    code = max(LANGS, key=scores.__getitem__)
    normalised = {lang: round(value / total, 4) for lang, value in scores.items()}
    return LanguageResult(code, normalised[code], normalised)
