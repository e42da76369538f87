"""Unit tests of the reference's image engine and asset store."""

from __future__ import annotations

import base64
import hashlib
import struct
import threading
import zlib
from typing import Any

import pytest

from conformance.reference.api_error import ApiError
from conformance.reference.engines import images
from conformance.reference.engines.assets import AssetStore
from conformance.reference.faultset import FaultSet

CLEAN = FaultSet()
BASE = "http://127.0.0.1:8123/v1"


def faults(*names: str) -> FaultSet:
    return FaultSet(frozenset(names))


def generate(fault_set: FaultSet = CLEAN, store: AssetStore | None = None, **extra: Any) -> dict[str, Any]:
    request = {"model": "ref-image", "prompt": "a red fox in snow", **extra}
    store = AssetStore() if store is None else store
    return images.generate(request, fault_set, assets=store, public_base=BASE)


def parse_png(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, raw scanlines) of a PNG, checking signature, chunk CRCs and IEND."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, dict[bytes, bytes]()
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + payload)
        chunks[kind] = chunks.get(kind, b"") + payload
        pos += 12 + length
    assert b"IEND" in chunks
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_asset_store_round_trip_and_deterministic_ids() -> None:
    store = AssetStore()
    first = store.put(b"abc", "image/png")
    assert store.put(b"abc", "image/png") == first
    assert store.put(b"abc", "video/mp4") != first
    assert store.get(first) == (b"abc", "image/png")
    assert store.get("nope") is None


def test_asset_store_is_thread_safe() -> None:
    store = AssetStore()
    ids: list[str] = []
    workers = [threading.Thread(target=lambda n=n: ids.append(store.put(bytes([n]), "x/y"))) for n in range(32)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(ids)) == 32
    assert all(store.get(asset_id) is not None for asset_id in ids)


def test_png_is_real_and_colour_follows_prompt() -> None:
    width, height, raw = parse_png(images.png_bytes("x"))
    assert (width, height) == (images.IMAGE_SIDE, images.IMAGE_SIDE)
    assert len(raw) == height * (1 + 3 * width)
    assert images.png_bytes("x") != images.png_bytes("y")
    # Deterministic across processes: the bytes for a prompt are pinned (a changed encoder updates this).
    assert hashlib.sha256(images.png_bytes("x")).hexdigest() == (
        "0e83527e3967e164ce60e5d79cf87e1239213e08540dbcf3c7215d449283332a"
    )


def test_default_is_url_into_the_asset_store() -> None:
    store = AssetStore()
    answer = generate(store=store)
    (item,) = answer["data"]
    assert item["url"].startswith(BASE + "/assets/")
    data, content_type = store.get(item["url"].rsplit("/", 1)[1]) or (b"", "")
    assert content_type == "image/png"
    parse_png(data)


def test_b64_json_decodes_to_png_and_n_is_honoured() -> None:
    answer = generate(response_format="b64_json", n=3)
    payloads = [base64.b64decode(item["b64_json"]) for item in answer["data"]]
    assert len(payloads) == 3 and len(set(payloads)) == 3
    for payload in payloads:
        parse_png(payload)


def test_created_usage_and_determinism() -> None:
    answer = generate()
    assert answer == generate()
    assert isinstance(answer["created"], int) and answer["created"] != generate(prompt="other")["created"]
    usage = answer["usage"]
    details = usage["input_tokens_details"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert details["text_tokens"] + details["image_tokens"] == usage["input_tokens"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"prompt": None}, "prompt"), ({"n": 0}, "n"), ({"n": 11}, "n"), ({"response_format": "gif"}, "response_format")],
)
def test_bad_requests_are_400(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        generate(**extra)
    assert caught.value.status == 400 and caught.value.param == param


def test_empty_prompt_is_served() -> None:
    assert len(generate(prompt="")["data"]) == 1  # the spec sets no minLength on prompt


def test_fault_schema_created_is_a_string() -> None:
    answer = generate(faults("images.schema"))
    assert isinstance(answer["created"], str) and answer["data"][0]["url"]


def test_fault_b64_json_image_is_not_an_image() -> None:
    payload = base64.b64decode(
        generate(faults("images.b64-json-image"), response_format="b64_json")["data"][0]["b64_json"]
    )
    assert not payload.startswith((b"\x89PNG", b"\xff\xd8\xff", b"RIFF"))


def test_fault_response_format_gives_url_for_b64() -> None:
    (item,) = generate(faults("images.response-format"), response_format="b64_json")["data"]
    assert "url" in item and "b64_json" not in item
    assert "url" in generate(faults("images.response-format"), response_format="url")["data"][0]


def test_fault_url_fetchable_variants() -> None:
    store = AssetStore()
    missing = generate(faults("images.url-fetchable"), store=store)["data"][0]["url"]
    assert missing.startswith("http://") and store.get(missing.rsplit("/", 1)[1]) is None
    relative = generate(faults("images.url-fetchable@relative"), store=store)["data"][0]["url"]
    assert relative.startswith("/v1/assets/")


def test_fault_n_gives_one_image() -> None:
    assert len(generate(faults("images.n"), n=4)["data"]) == 1


def test_fault_usage_shape_drops_details() -> None:
    usage = generate(faults("images.usage-shape"))["usage"]
    assert "input_tokens_details" not in usage and usage["total_tokens"] > 0
