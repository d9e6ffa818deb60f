"""Kimai's error bodies and the exceptions that produce them.

Production Kimai answers with the HTTP reason phrase as ``message`` (details are hidden), so the
exceptions here carry no free text except where Kimai shows one (410, legacy login, action errors).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class KimaiError(Exception):
    """An HTTP error rendered as ``{"code": status, "message": …}``."""

    def __init__(
        self, status: int, message: str | None = None, *, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.message = message or reason(status)
        self.headers = headers or {}
        super().__init__(f"{status} {self.message}")

    def body(self) -> dict[str, Any] | None:
        """The JSON body; None for an empty one."""
        return {"code": self.status, "message": self.message}


class BadRequest(KimaiError):
    def __init__(self) -> None:
        super().__init__(400)


class Unauthorized(KimaiError):
    def __init__(self, *, invalid_token: bool = False, disabled: bool = False) -> None:
        headers = {}
        if invalid_token:
            description = "Account is disabled." if disabled else "Invalid credentials."
            headers["WWW-Authenticate"] = f'Bearer error="invalid_token",error_description="{description}"'
        super().__init__(401, headers=headers)
        self.invalid_token = invalid_token

    def body(self) -> dict[str, Any] | None:
        # Symfony's access-token authenticator rejects a token with the header alone and no body.
        return None if self.invalid_token else super().body()


class Forbidden(KimaiError):
    def __init__(self) -> None:
        super().__init__(403)


class NotFound(KimaiError):
    def __init__(self) -> None:
        super().__init__(404)


class Gone(KimaiError):
    def __init__(self, message: str) -> None:
        super().__init__(410, message)


class LegacyAuthFailed(KimaiError):
    """The X-AUTH-* login failure: 403 with a message and, unlike every other error, no ``code``."""

    def __init__(self, message: str = "Invalid credentials") -> None:
        super().__init__(403, message)

    def body(self) -> dict[str, Any]:
        return {"message": self.message}


FormErrors = dict[str, Any]


class ValidationFailed(KimaiError):
    """A rejected form: ``{"code":400,"message":"Validation Failed","errors":{…}}``."""

    def __init__(self, errors: FormErrors) -> None:
        super().__init__(400, "Validation Failed")
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return {"code": 400, "message": "Validation Failed", "errors": self.errors}


class ActionFailed(KimaiError):
    """Kimai's second error shape, used by actions that validate without a form (stop, restart, …).

    ``code`` is a string there, a quirk clients may rely on.
    """

    def __init__(self, children: dict[str, list[str]], message: str = "There was a problem saving.") -> None:
        super().__init__(400, message)
        self.children = children

    def body(self) -> dict[str, Any]:
        children = {name: {"errors": errors} for name, errors in self.children.items()}
        return {"code": "400", "message": self.message, "errors": {"children": children}}
