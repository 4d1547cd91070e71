"""Who may call the serving process: endpoint keys, checked from the request's headers before its body is read.

Each deployment has a primary and a secondary key; the registry names only their SHA-256 hashes (keys are
random 32-byte tokens, so a plain hash is as good as a slow one and keeps the check cheap). A request
presents its key as `Authorization: Bearer <key>` (KServe, Seldon, tritonclient's `headers=`) or as
`api-key: <key>` (Azure ML clients). The key's hash is compared with hmac.compare_digest against both of the
named deployment's hashes, so the time taken does not depend on how much of a key matched.

A key reaches its own deployment only: metadata, the repository index and /metrics answer for it alone. The
studio holds a control token (its hash is in the registry too) that reads metadata, the index and the whole
/metrics of every deployment (the page's figures, a Prometheus scraper) but scores nothing.

With `require_keys` off (an explicit SERVING_REQUIRE_KEYS=0), a request without a key is served as before;
a request that presents a key is still held to it. Health, readiness and the server metadata (`/v2`: its name
and extensions) are open.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from .protocol import RequestError

KEY_PREFIX = "sk_"
MAX_KEY_LENGTH = 200


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Access:
    """What one request may reach: every deployment (`everything`: no keys required, or the control token),
    or the one deployment its key belongs to (`model`, with `key`: its hash, the rate limit's bucket)."""

    everything: bool
    model: str | None = None
    key: str | None = None
    control: bool = False

    def sees(self, name: str) -> bool:
        return self.everything or self.model == name


OPEN = Access(everything=True)


def presented_key(headers) -> str | None:
    """The key in `Authorization: Bearer <key>` or `api-key: <key>`, or None."""
    value = headers.get("authorization")
    if value:
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        raise RequestError("the Authorization header must be 'Bearer <key>'", 401)
    value = headers.get("api-key")
    return value.strip() if value else None


class KeyIndex:
    """The keys of one registry table: hash -> deployment name, and the control token hashes. Built when a
    new table is swapped in, replaced whole."""

    def __init__(self, owners: dict[str, str] | None = None, control: tuple[str, ...] = ()):
        self.owners = owners or {}
        self.control = control

    @classmethod
    def of(cls, models: dict, control: list | tuple = ()) -> KeyIndex:
        owners = {}
        for name, model in models.items():
            for digest in model.key_hashes:
                owners[digest] = name
        return cls(owners, tuple(str(c) for c in control if c))

    def access(self, headers, require_keys: bool, name: str | None = None) -> Access:
        """The request's access, or a 401 naming what is missing. `name`: the deployment the URL names (its
        hashes are compared in constant time, whatever the index says)."""
        key = presented_key(headers)
        if key is None:
            if require_keys:
                raise RequestError("this endpoint needs a key: send 'Authorization: Bearer <key>' (the "
                                   "deployment page shows how to create one)", 401)
            return OPEN
        if len(key) > MAX_KEY_LENGTH:
            raise RequestError("the key is not valid", 401)
        digest = hash_key(key)
        control = any([hmac.compare_digest(digest, c) for c in self.control])
        if control:
            return Access(everything=True, control=True)
        owner = self.owners.get(digest)
        if owner is None:
            raise RequestError("the key is not valid (it may have been regenerated)", 401)
        return Access(everything=False, model=owner, key=digest)


def check_model_key(access: Access, model) -> bool:
    """True when a key-bound access belongs to `model`: both of its hashes compared in constant time."""
    if access.everything:
        return True
    matches = [hmac.compare_digest(access.key or "", digest) for digest in model.key_hashes]
    return any(matches)
