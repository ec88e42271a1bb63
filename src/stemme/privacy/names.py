"""Person names from name lists, capitalisation and context cues (no NER model).

A capitalised first name from the lists is a name, except first names that are also common
words ("Per", "Liv", "Dag", "Stein"…), which need a cue ("jeg heter", "min sønn", "mvh", a
greeting, "og" after another name) or a following surname. After a strong cue an unknown
capitalised word is taken as a name, and a lower-case name from the lists is accepted
("jeg heter kari nordmann", "broren min jonas"). A name runs on over following capitalised
first names, surnames and unknown capitalised words ("Eirik Hovden", "Lucas Ferreira").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files

from stemme.privacy._data import (
    ambiguous_names,
    common_words,
    given_names,
    given_names_folded,
    kommune_names,
    organisations,
    place_names,
    surnames,
    surnames_folded,
)
from stemme.privacy.types import Span

# Combining marks inside words (Devanagari and Bengali vowel signs, Arabic and Hebrew vowel
# points, Latin accents written apart, the Persian zero-width non-joiner): ``\w`` leaves them
# out, which would cut "राहुल" or "يُوسُف" into pieces.
_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u0711\u0730-\u074a\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963\u0981-\u0983"
    "\u09bc-\u09d7\u0a01-\u0a03\u0a3c-\u0a51\u0a81-\u0a83\u0abc-\u0acd\u0b01-\u0b03"
    "\u0b3c-\u0b57\u0b82-\u0bcd\u0c00-\u0c04\u0c3e-\u0c56\u0d00-\u0d03\u0d3b-\u0d4d"
    "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd\u102b-\u103e"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u200c\u200d\u20d0-\u20f0\ufe20-\ufe2f"
)
_WORD = rf"[^\W\d_]+(?:[{_MARKS}]+[^\W\d_]*)*"
_TOKEN_RE = re.compile(rf"{_WORD}(?:[-'’]{_WORD})*")
_KIN = (
    r"sønn|sønnen|son|sonen|søn|datter|datteren|dattera|dotter|dottera|dottern|barn|barnet|"
    r"gutt|gutten|guten|jente|jenta|jenten|pojke|pojken|flicka|flickan|pige|pigen|dreng|drengen|"
    r"venn|vennen|venen|venninne|venninna|venninnen|veninde|ven|vän|vännen|kompis|kompisen|"
    r"kamerat|kameraten|klassekamerat|kjæreste|kjæresten|kjærasten|kæreste|pojkvän|flickvän|"
    r"bror|broren|brodern|brother|søster|søstera|søsteren|søstra|systera|syster|systern|sister|mann|mannen|"
    r"ektemann|kone|kona|hustru|wife|husband|samboer|samboeren|sambo|sambon|partner|eks|eksen|"
    r"ex|exen|ekskjæreste|mor|mora|moren|far|faren|mamma|pappa|mom|mum|dad|mother|father|"
    r"onkel|tante|uncle|aunt|fetter|kusine|cousin|nabo|naboen|granne|grannen|nabokona|neighbour|"
    r"neighbor|kollega|kollegaen|sjef|sjefen|boss|lærer|læreren|elev|eleven|stefar|stemor|"
    r"bestemor|bestefar|farmor|mormor|farfar|morfar|besteforeldre|friend|boyfriend|girlfriend|"
    r"daughter|stepson|stepdaughter|grandson|granddaughter|barnebarn|niese|nevø|svoger|svigerinne|"
    r"kusina|kusinen|fetteren|onkelen|tanta|tanten|niesa|niesen|nevøen|svogeren|bestekompis|"
    r"bestekompisen|bestevenn|bestevennen|bestevenninne|bestevenninna|bf|gf|bff|bestie|mate|"
    r"buddy|bro|sis|crush"
)
_KIN_PREFIX = (
    r"(?:lille|store|lilla|stora|lil|vesle|halv|ste|beste|bonus|ekte|little|big|step|best)?-?"
)
_POSSESSIVE = (
    r"min|mi|mitt|mine|vår|vårt|våre|hans|hennes|hennar|hendes|deres|dykkar|my|our|his|her|"
    r"their|din|di|ditt|your|vores|mit|sin|si|sitt"
)
_HEDGES = (
    r"visstnok|vel|egentlig|faktisk|kanskje|antakelig|trolig|tydeligvis|apparently|"
    r"probably|actually|just"
)
_END = rf"(?:\s+(?:{_HEDGES}))?\s*[,:]?\s*$"
# The strong cues, in parts: each part's words may end a cue (see _strong_cue).
_NAMING = (
    r"heter|heiter|hedder|het|hette|heitte|kalt|kalla|kalles|kallast|kallad|kaldet|called|named"
)
_COPULA = r"er|var|är|is|was"
_INTRODUCING = (
    r"tôi là|tên tôi là|me llamo|mi nombre es|je m'appelle|je suis|ich heiße|ich heisse|"
    r"mein name ist|nazywam się|mam na imię|jestem|меня зовут|мене звати|мое имя|моє ім'я|"
    r"benim adım|adım|ismim|numele meu este|mă numesc|mi chiamo|o meu nome é|chamo-me|"
    r"ana ismi|اسمي|انا|jina langu ni|magacaygu waa|waxaa la i yiraahdaa"
)
_LABEL = r"navn|namn|name|kontaktperson|kontakt|avsender|sender|signert|fra|frå|from|från"
_SIGN_OFF = (
    r"mvh|hilsen|helsing|helsinga|hälsningar|hälsning|hilsner|hilsninger|regards|"
    r"sincerely|cheers|takk|tack|tak|thanks|grüßen|grüße|gruß|grüssen|grüsse|pozdrawiam|"
    r"pozdrowienia|saludos|atentamente|cordialement|salutations|з повагою|с уважением"
)
_FROM = r"fra|frå|från|from"
# Naming cues and "my son"-cues in scripts other than Latin (Russian, Ukrainian, Greek, Arabic,
# Persian). Arabic glues "and" (و) and possessives to the word, so those forms are listed.
_NATIVE_NAMING = (
    r"зовут|звали|звать|звати|звуть|имя|ім'я|ім’я|по имени|по імені|ονομάζεται|λέγεται|"
    r"λέγομαι|με λένε|τον λένε|την λένε|اسمه|اسمها|اسمي|اسمو|إسمه|إسمها|إسمي|واسمه|واسمها|"
    r"يدعى|تدعى|يسمى|تسمى|اسمش|نامش|نام او|نام من|اسم من"
).casefold()  # the cue window is casefolded (Greek ς becomes σ)
_NATIVE_POSSESSIVE = (
    r"мой|моя|мою|моего|моей|мои|моих|наш|наша|нашу|нашего|нашей|его|её|ее|мій|мого|моєї|мої|"
    r"його|її"
)
_NATIVE_KIN = (
    r"сын|сына|дочь|дочка|дочку|дочери|брат|брата|сестра|сестру|муж|мужа|жена|жену|друг|друга|"
    r"подруга|подругу|сосед|соседа|соседка|соседку|парень|парня|девушка|девушку|ребенок|"
    r"ребёнок|внук|внука|внучка|син|сина|донька|доньку|чоловік|чоловіка|дружина|дружину|онук|"
    r"онука|онучка|сусід|сусіда|сусідка|хлопець|хлопця|дівчина"
)
_NATIVE_KIN_GLUED = (
    r"ο γιος μου|η κόρη μου|ο φίλος μου|η φίλη μου|ο αδελφός μου|η αδελφή μου|ο άντρας μου|"
    r"η γυναίκα μου|ابني|ابنتي|بنتي|إبني|ولدي|أخي|اخي|أختي|اختي|زوجي|زوجتي|صديقي|صديقتي|"
    r"جاري|جارتي|طفلي|طفلتي|ابنه|ابنها|ابنته|ابنتها|زوجها|زوجته|پسرم|دخترم|برادرم|خواهرم|"
    r"شوهرم|همسرم|دوستم"
).casefold()
_KIN_VERB = r"er|heter|het|is|var"


def _last_words(phrases: str) -> list[str]:
    """The last word of each phrase of an alternation ("je m'appelle" -> "appelle")."""
    return [re.findall(r"\w+", phrase)[-1] for phrase in phrases.split("|")]


# The strong cues (heter, mvh, min sønn), each with the words its match can end with, and
# the words it can end with glued to what comes before ("lillebror", "hilsenfra"); a hedge
# ("visstnok", see _END) may follow any of them.
_KIN_WORDS, _FROM_WORDS = _KIN.split("|"), _FROM.split("|")
_STRONG_CUES: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = tuple(
    (alternative, frozenset(endings), frozenset(glued))
    for alternative, endings, glued in (
        (rf"\b(?:{_NAMING})", _NAMING.split("|"), []),
        (
            rf"\b(?:navn|navnet|namn|namnet|name)(?:\s+\w+){{0,2}}\s+(?:{_COPULA})",
            _COPULA.split("|"),
            [],
        ),
        (r"\bname's", ["s"], []),
        (rf"\b(?:{_INTRODUCING})", _last_words(_INTRODUCING), []),
        (rf"\b(?:{_LABEL})\s*:", _LABEL.split("|"), []),
        (
            rf"\b(?:{_SIGN_OFF})[\s,.:!-]*(?:{_FROM})?",
            [*_SIGN_OFF.split("|"), *_FROM_WORDS],
            _FROM_WORDS,
        ),
        (
            rf"\b(?:{_POSSESSIVE})\s+(?:\w+\s+)?{_KIN_PREFIX}(?:{_KIN})"
            r"(?:\s+(?:er|heter|het|is))?",
            [*_KIN_WORDS, "er", "heter", "het", "is"],
            _KIN_WORDS,
        ),
        (
            rf"\b{_KIN_PREFIX}(?:{_KIN})\s+(?:{_POSSESSIVE})(?:\s+(?:{_KIN_VERB}))?",
            [*_POSSESSIVE.split("|"), *_KIN_VERB.split("|")],
            [],
        ),
        (
            rf"\b(?:{_NATIVE_NAMING}|{_NATIVE_KIN_GLUED})",
            [*_last_words(_NATIVE_NAMING), *_last_words(_NATIVE_KIN_GLUED)],
            [],
        ),
        (rf"\b(?:{_NATIVE_POSSESSIVE})\s+(?:{_NATIVE_KIN})", _NATIVE_KIN.split("|"), []),
    )
)
_STRONG_CUE_RE = re.compile(rf"(?:{'|'.join(cue[0] for cue in _STRONG_CUES)}){_END}")
"""Every strong cue, ending the text (_strong_cue searches only the alternatives that can
end with the text's last word; the tests compare the two)."""


def _cues_ending_with(glued: bool) -> dict[str, frozenset[int]]:
    """Each word a cue can end with (``glued``: glued to what comes before) -> the indices
    of the cues that can end with it."""
    ending: dict[str, set[int]] = {}
    for index, (_, whole, glued_endings) in enumerate(_STRONG_CUES):
        for word in glued_endings if glued else whole:
            ending.setdefault(word, set()).add(index)
    if not glued:
        for hedge in _HEDGES.split("|"):
            ending.setdefault(hedge, set()).update(range(len(_STRONG_CUES)))
    return {word: frozenset(indices) for word, indices in ending.items()}


_CUES_ENDING_WITH = _cues_ending_with(glued=False)
_CUES_ENDING_GLUED = _cues_ending_with(glued=True)


@cache
def _strong_cues_of(indices: frozenset[int]) -> re.Pattern[str]:
    """The strong cues ``indices``, ending the text."""
    chosen = "|".join(_STRONG_CUES[index][0] for index in sorted(indices))
    return re.compile(rf"(?:{chosen}){_END}")


_WEAK_CUE_RE = re.compile(
    r"(?:\b(?:hei|heisann|hey|hi|hello|hej|hallo|kjære|dear|kære|med|sammen med|with|og|and|"
    r"och|samt|eller|or|jeg er|eg er|jag är|jeg hedder|i'm|i am|im|this is|dette er|her er|"
    r"det er|här är|mr|mrs|ms|miss|dr|herr|fru|frk|hr|politibetjent|betjent|rektor|lege|"
    r"advokat|ring|ringe|ringte|call|text|spør|spurte|ask|fortell|fortalte|si til|sa til|"
    r"snakk med|snakket med|snakka med|møtte|traff|met|told|kontakt|kontakte|melding fra|"
    r"meldinger fra|message from|messages from|"
    rf"{_KIN})\.?"
    rf"){_END}"
)
# Words after "heter"/"is called" that are no name: hedges, negation, "called back".
_NOT_NAMED = frozenset(
    [
        *_HEDGES.split("|"),
        *re.findall(
            r"\w+",
            "ikke ikkje inte not never back up out off again home later today tomorrow yesterday "
            "twice away over about something noe noko sånn slik",
        ),
    ]
)
_ANY_NAMING_RE = re.compile(
    rf"(?:\b(?:{_NAMING}|{_INTRODUCING}|{_NATIVE_NAMING})|\bname (?:is|was)|\bname's)"
    rf"{_END}"
)
_SELF_RE = re.compile(
    r"\b(?:jeg er|eg er|jag är|i am|i'm|im|this is|dette er|det er|her er|här är)\s*[,:]?\s+$"
)
_NAMING_RE = re.compile(
    r"(?:heter|heiter|hedder|het|hette|heitte|name is|navn er|namn er|navnet mitt er|"
    r"namnet mitt er|mvh|hilsen|helsing|hälsningar)\s*[,:]?\s*$"
)
# "en svart labrador som heter Bella": pets are named too, but are not persons.
_PET_RE = re.compile(
    r"\b(?:hund|hunden|hundane|bikkja|valp|valpen|katt|katten|katta|kattunge|hest|hesten|"
    r"labrador|puddel|dog|puppy|cat|kitten|horse|hund\w*|katt\w*)\b[^.!?]{0,25}"
    r"(?:heter|heiter|hedder|som het|called|named)\s*$"
)
_CLAUSE_END_RE = re.compile(r"\s*(?:[,.!?)]|$|igjen\b|her\b|som\b|fra\b|og\b)")
_STREET_BEFORE_RE = re.compile(r"\b(?:på|ved|langs|nedover|oppover|bortover|along|on)\s+$")
_CONJ_RE = re.compile(r"\s*(?:og|and|och|und|&|,|eller|or)\s*")
_FOLLOWING_CUE_RE = re.compile(
    r"^\s*(?:,\s*)?(?:sa|sier|fortalte|skrev|skriver|truet|truer|truga|slo|slår|ringte|sendte|"
    r"svarer|svarar|svarte|svara|answers|answered|replied|"
    r"said|says|told|wrote|threatened|texted|og (?:jeg|meg|eg)|and i|and me|och jag|og jeg)\b",
    re.IGNORECASE,
)
_TITLE_RE = re.compile(
    r"\b(?:mr|mrs|ms|dr|herr|fru|frk|hr|politibetjent|betjent|rektor|lege|advokat|"
    r"lærer|læreren|sjef|sjefen|professor|familien|familjen|familie|family)\.?\s*$"
)
# A word in another script inside a Latin-script message: a name after any cue, in apposition
# or after a preposition that takes a person ("fikk melding fra Дмитрий", "by محمد").
_LATIN_SHARE = 0.6
_PERSON_PREPOSITION_RE = re.compile(r"\b(?:av|mot|hos|by|against)\s+$")
# "si hei til thea", "takk til jonas", "say hi to emma": greetings and thanks go to persons
_GREETING_TO_RE = re.compile(
    r"\b(?:hei|hils|hilsen|helsing|hälsa|takk|tusen takk|tack|tak|thanks|thank you|hi|hello)"
    r"\s+(?:til|to|åt)\s+$"
)
# "jonas og emilie": a lower-case first name joined to another one
_AND_NAME_RE = re.compile(r"\s+(?:og|and|och|&)\s+([^\W\d_]+)")
# One-letter words: no initial ("lucas h frå 9c", but not "ola i 9c")
_ONE_LETTER_WORDS = frozenset("iåaoeøyuIÅAOEØYU")
# "i Sol og varme": after a preposition of place, a capital may mark a place or a brand
_SPATIAL_BEFORE_RE = re.compile(r"(?<!\w)(?:i|på|in|on|at)\s+$", re.IGNORECASE)
_MONTHS = frozenset({"august", "juli", "juni", "june", "may", "mai", "maj", "april"})
# Weak cues that only join words ("og الله أكبر"): for a word in another script they count only
# after a name.
_JOINING_CUE_RE = re.compile(r"\b(?:og|and|och|samt|eller|or)\s*$")
_PERSON_NOUN = (
    rf"{_KIN}|mann|mannen|kvinne|kvinna|kvinnen|dame|dama|damen|fyr|fyren|typen|person|"
    r"personen|ungdom|ungdommen|elev|eleven|medelev|guy|boy|girl|man|woman|kid|student|"
    r"classmate|lady|dude|teenager"
)
# "en gutt i klassen min, sander, som …", "my neighbour, Zoran, keeps …": a name set off by
# commas right after a noun for a person.
_APPOSITIVE_RE = re.compile(
    rf"\b(?:{_PERSON_NOUN})\b[^.!?\n,;:()]{{0,30}}(?:\([^()\n]{{1,15}}\)\s*)?,\s*$"
)
_APPOSITIVE_END_RE = re.compile(
    r"\s*(?:[,;:!?()]|\.(?!\w)|$)|\s+(?:som|who|er|is|var|was|har|has|\d+)\b"
)
# An unknown lower-case word after "han heter", "my name is": a name, when a person is named.
_NAMING_LAST_WORDS = frozenset(
    form
    for word in re.findall(
        r"\w+", "heter heiter hedder het hette heitte kalles kallast called named is was er var"
    )
    for form in (word, word.capitalize(), word.upper())
)
_PERSONAL_NAMING_RE = re.compile(
    r"(?:\b(?:jeg|eg|jag|han|hun|ho|hon|he|she|i|they|de|dei|"
    rf"{_KIN}|{_POSSESSIVE})\s+(?:heter|heiter|hedder|het|hette|heitte|kalles|kallast|"
    r"is called|was called|called|named)"
    r"|\b(?:i'm|im|i am|he's|she's|hes|shes|he is|she is|was|were) (?:called|named)"
    r"|\bname (?:is|was)|\bname's|\b(?:navnet|namnet)(?: \w+)? (?:er|var))\s*[,:]?\s*$"
)
_LOCATIVE_RE = re.compile(r"\b(?:i|på|fra|frå|från|til|till|ved|mot|nær|near|in|to|from|at)\s*$")
_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "da", "di", "al", "el", "bin", "ibn", "af"}
)


