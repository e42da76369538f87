"""Unit tests of the reference's transcription and translation engine."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from conformance.reference.api_error import ApiError
from conformance.reference.engines import BinaryResult, speech, transcription
from conformance.reference.engines.transcription import UploadedFile
from conformance.reference.faultset import FaultSet

CLEAN = FaultSet()
TASKS = {"transcribe": "audio.transcription", "translate": "audio.translation"}
SRT_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)$")
VTT_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$")


def faults(*names: str) -> FaultSet:
    return FaultSet(frozenset(names))


def wav_file(seconds_speed: float = 1.0) -> UploadedFile:
    audio = speech.synthesize({"input": "x" * 150, "response_format": "wav", "speed": seconds_speed}, CLEAN)
    return UploadedFile("speech.wav", audio.body, "audio/wav")


def run(task: str, fault_set: FaultSet = CLEAN, file: UploadedFile | None = None, **fields: str) -> Any:
    upload = file if file is not None else UploadedFile("a.mp3", b"\xff\xfb" * 20_000, "audio/mpeg")
    return transcription.transcribe({"model": "ref-whisper", **fields}, upload, fault_set, task=task)


def cue_times(text: str, pattern: re.Pattern[str]) -> list[tuple[float, float]]:
    times = []
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
            times.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000))
    return times


def ordered(times: list[tuple[float, float]]) -> bool:
    return all(a <= b for a, b in times) and all(times[i][1] <= times[i + 1][0] for i in range(len(times) - 1))


def test_duration_comes_from_wav_or_length() -> None:
    assert transcription.audio_duration(wav_file(0.25).content) == pytest.approx(4.0)
    assert transcription.audio_duration(b"x" * 40_000) == pytest.approx(2.5)
    assert transcription.audio_duration(b"") == 1.0
    assert transcription.audio_duration(b"RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff") == 1.0


@pytest.mark.parametrize("task", sorted(TASKS))
def test_json_is_default_and_deterministic(task: str) -> None:
    answer = run(task)
    assert set(answer) == {"text"} and answer["text"] and answer == run(task)
    assert answer != run(task, file=UploadedFile("b.mp3", b"other bytes", "audio/mpeg"))


def test_translation_differs_from_transcription_and_is_english() -> None:
    assert run("transcribe")["text"] != run("translate")["text"]
    assert run("translate", response_format="verbose_json", language="fr")["language"] == "english"
    assert run("transcribe", response_format="verbose_json", language="fr")["language"] == "french"


@pytest.mark.parametrize("task", sorted(TASKS))
def test_text_is_plain(task: str) -> None:
    result = run(task, response_format="text")
    assert isinstance(result, BinaryResult) and result.content_type.startswith("text/plain")
    assert result.body.decode().strip() == run(task)["text"]


@pytest.mark.parametrize("task", sorted(TASKS))
def test_srt_is_numbered_and_ordered(task: str) -> None:
    result = run(task, response_format="srt", file=wav_file(0.25))
    text = result.body.decode()
    blocks = text.strip().split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == [str(n) for n in range(1, len(blocks) + 1)]
    times = cue_times(text, SRT_TIME)
    assert len(times) == len(blocks) >= 2 and ordered(times) and times[-1][1] == pytest.approx(4.0)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_vtt_has_header_and_ordered_cues(task: str) -> None:
    result = run(task, response_format="vtt")
    text = result.body.decode()
    assert result.content_type.startswith("text/vtt") and text.startswith("WEBVTT\n\n")
    times = cue_times(text, VTT_TIME)
    assert len(times) >= 2 and ordered(times)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_verbose_json_fields(task: str) -> None:
    fields = {"model": "ref-whisper", "response_format": "verbose_json", "timestamp_granularities[]": "word"}
    upload = UploadedFile("a.wav", wav_file().content, "audio/wav")
    answer: Any = transcription.transcribe(fields, upload, CLEAN, task=task)
    assert answer["task"] == task and isinstance(answer["duration"], float)
    assert answer["text"] == " ".join(segment["text"] for segment in answer["segments"])
    starts = [segment["start"] for segment in answer["segments"]]
    assert starts == sorted(starts) and [s["id"] for s in answer["segments"]] == list(range(len(starts)))
    assert answer["words"] and all(w["start"] <= w["end"] for w in answer["words"])
    json.dumps(answer)


def test_diarized_json_only_for_transcription() -> None:
    answer = run("transcribe", response_format="diarized_json")
    assert all(segment["speaker"] in {"A", "B"} for segment in answer["segments"])
    with pytest.raises(ApiError):
        run("translate", response_format="diarized_json")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_missing_file_and_unknown_format_are_400(task: str) -> None:
    with pytest.raises(ApiError) as caught:
        transcription.transcribe({"model": "ref-whisper"}, None, CLEAN, task=task)
    assert caught.value.status == 400 and caught.value.param == "file"
    with pytest.raises(ApiError) as caught:
        run(task, response_format="mp3")
    assert caught.value.status == 400 and caught.value.param == "response_format"


@pytest.mark.parametrize("task", sorted(TASKS))
def test_faults_break_their_format(task: str) -> None:
    area = TASKS[task]
    assert "text" not in run(task, faults(f"{area}.json"))
    assert isinstance(run(task, faults(f"{area}.text"), response_format="text"), dict)
    srt = run(task, faults(f"{area}.srt"), response_format="srt").body.decode()
    assert not ordered(cue_times(srt, SRT_TIME)) and srt.startswith("1\n")
    vtt = run(task, faults(f"{area}.vtt"), response_format="vtt").body.decode()
    assert not vtt.startswith("WEBVTT") and ordered(cue_times(vtt, VTT_TIME))
    verbose = run(task, faults(f"{area}.verbose-json"), response_format="verbose_json")
    assert "segments" not in verbose and verbose["text"]
    accepted = transcription.transcribe({}, None, faults(f"{area}.missing-file"), task=task)
    assert isinstance(accepted, dict) and "text" in accepted


def test_faults_of_one_task_leave_the_other_alone() -> None:
    every = faults(*transcription.FAULTS)
    assert "segments" in run("transcribe", faults("audio.translation.verbose-json"), response_format="verbose_json")
    assert run("translate", faults("audio.transcription.json")) == run("translate")
    assert len(every.names) == 12
