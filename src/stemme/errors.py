"""Domain exceptions. Services raise these; web, API and CLI adapters translate them.

Messages are bokmål msgids (the source language of the catalogues) with ``%(name)s``
placeholders, so every adapter can translate them before formatting.
"""

from __future__ import annotations

from typing import Any, ClassVar


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Marks a text for translation where it is defined; it is translated where shown."""
    return message


class StemmeError(Exception):
    """Base of every error a user can cause and understand."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = N_("Ugyldig forespørsel")

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def render(self, gettext: Any = None) -> str:
        """The message in the reader's language (``gettext`` translates the msgid)."""
        text = gettext(self.message) if gettext else self.message
        return text % self.params if self.params else text


class InvalidInputError(StemmeError):
    status = 422
    title = N_("Ugyldige data")


class NotFoundError(StemmeError):
    status = 404
    title = N_("Finnes ikke")


class ConflictError(StemmeError):
    status = 409
    title = N_("Konflikt")


class AuthenticationError(StemmeError):
    status = 401
    title = N_("Ikke innlogget")


class PermissionDeniedError(StemmeError):
    status = 403
    title = N_("Ingen tilgang")


class ConfigurationError(StemmeError):
    status = 500
    title = N_("Feil i oppsettet")
