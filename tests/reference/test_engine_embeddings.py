"""Unit tests of the reference's embeddings engine and of the fault catalogue of the media engines."""

from __future__ import annotations

import base64
import functools
import math
import struct
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.reference.api_error import ApiError
from conformance.reference.engines import (
    assets,
    embeddings,
    images,
    moderation,
    rerank,
    speech,
    transcription,
    video,
)
from conformance.reference.faultset import FaultSet
from conformance.reference.models import EMBEDDING_DIMENSIONS

CLEAN = FaultSet()
MODULES = (assets, embeddings, images, speech, transcription, video, moderation, rerank)
AREAS = ("embeddings.", "images.", "audio.", "video.", "moderation.", "rerank.")


def faults(*names: str) -> FaultSet:
    return FaultSet(frozenset(names))


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "ref-embed", "input": ["hello world", "second input"], **extra}


# --- the fault catalogue ------------------------------------------------------------------------------


@functools.cache
def _catalogue() -> dict[str, str]:
    path = Path(__file__).resolve().parents[2] / "openapi" / "requirements.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["requirements"]
    return {entry["id"]: entry["level"] for entry in entries if entry["id"].startswith(AREAS)}


def test_every_fault_names_a_known_requirement() -> None:
    catalogue = _catalogue()
    names = [name for module in MODULES for name in module.FAULTS]
    assert len(names) == len(set(names))
    unknown = [name for name in names if name.split("@")[0] not in catalogue]
    assert unknown == []
    assert all(text.strip() for module in MODULES for text in module.FAULTS.values())


def test_every_requirement_of_the_media_areas_has_a_fault() -> None:
    covered = {name.split("@")[0] for module in MODULES for name in module.FAULTS}
    assert sorted(set(_catalogue()) - covered) == []


# --- clean behaviour ----------------------------------------------------------------------------------


def test_same_input_same_vectors_and_unit_norm() -> None:
    first, second = embeddings.create(body(), CLEAN), embeddings.create(body(), CLEAN)
    assert first == second
    assert first["object"] == "list" and first["model"] == "ref-embed"
    vectors = [item["embedding"] for item in first["data"]]
    assert vectors[0] != vectors[1]
    for vector in vectors:
        assert len(vector) == EMBEDDING_DIMENSIONS
        assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, abs_tol=1e-6)
        assert all(struct.unpack("<f", struct.pack("<f", v))[0] == v for v in vector)  # float32-exact


@pytest.mark.parametrize(
    ("value", "count"),
    [("one string", 1), (["a", "b", "c"], 3), ([1, 2, 3], 1), ([[1, 2], [3], [4, 5, 6]], 3)],
    ids=["string", "strings", "tokens", "token-lists"],
)
def test_input_forms_give_one_item_per_input(value: object, count: int) -> None:
    answer = embeddings.create(body(input=value), CLEAN)
    assert [item["index"] for item in answer["data"]] == list(range(count))
    assert all(item["object"] == "embedding" for item in answer["data"])
    usage = answer["usage"]
    assert usage["prompt_tokens"] == usage["total_tokens"] > 0


def test_token_usage_counts_words_and_tokens() -> None:
    assert embeddings.create(body(input="three words here"), CLEAN)["usage"]["prompt_tokens"] == 3
    assert embeddings.create(body(input=[[1, 2], [3]]), CLEAN)["usage"]["prompt_tokens"] == 3


def test_dimensions_truncate_and_renormalise() -> None:
    answer = embeddings.create(body(dimensions=16), CLEAN)
    for item in answer["data"]:
        assert len(item["embedding"]) == 16
        assert math.isclose(math.sqrt(sum(v * v for v in item["embedding"])), 1.0, abs_tol=1e-6)


@pytest.mark.parametrize("dims", [EMBEDDING_DIMENSIONS + 1, 0])
def test_dimensions_out_of_range_is_400(dims: int) -> None:
    with pytest.raises(ApiError) as caught:
        embeddings.create(body(dimensions=dims), CLEAN)
    assert caught.value.status == 400 and caught.value.param == "dimensions"


