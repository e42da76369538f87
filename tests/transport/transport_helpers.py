"""Shared values of the transport tests: the test secrets and tight settings."""

from __future__ import annotations

from dataclasses import replace

from conformance.config import AuthKeys, Budgets, Settings, Timeouts

SECRET = "sk-TESTSECRET-9f8e7d"
EXTRA_SECRET = "sk-DISABLED-SECRET-1a2b3c"

#: Small bounds so every test ends well under 2 s; the assertions add a margin for slow CI.
TIGHT = Timeouts(connect=0.5, read=0.3, request=0.6, stream=0.6)


def make_settings(base_url: str, **changes: object) -> Settings:
    """Settings for ``base_url`` with the tight bounds, the test secret and fast 429 retries."""
    settings = Settings(
        base_url=base_url,
        api_key=SECRET,
        keys=AuthKeys(disabled=EXTRA_SECRET),
        timeouts=TIGHT,
        budgets=Budgets(max_requests=50, retries_429=2, max_retry_after=0.2),
    )
    return replace(settings, **changes)  # type: ignore[arg-type]
