"""Redaction: credential headers masked and every configured secret replaced by ``********``.

Applied by the transport to every recorded URL, header and body, so nothing secret reaches a
check, a message or a report.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from conformance.model import REDACTED

_MASKED_HEADERS = frozenset({"x-api-key", "api-key", "cookie", "set-cookie", "proxy-authorization"})
_AUTH_SCHEMES = frozenset({"bearer", "basic", "digest", "token", "apikey"})


class Redactor:
    """Masks credentials: credential headers, and every configured secret wherever it appears."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = set()
        for secret in secrets:
            if secret:
                forms.add(secret)
                forms.add(quote(secret, safe=""))   # the same key inside a URL
        # Longest first, so a secret that contains another is masked whole.
        self._texts = sorted(forms, key=len, reverse=True)
        self._bytes = [form.encode("utf-8") for form in self._texts]

    def add(self, secret: str) -> None:
        """Mask one more secret from now on (a key the run created)."""
        if secret and secret not in self._texts:
            forms = {secret, quote(secret, safe="")} | set(self._texts)
            self._texts = sorted(forms, key=len, reverse=True)
            self._bytes = [form.encode("utf-8") for form in self._texts]

    def text(self, value: str) -> str:
        """The string with every secret replaced by ``********``."""
        for secret in self._texts:
            value = value.replace(secret, REDACTED)
        return value

    def data(self, value: bytes) -> bytes:
        """The bytes with every secret replaced by ``********``."""
        for secret in self._bytes:
            value = value.replace(secret, REDACTED.encode())
        return value

    def header(self, name: str, value: str) -> str:
        """One header value, masked when the header carries a credential."""
        lowered = name.lower()
        if lowered in _MASKED_HEADERS:
            return REDACTED
        if lowered == "authorization":
            scheme, _, rest = value.strip().partition(" ")
            if rest.strip():
                return f"{scheme} {REDACTED}"      # keep the scheme word: it is evidence
            if scheme.lower() not in _AUTH_SCHEMES and scheme:
                return REDACTED                    # a bare token may be a key
        return self.text(value)

    def headers(self, items: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers as a dict (repeats joined with ``, ``), every value redacted."""
        result: dict[str, str] = {}
        for name, value in items:
            masked = self.header(name, value)
            result[name] = f"{result[name]}, {masked}" if name in result else masked
        return result
