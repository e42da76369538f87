"""The error tree of the suite: harness and tool problems, never a server violation.

    ConformanceError           a problem of ours or of the environment -> verdict ERROR
    +-- ConfigError            bad CLI/env/file value (names key, layer and value)
    +-- SpecError              openapi/ unreadable, unknown schema, unresolved $ref
    +-- CatalogueError         openapi/requirements.yaml malformed or an unknown id
    +-- BaselineError          malformed baseline file (with a hint)
    +-- TransportError         cannot talk to the server at all
        +-- ConnectError       refused, DNS, TLS
        +-- TransportTimeout   no answer within the bound (never shadows TimeoutError)
        +-- BudgetExceeded     the run's request budget is spent
        +-- NoAnswer           closed, reset or garbled before any status line
        +-- CircuitOpen        the breaker of this operation is open: not sent

A server that answers wrongly is never an exception here: transport records what arrived
and a check reports a Violation.
"""

from __future__ import annotations


class ConformanceError(Exception):
    """Base of every error raised by the suite itself."""


class ConfigError(ConformanceError):
    """A configuration value is unknown or invalid."""


class SpecError(ConformanceError):
    """The OpenAPI document cannot be loaded or a schema name is unknown."""


class CatalogueError(ConformanceError):
    """The requirement catalogue is malformed or an id is unknown."""


class BaselineError(ConformanceError):
    """The baseline file is malformed."""


class TransportError(ConformanceError):
    """The server could not be talked to at all."""


class ConnectError(TransportError):
    """The connection could not be made (refused, DNS, TLS)."""


class TransportTimeout(TransportError):
    """The server did not answer within the configured bound."""


class BudgetExceeded(TransportError):
    """The run's request budget is spent; no further request is sent."""


class NoAnswer(TransportError):
    """The connection closed, was reset or spoke garbled HTTP before any status line.

    Raised only where the request may not be replayed (it may create or cost something); a
    replay-safe request that gets no answer twice is recorded as an exchange instead (D30).
    """


class CircuitOpen(TransportError):
    """The circuit breaker of this (operation, streamed or not) is open; the request was not sent."""
