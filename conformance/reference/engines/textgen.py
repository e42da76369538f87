"""Deterministic text machinery shared by the chat and Responses engines.

Owns the reference's toy tokenizer (word runs and punctuation runs), the reply sentence built
from the caller's own words, cutting at a token budget or a stop sequence, splitting a text into
stream deltas whose concatenation is the text again, and the digests that make ids and
timestamps a pure function of the request. Nothing here reads a clock or a random source.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from conformance.reference.models import MODEL_CREATED

#: One token = a run of word characters or a run of punctuation (whitespace separates).
TOKEN_RE = re.compile(r"\w+|[^\w\s]+")

#: Request fields that only change how an answer is delivered, never what it says: leaving them
#: out of the content digest makes a streamed answer carry the same ids as the plain one.
DELIVERY_FIELDS = frozenset({"stream", "stream_options"})

#: How many of the caller's words a reply echoes (keeps replies short and cheap).
ECHO_WORDS = 32

#: Tokens per streamed text delta: small, so even short replies arrive in several deltas.
TOKENS_PER_DELTA = 2

_YEAR_SECONDS = 31_536_000


def digest(body: Mapping[str, Any], *, exclude: Iterable[str] = DELIVERY_FIELDS) -> str:
    """A hex SHA-256 of the request body without the ``exclude`` fields (key order ignored)."""
    skip = frozenset(exclude)
    kept = {k: v for k, v in body.items() if k not in skip}
    canonical = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sub_digest(base: str, *parts: object) -> str:
    """A digest derived from ``base`` and a few discriminators (choice index, call index, ...)."""
    text = base + "|" + "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def created_from(hex_digest: str) -> int:
    """A fixed, plausible unix timestamp derived from a digest (never the wall clock)."""
    return MODEL_CREATED + int(hex_digest[:8], 16) % _YEAR_SECONDS


def count_tokens(text: str) -> int:
    """Tokens of ``text`` under the reference tokenizer."""
    return len(TOKEN_RE.findall(text))


def cut_tokens(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut after its ``limit``-th token; the flag says whether anything was cut."""
    matches = list(TOKEN_RE.finditer(text))
    if len(matches) <= limit:
        return text, False
    if limit <= 0:
        return "", True
    return text[: matches[limit - 1].end()], True


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` cut before the earliest occurrence of any stop sequence (empty ones ignored)."""
    positions = [pos for stop in stops if stop and (pos := text.find(stop)) >= 0]
    if not positions:
        return text, False
    return text[: min(positions)], True


def stop_sequences(value: Any) -> list[str]:
    """The request's ``stop`` as a list of strings (a string, a list, or absent/null)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


def split_deltas(text: str, per: int = TOKENS_PER_DELTA) -> list[str]:
    """``text`` split at token starts into pieces of ``per`` tokens; ``"".join`` gives it back.

    Whitespace after a token travels with that token's piece.
    """
    starts = [m.start() for m in TOKEN_RE.finditer(text)]
    cuts = [starts[i] for i in range(per, len(starts), per)]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def split_fragments(text: str, size: int = 8) -> list[str]:
    """``text`` (tool-call arguments) split into fixed-size fragments; at least one piece."""
    if not text:
        return [""]
    return [text[i : i + size] for i in range(0, len(text), size)]


def content_text(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(t for t in texts if isinstance(t, str))
    return ""


def reply_text(source: str, *, variant: int = 0, lead: str = "Reference reply") -> str:
    """The natural answer to a message: a short label, then the caller's own words.

    Echoing the input lets a test pick a stop sequence it knows the answer contains, and a long
    input gives a long answer that a small ``max_tokens`` really cuts; a short one ("Say OK.")
    fits the usual budgets and finishes naturally. ``variant`` > 0 labels the alternative
    choices of ``n`` > 1 differently.
    """
    words = source.split()[:ECHO_WORDS] or ["nothing"]
    label = lead if variant == 0 else f"{lead} {variant + 1}"
    text = f"{label}: {' '.join(words)}"
    return text if text[-1] in ".!?" else text + "."


def flip_first_letter(text: str) -> str:
    """``text`` with the case of its first letter swapped (same tokens, different string)."""
    for i, char in enumerate(text):
        if char.isalpha():
            return text[:i] + char.swapcase() + text[i + 1 :]
    return text + "."
