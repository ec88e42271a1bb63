"""The password policy and argon2id hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from stemme.errors import InvalidInputError
from stemme.identity.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from tests.helpers import PASSWORD

TOO_SHORT = "Passordet må ha minst 12 tegn."
TOO_LONG = "Passordet er for langt."
TOO_SIMPLE = "Passordet er for enkelt; bruk en lengre setning."


def test_limits() -> None:
    assert MIN_PASSWORD_LENGTH == 12
    assert MAX_PASSWORD_LENGTH == 1024


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", TOO_SHORT),
        ("kort", TOO_SHORT),
        ("elleve tegn", TOO_SHORT),  # 11 characters
        ("x" * (MAX_PASSWORD_LENGTH + 1), TOO_LONG),
        ("abcd" * 257, TOO_LONG),
        (" " * 12, TOO_SIMPLE),
        ("\t \n" * 5, TOO_SIMPLE),
        ("aaaaaaaaaaaa", TOO_SIMPLE),
        ("abababababab", TOO_SIMPLE),
        ("abcabcabcabc", TOO_SIMPLE),  # three different characters
        ("111111111111111111111111", TOO_SIMPLE),
    ],
    ids=[
        "empty",
        "short",
        "eleven",
        "too-long",
        "too-long-varied",
        "spaces",
        "whitespace",
        "one-char",
        "two-chars",
        "three-chars",
        "digits",
    ],
)
def test_policy_refuses(password: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_policy(password)
    assert str(info.value) == message
    assert info.value.status == 422


@pytest.mark.parametrize(
    "password",
    [
        "tolv tegn ok",  # exactly 12
        "abcdabcdabcd",  # four different characters is enough
        PASSWORD,
        "blåbærsyltetøy på brødskiva",
        "ÆØÅ æøå 🐻‍❄️ nordlys",
        ("abcd" * 256),  # exactly the maximum
    ],
)
def test_policy_accepts(password: str) -> None:
    check_policy(password)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=1100))
def test_policy_is_exactly_length_and_variety(password: str) -> None:
    acceptable = (
        MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
        and password.strip() != ""
        and len(set(password)) >= 4
    )
    if acceptable:
        check_policy(password)
    else:
        with pytest.raises(InvalidInputError):
            check_policy(password)


def test_hash_is_argon2id_and_verifies() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + " ")
    assert not verify_password(stored, PASSWORD.upper())
    assert not verify_password(stored, "")
    assert not needs_rehash(stored)


def test_hashes_are_salted() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second
    assert verify_password(first, PASSWORD)
    assert verify_password(second, PASSWORD)


def test_unicode_password_round_trip() -> None:
    password = "blåbærsyltetøy på brødskiva"
    stored = hash_password(password)
    assert verify_password(stored, password)
    assert not verify_password(stored, "blabaersyltetoy pa brodskiva")


@pytest.mark.parametrize("password", ["kort", " " * 20, "x" * 2000])
def test_hash_password_enforces_the_policy(password: str) -> None:
    with pytest.raises(InvalidInputError):
        hash_password(password)


@pytest.mark.parametrize("password", [PASSWORD, "", "stemme-timing-equaliser"])
def test_verify_with_no_hash_is_false(password: str) -> None:
    """Unknown users: the dummy hash does the work, but the answer is always False."""
    assert verify_password(None, password) is False


@pytest.mark.parametrize("password", [PASSWORD, "", "stemme-timing-equaliser"])
def test_verify_with_an_empty_hash_is_false(password: str) -> None:
    """An empty stored hash (an account without a password) must never verify, not even
    with the public text behind the timing-equaliser hash."""
    assert verify_password("", password) is False


@pytest.mark.parametrize("stored", ["not a hash", "$argon2id$garbage", "$2b$12$" + "x" * 53])
def test_verify_with_a_malformed_hash_is_false(stored: str) -> None:
    assert verify_password(stored, PASSWORD) is False


def test_weaker_hashes_need_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    assert verify_password(weak, PASSWORD)
    assert needs_rehash(weak)
