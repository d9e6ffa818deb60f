"""API tokens: random secrets shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "pc_"
# What a Bearer value may look like (RFC 6750 b64token), as Kimai's header extractor requires
# (Symfony's ``^Bearer\s+…$``: any run of whitespace after the scheme).
BEARER = re.compile(r"^Bearer\s+([a-zA-Z0-9\-._~+/]+=*)$", re.ASCII)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(30)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
