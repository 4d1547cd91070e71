"""Which live version answers a request: a deployment's traffic split (e.g. v1 90 / v2 10), deterministic per
request id when the caller sends one (`X-Request-Id`: the same id always reaches the same version), random
otherwise. The split is part of the registry table, so promote and rollback are one swap like a publish."""
from __future__ import annotations

import hashlib
import random

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID = 200


class Split:
    """Cumulative weights over versions; built once per registry table."""

    def __init__(self, weights: dict[str, int]):
        self.weights = {v: int(w) for v, w in weights.items() if w > 0}
        self.versions = list(self.weights)
        self.bounds, total = [], 0
        for version in self.versions:
            total += int(weights[version])
            self.bounds.append(total)
        self.total = total

    def __bool__(self) -> bool:
        return self.total > 0

    def pick(self, request_id: str | None) -> str:
        if len(self.versions) == 1:
            return self.versions[0]
        if request_id:
            digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
            point = int.from_bytes(digest, "big") % self.total
        else:
            point = random.randrange(self.total)
        for version, bound in zip(self.versions, self.bounds, strict=True):
            if point < bound:
                return version
        return self.versions[-1]


def request_id_of(headers) -> str | None:
    value = headers.get(REQUEST_ID_HEADER)
    return value[:MAX_REQUEST_ID] if value else None
