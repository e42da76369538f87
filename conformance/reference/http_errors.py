"""How the reference writes error answers: the envelope, and the faults that bend it.

Owns ``render_error`` (ApiError -> Response, applying the envelope faults of the request),
``Answer`` (an already-built response that ends the pipeline early) and the constructors of
the errors the HTTP layer raises itself (unknown path, wrong method, auth, limits).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.responses import Response

from conformance.reference.api_error import ApiError
from conformance.reference.faultset import FaultSet


@dataclass(frozen=True)
class HttpError(ApiError):
    """An ApiError whose answer also carries headers (Allow, Retry-After)."""

    headers: tuple[tuple[str, str], ...] = ()


class Answer(Exception):
    """A finished response that short-circuits the pipeline (faults answering off-envelope)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def json_response(payload: object, status: int, *, media_type: str = "application/json",
                  headers: Mapping[str, str] | None = None) -> Response:
    """A JSON body with an explicit media type (faults may label JSON as something else)."""
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type=media_type, headers=dict(headers or {}))


def render_error(error: ApiError, faults: FaultSet, *, headers: Mapping[str, str] | None = None) -> Response:
    """The error envelope of ``error`` as a response, bent by the active envelope faults.

    The envelope faults bend 400 answers only (a request-validation layer with its own error
    writer, as gateways have shipped): answers whose codes other requirements grade (401,
    404, 429) keep their envelope, so each fault breaks its own requirement alone.
    """
    payload: dict[str, object] = error.envelope()
    bent = error.status == 400
    if bent and faults.on("errors.envelope-fields-present"):
        payload = {"error": {"message": error.message, "type": error.type}}
    if bent and faults.on("errors.envelope-shape"):
        payload = {"error": error.message}
    media_type = "text/plain" if bent and faults.on("errors.envelope-content-type") else "application/json"
    return json_response(payload, error.status, media_type=media_type, headers=headers)


def unknown_path(method: str, path: str) -> ApiError:
    """404 for a path the API does not have."""
    return ApiError(404, f"Invalid URL ({method} {path})", code="not_found")


def method_not_allowed(method: str, path: str, allowed: list[str]) -> HttpError:
    """405 for a known path with a method it does not serve, with its Allow header."""
    return HttpError(
        405,
        f"Method {method} not allowed on {path}; allowed: {', '.join(allowed)}",
        code="method_not_allowed",
        headers=(("Allow", ", ".join(allowed)),),
    )


def missing_key() -> ApiError:
    """401: no Authorization header."""
    return ApiError(
        401,
        "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
        code="missing_api_key",
    )


def malformed_header() -> ApiError:
    """401: an Authorization header that is not 'Bearer <key>'."""
    return ApiError(
        401,
        "Malformed Authorization header: expected 'Bearer <key>' with a key and no whitespace in it.",
        code="invalid_authorization_header",
    )


def body_too_large(limit: int) -> ApiError:
    """413: the request body is over the configured limit."""
    return ApiError(413, f"Request body too large: the limit is {limit} bytes.", code="request_too_large")


def model_not_found(model: object, capability: str) -> ApiError:
    """404: the model is not served for this capability."""
    return ApiError(
        404,
        f"The model {model!r} does not exist or is not available for {capability}.",
        param="model",
        code="model_not_found",
    )
