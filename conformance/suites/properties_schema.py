"""Schemathesis side of the property suite: the schema, its configuration, our own check, adapters.

Owns:

- :func:`load_schema` / :func:`loaded_schema`, the spec loaded by Schemathesis (once per process,
  when the first property test runs) and configured for cheap, reproducible runs:
  positive and negative modes; examples, coverage and fuzzing phases; no example database;
  undocumented-method probes limited to PUT and PATCH (GET on a POST path can hit a real
  listing on OpenAI-like APIs, DELETE on ``/models/{model}`` deletes a fine-tuned model);
  negative cases count as refused with any 4xx but 422 (D5).
- :func:`nexhina_error_envelope`, a check registered with Schemathesis that holds every answer
  to the error envelope and forbids an error under a 2xx, reusing ``conformance.checks.errors``;
- :func:`response_from_exchange` / :func:`exchange_from_response`, the adapters between our
  :class:`~conformance.model.Exchange` and Schemathesis' ``Response``;
- :func:`failure_facts`, which reduces a Schemathesis failure to plain data for
  :func:`conformance.checks.properties.failure_to_violations`;
- :func:`operation_test`, which builds one operation's Hypothesis test when its item runs (never
  at collection) and applies the run's settings (examples per operation, seed).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import re
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import hypothesis
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.core.failures import Failure

from conformance.checks.errors import check_error_envelope, check_no_error_in_2xx
from conformance.checks.properties import (
    CONTENT_TYPE,
    INVALID_KEY,
    MISSING_AUTH,
    NEGATIVE,
    POSITIVE,
    WRONG_METHOD,
    FailureFacts,
)
from conformance.model import Exchange, Violation
from conformance.spec import load_spec

if TYPE_CHECKING:
    from schemathesis.schemas import BaseSchema

    from conformance.config import Settings

CheckFunction = Callable[..., "bool | None"]
#: A generated case of any operation (Schemathesis' Case is generic in its operation type).
AnyCase = schemathesis.Case[Any]

#: Undocumented methods the coverage phase probes (safe on every OpenAI-like path).
UNEXPECTED_METHODS = frozenset({"put", "patch"})
#: Statuses that count as "refused" for a negative case: every 4xx except 422 (D5: 400, not 422).
NEGATIVE_REFUSALS = tuple(str(code) for code in range(400, 500) if code != 422)
#: Hypothesis health checks that do not apply: the fixtures are per operation on purpose,
#: and large request schemas are slow to draw from.
_SUPPRESSED = (
    hypothesis.HealthCheck.function_scoped_fixture,
    hypothesis.HealthCheck.too_slow,
    hypothesis.HealthCheck.filter_too_much,
    hypothesis.HealthCheck.data_too_large,
    hypothesis.HealthCheck.large_base_example,
)
_EVENT = re.compile(r"Event #(\d+):")


def load_schema() -> BaseSchema:
    """The spec as a Schemathesis schema, configured for the property suite.

    Built from the document `conformance.spec` already parsed (libyaml; a copy, Schemathesis may
    change it) rather than from the file: the same document without a second, pure-Python parse
    (about 0.2 s). It has no reference to another file, so it needs no location.
    """
    schema = schemathesis.openapi.from_dict(copy.deepcopy(load_spec()))
    config = schema.config
    config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        database="none",
        allow_x00=False,
        codec="utf-8",
        no_shrink=True,       # the test never raises on a finding, so there is nothing to shrink
        unique_inputs=True,   # never pay twice for the same request
    )
    config.phases.update(phases=["examples", "coverage", "fuzzing"])
    config.phases.coverage.unexpected_methods = set(UNEXPECTED_METHODS)
    config.checks.negative_data_rejection.expected_statuses = list(NEGATIVE_REFUSALS)
    return schema


class ConformanceFailure(Failure):
    """A finding of our own registered check: it carries catalogue violations directly."""

    code = "ST901"
    kind_title = "Nexhina error envelope"

    def __init__(self, *, operation: str, violations: list[Violation]) -> None:
        message = "\n".join(
            f"{v.requirement} at {v.where}: expected {v.expected}; got {v.actual}" for v in violations
        )
        super().__init__(operation=operation, message=message)
        self.violations = tuple(violations)

    @property
    def _unique_key(self) -> str:
        return self.message


@schemathesis.check
def nexhina_error_envelope(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                           case: AnyCase) -> bool | None:
    """Every 4xx/5xx carries the error envelope (D4) and no 2xx is an error in disguise."""
    exchange = exchange_from_response(response)
    found = [*check_error_envelope(exchange), *check_no_error_in_2xx(exchange)]
    if found:
        raise ConformanceFailure(operation=case.operation.label, violations=found)
    return None


_BASE_CHECKS: tuple[CheckFunction, ...] = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    nexhina_error_envelope,
)


def checks_for(kind: str, *, multipart: bool) -> list[CheckFunction]:
    """The Schemathesis checks that judge one kind of case.

    ``negative_data_rejection`` is off for multipart operations: form fields travel as text,
    so many "invalid" values become valid on the wire. ``ignored_auth`` is not here: the suite
    sends that probe itself through the run's transport (budget, bounds, redaction).
    """
    extra: dict[str, list[CheckFunction]] = {
        POSITIVE: [positive_data_acceptance],
        NEGATIVE: [] if multipart else [negative_data_rejection],
        MISSING_AUTH: [missing_required_header],
        WRONG_METHOD: [unsupported_method],
        CONTENT_TYPE: [],
        INVALID_KEY: [],
    }
    return [*_BASE_CHECKS, *extra[kind]]


# --------------------------------------------------------------------------- adapters


def response_from_exchange(exchange: Exchange) -> schemathesis.Response:
    """A Schemathesis ``Response`` holding what our transport recorded (credentials masked)."""
    request = requests.Request(
        method=exchange.method,
        url=exchange.url,
        headers=dict(exchange.request_headers),
        data=exchange.request_body or None,
    ).prepare()
    headers: dict[str, list[str]] = {}
    for name, value in exchange.response_headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return schemathesis.Response(
        status_code=exchange.status if exchange.status is not None else 0,
        headers=headers,
        content=exchange.body,
        request=request,
        elapsed=exchange.elapsed,
        verify=True,
        stream_cut_short=exchange.outcome != "complete",
    )


def exchange_from_response(response: schemathesis.Response) -> Exchange:
    """Our ``Exchange`` view of a Schemathesis ``Response`` (for checks in conformance.checks)."""
    body = response.request.body
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return Exchange(
        method=str(response.request.method),
        url=str(response.request.url),
        request_headers={str(k): v if isinstance(v, str) else v.decode("latin-1")
                         for k, v in response.request.headers.items()},
        request_body=raw if isinstance(raw, bytes) else None,
        status=response.status_code,
        response_headers={name: ", ".join(values) for name, values in response.headers.items()},
        body=response.content,
        elapsed=response.elapsed,
    )


def failure_facts(failure: Failure, exchange: Exchange) -> FailureFacts:
    """Plain facts of one Schemathesis failure about the response recorded in ``exchange``."""
    facts: dict[str, Any] = {
        "code": failure.code,
        "title": str(failure.title),
        "message": str(failure.message),
        "status": exchange.status if exchange.status is not None else 0,
        "media_type": exchange.content_type,
    }
    if isinstance(failure, ConformanceFailure):
        facts["violations"] = failure.violations
    if failure.code == "ST108":
        facts["instance_path"] = tuple(getattr(failure, "instance_path", ()) or ())
        facts["instance"] = getattr(failure, "instance", None)
        event = _EVENT.search(facts["message"])
        facts["event_index"] = int(event.group(1)) if event else None
        if facts["title"].startswith("Response header"):
            facts["header"] = facts["title"]
    if failure.code == "ST107":
        facts["header"] = ",".join(getattr(failure, "missing_headers", ()))
    if failure.code == "ST204":
        facts["reason"] = getattr(failure, "failure_reason", None)
    return FailureFacts(**facts)


# --------------------------------------------------------------------------- one operation's test


@functools.cache
def loaded_schema() -> BaseSchema:
    """The configured schema, loaded once per process (the first property test that runs pays it)."""
    keep_hypothesis_files_in_cache()
    return load_schema()


def keep_hypothesis_files_in_cache() -> None:
    """Hypothesis keeps its files in the user's cache directory, not in the current one (D124).

    Its Unicode tables take it about 0.8 s of CPU to build; kept in ``./.hypothesis`` they were
    built again by every run started from another directory, and left a directory behind
    there. ``HYPOTHESIS_STORAGE_DIRECTORY`` still wins when set.
    """
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    from conformance.suites.properties_cache import cache_root

    set_hypothesis_home_dir(cache_root() / "hypothesis")


def operation_test(label: str, settings: Settings) -> Callable[..., None]:
    """The Hypothesis test of one operation (``"POST /chat/completions"``), built now, configured for the run.

    Built as Schemathesis' pytest plugin builds a ``@schema.parametrize()`` item (examples,
    coverage and fuzzing phases), but at run time and for this operation only: the item's
    collection builds nothing. Call it with ``properties=`` the run object; it calls
    ``properties.run(case)`` for every case. The fuzzing phase draws ``properties.max_examples``
    cases from a seed derived from ``properties.seed`` (the same cases whatever the process).
    """
    from schemathesis.checks import load_all_checks
    from schemathesis.generation.feedback import FeedbackSources
    from schemathesis.pytest._test_builder import build_operation_test
    from schemathesis.python._constants.orchestrator import make_constants_value_source

    schema = loaded_schema()
    method, path = label.split(" ", 1)
    api_operation = schema[path][method]
    load_all_checks()

    def send_case(case: AnyCase, properties: Any) -> None:
        properties.run(case)

    func = build_operation_test(
        config=schema.config,
        operation=api_operation,
        test_func=schema.parametrize()(send_case),
        given_kwargs={},
        feedback=FeedbackSources(constants_value_source=make_constants_value_source(schema)),
    )
    current = getattr(func, "_hypothesis_internal_use_settings", None)
    hypothesis.settings(
        current,
        max_examples=settings.properties.max_examples,
        database=None,
        deadline=None,
        suppress_health_check=_SUPPRESSED,
    )(func)
    hypothesis.seed(operation_seed(settings.properties.seed, api_operation.label))(func)
    return func


@contextlib.contextmanager
def only_spec_values() -> Iterator[None]:
    """While it lasts, Hypothesis draws no literal of the local modules Python happens to have loaded (D123).

    Hypothesis mixes into its draws the string and number literals of every "local" module in
    ``sys.modules`` (ours, when the package is not in site-packages), rescanned whenever a module
    is imported. Cases would then depend on which of our modules a process imported so far (lazy
    imports, a sending thread's first import in the middle of a draw, an editable versus an
    installed package), not only on the spec, the seed and the example count. Hypothesis has no
    setting for it: its module-level lookup is replaced by an empty pool, and its cache of
    permitted constants emptied on the way in and out.
    """
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    original = providers._get_local_constants
    empty = Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def operation_seed(seed: int, label: str) -> int:
    """A per-operation seed derived from the run's seed (stable across processes)."""
    return (seed * 1_000_003 + zlib.crc32(label.encode("utf-8"))) % (2**32)
