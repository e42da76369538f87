"""In-memory store of the binary results the reference serves at ``/assets/{id}``.

Image URLs and video URLs point here. The id is derived from the content hash, so the same
bytes always get the same id (and storing them twice costs nothing). The store is shared by
the request handlers of one app, which may run on several threads, hence the lock.
"""

from __future__ import annotations

import hashlib
import threading

FAULTS: dict[str, str] = {}

#: Hex digits of the sha256 kept in an asset id: plenty to avoid collisions in one run.
_ID_HEX = 32


class AssetStore:
    """Thread-safe map of asset id -> (bytes, content type)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[bytes, str]] = {}

    def put(self, data: bytes, content_type: str) -> str:
        """Store ``data`` and return its id (deterministic: from the content and its type)."""
        digest = hashlib.sha256(content_type.encode("utf-8") + b"\0" + data).hexdigest()
        asset_id = digest[:_ID_HEX]
        with self._lock:
            self._items[asset_id] = (data, content_type)
        return asset_id

    def get(self, asset_id: str) -> tuple[bytes, str] | None:
        """The bytes and content type stored under ``asset_id``, or None when unknown."""
        with self._lock:
            return self._items.get(asset_id)
