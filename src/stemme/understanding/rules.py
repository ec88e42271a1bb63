# ruff: noqa: E501 - the cue lexicons are long regular expressions, one alternative per line
"""Explicit triage rules: cue lexicons in nb, nn, sv, da, en and a few other languages.

Rules exist so that emergencies and serious child-welfare cases are never missed, whatever
the model thinks. Each cue is a stem-tolerant regular expression; every match becomes a
human-readable reason shown to the operator (``"nødsituasjon – selvmordsfare: «ta livet
mitt»"``).

Emergency rules come in two strengths: *absolute* cues (suicide threats, "hjelp!",
someone not breathing, a missing child) fire alone; *situational* cues (a weapon, violence,
a break-in, a drunk driver) need a sign that it is happening now ("nå", "right now",
"står utenfor døra") and are vetoed by a sign that it is over ("i går", "last week")
unless a now-sign is also present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from stemme.privacy.prefilter import (
    WORDS,
    Finder,
    Frequencies,
    is_safe,
    required_all,
    shape,
)

_FLAGS = re.IGNORECASE | re.UNICODE
_ALTERNATIVES: dict[int, tuple[re.Pattern[str], tuple[re.Pattern[str], ...]]] = {}
"""id() of each cue pattern -> the pattern and its alternatives, compiled one by one (see
``_Scan``). Keyed by id(): hashing a compiled pattern hashes its whole code, every time."""


def _bounded(part: str) -> str:
    return r"(?<![\w])(?:" + part + r")(?![\w])"


def _rx(*parts: str) -> re.Pattern[str]:
    """One case-insensitive pattern, each alternative bounded by word edges."""
    pattern = re.compile(_bounded("|".join(parts)), _FLAGS)
    if len(parts) > 1:
        alternatives = tuple(re.compile(_bounded(part), _FLAGS) for part in parts)
        _ALTERNATIVES[id(pattern)] = (pattern, alternatives)
    return pattern


def _alternatives(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], ...]:
    """The alternatives of a pattern made by ``_rx``, else the pattern alone."""
    entry = _ALTERNATIVES.get(id(pattern))
    return entry[1] if entry is not None and entry[0] is pattern else (pattern,)


W = r"[\w'’-]*"  # the rest of a word (inflection-tolerant stems)


@dataclass(frozen=True, slots=True)
class Cue:
    """A named cue: a pattern and the label shown to the operator."""

    label: str
    pattern: re.Pattern[str]

    def find(self, text: str) -> str | None:
        match = self.pattern.search(text)
        return match.group(0) if match else None


@dataclass(frozen=True, slots=True)
class Hit:
    """A cue that matched, with the text it matched."""

    label: str
    matched: str

    def reason(self) -> str:
        return f"{self.label}: «{self.matched.strip()}»"


# --- time ---------------------------------------------------------------------------------

NOW = Cue(
    "pågår nå",
    _rx(
        r"nå",
        r"akkurat nå",
        r"nå nettopp",
        r"no med ein gong",
        r"akkurat no",
        r"nett no",
        r"(?:er|står|held|driv|køyrer|kjem|sit|ligg|trugar) no",
        r"right now",
        r"rn",
        r"now",
        r"as we speak",
        r"at the moment",
        r"currently",
        r"just nu",
        r"lige nu",
        r"nu",
        r"i dette øyeblikk",
        r"mens jeg skriver",
        r"medan eg skriv",
        r"teraz",
        r"сейчас",
        r"ahora",
        r"jetzt",
        r"الآن",
        r"hadda",
    ),
)
PRESENCE = Cue(
    "er her nå",
    _rx(
        rf"står (?:han|hun|ho|de|dei|det|en mann|ein mann)? ?(?:her )?(?:utenfor|utanfor|udenfor|utanför|ved|i) {W}",
        r"(?:er|is) inne i (?:huset|leiligheten|leiligheita|hytta|the house)",
        r"(?:sparket|sparka|sparkat|kicked) (?:inn |in )?(?:døra|døren|the door|dörren|døren)",
        r"er utenfor (?:døra|døren|huset|leiligheten|vinduet)",
        r"er utanfor",
        rf"(?:is|is standing|standing|he's|she's) (?:right )?(?:outside|at) (?:my|our|the) {W}",
        r"outside my (?:door|house|flat|apartment|window)",
        r"(?:please come|kom (?:hit|nå)|come (?:now|here|fast|quick))",
        r"(?:prøver|prøvar|forsøker|försöker|trying|tries) (?:å |to |att )?(?:komme|kome|ta sig|get|break) (?:seg )?(?:inn|in)",
        rf"(?:banker|hamrer|sparker|dunker|bankar|sparkar) på {W}",
        r"(?:bryter|bryt|bryder) (?:seg|sig) (?:inn|ind)",
        r"(?:bryter|bryt|bryder) inn",
        r"(?:breaking|breaks) in(?:to)?",
        r"låst (?:meg|oss) inne",
        r"låst in mig",
        r"låst mig inde",
        r"(?:gjemmer|gøymer|gömmer|gemmer|hiding|hide) (?:meg|oss|mig|os|in|from|under)",
        r"(?:leter|letar|leder|looking|searching) (?:etter|efter|for) (?:meg|me|oss|us|mig)",
        r"(?:kommer|kjem|is coming|coming|på vei) (?:hit|here|hjem|heim|over hit)",
        r"(?:tør|tør|vågar|dare|scared to|afraid to) (?:ikke |ikkje |inte |not )?(?:å |att )?(?:gå|leave|go) (?:ut|ud|out)",
        r"locked myself in",
        r"(?:følger|fylgjer) etter (?:meg|oss)",
        r"(?:is )?following me",
        r"(?:has |have |is |are )?follow(?:ed|ing) (?:me|us) (?:from|since|all the way|home)",
        r"(?:har )?fulgt etter (?:meg|oss)",
        r"won'?t leave (?:us|me|her|him)? ?alone",
        r"wont leave",
        r"(?:is|are|he'?s|she'?s) (?:waving|pointing|swinging|brandishing) (?:it|a|the|his|her)",
        r"(?:vifter|viftar|svinger|svingar|peker|peikar) med (?:en |ein |ei )?(?:kniv|kniven|pistol|pistolen|våpen|våpenet|gevær|børse|øks)",
        r"(?:ingen|nobody|no one|ingen av dei|ingen av dem) (?:har |has )?(?:kommet|kome|got|come|came) (?:seg )?ut",
        r"vil ikke slippe meg",
        r"won'?t let me (?:leave|go|out)",
        r"(?:blør|bløder|blöder) (?:masse|mye|mykje|kraftig|meget)",
        r"bleeding (?:a lot|heavily|badly)",
    ),
)
PAST = Cue(
    "har skjedd",
    _rx(
        r"i går",
        r"igår",
        r"i forgårs",
        r"i går kveld",
        r"i helga",
        r"i helgen",
        r"i natt",
        r"forrige (?:uke|måned|helg|år)",
        r"førre (?:veke|månad|helg)",
        r"for \w+ (?:dager|dagar|uker|veker|måneder|månader|år) siden",
        r"for \w+ (?:dagar|veker|månader) sidan",
        r"i fjor",
        r"i fjol",
        r"yesterday",
        r"last (?:week|night|month|year|weekend)",
        r"\w+ (?:days|weeks|months|years) ago",
        r"förra (?:veckan|månaden|året)",
        r"sidste (?:uge|måned|år)",
        r"i lørdags",
        # a calendar date: the event has a day of its own, not now
        r"(?:on|den|på|the) \d{1,2}(?:\.|st|nd|rd|th)? ?(?:jan|feb|mar|apr|mai|may|jun|jul|aug|sep|okt|oct|nov|des|dec)[a-zæøå]*",
        r"\d{1,2}\. (?:januar|februar|mars|april|mai|juni|juli|august|september|oktober|november|desember)",
        r"i fredags",
        r"tidligere",
        r"wczoraj",
        r"вчера",
        r"shalay",
        r"ayer",
        r"أمس",
    ),
)

# --- emergencies ----------------------------------------------------------------------------

SUICIDE = Cue(
    "nødsituasjon – selvmordsfare",
    _rx(
        rf"selvmord{W}",
        rf"sjølvmord{W}",
        rf"självmord{W}",
        rf"suicid{W}",
        r"ta (?:livet|sitt liv|mitt liv|sitt eget liv|mitt eget liv)(?: mitt| sitt| av (?:meg|seg|mig|sig))?",
        r"tar livet (?:mitt|sitt|av (?:meg|seg|mig|sig))",
        r"tage (?:mit|sit) (?:eget )?liv",
        r"slå (?:mig|sig) selv ihjel",
        r"kill (?:myself|himself|herself|themselves)",
        r"end (?:my|his|her|their) (?:own )?life",
        r"(?:vil|orker|orkar|ønsker|will|vill|kan) (?:ikke|ikkje|inte|ikk) leve",
        r"(?:vil|orker|orkar|vill|ønsker) (?:ikke|ikkje|inte) (?:leve|leva|lenger leve)",
        r"(?:ikke|ikkje|inte) (?:leve|leva) (?:lenger|lenger|lengre|längre|mere|mer)",
        r"vil ikke leve mere",
        r"(?:don'?t|do not|doesn'?t) want to (?:live|be alive)",
        r"want to die",
        r"wants to die",
        r"vil (?:bare )?dø",
        r"vill dö",
        r"(?:kutte|skade) meg selv",
        r"skade meg sjølv",
        r"hurt myself",
        r"(?:hoppe|hoppa) (?:fra|frå|från) (?:brua|broen|brukanten|taket)",
        r"jump (?:off|from) (?:the )?(?:bridge|roof)",
        r"avskjedsbrev",
        r"selvmordsbrev",
        r"(?:lyst|lust) (?:til )?(?:å |att )?(?:dø|døy|dö|dø)",
        r"(?:vil|vill|want to|wanna) (?:dø|døy|dö|die)",
        r"(?:end|ending) it (?:all|tonight|today|now)",
        r"(?:going to|gonna|will) end it",
        r"(?:ikke|ikkje|inte) (?:vil|vil) (?:være|vere|vara) her (?:mer|meir|lenger|längre)",
        r"(?:don'?t|doesn'?t) want to be here anymore",
        r"sagt farvel til alle",
        r"said goodbye to everyone",
        r"(?:took|taken|taking|takes|tatt|tok|tar|teke|tek|tog|tagit|taget|tager|har tatt|svelget|svelgde|swallowed|swallowing)(?: (?:alle|all|masse|mange|en masse|a lot of|lots of|en haug med|en hel boks med|a whole box of|a bunch of))(?: (?:her|his|my|sine|mine|hans|hennes|moms|mums|dads|mors|fars|mammas|pappas|\w+'s)){0,2} (?:piller|pillene|pills|tabletter|tablettene|tablets|pilleri|sovepiller|sleeping pills)",
        r"kutte meg",
        r"goodbye letter",
        # euphemisms: "hvile for alltid", "sove for alltid", "never wake up"
        r"(?:hvile|kvile|sove|sovne|sovna|rest|sleep) for (?:alltid|godt|ever|good)",
        r"(?:ikke|ikkje|aldri|never|not) (?:våkne|vakne|vakna|wake up)(?: igjen| opp| again)?",
        r"nie chcę żyć",
        r"не хочу жить",
    ),
)
_HELP = r"(?:hjelp|help|hjälp|hjælp|pomocy|помогите|ayuda|hilfe|caawin|ساعدوني)"
CALL_FOR_HELP = Cue(
    "nødsituasjon – roper om hjelp",
    re.compile(
        rf"(?i:^\W*{_HELP}(?: meg| me| mig| oss| us)?\W*$)"
        rf"|(?i:(?<!\w){_HELP}(?: meg| me| mig| oss| us)?\s*!)"
        r"|(?<!\w)(?:HJELP|HELP|HJÄLP|HJÆLP)(?!\w)"
        r"|(?i:(?<!\w)(?:send|sende|skicka) (?:politi|politiet|police|polis|polisen|noen|nokon)"
        r"(?!\w))"
        r"|(?i:(?<!\w)(?:please )?send (?:the )?(?:police|help|someone)(?!\w))"
        r"|(?i:(?<!\w)(?:kom|kome|komm?) (?:fort|raskt|straks)(?!\w))"
        r"|(?i:(?<!\w)(?:come quickly|hurry)(?!\w))",
        re.UNICODE | re.MULTILINE,
    ),
)
LIFE_DANGER = Cue(
    "nødsituasjon – fare for liv",
    _rx(
        rf"bevisstløs{W}",
        rf"medvitslaus{W}",
        r"medvetslös",
        r"bevidstløs",
        r"unconscious",
        r"(?:puster|pustar|andas|trækker vejret) (?:ikke|ikkje|inte|nesten ikke|rart|nesten ikkje)",
        r"not breathing",
        r"overdose",
        r"overdos",
        rf"drukner{W}",
        r"drunknar",
        r"drowning",
        r"(?:huset|leiligheten|bilen|hytta|det) brenner",
        r"brenner",
        r"brennar",
        r"brinner",
        r"brænder",
        r"står i (?:full )?(?:brann|fyr)",
        r"on fire",
        r"(?:rører|rører|rører) (?:seg )?(?:ikke|ikkje)",
        r"rør seg ikkje",
        r"not moving",
        r"(?:ligger|ligg|lying) (?:og blør|livløs|bleeding)",
        r"(?:falt|fall|fell) (?:gjennom|through) (?:isen|the ice)",
        r"(?:i|in the) (?:vannet|vatnet|sjøen|water) (?:og|and)",
        r"(?:personar|personer|people) i (?:vatnet|vannet|sjøen)",
        rf"kantr{W}",
        r"capsized",
        r"(?:skal|vil|going to|about to) hoppe?",
        r"klatrer over rekkverket",
        r"rekkverket",
        r"(?:nesten ikke|ikke) puster",
        r"(?:røyk|røyken|rök|røg|smoke) og (?:flammer|flammar|lågar|eld|fire|flames|ild)",
        r"flammer",
        r"flammar",
        r"flames",
        r"(?:hører|høyrer|hör|hører|heard|hear|hearing) (?:\w+ )?(?:skudd|skott|skud|gunshots?|shots)",
        r"skudd (?:i|fra|frå)",
        r"shots fired",
        r"(?:falt|fell|fall|ramlet|datt|detta|föll|faldt) (?:i|into|ut i|ned i|through|gjennom|ned) (?:the )?(?:elva|elvi|vannet|vatnet|sjøen|havet|river|water|sea|lake|isen|ice|ån|vattnet|åen|vandet)",
        r"(?:slått|slege|slagit|slået|hit|banged) (?:hodet|hovudet|huvudet|hovedet|(?:his|her) head)",
        r"(?:krampe|kramper|krampar|seizure|anfall|epileptisk anfall)",
        r"(?:leppene|lepper|lips) (?:er )?(?:blå|blue)",
        r"blue lips",
        rf"knivstuk{W}",
        rf"knivhugg{W}",
        r"(?:dratt|dro|drog|dragged|tvang|forced) (?:\w+ )?(?:\w+ )?(?:inn i|into|in i) (?:en |ei |ein |a |the )?(?:bil|bilen|car|van|varebil)",
        r"(?:mot|against) (?:hennes|hans|sin|her|his) (?:vilje|will) (?:her|nå|now|right now)",
        r"(?:holder|held|holds|is keeping|keeps) (?:meg|me|mig|oss|us) (?:innestengt|innesperret|fanget|locked|captive|inne|innelåst)",
        r"(?:innestengt|innesperret|held captive|locked in)",
        r"(?:flere|fleire|mange|folk|personer|people) (?:er )?(?:skadet|skadd|hurt|injured)",
        r"(?:kjørt|køyrt|kørt|kört|ran|driven|drove) (?:inn i|ned|into|over) (?:en |ein |a )?(?:gruppe|folk|people|crowd)",
        r"(?:huset|bilen|det) brenn",
        r"(?:is|house is) on fire",
        r"det brinner",
        r"knivstukket",
        r"knivstukken",
        r"stabbed",
        r"skutt (?:ned|i)",
        r"(?:been|was|got|is) shot",
        r"fanget i bilen",
        r"(?:kjørt|køyrt|kørt|kört|kjørte|køyrde|kørte|körde|rullet|rulla|rullede|drove|driven|rolled|went) (?:ut )?(?:i|uti|ned i|ud i|into|off into|off the \w+ into) (?:the )?(?:sjøen|sjøe|vannet|vatnet|havet|elva|elvi|fjorden|havna|vandet|havnen|vattnet|sjön|water|sea|river|lake|harbou?r|fjord)",
        r"(?:trapped|stuck) in (?:the|his|a) car",
        r"noen (?:ligger|blir|er) (?:nede|skadet)",
        r"ligger nede og blir",
    ),
)
WEAPON = Cue(
    "våpen",
    _rx(
        r"kniv(?:en|er|ar|ane|ene)?",
        r"knive(?:ne)?",
        r"knives",
        r"knife",
        r"kniv",
        r"nóż",
        r"нож\w*",
        r"cuchillo",
        r"messer",
        r"mindi",
        r"سكين\w*",
        r"pistol(?:en)?",
        r"gun",
        rf"gevær{W}",
        r"rifle",
        r"hagle",
        r"øks(?:e|a)?",
        r"axe",
        r"machete",
        r"skytevåpen",
        r"våpen",
        r"vapen",
        r"weapon",
        r"balltre",
        r"baseball bat",
    ),
)
PLANNED_ATTACK = Cue(
    "hastesak – trussel om angrep",
    _rx(
        r"(?:skal|vil|ska|kommer til å|kjem til å|planlegger å|planlegg å|truer med å|truet med å|truga med å|snakker om å|snakka om å|tänker) (?:\w+ ){0,2}(?:skyte|skyta|bombe|bomba|sprenge|sprengje|spränga|drepe|drepa|döda|angripe|angrepe) (?:opp |upp )?(?:hele |heile )?(?:skolen|skulen|skolan|klassen|elevene|alle|folk|kjøpesenteret|senteret|moskeen|kirken|kyrkja|synagogen|festivalen|konserten)",
        r"(?:going to|gonna|will|wants to|plans? to|planning to|threaten\w* to|talking about) (?:\w+ ){0,2}(?:shoot|bomb|blow up|attack|kill) (?:up )?(?:the |his |her |my |our |a |the whole )?(?:school|class|mall|mosque|church|synagogue|concert|festival|everyone|everybody|people)",
        r"(?:planlegger|planlegg|planerar|planning|plans?) (?:et |eit |ett |a |an )?(?:angrep|åtak|attentat|attack|terrorangrep|terror attack|skoleskyting|school shooting|massakre|massacre)",
        r"bombetrussel\w*",
        r"bomb threat",
    ),
)
"""A threat of an attack on many people: urgent whatever the category (a tip, a report)."""
WEAPON_ADMINISTRATION = Cue(
    "våpen – forvaltning",
    _rx(
        rf"våpenskap{W}",
        rf"våpenskåp{W}",
        rf"våpenkort{W}",
        rf"våpenløyve{W}",
        rf"våpensøknad{W}",
        rf"våpenlisens{W}",
        rf"vapenlicens{W}",
        rf"vapenskåp{W}",
        r"(?:gun|weapons?|firearms?) (?:safe|cabinet|licen[cs]e|permit)",
        rf"innlevere{W}",
        r"levere inn",
        r"arvet",
        r"arva",
        r"inherited",
    ),
)
"""Weapons being kept, licensed, inherited or handed in: no danger (vetoes WEAPON)."""
VIOLENCE_NOW = Cue(
    "vold",
    _rx(
        rf"sl[åa]r (?:henne|ham|han|meg|mamma|mor|mora|pappa|far|oss|kona|mannen|barna|ungane){W}",
        r"blir slått",
        rf"sl[åa]r (?:en|ei|ein|a) {W}",
        r"(?:har|has|have) (?:slått|slege|slagit|slået|hit|beaten) (?:meg|me|mig|henne|her|oss|us)",
        r"(?:beating|hitting|attacking|strangling|choking|kicking) (?:up )?(?:my|our|his|her|the|a) \w+",
        r"(?:truer|trugar|truar|hotar|threatens?|threatening) (?:\w+ )?(?:med )?(?:å |att |to )?(?:drepe|drepa|döda|dræbe|slå ihjel|kill|skyte|shoot)",
        r"(?:for å|to|för att|for at) (?:drepe|drepa|kill|döda|dræbe) (?:meg|me|mig|oss|us)",
        r"vert slegen",
        r"blir slegen",
        r"skriker",
        r"skrik",
        r"screaming",
        r"(?:is )?(?:beating|hitting|attacking|strangling|choking) (?:her|him|me|us|someone|a)",
        r"being (?:attacked|beaten|stabbed|assaulted)",
        r"angrep{W}",
        r"angriper",
        r"slåsskamp",
        r"(?:knife )?fight(?:ing)?",
        r"slås",
        r"blør",
        r"bleeding",
        r"slagsmål",
        r"slåssing",
        r"slåss",
        r"slåst",
        r"blir misshandlad",
        r"misshandlar",
        r"slår min mor",
        r"slår min",
        r"overfaller",
        r"(?:skal|vil|will|ska) (?:drepe|drepa|kill|döda|dræbe|slå ihjel) (?:meg|oss|me|us|mig|henne|ham|her|him)",
        rf"kidnapp{W}",
        r"bortført",
        r"tvinger meg",
        r"forcing me",
        r"blir voldtatt",
        r"being raped",
        r"(?:bije|biją|pobił|б'є|бьёт|бьет|б'ють|бьют|slår ihjel|misshandlar)",
        # a shooting counts when it is happening now ("skyting i går" is a report)
        r"skyting",
        r"shooting",
        r"skottlossning",
    ),
)
THREAT = Cue(
    "trusler",
    _rx(
        r"(?:trugar|truer|truar|hotar|truer|threatening|threatens) (?:meg|oss|henne|ham|folk|mig|me|us|people|personalet|the staff)",
        r"trugar meg",
        r"(?:truer|trugar|hotar|threatening|threatens) (?:folk|people|alle|everyone|kunder|customers)",
    ),
)
FEAR = Cue(
    "redd",
    _rx(
        r"(?:jeg|eg|vi|me) er (?:så |veldig |kjempe)?(?:redd|livredd|skremt)",
        r"(?:I'?m|I am|we are) (?:so )?(?:scared|terrified|afraid)",
        r"jag är (?:så )?rädd",
        r"jeg er (?:så )?bange",
    ),
)
ACCIDENT = Cue(
    "ulykke",
    _rx(
        r"(?:hit|run over) by a car",
        r"påkjørt",
        r"påkøyrd",
        r"(?:kjørt|køyrt|kørt|kört|krasjet|krasja|crashed|drove|smashed) (?:inn i|inn i eit|into|i) (?:et |eit |ett |a |the )?(?:tre|treet|vegg|veggen|stolpe|stolpen|autovernet|fjellveggen|tree|wall|pole|barrier|rekkverket)",
        rf"kollider{W}",
        r"frontkollisjon",
        r"(?:velta|veltet|velt|rullet rundt|rolled over|overturned)",
    ),
)
INTRUDER = Cue(
    "innbrudd pågår",
    _rx(
        r"(?:noen|nokon|någon|nogen|someone|somebody) (?:er )?(?:inne|inni|is) (?:i|in) (?:huset|leiligheten|leiligheita|hytta|my house|the house|our house|my flat)",
        r"(?:noen|nokon|nogen|någon|someone|somebody) (?:som |der |who |that )?(?:bryter|bryt|bryder|is breaking|breaks|försöker bryta)",
        r"innbrudd (?:nå|pågår)",
        r"there'?s (?:someone|somebody|a man|a guy) in (?:the|my|our) (?:house|flat|apartment|home)",
        r"(?:er|is) (?:fortsatt|framleis|still) (?:inne|inside|in there)",
        r"break-?in (?:in progress|right now|now)",
        r"hører (?:dem|noen) (?:i|inne)",
        r"høyrer (?:dei|nokon) (?:i|inne)",
        r"(?:can )?hear (?:them|someone) (?:in|inside|downstairs|upstairs)",
    ),
)
DRUNK_DRIVER = Cue(
    "nødsituasjon – ruspåvirket fører",
    _rx(
        rf"fyllekjør{W}",
        rf"promillekjør{W}",
        r"rattfull",
        r"spritbilist",
        r"drunk(?:en)? driv(?:er|ing)",
        r"drunk (?:man|guy|woman) (?:driving|is driving)",
        r"berusad (?:förare|bilist)",
        r"full (?:mann|sjåfør|fører|kvinne) (?:kjører|køyrer|bak rattet)",
        r"(?:helt |heilt |dritings )?full (?:og |bak rattet)",
        r"(?:kjører|køyrer|kör|kører|driving) (?:i )?(?:full|fullt|beruset|ruset|drunk|høy|påvirket|rusa)",
        r"ruspåvirket (?:fører|sjåfør)",
        r"(?:kjører|køyrer|kör|kører|körs|drives) (?:av )?(?:en |ein |a )?(?:helt |heilt |very )?"
        r"(?:full|beruset|ruset|rusa|drukken|berusad|fuld|drunk|påverka)"
        r" (?:mann|kvinne|sjåfør|fører|man|mand|person|kar|bilist|förare|guy|woman|driver)",
        r"beruset (?:fører|sjåfør|mann)",
    ),
)
ON_THE_ROAD = Cue(
    "på veien nå",
    _rx(
        r"(?:kjører|køyrer|kör|kører|driving|drives) (?:mot|nordover|sørover|sydover|østover|vestover|inn|ut|på|rundt|towards|on|around|i retning)",
        r"i retning",
        r"heading (?:towards|to|north|south|east|west)",
        r"på vei (?:mot|til|inn)",
        r"on the (?:road|motorway|highway)",
        r"(?:E|Rv|Fv|riksvei|fylkesvei) ?\d+",
        r"vingler",
        r"swerving",
        r"vinglar",
        r"i grøfta",
        r"motsatt kjørefelt",
        r"motorvejen",
        r"motorveien",
        r"kjørte på",
        r"har kjørt på",
    ),
)
ERRATIC_DRIVING = Cue(
    "nødsituasjon – farlig kjøring",
    _rx(
        rf"vingl{W}",
        rf"sjangl{W}",
        rf"slingr{W}",
        rf"swerv{W}",
        r"(?:kjører|køyrer|kör|kører|driving) (?:i|over i|inn i|into) (?:motgående|møtande|mötande|modkørende|oncoming)",
        r"(?:i|over i|into) (?:motgående|møtande|mötande|modkørende) (?:kjørefelt|felt|køyrefelt|körfält|vognbane|bane)",
        r"into oncoming traffic",
        r"(?:nesten|nästan|næsten|nearly|almost) (?:kjørte|køyrde|körde|kørte|drove|ran) (?:i|off|into|ut)",
        r"(?:kjører|køyrer|kör|kører|driving) (?:som en gal|som ein galning|som en galning|like a maniac|like crazy)",
    ),
)
"""Driving that endangers others now (an impaired driver need not be named as such)."""
VULNERABLE = Cue(
    "sårbar person",
    _rx(
        rf"demen{W}",
        r"dementia",
        r"alzheimer\w*",
        rf"sykehjem{W}",
        rf"sjukeheim{W}",
        r"nursing home",
        r"psykisk syk",
        r"psykotisk",
        r"psychotic",
        r"selvmordsfare",
        r"suicidal",
    ),
)
CHILD_DANGER = Cue(
    "barn i fare",
    _rx(
        r"(?:alene|åleine|alone|ensam|by (?:him|her)self) (?:langs|på|ved|i|on|near|along|in|på) (?:the )?(?:motorveien|motorvegen|veien|vegen|jernbanen|skinnene|road|motorway|highway|tracks|sjøen|vannet|elva|river|lake)",
        r"(?:går|gå|walking|running|springer) (?:\w+ )?(?:langs|på|along|on) (?:the )?(?:motorveien|motorvegen|E\d+|jernbanen|skinnene|motorway|highway|tracks)",
        r"(?:alene|igjen|left) i (?:en |ei )?(?:varm |låst )?bil",
        r"(?:alone|left) in (?:a |the )?(?:hot |locked )?car",
    ),
)
FOUND = Cue(
    "funnet",
    _rx(
        r"(?:er|har blitt|ble|vart|blev|has been|was) (?:funnet|funnen|hittad|fundet|found)",
        r"(?:kom|kommet|kome|came|er) (?:hjem|heim|home|tilbake|back) (?:igjen|att)?",
        r"(?:fant|fann|fandt|hittade|found|funnet) (?:ham|han|henne|ho|hende|honom|dem|dei|him|her|them)",
    ),
)
CHILD = Cue(
    "barn",
    _rx(
        rf"barn{W}",
        r"born(?:a|et)?",
        r"ungen",
        r"ungane",
        r"ungene",
        r"unger",
        r"ungar",
        rf"gutt{W}",
        r"gut(?:ar|en|ane)?",
        rf"jent{W}",
        rf"datter{W}",
        rf"dotter{W}",
        rf"døtre{W}",
        rf"sønn{W}",
        r"son(?:en|nen)",
        r"søn(?:nen)?",
        rf"elev{W}",
        rf"lillebro{W}",
        rf"lillesøst{W}",
        rf"veslebro{W}",
        rf"veslesyst{W}",
        r"nevø",
        r"niese",
        r"(?:på|er|is|är|(?:he|she)'?s|age[d]?|i'?m|i’m|i am) (?:1[0-7]|[2-9])(?:[- ]?(?:år|years?|yo|y/o))?(?!\d)",
        r"(?:1[0-7]|[2-9])[- ]?(?:åring\w*|years? old|year-old|år gammel|år gammal|jir|lat)",
        r"\d{1,2}-åring(?:en)?",
        rf"tenåring{W}",
        r"mindreårig\w*",
        r"under 1[5-8]",
        rf"ungdom{W}",
        r"kid",
        r"kids",
        r"child",
        r"children",
        r"daughter",
        r"son",
        r"boy",
        r"girl",
        r"teen(?:ager)?s?",
        r"minor",
        r"little (?:brother|sister)",
        r"pupil\w*",
        r"pojke\w*",
        r"flicka\w*",
        r"pige\w*",
        r"dreng\w*",
        r"grannbarn\w*",
        r"nabobarn\w*",
        r"dziec\w*",
        r"córka",
        r"ребен\w*",
        r"ребён\w*",
        r"wiil\w*",
        r"gabadh\w*",
        r"niño\w*",
        r"hija",
        r"hijo",
        r"فتاة",
        r"طفل\w*",
        r"ابنت\w*",
        r"ابن\w*",
        r"بنت\w*",
    ),
)
MISSING = Cue(
    "savnet",
    _rx(
        rf"savn{W}",
        rf"sakna{W}",
        r"saknas",
        r"forsvunne\w*",
        r"forsvundet",
        r"försvunnen",
        r"missing",
        r"borte (?:fra|frå|från)(?! (?:skolen|skulen|skolan|jobben|jobb|timen|timane|timene|undervisningen|undervisninga|trening|treninga|treningen))",
        r"(?:han|hun|ho|hen|hon|de|dei|barnet|ungen|gutten|guten|jenta|jenten|sønnen|sonen|datteren|dattera|dottera|mamma|pappa|mor|far|mora|faren|moren|bestemor|bestefar|mannen|kona) er (?:borte|vekk)",
        r"gått seg (?:vill|bort|vekk)",
        r"kommet bort",
        r"finner (?:han|ham|henne|dem|hen) ikke",
        r"finn (?:han|ho|henne|dei) ikkje",
        r"kan ikke finde (?:ham|hende|ham)",
        r"hittar (?:honom|henne) inte",
        r"can'?t find (?:him|her|them)",
        r"cannot find (?:him|her|them)",
        r"zagin\w*",
        r"пропал\w*",
        r"lumay",
    ),
)
INJURED = Cue(
    "skadet",
    _rx(
        r"(?:can'?t|cant|cannot|kan ikke|kan ikkje|klarer ikke|klarar ikkje|kan inte|kan ikke) (?:\w+ )?(?:move|walk|stand|gå|gå på|bevege|røre|stå|reise seg|gå videre|gå vidare)",
        r"(?:broken|brukket|brukke|knekt|knekket|broke|brotne?|brukne?) (?:\w+ )?(?:leg|arm|ankle|ankel|bein|beinet|foten|foot|hip|hofte|handa|hånden|rygg|back|neck|nakke)",
        r"(?:fell|falt|datt|ramla|ramlet|föll|faldt|detta) (?:and|og|och) (?:\w+ )?(?:hurt|skadet|skada|slo|broke|can'?t|cant|kan)",
        r"(?:badly |seriously )?(?:hurt|injured)",
        r"(?:hardt |alvorleg |alvorlig )?(?:skadet|skadd|skada)",
    ),
)
STRANDED = Cue(
    "står fast ute",
    _rx(
        r"(?:har )?gått (?:oss|meg|seg) (?:vill|bort)",
        r"(?:har )?gått (?:fra|ut fra|frå|ut frå) (?:sykehjemmet|sjukeheimen|omsorgsboligen|omsorgsbustaden|avdelingen|sykehuset|sjukehuset)",
        r"(?:finner|finn|ser) (?:ikke|ikkje) (?:veien|vegen|løypa|stien|løypene|merkingen)",
        r"(?:can'?t|cannot|cant) (?:find|see) the (?:trail|path|way|road|track)",
        r"(?:lost|stuck|stranded|trapped) (?:on|in|at) the",
        r"(?:sitter|står|sit|står) fast",
        r"(?:jeg|eg|vi|me|hun|han|ho) fryser",
        r"(?:i'?m|we'?re|we are|i am|she'?s|he'?s) freezing",
        r"wandered off",
        r"(?:scooteren|snøscooteren|bilen|båten|motoren) har (?:stoppa|stoppet|stansa|stanset)",
    ),
)
"""Someone stuck, lost or freezing outdoors (counts with EXPOSED: see _emergencies)."""
OVERDUE = Cue(
    "ikke kommet tilbake",
    _rx(
        r"(?:ikke|ikkje|inte|ikk) (?:kommet|kome|komme|kommit|kommer|kjem) (?:tilbake|ned|ner|hjem|heim|hem|fram|frem|inn|i land)(?: (?:fra|frå|från) \w+)?",
        r"(?:not|isn'?t|hasn'?t|has not|haven'?t|have not|didn'?t|did not|never) (?:been |yet )?(?:back|returned|come back|came back|come down|came down|made it back)",
        r"(?:skulle vært|skulle vore|skulle ha vært|skulle vært) (?:tilbake|hjemme|heime|nede|i land)",
        r"(?:should have been|was supposed to be|was due) (?:back|home|down)",
        r"(?:overdue|long overdue)",
    ),
)
"""Someone who has not come back when expected (counts with EXPOSED: see _emergencies)."""
EXPOSED = Cue(
    "ute i mørke, kulde eller uvær",
    _rx(
        r"(?:blir|begynner å bli|er) (?:mørkt|kaldt|kald)",
        r"(?:vert|byrjar å bli) (?:mørkt|kaldt)",
        r"mørket (?:kommer|kjem|faller)",
        r"(?:getting|it'?s|is) (?:dark|cold|freezing)",
        r"snør",
        r"snøstorm",
        r"snøvær",
        r"snøfokk",
        r"på vidda",
        r"på fjellet i natt",
        r"bare nattkjole",
        r"(?:minusgrader|kuldegrader|frost)",
        r"snowing",
        r"snowstorm",
        r"blizzard",
        r"uvær",
        r"storm",
        r"tåke",
        r"fog",
        r"minus \d+",
        r"-\d+ (?:grader|degrees)",
        r"iskald\w*",
        r"hypotherm\w*",
        r"på fjellet",
        r"i fjellet",
        r"på toppturen?",
        r"on the (?:mountain|trail|glacier|ice)",
        r"in the mountains",
        r"på isen",
        r"på sjøen",
        r"ute på (?:havet|sjøen|fjorden|vannet|vatnet|isen)",
        r"(?:out )?at sea",
    ),
)
RUNAWAY = Cue(
    "barn – rømt eller uten kontakt",
    _rx(
        r"(?:stakk|stukket|rømte|rømt|rømd|rymde|rymt|stak) (?:av )?(?:hjemmefra|heimanfrå|heimefrå|hemifrån|hjemmefra|fra institusjonen|frå institusjonen)",
        r"(?:ran|run|has run) away",
        r"(?:ikke|ikkje|inte) (?:kommet|kome|komme|kommit|kommer) (?:hjem|heim|hem)",
        r"(?:kom|kommer|kjem|kommit) (?:\w+ )?(?:ikke|ikkje|inte) (?:hjem|heim|hem)",
        r"(?:hasn'?t|has not|didn'?t|did not) (?:come|came) home",
        r"(?:svarer|svarar|svarar|svarer) (?:ikke|ikkje|inte) (?:på )?(?:telefonen|mobilen|tlf|meldinger|meldingar|sms|snap)?",
        r"not answering (?:her|his)? ?(?:phone)?",
        r"(?:vet|veit|vi vet) ikke hvor (?:hun|han|ho|de) er",
        r"veit ikkje kvar (?:ho|han|dei) er",
        r"don'?t know where (?:she|he|they) (?:is|are)",
    ),
)
FLED = Cue(
    "barn – stakk av",
    _rx(r"(?:stakk|stukket|rømte|rymde|stak|sprang) (?:av|sin väg|away|off)", r"ran off"),
)
NO_CONTACT = Cue(
    "uten kontakt",
    _rx(
        r"(?:svarer|svarar) (?:ikke|ikkje|inte) (?:på )?(?:telefonen|mobilen|tlf|meldinger|meldingar|sms|snap)?",
        r"not answering",
        r"(?:ikke|ikkje|inte) (?:kommet|kome|kommit) (?:hjem|heim|hem)",
        r"(?:kom|kjem) (?:\w+ )?(?:ikke|ikkje|inte) (?:hjem|heim|hem)",
        r"(?:telefonen|mobilen|phone) (?:hans|hennes|hennar|his|her) (?:er|is) (?:av|slått av|off|død|dead)",
        r"(?:vet|veit) (?:ikke|ikkje) (?:hvor|kvar|kor)",
        r"don'?t know where",
    ),
)
RELATIONSHIP = Cue(
    "barn – voksen partner",
    _rx(
        rf"kjærest{W}",
        rf"kjærast{W}",
        rf"kærest{W}",
        r"pojkvän\w*",
        r"flickvän\w*",
        r"boyfriend",
        r"girlfriend",
        r"dating",
        r"dater",
        r"datet",
        r"sammen med",
        r"flørt\w*",
        r"flirt\w*",
        r"sover hos",
        rf"besøk{W}",
        r"(?:hjem|heim|home) (?:til|to) (?:ham|han|henne|ho|him|her)",
        r"(?:alene|åleine|alone) med",
        r"gifts?",
        r"gaver",
        r"overnatt\w*",
        # an adult's love talk, secrecy and hotel plans with a minor are grooming signs
        r"(?:elsker|elskar|älskar|loves?) (?:meg|deg|mig|dig|me|you|ham|han|henne|ho|him|her)",
        r"(?:hotell|hotel) ?(?:rom|room)\w*",
        r"(?:booka|booket|booke|bestilt|bestilte|leid|leigd|booked) (?:et |eit |a )?(?:hotell|hotel|rom|room)",
        r"(?:ikke|ikkje|inte) (?:må|skal|får|kan) (?:si|seie|fortelle|fortelja|säga) (?:det )?(?:til|åt) (?:noen|nokon|någon)",
        r"(?:don't|do not|not to) tell (?:anyone|anybody)",
    ),
)
_AGE_RE = re.compile(
    r"(?:(?:på|er|is|är|age|aged|og|and|,|i'?m|i’m|i am|am) (\d{1,2})(?!\d)(?![.,:]\d))"
    r"|(?:(\d{1,2})[- ]?(?:år|years?|yo|y/o|åring\w*|jir|lat|sano|سنة|سنوات|عاما|عام|років|роки|лет|года|año|años|jahre?|ani)(?!\w))"
    r"|(?:(?<=[^\W\d_]) \((\d{1,2})\))",  # "Sønnen min (14)", "Yusuf (12)"
    re.IGNORECASE,
)


_DIGIT_RE = re.compile(r"\d")
AGE_OF_CONSENT = 16


def ages(text: str) -> list[int]:
    """Ages mentioned in the text ("er 12", "på 25", "19-åring", "15 years")."""
    found: list[int] = []
    if _DIGIT_RE.search(text) is None:
        return found  # every age is written in digits
    for match in _AGE_RE.finditer(text):
        value = match.group(1) or match.group(2) or match.group(3)
        if value is not None and 5 <= int(value) <= 80:
            found.append(int(value))
    return found


CHILD_SEXUAL = Cue(
    "barn – seksuell utnyttelse",
    _rx(
        rf"naken{W}",
        rf"nakenbil{W}",
        r"nakenbilete",
        r"nakenbilde\w*",
        r"nakenbilder",
        r"nudes?",
        r"nude (?:pictures|pics|photos|images)",
        r"nøgenbilleder",
        r"nakenbilder",
        r"(?:bilder|bilete|bilde|billeder|pics|pictures|photos|sawirro|zdjęcia) (?:av seg selv |of (?:her|him)self )?(?:uten|utan|without|utan) (?:klær|klede|kläder|clothes)",
        r"(?:send|sende|sender|sendt|skicka|skickar|sende) (?:meg |him |her )?(?:bilder|bilete|pics|pictures|photos|bilde|billeder)",
        r"asking (?:for|her for|him for) (?:pics|pictures|photos|nudes)",
        r"ber om (?:bilder|bilete|nakenbilder)",
        r"ba om (?:bilder|bilete)",
        r"beder om (?:billeder|nøgenbilleder)",
        r"grooming",
        r"groom\w*",
        rf"overgrep{W}",
        rf"seksuel{W}",
        rf"sexual{W}",
        r"sex",
        rf"voldt{W}",
        r"rape\w*",
        r"(?:tatt|tar|rører|rørt|touch\w*) (?:på|ved) (?:henne|ham|han|hende)",
        r"rører ved",
        r"touched (?:her|him)",
        r"blott\w*",
        r"eksponert seg",
        r"exposed himself",
        r"keep it (?:a )?secret",
        r"hemmelig",
        r"(?:vil|will|wants to) (?:møte|treffe|meet) (?:ham|henne|han|ho|him|her|them)",
        r"møte (?:ham|henne) alene",
        r"treffa 12",
        r"(?:voksen|vaksen|vuxen|eldre|grown|adult|older) (?:mann|man|guy|kar|mand)",
        r"(?:voksne|vaksne|vuxna|eldre|voksne|grown|adult|older) (?:menn|menner|män|mænd|men|guys|karer|kara)",
        r"(?:uten|utan|without) (?:klær|klede|kläder|tøj|clothes)",
        r"tiss(?:en|ane|ene|en hans|en hennes)?",
        r"\d{2} år gammel mann",
        r"\d{2} year old man",
        r"nagie zdjęcia",
        r"sexy",
        r"sexting",
        r"(?:comes|goes|came|went|sneaks) into (?:her|his) (?:bed)?room",
        rf"kjønnsorgan{W}",
        rf"könsorgan{W}",
        r"genitals",
        r"dick ?pics?",
        r"pikkbilde\w*",
        r"(?:kommer|kjem|comes|går) (?:inn )?(?:på|into|inn på|inn i) (?:rommet|room|soverommet) (?:hennes|hans|her|his)",
        r"(?:blir|bli|come|go|går) med (?:ham|han|him|honom|henne|ho|her) hjem",
        r"(?:presset|pressa|pressas|tvunget|tvinga|tvingas|tvinges|forced|pressured|pressed) (?:til|to|att|into)",
        r"(?:sextortion|utpress\w*|utpressning)",
        r"(?:leak|leake|leaks|share|spread|post|publish|send out) (?:my|her|his|the|our|all (?:my|her|his)) (?:\w+ (?:and|&) (?:my|her|his) )?(?:pics|pictures|photos|images|nudes|videos?|bilder|bildene)",
        r"(?:legge ut|legg ut|legger ut|spre|sprer|spreie|dele|deler|publisere|lekke|sende) (?:\w+ )?(?:bildene|bileta|bilda|videoen|nudesa|nudesene|nakenbildene|nakenbileta|bilder av (?:meg|henne|ham|han|ho|deg))",
        r"(?:blackmail\w*)",
        r"nin weyn",
        r"sawir\w*",
        r"mye eldre",
        r"much older",
        r"(?:få|lokke|lure|lokka|få tak i) (?:dem|ham|han|henne|ho|barna|ungane|barn) (?:med (?:seg )?)?(?:inn )?i bilen",
        r"(?:get|lure|lured) (?:them|him|her|kids|children) into (?:his|a|the) car",
        r"(?:ukjent|ukjend|fremmed|unknown|strange) (?:mann|man|person|kar)",
        r"stranger",
        r"gjør ting med (?:henne|ham|han|ho)",
        r"does things to (?:her|him)",
    ),
)
CHILD_VIOLENCE = Cue(
    "barn – vold",
    _rx(
        rf"sl[åa]r (?:ham|han|henne|ho|barnet|ungen|gutten|jenta|honom|hende|him|her){W}",
        r"slått",
        r"slegen",
        r"slagen",
        r"blåmerk\w*",
        r"bruises?",
        r"hits (?:him|her)",
        r"beats (?:him|her)",
        rf"mishandl{W}",
        r"misshand\w*",
        r"abuse\w*",
        r"abusing",
        r"tør (?:ikke|ikkje) (?:å )?gå hjem",
        r"vil (?:ikke|ikkje) gå (?:hjem|heim)",
        r"afraid to go home",
        r"holdt igjen",
        r"redd for (?:faren|far|mora|mor|stefar|stefaren)",
        r"kutt på armene",
        r"(?:merker|merke|sår|skader|arr) (?:på|etter) (?:kroppen|armene|armane|halsen|ryggen|beina|ansiktet)",
        r"marks on (?:her|his) (?:body|arms|neck|back|face)",
        r"(?:belte|beltet|stokk|kleshenger|belt)",
        rf"tvangsekteskap{W}",
        r"tvangsgift\w*",
        r"forced marriage",
        r"(?:skal|vil|blir|bli) (?:giftes|gift) bort",
        r"(?:sendt|sende|sendes|send|sent|be sent) (?:til|tilbake til|back to|to) (?:hjemlandet|heimlandet|thuislandet|home country|the home country)",
        r"(?:sendes|sendast) ut av landet",
        rf"kjønnslemlest{W}",
        r"omskjær\w*",
        r"\bFGM\b",
        r"æres\w*",
        r"honou?r[- ]?(?:based|related|violence)",
        r"(?:innelåst|låst inne|sperret inne|sperra inne)",
        r"locked (?:in|up)",
        r"(?:tør|tørr|turte|tør) (?:ikke|ikkje) (?:å )?(?:gå |dra |reise )?(?:hjem|heim)",
        r"(?:redd|livredd|scared|afraid|rädd) (?:for )?(?:å gå |to go )?(?:hjem|heim|home)",
        r"(?:selvskad|sjølvskad|self-?harm)\w*",
        r"(?:fortalt|fortel|forteller|told me|sa til meg) (?:at )?(?:hun|han|ho|she|he) (?:blir|vert|is being|gets) (?:slått|slegen|hit|beaten|tatt på|kontrollert)",
        r"kutter seg",
        r"self-?harm",
    ),
)
CHILD_NEGLECT = Cue(
    "barn – omsorgssvikt",
    _rx(
        r"omsorgssvikt",
        r"neglect\w*",
        r"forsømt",
        r"(?:alene|åleine|ensamma?|alone|alene|same w domu|one) (?:hjemme|heime|hjemme|at home|i huset|ute)",
        r"alene hjemme",
        r"left alone",
        r"sult(?:en|ne|ar)",
        r"svolten",
        r"hungry",
        r"ikke (?:får )?mat",
        r"ikkje (?:får )?mat",
        r"ingen mat",
        r"no food",
        r"never any food",
        r"inte få mat",
        r"uten matpakke",
        r"(?:drikker|drikk|fulle|full|ruset|rusa|drinks|drunk|dricker) (?:mye|hele|heile|foreldre|foreldra|parents)?",
        r"foreldra er fulle",
        r"fulle foreldre",
        r"rusmisbruk\w*",
        r"krangl\w*",
        r"kjefter",
        r"kjeftar",
        r"låser (?:ham|henne) inne",
        r"rømt",
        r"rømmer",
        r"runaway",
        r"ran away",
        r"mobb\w*",
        r"(?:truer|truga|truet|trugar|threatened|hotat|truet|truede)\w*",
        r"(?:banke|beat) (?:ham|han|him|her|henne) (?:opp|up)",
        r"bull(?:ied|ying)",
        r"gråter",
        r"cries",
        r"rekrutt\w*",
        r"recruit\w*",
        r"(?:gir|gir ham|gives him) (?:hasj|alkohol|drugs)",
        r"bekymr\w*",
        r"uroleg",
        r"orolig",
        r"worried",
        r"bekymret",
        r"zaniepokojon\w*",
        r"беспокою\w*",
    ),
)

# Hints for the other categories: they add weight to the model, never decide alone.
HINTS: dict[str, Cue] = {
    "crime_report": Cue(
        "anmeldelse",
        _rx(
            rf"anmeld{W}",
            rf"anmäl{W}",
            rf"polisanmäl{W}",
            rf"politianmeld{W}",
            r"melde (?:ei|en|eit|et) sak",
            r"file a report",
            r"report (?:it|a theft|a crime|this|the theft)",
            rf"stjål{W}",
            r"stjålet",
            rf"stole{W}",
            r"stolen",
            r"stulen",
            r"stulit",
            r"stjaal",
            r"tyveri",
            rf"svind{W}",
            r"scam\w*",
            r"lurad",
            r"snydt",
            r"lurt",
            rf"innbrudd{W}",
            r"innbrot",
            r"indbrud",
            r"inbrott",
            r"burglar\w*",
            r"broken into",
            r"hacke?t?",
            r"hacka",
            r"hackat",
            r"hacked",
            r"truet meg",
            r"truga meg",
            r"threatened me",
            rf"trakass{W}",
            r"harass\w*",
            r"ranet",
            r"robbed",
            r"overfalt",
            r"assaulted",
            r"ID-tyveri",
            r"identity theft",
            r"ukradzion\w*",
            r"xaday",
            r"سرقت",
            r"robad[ao]",
            r"обманули",
        ),
    ),
    "tip": Cue(
        "tips",
        _rx(
            rf"tips{W}",
            r"tipse",
            r"tipsa",
            r"tip",
            r"give a tip",
            r"mistenkelig\w*",
            r"suspicious",
            r"misstänkt",
            r"sel(?:ger|jer|) (?:hasj|narkotika|dop|knark|hash|alkohol|smugler)\w*",
            r"sel hasj",
            r"selges",
            r"selt",
            r"säljs",
            r"sælger",
            r"drug dealing",
            r"selling (?:drugs|illegal)",
            r"dealer\w*",
            r"langer\w*",
            r"(?:kjører|køyrer|kör|kører) (?:altfor|alt for|alldeles för|alt for) (?:fort|stærkt)",
            r"(?:racing|speeding)",
            r"ettersøkt\w*",
            r"efterlys\w*",
            r"wanted man",
            r"the wanted",
            r"ulovlig\w*",
            r"ulovleg\w*",
            r"illegal\w*",
            r"narkotika",
            r"narkotyki",
            r"наркотик\w*",
            r"daroogo",
            r"drogas",
        ),
    ),
    "question": Cue(
        "spørsmål",
        _rx(
            r"hvordan",
            r"korleis",
            r"how (?:do|can|long|much|to)",
            r"hur",
            r"hvor (?:lang|lenge|mye|mange|kan|finner)",
            r"kor (?:lang|lenge|mykje|mange)",
            r"er det lov",
            r"er det lovlig",
            r"is it legal",
            r"får man",
            r"(?:må|treng|trenger|kan) (?:jeg|eg|man|vi|jag|I)",
            r"lurer på",
            r"lurte på",
            r"åpningstid\w*",
            r"pass(?:et|kontoret)?",
            r"våpenkort",
            r"våpenløyve",
            r"politiattest",
            r"førerkort\w*",
            r"førarkort\w*",
            r"körkort",
            r"kørekort",
            r"driving licen[cs]e",
            r"hittegods",
            r"lost property",
            r"passport",
            r"pasaporte",
        ),
    ),
    "feedback": Cue(
        "tilbakemelding",
        _rx(
            rf"takk{W}",
            r"tusen takk",
            r"tack",
            r"tak for",
            r"thank\w*",
            r"dziękuję",
            r"спасибо",
            r"mahadsanid",
            r"شكرا",
            rf"klage{W}",
            r"klaga",
            r"complain\w*",
            r"forslag",
            r"suggestion",
            r"bra jobba",
            r"good job",
            r"great job",
            r"fantastisk jobb",
            r"dårlig service",
            r"uhøflig",
            r"rude",
            r"imponert",
            r"flott",
            r"hyggelig\w*",
            r"uprofesjonell\w*",
            r"arrogant",
            r"svarer (?:dere )?ikke",
            r"ubrukelig",
        ),
    ),
    "other": Cue(
        "ingen sak",
        _rx(
            r"test(?:er|ar|ing)?",
            r"testar bara",
            r"vinn\w*",
            r"congratulations",
            r"klikk på lenken",
            r"click (?:here|the link)",
            r"rabatt",
            r"wrong chat",
            r"feil (?:mottaker|chat)",
        ),
    ),
}
CHILD_EXPLOITATION = Cue(
    "barn – utnyttelse og trusler",
    _rx(
        r"(?:tvinger|tvingar|tvingar|forces|forcing|pressures) (?:ham|han|henne|ho|barnet|ungen|honom|henne|him|her|them|dem|dei) (?:til|to|att)",
        r"(?:truer|trugar|trua|truet|truga|hotar|hotade|threaten\w*) (?:(?:hans|hennes|his|her|sin|si|sitt) )?(?:ham|han|henne|ho|honom|him|her|them|dem|familien|familia|family|søster\w*|syster\w*|sister|lillesøster\w*|little sister|lillebror\w*|little brother|bror\w*|brother)",
        r"(?:vet|veit|vet|know|knows) (?:hvor|kvar|var|where) (?:han|hun|ho|hon|he|she|de|dei|they) bor",
        r"(?:frakte|frakta|selge|selja|sälja|levere|leverer|sell|selling|deliver\w*|carry|carrying) (?:pakker|pakkar|paket|narkotika|narko|dop|hasj|packages|parcels|drugs)",
        r"(?:rekruttert|rekrutterer|rekruttere|recruited|recruiting) (?:av|by|inn i|into|til) (?:en |ein |a )?(?:gjeng\w*|gang\w*|kriminelle|criminals)",
        r"(?:gjeng\w*|gang|gangs|kriminelle|criminals) (?:har )?(?:rekruttert|rekrutterer|recruited|recruits) (?:ham|han|henne|ho|him|her)",
        # forced marriage: a child sent abroad to be married
        rf"tvangsgift{W}",
        rf"tvangsekteskap{W}",
        rf"tvångsgift{W}",
        rf"tvangsægteskab{W}",
        r"forced (?:marriage|to marry)",
        r"(?:giftes|gifte|gift) (?:henne |ham |han |ho |seg |sig )?bort",
        r"(?:skal|vil|ska) (?:gifte|gi(?:fte)? bort) (?:henne|ham|han|ho)",
        r"marr(?:y|ied) (?:her|him) off",
        r"(?:زواج|تزويج)\w*",
        r"\w*يزوجون\w*",
        r"ممنوعة? من المدرسة",
    ),
)
CHILD_CONCERNS = (CHILD_SEXUAL, CHILD_VIOLENCE, CHILD_EXPLOITATION, CHILD_NEGLECT)
SERIOUS_CHILD = (CHILD_SEXUAL, CHILD_VIOLENCE, CHILD_EXPLOITATION)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What the rules found: an emergency, a child concern, and hints for the model."""

    emergency: tuple[Hit, ...]
    child: tuple[Hit, ...]
    child_serious: bool
    hints: dict[str, tuple[Hit, ...]]
    resolved: bool = False
    threats: tuple[Hit, ...] = ()
    """Threats of an attack on many people: urgent in any category."""

    @property
    def is_emergency(self) -> bool:
        return bool(self.emergency)

    @property
    def is_child_concern(self) -> bool:
        return bool(self.child)


