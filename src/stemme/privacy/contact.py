"""Recognizers for e-mail, IP addresses and social-media/gaming handles."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from stemme.privacy._data import common_words, organisations
from stemme.privacy.prefilter import may_match
from stemme.privacy.types import Span

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w@])"
)
_IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IP_HINT_RE = re.compile(r"\d\.\d|[0-9A-Fa-f]:[0-9A-Fa-f:]|::")
_VERSION_RE = re.compile(r"(?:versjon|version|ver\.?|v\.?|versjonen|utgave|build)\s*$")
_IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")

_PLATFORMS = (
    r"facebook\.com|fb\.com|m\.facebook\.com|instagram\.com|tiktok\.com|snapchat\.com|"
    r"twitter\.com|x\.com|youtube\.com|twitch\.tv|reddit\.com|linkedin\.com|discord\.gg|"
    r"discord\.com|discordapp\.com|steamcommunity\.com|github\.com|t\.me|vm\.tiktok\.com|"
    r"threads\.net|pinterest\.com|onlyfans\.com|kick\.com|roblox\.com"
)
_PROFILE_URL_RE = re.compile(
    rf"(?:https?://)?(?:www\.)?(?:{_PLATFORMS})/[^\s,;)\]>\"']+", re.IGNORECASE
)
# Inner capitals after a lower-case letter ("XxSniperKingxX", "xXdaddyMikeXx").
_CAMEL_RE = re.compile(r"(?<![\w@.#/<])(?=\w{6,32}(?![\w@]))\w*[a-z][A-Z]\w*[a-z]\w*(?![\w@])")
_COPULAS = frozenset({"er", "is", "är", "var", "was", "e"})
_URL_HINT_RE = re.compile(r"\.(?:com|gg|tv|me|net)/", re.IGNORECASE)
_AT_HANDLE_RE = re.compile(r"(?<![\w.@/])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,29}[A-Za-z0-9_])?")
_DISCORD_TAG_RE = re.compile(r"(?<![\w#])[A-Za-z0-9_.]{2,32}#\d{4}(?!\d)")
# A platform word, then ":" or "=" (or just a space), then the handle.
_PLATFORM_CUE_RE = re.compile(
    r"\b(snap(?:chat)?\w{0,3}|sc|insta(?:gram)?\w{0,3}|ig|tiktok\w{0,3}|tik tok|discord\w{0,3}|"
    r"twitter|kik|telegram|brukeren|brukaren|bruker|brukar|användaren|brugeren|"
    r"steam|psn|xbox(?: live)?|gamertag|epic(?: games)?|roblox|fortnite|twitch|youtube|"
    r"brukernavn(?:et)?|username|user ?name|handle|nick(?:name)?|ign|profil(?:en)?|"
    r"konto(?:en)?|account|kallenavn(?:et)?|användarnamn(?:et)?|brugernavn(?:et)?)"
    r"((?:\s+(?:hans|hennes|hennar|hendes|his|her|their|mitt|min|mi|er|is|är|var|was|e)){0,2})"
    r"\s*([:=]|\s)\s*[\"'“«]?(@?[\w.\-]{2,32}(?:#\d{4})?)",
    re.IGNORECASE,
)
# "called X", "kalt X", "heter X på snap": X must look like a handle.
_NAMED_CUE_RE = re.compile(
    r"\b(?:called|named|calls himself|calls herself|kalt|kalla|kaller seg|kallar seg|kalles|"
    r"kallad|kallar sig|kalder sig|heter|heiter|hedder|het|hette|heitte|går under navnet|"
    r"goes by|er|is|var|was|är)\s+[\"'“«]?([\w.\-]{3,32}(?:#\d{4})?)",
    re.IGNORECASE,
)
_ON_PLATFORM_RE = re.compile(
    r"^\W{0,3}\s*(?:p[åa]|on|in|i)\s+(?:snap|insta|tiktok|discord|twitter|kik|telegram|steam|"
    r"xbox|psn|roblox|fortnite|minecraft|twitch|youtube|facebook|face|messenger)",
    re.IGNORECASE,
)
# "han har snap emilbrrr", "she has insta lisa.k": a platform that someone has, then its handle
_HAS_BEFORE_RE = re.compile(r"\b(?:har|has|have|hadde|had)\s+$", re.IGNORECASE)
_ON_PLATFORM_BEFORE_RE = re.compile(
    r"(?:snap|insta|instagram|tiktok|discord|minecraft|fortnite|roblox|server|game|spillet|chat)"
)


# Handle-shaped words: an underscore between letters/digits, or letters mixed with digits.
_UNDERSCORE_HANDLE_RE = re.compile(r"(?<![\w@.#/<])[A-Za-z0-9][\w.]*_[\w.]*[A-Za-z0-9](?![\w@])")
_MIXED_HANDLE_RE = re.compile(
    r"(?<![\w@.#/<-])(?=[\w.]*[A-Za-z]{3})(?=[\w.]*\d)[A-Za-z][\w.]{4,31}(?![\w@-])"
)
_NOT_HANDLE_RE = re.compile(
    r"[A-Za-z]{1,3}\d{1,3}|[A-Za-z]+\d{2,4}(?:kr|nok)|covid\d+", re.IGNORECASE
)
_ONLINE_RE = re.compile(
    r"\b(?:snap\w*|insta\w*|tiktok|discord|steam|server\w*|minecraft|roblox|fortnite|xbox|psn|"
    r"playstation|twitch|youtube|kik|telegram|whatsapp|bruker\w*|brukar\w*|profil\w*|account|"
    r"konto\w*|chat\w*|dm|game\w*|gaming|spill\w*|online|nett\w*|cs|valorant|gamer\w*|"
    r"username|user|handle|admin|twitter|facebook|face|messenger|reddit|kanal\w*|channel)\b",
    re.IGNORECASE,
)


def looks_like_handle(word: str) -> bool:
    """Letters mixed with digits, underscores, inner dots or inner capitals ("xXdaddyMikeXx")."""
    core = word.lstrip("@")
    if len(core) < 3 or core.isdigit() or _NOT_HANDLE_RE.fullmatch(core):
        return False
    if core[0].isdigit() and "-" in core:
        return False  # ages and counts: "16-åringer", "3-romsleilighet"
    has_alpha = any(ch.isalpha() for ch in core)
    if not has_alpha:
        return False
    if any(ch.isdigit() for ch in core) or "_" in core or "#" in core:
        return True
    if "." in core.strip(".") or "-" in core.strip("-"):
        return True
    inner = core[1:]
    return any(ch.isupper() for ch in inner) and any(ch.islower() for ch in inner)


def find_emails(text: str, language: str | None = None) -> Iterator[Span]:
    """E-mail addresses."""
    if "@" not in text:
        return
    for match in _EMAIL_RE.finditer(text):
        yield Span(*match.span(), "EMAIL", 0.98, "email")


def find_ip_addresses(text: str, language: str | None = None) -> Iterator[Span]:
    """IPv4 and IPv6 addresses, validated by the ipaddress module."""
    if not _IP_HINT_RE.search(text):
        return
    # an IPv4 address holds three dots, an IPv6 address at least two colons
    ipv4 = _IPV4_RE.finditer(text) if text.count(".") >= 3 else ()
    for match in ipv4:
        if _VERSION_RE.search(text[max(0, match.start() - 12) : match.start()].casefold()):
            continue
        try:
            ipaddress.IPv4Address(match.group(0))
        except ValueError:
            continue
        yield Span(*match.span(), "IP_ADDRESS", 0.95, "ip_address")
    ipv6 = _IPV6_RE.finditer(text) if text.count(":") >= 2 else ()
    for match in ipv6:
        candidate = match.group(0)
        if candidate.count(":") < 2 or not any(ch not in ":" for ch in candidate):
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield Span(*match.span(), "IP_ADDRESS", 0.95, "ip_address")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in ".,-":
        end -= 1
    return start, end


def find_usernames(text: str, language: str | None = None) -> Iterator[Span]:
    """Profile URLs, @handles, Discord tags and handles introduced by a platform or a cue."""
    urls = _PROFILE_URL_RE.finditer(text) if _URL_HINT_RE.search(text) else ()
    for match in urls:
        start, end = _trim(text, *match.span())
        path = text[start:end].split("/", 3)
        if path[-1].casefold() not in {"", "home", "login", "explore"}:
            yield Span(start, end, "USERNAME", 0.93, "profile_url")
    at_handles = _AT_HANDLE_RE.finditer(text) if "@" in text else ()
    for match in at_handles:
        start, end = _trim(text, *match.span())
        if end - start > 2:
            yield Span(start, end, "USERNAME", 0.88, "at_handle")
    tags = _DISCORD_TAG_RE.finditer(text) if "#" in text else ()
    for match in tags:
        yield Span(*match.span(), "USERNAME", 0.9, "discord_tag")
    common = common_words()
    platform_cues = _PLATFORM_CUE_RE.finditer(text) if may_match(_PLATFORM_CUE_RE, text) else ()
    for match in platform_cues:
        handle = match.group(4)
        start, end = _trim(text, match.start(4), match.end(4))
        if end <= start or handle.strip(".-").casefold() in common:
            continue
        if not any(ch.isalpha() for ch in handle):
            continue
        filler = match.group(2).casefold().split()
        # "snapen hans er X", "brukernavnet er X": the copula makes X the handle, except after
        # words that also mean a bank account or a profile ("kontoen min er tømt")
        copula = bool(filler and filler[-1] in _COPULAS)
        loose = match.group(1).casefold().startswith(("konto", "account", "profil"))
        has = not filler and _HAS_BEFORE_RE.search(text, max(0, match.start() - 8), match.start())
        explicit = match.group(3) in ":=" or ((copula or bool(has)) and not loose)
        if explicit or looks_like_handle(handle):
            yield Span(start, end, "USERNAME", 0.85 if explicit else 0.8, "platform_handle")
    named_cues = _NAMED_CUE_RE.finditer(text) if may_match(_NAMED_CUE_RE, text) else ()
    for match in named_cues:
        handle = match.group(1)
        start, end = _trim(text, match.start(1), match.end(1))
        if handle.casefold() in common or end <= start:
            continue
        handle_shaped = looks_like_handle(text[start:end])
        if not handle_shaped and not (handle.islower() and handle.isalpha()):
            continue  # "er Oslo", "is 14": no handle, wherever a platform is named
        after_platform = _ON_PLATFORM_RE.search(text[end : end + 30])
        if handle_shaped:
            near = after_platform or _ON_PLATFORM_BEFORE_RE.search(
                text[max(0, match.start() - 60) : match.start()].casefold()
            )
            yield Span(start, end, "USERNAME", 0.85 if near else 0.75, "named_handle")
        elif after_platform:
            # "kaller seg jokerboy på snap": a plain lower-case word named on a platform
            yield Span(start, end, "USERNAME", 0.7, "named_handle")
    online = may_match(_ONLINE_RE, text) and _ONLINE_RE.search(text) is not None
    camel = _CAMEL_RE.finditer(text) if online else ()
    orgs = organisations()
    for match in camel:
        if match.group(0).casefold() not in orgs:
            yield Span(*match.span(), "USERNAME", 0.6, "handle_shape")
    underscored = _UNDERSCORE_HANDLE_RE.finditer(text) if "_" in text else ()
    for match in underscored:
        start, end = _trim(text, *match.span())
        if any(ch.isalpha() for ch in text[start:end]):
            yield Span(start, end, "USERNAME", 0.7, "handle_shape")
    if online:
        for match in _MIXED_HANDLE_RE.finditer(text):
            start, end = _trim(text, *match.span())
            if not _NOT_HANDLE_RE.fullmatch(text[start:end]):
                yield Span(start, end, "USERNAME", 0.6, "handle_shape")
