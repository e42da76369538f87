"""Discovering a gateway for a first run: ``nexhina-conformance init``.

Owns the probes (one cheap request per capability and candidate model), the `Discovery`
they add up to, the commented target file written from it, and the hint a run without a
target file gives (which models the target offers, and what to do next). Imports config
and transport only; it never judges an answer (that is the suites' job): a probe only asks
"did this model answer this endpoint with a 2xx?".
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.config import CAPABILITIES, Settings, resolve
from conformance.errors import BudgetExceeded, TransportError
from conformance.model import Exchange
from conformance.transport import Transport

__all__ = ["Discovery", "candidates", "discover", "offered_models", "probe_for", "probe_settings",
           "render_target_file"]

#: Capabilities whose only probe is a paid generation (made only with ``--probe-paid``).
PAID: frozenset[str] = frozenset({"images", "video"})
#: Model-name fragments that make a model a likely candidate for a capability (probed first).
_HINTS: Mapping[str, tuple[str, ...]] = {
    "chat": ("chat", "gpt", "turbo", "instruct", "llama", "claude", "qwen", "mistral", "gemini", "deepseek"),
    "responses": ("chat", "gpt", "turbo", "instruct", "llama", "claude", "qwen", "mistral", "gemini", "o1", "o3"),
    "embeddings": ("embed", "bge", "e5"),
    "images": ("image", "dall", "img", "flux", "diffusion", "sd"),
    "speech": ("tts", "speech", "voice"),
    "transcription": ("whisper", "transcri", "asr", "stt"),
    "translation": ("whisper", "transl", "asr", "stt"),
    "video": ("video", "sora", "veo", "kling"),
    "moderation": ("moderat", "guard", "safety"),
    "rerank": ("rerank", "rank"),
}
#: Features a capability's base feature is called in the catalogue.
_BASE_FEATURE: Mapping[str, str] = {
    "chat": "chat", "responses": "responses", "embeddings": "embeddings", "images": "images",
    "speech": "audio.speech", "transcription": "audio.transcription", "translation": "audio.translation",
    "video": "video", "moderation": "moderation", "rerank": "rerank",
}
#: Features that need a key in a given state or a declared limit: never discoverable.
UNDISCOVERABLE: Mapping[str, str] = {
    "auth.disabled-key": "needs a disabled key: [keys] disabled",
    "auth.expired-key": "needs an expired key: [keys] expired",
    "auth.exhausted-key": "needs a key whose quota is spent: [keys] exhausted",
    "auth.model-restricted-key": "needs [keys] model_restricted and model_restricted_model",
    "rate-limit": "needs [keys] rate_limited and [limits] rate_limit_requests / rate_limit_window_seconds",
    "body-limit": "needs [limits] body_limit_bytes",
    "determinism": "a deterministic target (same input, same output) is a claim to make, not to probe",
}
_PROMPT = "Reply with OK."
_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@dataclass
class Discovery:
    """What ``init`` found: the listed models, a model per capability, the features and notes.

    ``features`` maps a feature to how it was found (``probed: ...`` or ``GUESSED: ...``);
    ``suggested`` holds paid capabilities left unprobed, with the model their name suggests.
    """

    base_url: str
    listed: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)
    suggested: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    requests: int = 0


def probe_settings(base_url: str, api_key: str | None, environ: Mapping[str, str], max_requests: int) -> Settings:
    """The settings of the probing transport (command line over environment, a small budget)."""
    cli: dict[str, object] = {"target.base_url": base_url, "budgets.max_requests": max_requests,
                              "target.features": "models"}
    if api_key:
        cli["target.api_key"] = api_key
    return resolve(cli, environ, {}, known_features={"models"})


def candidates(capability: str, listed: list[str], *, hinted_only: bool = False) -> list[str]:
    """The listed models in probing order for ``capability``: name hints first, then the rest
    (``hinted_only``: only the models whose name hints at the capability)."""
    hints = _HINTS[capability]
    hinted = [m for m in listed if any(h in m.lower() for h in hints)]
    return hinted if hinted_only else hinted + [m for m in listed if m not in hinted]


def probe_for(capability: str, max_tokens: int) -> Callable[[Transport, str], Exchange]:
    """The cheap probe of ``capability`` (images and video: a paid generation)."""
    return _probes(max_tokens)[capability]


def _ok(exchange: Exchange) -> bool:
    return exchange.status is not None and 200 <= exchange.status < 300


def _route_missing(exchange: Exchange) -> bool:
    """A 404/405 that is about the path, not the model: the gateway does not route this capability."""
    if exchange.status not in (404, 405):
        return False
    try:
        error = exchange.json().get("error", {})
    except (ValueError, AttributeError):
        return True
    if not isinstance(error, dict):
        return True
    text = json.dumps(error).lower()
    return error.get("param") != "model" and "model" not in text


def _tiny_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"\x10\x00\xf0\xff" * 800)   # 0.1 s of a quiet square wave
    return buffer.getvalue()


def _json_probe(path: str, body: Callable[[str], dict[str, Any]]) -> Callable[[Transport, str], Exchange]:
    return lambda transport, model: transport.request("POST", path, json=body(model))


def _audio_probe(path: str) -> Callable[[Transport, str], Exchange]:
    def probe(transport: Transport, model: str) -> Exchange:
        files = {"file": ("probe.wav", _tiny_wav(), "audio/wav")}
        return transport.request("POST", path, data={"model": model}, files=files)
    return probe


def _probes(max_tokens: int) -> dict[str, Callable[[Transport, str], Exchange]]:
    """One cheap request per capability (the paid ones are used only with ``--probe-paid``)."""
    chat = {"messages": [{"role": "user", "content": _PROMPT}], "max_tokens": 1}
    return {
        "chat": _json_probe("/chat/completions", lambda m: {"model": m, **chat}),
        "responses": _json_probe("/responses", lambda m: {"model": m, "input": _PROMPT,
                                                          "max_output_tokens": max_tokens}),
        "embeddings": _json_probe("/embeddings", lambda m: {"model": m, "input": "ok"}),
        "moderation": _json_probe("/moderations", lambda m: {"model": m, "input": "ok"}),
        "rerank": _json_probe("/rerank", lambda m: {"model": m, "query": "ok", "documents": ["ok", "no"]}),
        "speech": _json_probe("/audio/speech", lambda m: {"model": m, "input": "ok", "voice": "alloy"}),
        "transcription": _audio_probe("/audio/transcriptions"),
        "translation": _audio_probe("/audio/translations"),
        "images": _json_probe("/images/generations", lambda m: {"model": m, "prompt": "a small red dot",
                                                                "n": 1, "response_format": "url"}),
        "video": _json_probe("/video/generations", lambda m: {"model": m, "prompt": "a small red dot"}),
    }


def offered_models(transport: Transport) -> list[str]:
    """The model ids ``GET /models`` lists (empty when it answers no ModelList)."""
    exchange = transport.request("GET", "/models")
    if not _ok(exchange):
        return []
    try:
        data = exchange.json().get("data", [])
    except (ValueError, AttributeError):
        return []
    return sorted({str(item["id"]) for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)})


def discover(transport: Transport, *, max_tokens: int = 16, probe_paid: bool = False,
             max_per_capability: int = 3) -> Discovery:
    """Probe the gateway behind ``transport`` and say what it serves.

    Args:
        transport: the client (its request budget bounds the probing).
        max_tokens: the token bound of the probes that need more than one token.
        probe_paid: also probe images and video (each probe is a paid generation).
        max_per_capability: at most this many candidate models are probed per capability.

    Stops probing (and says so in ``notes``) when the transport's request budget is spent.
    """
    found = Discovery(base_url=transport.base_url)
    try:
        found.listed = offered_models(transport)
        if found.listed:
            found.features["models"] = "probed: GET /models listed models"
        found.features["auth"] = "GUESSED: every gateway checks keys (not probed)"
        found.features["errors"] = "GUESSED: every gateway answers errors (not probed)"
        probes = _probes(max_tokens)
        for capability in CAPABILITIES:
            if capability in PAID and not probe_paid:
                hinted = [m for m in found.listed if any(h in m.lower() for h in _HINTS[capability])]
                if hinted:
                    found.suggested[capability] = hinted[0]
                continue
            _probe_capability(transport, found, capability, probes[capability], max_per_capability)
        _probe_options(transport, found, max_tokens)
    except BudgetExceeded:
        found.notes.append("probing stopped at the request budget (--max-requests): some capabilities "
                           "were not probed")
    except TransportError as exc:
        found.notes.append(f"probing stopped: {exc}")
    found.requests = transport.sent
    return found


def _probe_capability(transport: Transport, found: Discovery, capability: str,
                      probe: Callable[[Transport, str], Exchange], limit: int) -> None:
    for model in candidates(capability, found.listed)[:limit]:
        exchange = probe(transport, model)
        if _ok(exchange):
            found.models[capability] = model
            found.features[_BASE_FEATURE[capability]] = f"probed: {model} answered {exchange.status}"
            if capability == "chat" and _finished_by_length(exchange):
                found.features["chat.limits"] = "probed: max_tokens 1 ended the answer with finish_reason length"
            if capability == "images" and _has_url(exchange):
                found.features["images.url"] = "probed: response_format url gave a url"
            return
        if _route_missing(exchange):
            return


def _finished_by_length(exchange: Exchange) -> bool:
    try:
        return bool(exchange.json()["choices"][0]["finish_reason"] == "length")
    except (ValueError, KeyError, IndexError, TypeError):
        return False


def _has_url(exchange: Exchange) -> bool:
    try:
        return isinstance(exchange.json()["data"][0]["url"], str)
    except (ValueError, KeyError, IndexError, TypeError):
        return False


def _probe_options(transport: Transport, found: Discovery, max_tokens: int) -> None:
    """One request per optional chat/responses feature, on the model that answered."""
    chat_model = found.models.get("chat")
    base: dict[str, Any] = {"messages": [{"role": "user", "content": _PROMPT}], "max_tokens": 1}
    if chat_model is not None:
        options: dict[str, dict[str, Any]] = {
            "chat.tools": {"tools": [_TOOL], "max_tokens": max_tokens},
            "chat.n": {"n": 2},
            "chat.stop": {"stop": ["\n"]},
            "chat.response-format": {"response_format": {"type": "json_object"},
                                     "messages": [{"role": "user", "content": "Reply with a JSON object."}],
                                     "max_tokens": max_tokens},
        }
        _stream_probe(transport, found, "chat.streaming", "/chat/completions",
                      {"model": chat_model, **base, "stream": True})
        for feature, extra in options.items():
            exchange = transport.request("POST", "/chat/completions", json={"model": chat_model, **base, **extra})
            if _ok(exchange):
                found.features[feature] = f"probed: {chat_model} accepted {', '.join(sorted(extra))}"
    responses_model = found.models.get("responses")
    if responses_model is not None:
        _stream_probe(transport, found, "responses.streaming", "/responses",
                      {"model": responses_model, "input": _PROMPT, "stream": True,
                       "max_output_tokens": max_tokens})


def _stream_probe(transport: Transport, found: Discovery, feature: str, path: str, body: dict[str, Any]) -> None:
    exchange = transport.stream("POST", path, json=body)
    if _ok(exchange) and exchange.content_type == "text/event-stream":
        found.features[feature] = f"probed: stream true answered text/event-stream on {path}"


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def render_target_file(found: Discovery, *, api_key_env: str = "NEXHINA_API_KEY") -> str:
    """The commented target file (TOML) of a `Discovery`; every guess is marked GUESSED."""
    lines = [
        "# Target file written by `nexhina-conformance init` (review it: every GUESSED line is a guess).",
        f"# It sent {found.requests} request(s) to discover {len(found.listed)} listed model(s).",
        *(f"# NOTE: {note}" for note in found.notes),
        "[target]",
        f"base_url = {_toml(found.base_url)}",
        "# The key is not written here: the run reads it from this environment variable.",
        f"api_key_env = {_toml(api_key_env)}",
        "features = [",
        *(f"  {_toml(name)},   # {how}" for name, how in sorted(found.features.items())),
        "]",
        "# Not declared (their tests are NOT_SUPPORTED until you declare them):",
        *(f"#   {name}: {why}" for name, why in UNDISCOVERABLE.items()),
        *(f"#   {_BASE_FEATURE[cap]}: not probed (a probe is a paid generation; rerun with --probe-paid)"
          for cap in sorted(PAID) if cap not in found.models),
        "",
        "[models]",
        *(f"{cap} = {_toml(model)}" for cap, model in sorted(found.models.items())),
        *(f"# {cap} = {_toml(model)}   # GUESSED from its name, not probed (paid); declare it with "
          f"the feature {_BASE_FEATURE[cap]!r}" for cap, model in sorted(found.suggested.items())
          if cap not in found.models),
        "",
        f"# Models GET /models listed: {', '.join(found.listed) or '(none)'}",
    ]
    return "\n".join(lines) + "\n"