_THANKS_RE = re.compile(r"(?:takk|tack|tak|thanks?|thank you)\b[^.!?]{0,25}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Index:
    """Short strings -> the cue alternatives that need them (``prefilter.required_grams``).

    Every alternative of every cue pattern needs one of a few short strings; a text that
    contains none of an alternative's strings cannot match it. Searching only the
    alternatives whose strings occur, and taking the leftmost match (the earliest
    alternative on a tie), gives exactly the match of the whole alternation.
    """

    grams: dict[str, tuple[tuple[int, int], ...]]  # gram -> (id of pattern, alternative)
    finder: Finder  # which grams a (shaped) text holds
    patterns: frozenset[int]  # ids of the patterns indexed
    # (pattern, alternative) -> more sets of strings a match must contain one of
    further: dict[tuple[int, int], tuple[tuple[str, ...], ...]]


def _sample() -> Iterator[str]:
    """The texts of the shipped triage examples: how common each short string is."""
    data = (files("stemme.understanding") / "data" / "triage_train.jsonl").read_text("utf-8")
    for line in data.splitlines():
        if line.strip():
            yield str(json.loads(line)["text"])


@cache
def _index() -> _Index:
    frequencies = Frequencies(_sample(), WORDS)
    grams: dict[str, list[tuple[int, int]]] = {}
    patterns: set[int] = set()
    further: dict[tuple[int, int], tuple[tuple[str, ...], ...]] = {}
    # Only the module's own cues, which live as long as the process: their ids stay theirs.
    whole: dict[int, Sequence[re.Pattern[str]]] = {
        id(cue.pattern): _alternatives(cue.pattern) for cue in _all_cues()
    }
    for key, alternatives in whole.items():
        # Rarest first: the first set indexes the alternative, the others are checked after.
        needs = [required_all(alt, frequencies, alphabet=WORDS) for alt in alternatives]
        if not all(needs):
            continue  # searched whole, always
        patterns.add(key)
        for number, (need, *more) in enumerate(needs):
            for gram in need:
                grams.setdefault(gram, []).append((key, number))
            if more:  # mostly one to three strings each: ``in`` beats a set of the text's
                further[key, number] = tuple(tuple(sorted(strings)) for strings in more)
    frozen = {gram: tuple(entries) for gram, entries in grams.items()}
    return _Index(frozen, Finder(frozen), frozenset(patterns), further)


def _all_cues() -> list[Cue]:
    return [value for value in globals().values() if isinstance(value, Cue)] + list(HINTS.values())


_UNSEEN = object()


class _Scan:
    """One text and the cues looked up in it so far (each cue is searched at most once).

    Only the alternatives of a cue that the text can match at all (see ``_Index``) are
    searched.
    """

    __slots__ = ("_candidates", "_found", "_index", "_lowered", "_ruled_out", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._found: dict[int, object] = {}
        self._index = index = _index()
        self._lowered = lowered = shape(text)
        self._candidates: dict[int, set[int]] | None = None
        self._ruled_out: frozenset[int] = frozenset()  # ids of patterns that cannot match
        if is_safe(text):
            candidates: dict[int, set[int]] = {}
            entries = index.grams
            for gram in index.finder.present(lowered):
                for pattern, number in entries[gram]:
                    candidates.setdefault(pattern, set()).add(number)
            self._candidates = candidates
            self._ruled_out = index.patterns.difference(candidates)

    def hit(self, cue: Cue) -> Hit | None:
        if id(cue.pattern) in self._ruled_out:
            return None  # no alternative of the cue can match: nothing to search or remember
        found = self._found.get(id(cue), _UNSEEN)
        if found is _UNSEEN:
            found = self._found[id(cue)] = self._search(cue)
        return found  # type: ignore[return-value]

    def _search(self, cue: Cue) -> Hit | None:
        key = id(cue.pattern)
        if self._candidates is None or key not in self._index.patterns:
            return _hit(cue, self.text)
        numbers = self._candidates.get(key)
        if not numbers:
            return None
        alternatives = _alternatives(cue.pattern)
        if len(alternatives) == 1 or cue is CALL_FOR_HELP:
            return _hit(cue, self.text)
        best: re.Match[str] | None = None
        further, lowered = self._index.further, self._lowered
        for number in sorted(numbers):
            more = further.get((key, number), ())
            if more and not _holds_one_of_each(lowered, more):
                continue  # a fixed part of this alternative is missing: it cannot match
            match = alternatives[number].search(self.text)
            if match is not None and (best is None or match.start() < best.start()):
                best = match
        return Hit(cue.label, best.group(0)) if best is not None else None


def _holds_one_of_each(text: str, sets: tuple[tuple[str, ...], ...]) -> bool:
    """Whether ``text`` contains one of the strings of each of ``sets`` (plain loops: two
    nested generators cost more than the ``in`` tests they run)."""
    for strings in sets:
        for string in strings:
            if string in text:
                break
        else:
            return False
    return True


def _hit(cue: Cue, text: str) -> Hit | None:
    if cue is CALL_FOR_HELP:
        for match in cue.pattern.finditer(text):
            if not _THANKS_RE.search(text[max(0, match.start() - 40) : match.start()]):
                return Hit(cue.label, match.group(0))
        return None
    found = cue.find(text)
    return Hit(cue.label, found) if found is not None else None


NOW_NORWEGIAN = Cue("pågår nå", _rx(r"no"))
"""Nynorsk "no" (now): counted only in texts detected as Norwegian."""


def _emergencies(scan: _Scan, lang: str | None = None) -> list[Hit]:
    hits: list[Hit] = []
    for cue in (SUICIDE, CALL_FOR_HELP, LIFE_DANGER):
        if hit := scan.hit(cue):
            hits.append(hit)
    now = scan.hit(NOW) or scan.hit(PRESENCE)
    if now is None and lang in ("nn", "nb"):
        now = scan.hit(NOW_NORWEGIAN)
    past = scan.hit(PAST)
    ongoing = now is not None
    child = scan.hit(CHILD)
    missing = scan.hit(MISSING)
    vulnerable = child or scan.hit(VULNERABLE)
    if vulnerable and missing and not scan.hit(FOUND):
        # A missing child stays an emergency until found, even if it began yesterday.
        hits.append(Hit("nødsituasjon – savnet", f"{vulnerable.matched} … {missing.matched}"))
    elif (
        (overdue := missing or scan.hit(OVERDUE))
        and (exposed := scan.hit(EXPOSED))
        and not scan.hit(FOUND)
    ):
        # Anyone missing or overdue out in the dark, the cold or a storm ("not back from the
        # trail and it's getting dark"): every hour counts.
        hits.append(Hit("nødsituasjon – savnet ute", f"{overdue.matched} … {exposed.matched}"))
    elif (
        (injured := scan.hit(INJURED) or scan.hit(STRANDED))
        and (exposed := scan.hit(EXPOSED))
        and not (past and not ongoing)
    ):
        # Someone hurt out in the dark or the cold ("fell and can't move his leg, it's
        # getting dark"): a rescue.
        hits.append(Hit("nødsituasjon – skadet ute", f"{injured.matched} … {exposed.matched}"))
    if child and (danger := scan.hit(CHILD_DANGER)) and not (past and not ongoing):
        hits.append(Hit("nødsituasjon – barn i fare", f"{child.matched} … {danger.matched}"))
    situational: list[Hit] = []
    weapon = None if scan.hit(WEAPON_ADMINISTRATION) else scan.hit(WEAPON)
    if weapon is not None:
        situational.append(weapon)
    for cue in (VIOLENCE_NOW, INTRUDER, ACCIDENT):
        if hit := scan.hit(cue):
            situational.append(hit)
    drunk = scan.hit(DRUNK_DRIVER)
    road = scan.hit(ON_THE_ROAD)
    if drunk and (ongoing or road) and not (past and not ongoing):
        hits.append(drunk)
        if road is not None:
            hits.append(road)
    erratic = scan.hit(ERRATIC_DRIVING)
    if erratic and not drunk and (scan.hit(NOW) or (road and not past)):
        hits.append(erratic)
        if road is not None:
            hits.append(road)
    presence = scan.hit(PRESENCE)
    threat = scan.hit(THREAT)
    if threat and (presence or (weapon and not past)):
        situational.append(threat)
        if weapon and not presence and not now:
            hits.append(
                Hit("nødsituasjon – trues med våpen", f"{threat.matched} … {weapon.matched}")
            )
    fear = scan.hit(FEAR)
    if presence and fear and not situational:
        hits.extend((Hit("nødsituasjon – truet nå", presence.matched), fear))
    if situational and now and not (past and not scan.hit(NOW) and not presence):
        hits.extend(Hit(f"nødsituasjon – {h.label}", h.matched) for h in situational)
        hits.append(now)
    elif presence and situational:
        hits.extend(Hit(f"nødsituasjon – {h.label}", h.matched) for h in situational)
    return hits


def _child_hits(scan: _Scan) -> tuple[list[Hit], bool]:
    """Child-welfare cues (with the child cue first) and whether the risk is serious."""
    child = scan.hit(CHILD)
    mentioned = ages(scan.text)
    minor = [a for a in mentioned if a <= 16]
    adult = [a for a in mentioned if a >= 18]
    if child is None and not minor:
        return [], False
    hits: list[Hit] = []
    serious = False
    for cue in CHILD_CONCERNS:
        if hit := scan.hit(cue):
            hits.append(hit)
            serious = serious or cue in SERIOUS_CHILD
    if runaway := scan.hit(RUNAWAY):
        hits.append(runaway)
        serious = True
    elif (fled := scan.hit(FLED)) and (no_contact := scan.hit(NO_CONTACT)):
        hits.extend((fled, no_contact))
        serious = True
    relationship = scan.hit(RELATIONSHIP)
    # below the age of consent (16 in Norway): an adult's relationship with the child
    underage = [a for a in minor if a < AGE_OF_CONSENT]
    if underage and adult and (relationship or scan.hit(CHILD_SEXUAL)):
        hits.append(Hit("barn – voksen kontakt", f"{min(underage)} og {max(adult)} år"))
        serious = True
    if hits:
        hits.insert(0, child or Hit("barn", f"{min(minor)} år"))
    return hits, serious


def apply_rules(text: str, lang: str | None = None) -> RuleResult:
    """Run every rule over ``text`` (``lang`` enables language-specific cues)."""
    scan = _Scan(text)
    emergency = tuple(_emergencies(scan, lang))
    child_hits, serious = _child_hits(scan)
    hints: dict[str, tuple[Hit, ...]] = {
        category: (hit,) for category, cue in HINTS.items() if (hit := scan.hit(cue)) is not None
    }
    resolved = scan.hit(FOUND) is not None
    threats = tuple(hit for hit in (scan.hit(PLANNED_ATTACK),) if hit is not None)
    return RuleResult(emergency, tuple(child_hits), serious, hints, resolved, threats)
