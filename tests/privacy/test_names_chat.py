"""Person names in other scripts and in lower-case chat style (made-up examples)."""

from __future__ import annotations

import pytest

from stemme.privacy import detect
from stemme.privacy.names import _TOKEN_RE, _mostly_latin


def persons(text: str) -> list[str]:
    return [text[s.start : s.end] for s in detect(text) if s.type == "PERSON"]


# --- names in a script other than Latin ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # inside a Norwegian or English message, after a cue of any kind
        ("Naboen min heter Дмитрий Волков og han truer oss", ["Дмитрий Волков"]),
        ("Min sønn Юрий har ikke kommet hjem", ["Юрий"]),
        ("Han heter Мухаммед Алиев og bor i Drammen", ["Мухаммед Алиев"]),
        ("Mannen som slo meg heter أحمد", ["أحمد"]),
        ("datteren vår heter سارة og er 9 år", ["سارة"]),
        ("Hei, sønnen min heter محمد علي og er 12", ["محمد علي"]),
        ("Jeg heter Σοφία og bor i Oslo", ["Σοφία"]),
        ("his name is राहुल and he lives next door", ["राहुल"]),
        ("the man who robbed me is called Сергей", ["Сергей"]),
        ("My neighbour محمد keeps threatening my kids", ["محمد"]),
        ("Min venn 李明 ble ranet", ["李明"]),
        # after a preposition for a person, in apposition, before a verb of speech
        ("I was attacked by أحمد and his friends", ["أحمد"]),
        ("Jeg ble slått av Игорь i går", ["Игорь"]),
        ("Kona mi, فاطمة, er borte", ["فاطمة"]),
        ("my sister's boyfriend, Дима, keeps calling her", ["Дима"]),
        ("Jeg er bekymret for kusina mi, ليلى", ["ليلى"]),
        ("My daughter's friend ياسمين told her about it", ["ياسمين"]),
        # a message in that script: after its own naming cue or "my son"
        ("ابني اسمه يوسف وعمره 15 سنة", ["يوسف"]),
        ("اسمي فاطمة وأنا من سوريا", ["فاطمة"]),
        ("ابني محمد لم يرجع إلى البيت", ["محمد"]),
        ("Меня зовут Ирина. Мой муж Олег угрожает мне", ["Ирина", "Олег"]),
        ("Мою дочь зовут Алина", ["Алина"]),
        ("Μου είπε ότι τον λένε Γιώργος", ["Γιώργος"]),
    ],
)
def test_names_in_other_scripts(text: str, expected: list[str]) -> None:
    assert persons(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Jeg så skiltet «Стоп» på veien",
        "Han sa «спасибо» og gikk",
        "Det sto مرحبا på veggen",
        "Noen har sprayet ЛОХ på bilen min med rød maling",
        "my friend said привет and left",
        "Han ropte allahu akbar og الله أكبر",
        "Jeg kjøpte en telefon fra 小米 på nettet",
        "Привет, помогите мне пожалуйста, мой сын пропал вчера вечером",
        "Мой сын не пришёл домой после школы",
        "Мой муж бьёт меня, что делать?",
        "ابني عمره 15 سنة ولم يرجع إلى البيت",
        "صديقي سرق هاتفي أمس في المدينة",
        "زوجي يضربني كل يوم وأنا خائفة",
        "أخي مفقود منذ يومين",
        "پسرم دیشب به خانه نیامد",
        "السلام عليكم، أريد أن أسأل عن جواز السفر",
    ],
)
def test_words_in_other_scripts_that_are_no_names(text: str) -> None:
    assert persons(text) == []


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("राहुल शर्मा", ["राहुल", "शर्मा"]),  # vowel signs stay in the word
        ("يُوسُف", ["يُوسُف"]),  # so do Arabic vowel points
        ("e\u0301mile", ["e\u0301mile"]),  # and a Latin accent written apart
        ("Anne-Lise d’Artagnan", ["Anne-Lise", "d’Artagnan"]),
    ],
)
def test_tokens_keep_combining_marks(text: str, tokens: list[str]) -> None:
    assert _TOKEN_RE.findall(text) == tokens


@pytest.mark.parametrize(
    ("text", "latin"),
    [
        ("Min sønn Юрий har ikke kommet hjem", True),
        ("Меня зовут Ирина, я живу в Bergen", False),
        ("ابني اسمه يوسف", False),
        ("", True),
    ],
)
def test_mostly_latin(text: str, latin: bool) -> None:
    assert _mostly_latin(text) is latin


# --- lower-case names in chat style -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kompisen min ola ble banket opp", ["ola"]),
        ("søstera mi kari har ikke kommet hjem", ["kari"]),
        ("my friend ahmed got robbed", ["ahmed"]),
        ("my bf ahmed hit me yesterday", ["ahmed"]),
        ("bestekompisen min jonas ble ranet", ["jonas"]),
        ("he's called tobias and he is 15", ["tobias"]),
        ("hun heter aisha og er 16", ["aisha"]),
        # an unknown name after a naming cue for a person
        ("he's called zlatko and he lives in grorud", ["zlatko"]),
        ("hun heter zlatka", ["zlatka"]),
        ("navnet hans er dragan", ["dragan"]),
        ("my name is jovan", ["jovan"]),
        # in apposition after a noun for a person
        ("det er en jente i klassen min, ingrid, som blir plaget", ["ingrid"]),
        ("en gutt på skolen, jonas, har fått trusler", ["jonas"]),
        ("vi har en elev, mohammed, som sliter", ["mohammed"]),
        ("en gutt på trening, ali, ble slått", ["ali"]),
        ("vi snakket med læreren, kristin, men ingenting skjedde", ["kristin"]),
        ("Vi har en elev, Zoran, som ikke møter opp", ["Zoran"]),
        # a first name that is also a place, in apposition
        ("en gutt i klassen min, sander, blir mobbet", ["sander"]),
        # before a surname, after "av"/"by"
        ("kari hansen stjal sykkelen min", ["kari hansen"]),
        ("jeg ble slått av ahmed i går", ["ahmed"]),
    ],
)
def test_lower_case_names(text: str, expected: list[str]) -> None:
    assert persons(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "kompisen min og jeg ble ranet",
        "søstera mi har ikke kommet hjem",
        "my friend got robbed yesterday",
        "my brother will call you later",
        "he's called me five times today",
        "she is called back tomorrow",
        "he is called by his friends every day",
        "kompisen min jobber på rema",
        "kompisen min bor i bergen nå",
        "broren min sier at han skal ringe",
        "han heter ikke det",
        "mora mi heter ikke det",
        "den appen heter snapchat",
        "stedet heter bislett",
        "hva heter han egentlig",
        "jeg vet ikke hva han heter",
        "det er viktig at dere kommer",
        "en mann, ca 40 år, sto utenfor døra",
        "det var en gutt, kanskje 15, som løp av gårde",
        "en jente i klassen min, hun er 14, blir mobbet",
        "my neighbour, who is drunk every night, screams",
        "there was a guy, about 30, with a knife",
        "vi har en elev, som sliter mye",
        "en ungdom, iført hettegenser, stjal sykkelen",
        "det er en elev, ikke en lærer, som gjorde det",
        "Han bor på Sander, rett ved skolen",
        "jeg ble slått av en mann i går",
        "kjøpte den av naboen",
    ],
)
def test_lower_case_words_that_are_no_names(text: str) -> None:
    assert persons(text) == []