def test_base64_decodes_to_the_float_answer() -> None:
    floats = embeddings.create(body(dimensions=32), CLEAN)
    encoded = embeddings.create(body(dimensions=32, encoding_format="base64"), CLEAN)
    for as_float, as_text in zip(floats["data"], encoded["data"], strict=True):
        raw = base64.b64decode(as_text["embedding"])
        decoded = [v for (v,) in struct.iter_unpack("<f", raw)]
        assert decoded == pytest.approx(as_float["embedding"], abs=1e-6)
        assert embeddings.decode_base64(as_text["embedding"]) == as_float["embedding"]


@pytest.mark.parametrize(
    "value", ["", [], ["ok", ""], [[1], []]], ids=["empty", "no-items", "empty-str", "empty-tokens"]
)
def test_empty_input_is_400(value: object) -> None:
    with pytest.raises(ApiError) as caught:
        embeddings.create(body(input=value), CLEAN)
    assert caught.value.status == 400 and caught.value.param == "input"


@pytest.mark.parametrize("value", [None, 5, [1.5], [{"text": "x"}]])
def test_unknown_input_shape_is_400(value: object) -> None:
    with pytest.raises(ApiError):
        embeddings.create(body(input=value), CLEAN)


# --- faults -------------------------------------------------------------------------------------------


def test_fault_schema_drops_model_and_renames_object() -> None:
    answer = embeddings.create(body(), faults("embeddings.schema"))
    assert "model" not in answer and answer["object"] != "list"
    assert [item["index"] for item in answer["data"]] == [0, 1]


@pytest.mark.parametrize("value", [[1, 2, 3], [[1, 2], [3]]])
def test_fault_input_forms_rejects_token_arrays(value: object) -> None:
    with pytest.raises(ApiError) as caught:
        embeddings.create(body(input=value), faults("embeddings.input-forms"))
    assert caught.value.status == 400
    assert embeddings.create(body(input="text"), faults("embeddings.input-forms"))["data"]


def test_fault_one_per_input_shifts_indexes() -> None:
    answer = embeddings.create(body(input="solo"), faults("embeddings.one-per-input"))
    assert [item["index"] for item in answer["data"]] == [1]


def test_fault_equal_dimensions_shortens_the_last_vector() -> None:
    answer = embeddings.create(body(), faults("embeddings.equal-dimensions"))
    lengths = [len(item["embedding"]) for item in answer["data"]]
    assert lengths == [EMBEDDING_DIMENSIONS, EMBEDDING_DIMENSIONS - 1]
    # A dimensions request stays sound, so that embeddings.dimensions does not fail as well.
    sized = embeddings.create(body(dimensions=8), faults("embeddings.equal-dimensions"))
    assert {len(item["embedding"]) for item in sized["data"]} == {8}


def test_fault_dimensions_is_ignored() -> None:
    for dims in (8, EMBEDDING_DIMENSIONS + 10):
        answer = embeddings.create(body(dimensions=dims), faults("embeddings.dimensions"))
        assert {len(item["embedding"]) for item in answer["data"]} == {EMBEDDING_DIMENSIONS}


def test_fault_base64_is_big_endian() -> None:
    floats = embeddings.create(body(), CLEAN)["data"][0]["embedding"]
    text = embeddings.create(body(encoding_format="base64"), faults("embeddings.base64"))["data"][0]["embedding"]
    big = [v for (v,) in struct.iter_unpack(">f", base64.b64decode(text))]
    assert big == floats
    assert embeddings.decode_base64(text) != pytest.approx(floats, abs=1e-6)


def test_fault_usage_variants() -> None:
    partial = embeddings.create(body(), faults("embeddings.usage"))["usage"]
    assert "prompt_tokens" in partial and "total_tokens" not in partial


@pytest.mark.parametrize("value", ["", [], ["ok", ""]])
def test_fault_empty_input_is_accepted(value: object) -> None:
    answer = embeddings.create(body(input=value), faults("embeddings.empty-input"))
    assert len(answer["data"]) == (len(value) if isinstance(value, list) else 1)