def _linked(gap: str) -> bool:
    """Whether ``gap`` joins two words of one name: one white-space character other than a
    line break, or a hyphen. A name never runs over a line break: in a signature the next
    line holds the address or the phone number ("Ragnhild Bjørnstad\nLia 7")."""
    return len(gap) == 1 and (
        gap == "-" or (gap.isspace() and gap not in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
    )


def _words(text: str) -> list[tuple[int, int, str]]:
    """The word tokens of ``text`` as (start, end, word)."""
    return [(m.start(), m.end(), m.group(0)) for m in _TOKEN_RE.finditer(text)]


_LOWER_LINK_RE = re.compile(
    r"\b(?:meg|jeg|eg|me|vi|oss|mig|jag|mej|i|me)\s+(?:og|and|och|o)\s+$"
    r"|\b(?:sammen med|saman med|med|with|hos|og|and|och)\s+$"
)
_SENTENCE_END = frozenset('.!?\n:;"«»“”(')
_SIGNATURE_RE = re.compile(
    r"(?:^|[.!?\n]|\s[-–—/])\s*([^\W\d_][^\n.!?]{1,60}?)[\s,.]*[+\d][\d\s().-]*$|"
    r"(?:^|[.!?\n]|\s[-–—/])\s*([^\W\d_][^\n.!?,]{1,60}?)[\s,.!]*$"
)
_BAD_BEFORE = frozenset("@_./#\\<0123456789")
# A signature is followed only by these characters (its closing number, punctuation):
# the last other character lies inside it, so no match starts before the last ".!?" ahead.
# Both are matched against the reversed text: anchored at its end, read from there.
_SIGNATURE_TRAILER_RE = re.compile(r"[\s,.!+()\d-]*")
_LAST_WORD_RE = re.compile(r"\W*(\w+)")


def _is_cap(word: str) -> bool:
    return word[:1].isupper() and (len(word) == 1 or not word.isupper())


def _known_first(word: str) -> bool:
    names = given_names()
    if word in names:
        return True
    if "-" in word:
        return all(part in names for part in word.split("-"))
    return (word.endswith("s") and word[:-1] in names) or word.rstrip("'’s") in names


def _strong_cue(text: str, start: int) -> bool:
    """Whether a strong cue (heter, mvh, min sønn) ends right before ``start``."""
    window = text[max(0, start - 40) : start].casefold()
    reversed_last = _LAST_WORD_RE.match(window[::-1])
    if reversed_last is None:
        return False  # no word at all
    last = reversed_last.group(1)[::-1]  # cue words may be glued ("lillebror"): test endings
    # Only the alternatives that can end with the last word are searched: the whole
    # alternation, tried at every position of the window, costs up to 15 µs a name.
    glued = _CUES_ENDING_GLUED
    possible = [found for i in range(1, len(last)) if (found := glued.get(last[i:])) is not None]
    whole = _CUES_ENDING_WITH.get(last)
    if whole is not None:
        possible.append(whole)
    if not possible:
        return False
    indices = possible[0].union(*possible[1:]) if len(possible) > 1 else possible[0]
    return _strong_cues_of(indices).search(window) is not None


def _weak_cue(text: str, start: int) -> int:
    """1 if a weak cue (hei, og, med) ends right before ``start``, else 0."""
    window = text[max(0, start - 40) : start].casefold()
    return 1 if window and _WEAK_CUE_RE.search(window) else 0


def _extends(word: str, capitalised: bool) -> bool:
    """Whether ``word`` continues a name (a further first name, surname or unknown capital)."""
    folded = word.casefold()
    if folded in organisations():
        return False
    if not capitalised:
        return (folded in surnames_folded() or folded in given_names_folded()) and (
            folded not in common_words()
        )
    if not _is_cap(word):
        return False
    if word in surnames() or word in given_names():
        return True
    return folded not in common_words() and folded not in kommune_names() and len(word) > 1


_Kind = tuple[str, bool, bool, bool] | None
_kinds: dict[str, _Kind] = {}
_UNSEEN: _Kind = ("", False, False, False)  # a word not in _kinds yet (compared by identity)
_MAX_KINDS = 50_000


@cache
def _native_names() -> frozenset[str]:
    """First names written in Arabic script (package data, see non_latin_names.txt)."""
    text = (files("stemme.privacy") / "data" / "non_latin_names.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _non_latin(word: str) -> bool:
    """Whether ``word`` has letters of a script other than Latin (Cyrillic, Arabic, Han …)."""
    return any(ch >= "\u0370" and ch.isalpha() and not "\u1e00" <= ch <= "\u1eff" for ch in word)


def _caseless(word: str) -> bool:
    """Whether ``word`` starts with a letter of a script without capitals (Arabic, Han …)."""
    first = word[:1]
    return first.upper() == first.lower()


def _mostly_latin(text: str) -> bool:
    """Whether most letters of ``text`` are Latin (a Norwegian or English message)."""
    letters = latin = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            if ch < "\u0370" or "\u1e00" <= ch <= "\u1eff":
                latin += 1
    return latin >= _LATIN_SHARE * letters


def _word_kind(word: str) -> _Kind:
    """(casefolded, capitalised, known first name, non-Latin) of a token, or None if it can
    never start a name (an organisation, a lower-case Latin word that is not a first name, a
    common word). It depends on the word alone, so find_persons keeps it per word."""
    folded = word.casefold()
    if folded in organisations():
        return None
    capitalised = _is_cap(word)
    if _non_latin(word):
        if folded in common_words() or folded == "الله":  # Allah
            return None
        return folded, capitalised, word in _native_names(), True
    known = _known_first(word) if capitalised else folded in given_names_folded()
    if not known and not capitalised:
        return None
    if not known and folded in common_words():
        return None  # "Jeg", "Hei", "Det": never a name when not also a first name
    return folded, capitalised, known, False


def _appositive(text: str, start: int, end: int) -> bool:
    """Whether the word at start:end stands between commas after a noun for a person."""
    before = text[max(0, start - 3) : start].rstrip()
    if not before.endswith(","):
        return False
    window = text[max(0, start - 45) : start].casefold()
    return bool(_APPOSITIVE_RE.search(window)) and bool(
        _APPOSITIVE_END_RE.match(text, end, end + 12)
    )


_NAME_NOUNS = frozenset(["name", "navnet", "namnet", "mitt", "hans", "hennes", "hennar"])


def _after_name_word(tokens: list[tuple[int, int, str]], index: int) -> bool:
    """Whether token ``index`` is "name"/"navnet" (or "navnet mitt"), before an "is"/"er"."""
    return index >= 0 and tokens[index][2].casefold() in _NAME_NOUNS


def _named_unknown(text: str, start: int, word: str) -> bool:
    """Whether the lower-case word at ``start`` (no first name we know) follows a naming cue
    for a person ("han heter zlatko", "my name is jovan")."""
    folded = word.casefold()
    if len(word) < 3 or not word.islower() or folded in common_words():
        return False
    if folded in place_names() or folded in organisations() or folded in _NOT_NAMED:
        return False
    return _PERSONAL_NAMING_RE.search(text[max(0, start - 30) : start].casefold()) is not None


def _foreign_score(
    text: str, start: int, end: int, kind: tuple[str, bool, bool, bool], cue: int, latin: bool
) -> float:
    """The score of a word in a script other than Latin (0 when it is no name by these rules).

    In a Latin-script message such a word after a cue, in apposition or after a preposition
    for a person is a name. In a message in that script, a word without capitals is a name
    after a naming cue ("اسمه", "зовут"), or a known name after a cue ("ابني محمد"); capitalised
    Cyrillic or Greek words are left to the rules for capitalised words."""
    _, capitalised, known, _ = kind
    caseless = not capitalised and _caseless(text[start:end])
    if latin:
        if cue == 2:
            return 0.8
        if not (capitalised or caseless):
            return 0.0
        if cue < 0:
            cue = _weak_cue(text, start)
            if cue and _JOINING_CUE_RE.search(text[max(0, start - 8) : start].casefold()):
                cue = 0
        if (
            cue
            or known
            or _PERSON_PREPOSITION_RE.search(text[max(0, start - 12) : start].casefold())
            or _appositive(text, start, end)
            or _FOLLOWING_CUE_RE.search(text[end : end + 15])
        ):
            return 0.75
        return 0.0
    if capitalised or cue != 2:
        return 0.0
    window = text[max(0, start - 40) : start].casefold()
    if known or _ANY_NAMING_RE.search(window):
        return 0.75
    return 0.0


def _kind_of(word: str) -> _Kind:
    """_word_kind, remembered for up to _MAX_KINDS words."""
    if word in _kinds:
        return _kinds[word]
    kind = _word_kind(word)
    if len(_kinds) < _MAX_KINDS:
        _kinds[word] = kind
    return kind


def find_persons(text: str, language: str | None = None) -> Iterator[Span]:
    """Person names (first name alone counts), one span per full name."""
    text = _unshout(text)
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN_RE.finditer(text)]
    common = common_words()
    orgs = organisations()
    places = place_names()
    ambiguous = ambiguous_names()
    ambiguous_folded = _ambiguous_folded()
    last_end = -10
    found: list[tuple[int, int]] = []
    latin: bool | None = None  # whether the text is mostly Latin script, once it matters
    i = 0
    kinds = _kinds
    naming_last = _NAMING_LAST_WORDS
    while i < len(tokens):
        start, end, word = tokens[i]
        i += 1
        # most words can never start a name: the remembered kind says so first
        kind = kinds.get(word, _UNSEEN)
        if kind is _UNSEEN:
            kind = _kind_of(word)
        if kind is None and len(word) == 1 and word.isupper():
            nxt_token = tokens[i] if i < len(tokens) else None
            if _initial_before_surname(text, start, end, nxt_token):
                kind = (word.casefold(), True, False, False)  # "A. Rashidi"
        if kind is None:
            if (
                i < 2
                or tokens[i - 2][2] not in naming_last
                or (len(tokens[i - 2][2]) < 4 and not _after_name_word(tokens, i - 3))
                or not _named_unknown(text, start, word)
            ):
                continue
            kind = (word.casefold(), False, False, False)
        if (start and text[start - 1] in _BAD_BEFORE) or (end < len(text) and text[end] in "_@"):
            continue
        if end < len(text) and text[end].isdigit():
            continue
        folded, capitalised, known, foreign = kind
        nxt = tokens[i] if i < len(tokens) else None
        adjacent = nxt is not None and _linked(text[end : nxt[0]])
        # 2 after a strong cue, else 1 after a weak cue or "og" after a name, else 0. The weak
        # cue is looked up only where it counts (capitalised first names): elsewhere only
        # "cue == 2" is asked.
        after_name = last_end >= 0 and _CONJ_RE.fullmatch(text[last_end:start]) is not None
        cue = 2 if _strong_cue(text, start) else 1 if after_name else -1
        score = 0.0
        if foreign:
            if latin is None:
                latin = _mostly_latin(text)
            score = _foreign_score(text, start, end, kind, cue, latin)
            if not score and not capitalised:
                continue
        if score:
            pass
        elif capitalised and known:
            if cue < 0:
                cue = _weak_cue(text, start)
            is_place = folded in places and _LOCATIVE_RE.search(text[max(0, start - 8) : start])
            unclear = word in ambiguous or folded in common or bool(is_place)
            followed = (
                adjacent
                and nxt is not None
                and _is_cap(nxt[2])
                and (
                    nxt[2] in surnames()
                    or (_known_first(nxt[2]) and nxt[2] not in ambiguous)
                    or _surname_after(text, tokens, i)  # "Bjørn Inge Rasmussen"
                )
            )
            if _STREET_BEFORE_RE.search(text[max(0, start - 12) : start].casefold()) and cue < 2:
                # "på Karl Johan", "ved Olav Kyrre": a street or a place; skip the whole run
                while i < len(tokens) and _linked(text[tokens[i - 1][1] : tokens[i][0]]):
                    if not _is_cap(tokens[i][2]):
                        break
                    i += 1
                continue
            if not unclear:
                score = 0.85 if cue else 0.72
            elif cue or followed or _FOLLOWING_CUE_RE.search(text[end : end + 15]):
                score = 0.8
            elif (
                not is_place
                and folded not in _MONTHS
                and folded not in places
                and _after_lower_case_word(text, start)
                and not _SPATIAL_BEFORE_RE.search(text, max(0, start - 6), start)
            ):
                # "takk til Liv og kollegaen", "gjengen til Per": mid-sentence, only a
                # name is written with a capital (words such as "Dag", "Vår" are in common)
                score = 0.65
        elif capitalised:
            plain = folded not in common and folded not in places
            if cue == 2 and plain:
                score = 0.75
            elif (
                plain
                and adjacent
                and not _quoted(text, start)
                and nxt is not None
                and not _sentence_start(text, start)
                and _is_cap(nxt[2])
                and nxt[2].casefold() not in common
                and nxt[2].casefold() not in places
                and nxt[2].casefold() not in orgs
                and _looks_like_full_name(text, start, nxt[1], word, nxt[2])
            ):
                score = 0.55
            elif (
                plain
                and after_name
                and adjacent
                and nxt is not None
                and _is_cap(nxt[2])
                and nxt[2].casefold() not in common
                and nxt[2].casefold() not in places
                and not _INSTITUTION_RE.search(nxt[2].casefold())
            ):
                score = 0.6  # "Claudia und Jörg Wendt": a full name joined to a name
            elif plain and _FAMILY_BEFORE_RE.search(text, max(0, start - 12), start):
                score = 0.7  # "Grüße aus Hamburg, Familie Kessler": a family's name
            elif word in surnames() and _TITLE_RE.search(
                text[max(0, start - 25) : start].casefold()
            ):
                score = 0.75
            elif plain and _appositive(text, start, end):
                score = 0.7
        elif cue == 2 and folded not in common:
            score = 0.8
        elif folded in ambiguous_folded and _SELF_RE.search(
            text[max(0, start - 25) : start].casefold()
        ):
            # "det er per igjen": a lower-case name that is also a word, only when it ends
            # the clause ("det er per i dag" stays a preposition)
            if _CLAUSE_END_RE.match(text[end : end + 12]):
                score = 0.7
        elif folded not in common and folded not in ambiguous_folded:
            if folded not in places:
                window = text[max(0, start - 25) : start].casefold()
                if (
                    after_name
                    or _FOLLOWING_CUE_RE.search(text[end : end + 15])
                    or _LOWER_LINK_RE.search(window)
                    or _SELF_RE.search(window)
                    or _PERSON_PREPOSITION_RE.search(window)
                    or _GREETING_TO_RE.search(window)
                    or _joined_to_first_name(text, end)
                    or _with_age_in_parenthesis(text, start, end)
                    or _PHONE_AFTER_RE.match(text, end) is not None
                    or (adjacent and nxt is not None and _lower_surname(nxt[2]))
                ):
                    score = 0.7
            if not score and _appositive(text, start, end):
                score = 0.7
        if not score and capitalised and _initial_before_surname(text, start, end, nxt):
            score = 0.7  # "navnet på døra er K. Yilmaz", "Mvh vekter A. Rashidi"
        if not score or _PET_RE.search(text[max(0, start - 40) : start].casefold()):
            continue
        span_end = end
        if foreign and not capitalised:
            # "محمد علي", "李 明": further words of the same script without capitals
            more = 0
            while more < 2 and i < len(tokens) and _linked(text[span_end : tokens[i][0]]):
                n_kind = _kind_of(tokens[i][2])
                if n_kind is None or not n_kind[3] or n_kind[1]:
                    break
                if not (latin or n_kind[2] or _arabic_family_name(tokens[i][2])):
                    break
                span_end = tokens[i][1]
                more += 1
                i += 1
        if span_end - start == 1 and _initial_before_surname(text, start, span_end, nxt):
            span_end = tokens[i][1]  # the initial's surname
            i += 1
        while i < len(tokens):
            n_start, n_end, n_word = tokens[i]
            gap = text[span_end:n_start]
            if _linked(gap) and _extends(n_word, capitalised):
                span_end = n_end
                score = min(0.9, score + 0.05)
                i += 1
                continue
            if gap == " " and len(n_word) == 1 and n_word.isalpha():
                if text[n_end : n_end + 1] == ".":  # "Ola N."
                    span_end = n_end + 1
                    i += 1
                    continue
                if n_word not in _ONE_LETTER_WORDS and not text[n_end : n_end + 1].isalnum():
                    span_end = n_end  # "lucas h frå 9c": an initial without its full stop
                    i += 1
                    continue
            particles = i
            while particles < len(tokens) and tokens[particles][2] in _PARTICLES:
                if text[tokens[particles - 1][1] : tokens[particles][0]] != " ":
                    break
                particles += 1
            if (
                capitalised
                and particles > i
                and particles < len(tokens)
                and text[tokens[particles - 1][1] : tokens[particles][0]] == " "
                and _is_cap(tokens[particles][2])
            ):
                span_end = tokens[particles][1]
                i = particles + 1
                continue
            if (
                not capitalised
                and cue == 2
                and span_end == end
                and _NAMING_RE.search(text[max(0, start - 30) : start].casefold())
                and gap == " "
                and n_word.islower()
                and len(n_word) > 2
                and n_word not in common
            ):
                span_end = n_end
                i += 1
                continue
            break
        if _STREET_WORD_AFTER_RE.match(text, span_end):
            continue  # "frå Ole Bulls plass", "i Thorvald Meyers gate": a street named after one
        last_end = span_end
        found.append((start, span_end))
        yield Span(start, span_end, "PERSON", score, "person_name")
    # A signature's words are the text's last words, all capitalised: without a capitalised
    # last word (most texts) it need not be looked for.
    signature = _signature(text) if tokens and _is_cap(tokens[-1][2]) else None
    if signature is not None:
        found.append((signature.start, signature.end))
        yield signature
    for nickname in _quoted_nicknames(text, found):
        found.append((nickname.start, nickname.end))
        yield nickname
    yield from _repeats(text, tokens, found)


def _after_lower_case_word(text: str, start: int) -> bool:
    """Whether the word at ``start`` follows a lower-case word in the same sentence, with no
    quotation open (in a title every word may have a capital)."""
    position = start - 1
    while position >= 0 and text[position] in " \t":
        position -= 1
    return position < start - 1 and text[position].islower() and not _quoted(text, start)


def _joined_to_first_name(text: str, end: int) -> bool:
    """Whether "og"/"and" and a lower-case first name that is no word follow ``end``."""
    joined = _AND_NAME_RE.match(text, end, end + 30)
    if joined is None or not joined.group(1).islower():
        return False
    word = joined.group(1)
    return (
        word in given_names_folded()
        and word not in common_words()
        and word not in _ambiguous_folded()
        and word not in place_names()
    )


_AGE_CLOSING_RE = re.compile(r",?\s*\d{1,2}(?:\s*(?:år|years?|y/o|yo))?\)")


def _with_age_in_parenthesis(text: str, start: int, end: int) -> bool:
    """Whether the word at start:end opens a parenthesis that closes with an age ("(ida, 13)")."""
    return text[start - 1 : start] == "(" and _AGE_CLOSING_RE.match(text, end) is not None


_STREET_WORD_AFTER_RE = re.compile(
    r"[ \t]+(?:plass|plassen|gate|gata|gaten|gt\.|vei|veg|veien|vegen|allé|alle|alléen|torg|"
    r"torget|bru|brua|brygge|park|parken|street|road|square)\b"
)
_FAMILY_BEFORE_RE = re.compile(r"(?i:\b(?:familie|familien|familjen|familj|family))\s+$")
_LETTER_LABEL_RE = re.compile(
    r"(?i:punkt|pkt|alternativ|option|del|side|kapittel|kap|vedlegg|bilag|klasse|blokk|rom|"
    r"trapp|oppgang|inngang|nivå|gruppe|type|plan|avsnitt|figur|tabell|sone|zone|gate|felt|"
    r"plass|bygg|hus|etasje|level|block|room|section|part|appendix)\.?\s+$"
)
# A phone number right after a lower-case name ("emil 4796 0318"): the name signs it.
_PHONE_AFTER_RE = re.compile(r"[ ,:]+(?:\+|00)?\d{2}[\d ]{6,}(?!\d)")


def _surname_after(text: str, tokens: list[tuple[int, int, str]], index: int) -> bool:
    """Whether the token after ``index`` (a first name) is a capitalised surname right after
    it ("Bjørn Inge Rasmussen": "Inge" is a word too, but not before a surname)."""
    if index + 1 >= len(tokens) or not _linked(text[tokens[index][1] : tokens[index + 1][0]]):
        return False
    word = tokens[index + 1][2]
    return _is_cap(word) and word in surnames() and word.casefold() not in common_words()


def _initial_before_surname(
    text: str, start: int, end: int, nxt: tuple[int, int, str] | None
) -> bool:
    """Whether the token at start:end is one capital letter with a full stop, followed by a
    capitalised word that is no common word, place or organisation ("K. Yilmaz")."""
    if end - start != 1 or text[end : end + 2] != ". " or nxt is None or nxt[0] != end + 2:
        return False
    if _LETTER_LABEL_RE.search(text, max(0, start - 14), start):
        return False  # "punkt A. Deretter", "blokk C. Der"
    folded = nxt[2].casefold()
    return (
        _is_cap(nxt[2])
        and len(nxt[2]) > 2
        and folded not in common_words()
        and folded not in place_names()
        and folded not in organisations()
    )


def _arabic_family_name(word: str) -> bool:
    """An Arabic family name with its article ("الحسن" in "يوسف الحسن")."""
    return word.startswith(("ال", "آل")) and len(word) > 3


# A nickname in quotes after calling someone something, calling out, or a person's being
# called so: "dei kallar han «Benji»", "ropte "Sebbe"", "han kalles «Toffen»" (and a
# second one after "og": "kaller hverandre «Leo» og «Sakke»"). Titles of things ("filmen
# heter «Titanic»") have no person before the verb.
_NICKNAME_RE = re.compile(
    r"(?i:\b(?:kaller|kallar|kallas|kalder|call|calls|called|nicknamed)\s+(?:han|ham|henne|ho|seg|"
    r"sig|hverandre|kvarandre|varandra|hinanden|him|her|each other|themselves)"
    r"|\b(?:ropte|ropa|rope|roper|ropar|shouted|yelled)"
    r"|\b(?:han|hun|ho|hen|hon|he|she|gutten|guten|jenta|mannen|fyren|typen|the guy)\s+"
    r"(?:kalles|kallast|kallas|kaldes|går under navnet|goes by|is called|er kalt))"
    r"\s+[«\"“']([^\W\d_][\w-]{1,20}(?: [^\W\d_][\w-]{1,20}){0,2})[»\"”']"
    r"(?:\s+(?i:og|and|och)\s+[«\"“']([^\W\d_][\w-]{1,20})[»\"”'])?"
)


def _quoted_nicknames(text: str, found: list[tuple[int, int]]) -> Iterator[Span]:
    """Nicknames in quotes after a verb of naming or calling out, not found already."""
    if not any(mark in text for mark in "«\"“'"):
        return
    for match in _NICKNAME_RE.finditer(text):
        for group in (1, 2):
            start, end = match.span(group)
            word = match.group(group)
            if start < 0 or word.casefold() in common_words() or not word[0].isupper():
                continue
            if not any(s < end and start < e for s, e in found):
                yield Span(start, end, "PERSON", 0.7, "nickname")


def _lower_surname(word: str) -> bool:
    """Whether a lower-case ``word`` is a surname and no common word or place ("hansen")."""
    folded = word.casefold()
    return (
        word.islower()
        and len(word) > 2
        and folded in surnames_folded()
        and folded not in common_words()
        and folded not in place_names()
        and folded not in given_names_folded()
    )


def _repeats(
    text: str, tokens: list[tuple[int, int, str]], found: list[tuple[int, int]]
) -> Iterator[Span]:
    """Further mentions of a name already found ("Jeg og Per … Per kommer kl 18")."""
    if not found:
        return
    names = {word for s, e in found for _, _, word in _words(text[s:e]) if len(word) > 1}
    if all(text.count(word) == 1 for word in names):
        return  # each name occurs only where it was found: nothing to look through
    for start, end, word in tokens:
        if word in names and not any(s <= start < e for s, e in found):
            if start and text[start - 1] in _BAD_BEFORE:
                continue
            yield Span(start, end, "PERSON", 0.7, "person_name")


_NORDIC_LETTERS = frozenset("æøåäöüéÆØÅÄÖÜÉ")
_INSTITUTION_RE = re.compile(
    r"(?:sykehus|hospital|museet|museum|park|parken|hotel|hotell|college|universitet|university|"
    r"vesen|vesenet|etaten|kommune|skole|skolen|school|senter|senteret|center|centre|kirke|"
    r"kirken|stasjon|station|arena|bibliotek|teater|teatret|theatre|kafé|cafe|restaurant|bar|"
    r"pub|klubb|club|sport|city|storsenter|airport|lufthavn|flyplass|avis|avisen|forlag|"
    r"gruppen|group|festival|festivalen|bad|badet|mall|shop|store|butikk|butikken|"
    r"distrikt|politidistrikt|politiet|police|polis|polisen|politi)$"
)
_APPOSITION_BEFORE_RE = re.compile(r"(?:,|\(|–|-|:)\s*$")


def _foreign_letters(word: str) -> bool:
    """Whether ``word`` has letters outside ASCII and the Nordic ones ("Lucía", "Ionuț")."""
    return any(ch.isalpha() and not ch.isascii() and ch not in _NORDIC_LETTERS for ch in word)


def _looks_like_full_name(text: str, start: int, end: int, first: str, second: str) -> bool:
    """Two unknown capitalised words that are likely a (foreign) name, not a title or a place.

    They must not look like an institution ("Ullevål Sykehus", "Statens vegvesen"), and
    must either carry letters foreign to Norwegian ("Ionuț Marin"), end in a known surname,
    or stand in apposition (", Ana Popescu,").
    """
    if _INSTITUTION_RE.search(second.casefold()) or (first.endswith("s") and first[:-1].isalpha()):
        return False
    if second in surnames():
        return True
    if _foreign_letters(first + second):
        return True
    return bool(_APPOSITION_BEFORE_RE.search(text[max(0, start - 3) : start])) and (
        text[end : end + 2].lstrip()[:1] in {",", "(", ")", ".", ""}
    )


@cache
def _ambiguous_folded() -> frozenset[str]:
    """Casefolded ambiguous first names."""
    return frozenset(name.casefold() for name in ambiguous_names())


# Words of job titles, which stand on their own line in e-mail signatures.
_JOB_TITLE_WORDS = frozenset(
    re.findall(
        r"\w+",
        "engineer manager director officer advisor adviser consultant coordinator developer "
        "assistant specialist analyst executive president head ceo cto cfo coo lead partner "
        "owner founder leder daglig rådgiver konsulent koordinator utvikler assistent sjef "
        "direktør spesialist sekretær seniorrådgiver avdelingsleder prosjektleder "
        "kontaktlærer rektor inspektør saksbehandler fagleder teamleder styreleder",
    )
)
_SHOUT_MIN_LETTERS = 12
_SHOUT_SHARE = 0.7


def _unshout(text: str) -> str:
    """A text written in capitals, lower-cased (same length), so only cue rules apply to it."""
    # Shouting needs at least 0.7 * 12 = 8.4 upper-case letters; isupper() counts a superset
    # of them (any cased upper-case character), so fewer than nine means no shouting.
    if sum(map(str.isupper, text)) < _SHOUT_SHARE * _SHOUT_MIN_LETTERS:
        return text
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < _SHOUT_MIN_LETTERS or sum(
        ch.isupper() for ch in letters
    ) < _SHOUT_SHARE * len(letters):
        return text
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


def _quoted(text: str, start: int) -> bool:
    """Whether a quotation (a title, a page name) is open before ``start``."""
    window = text[max(0, start - 60) : start]
    return (
        window.count("«") > window.count("»")
        or window.count("“") > window.count("”")
        or window.count('"') % 2 == 1
    )


def _sentence_start(text: str, start: int) -> bool:
    """Whether the token at ``start`` begins the text or a sentence."""
    position = start - 1
    while position >= 0 and text[position] in " \t":
        position -= 1
    return position < 0 or text[position] in _SENTENCE_END


def _signature_match(tail: str) -> re.Match[str] | None:
    """``_SIGNATURE_RE.search(tail)``, started where the match can begin at the earliest."""
    trailer = _SIGNATURE_TRAILER_RE.match(tail[::-1])
    end = len(tail) - (trailer.end() if trailer is not None else 0)
    if not end:
        return None  # a signature starts with a letter, which the trailer never holds
    begin = max(0, *(tail.rfind(mark, 0, end) for mark in ".!?"))
    return _SIGNATURE_RE.search(tail, begin)


def _signature(text: str) -> Span | None:
    """A closing line of one to three capitalised words ("… ? Randi Tveit, 906 31 847")."""
    tail = text[-90:].rstrip()
    match = _signature_match(tail)
    if match is None:
        return None
    group = 1 if match.group(1) is not None else 2
    words = match.group(group).split()
    if not 1 <= len(words) <= 3 or not all(_is_cap(word) for word in words):
        return None
    folded = [word.casefold().strip("'’") for word in words]
    if any(word in common_words() or word in organisations() for word in folded):
        return None
    if any(word in _JOB_TITLE_WORDS for word in folded):
        return None  # "Daniel Okafor\nSoftware Engineer\n+47 …": the title line
    if all(word in place_names() for word in folded):
        return None
    signed = tail[: match.start(group)].rstrip()[-1:] in ("-", "–", "—", "/")
    if len(words) == 1 and not (_known_first(words[0]) or signed or _foreign_letters(words[0])):
        # one unknown word closes the text: a name only after "– " or "/", or when it is
        # spelt with letters Norwegian does not use ("Gracias. Lucía")
        return None
    offset = len(text) - len(text[-90:])
    return Span(offset + match.start(group), offset + match.end(group), "PERSON", 0.6, "signature")
