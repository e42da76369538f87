"""Unit tests of conformance.checks.relay_media on canned records (no network): each violation
found and not found, and evidence that never shows binary."""

from __future__ import annotations

import hashlib
import json

from conformance.checks import relay_media
from conformance.checks.relay_media import FilePart

REQ = "relay.forwarding.transcription"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200))
SENT = FilePart("nxc-clip.wav", "audio/wav", WAV)
FIELDS = {"model": "relay-whisper", "language": "en", "prompt": "Spelling. M", "temperature": "0.2",
          "response_format": "srt"}


def ids(findings: object) -> list[str]:
    """The requirement ids of a check's violations."""
    return [v.requirement for v in findings]  # type: ignore[attr-defined]


def test_form_fields_kept_pass_and_the_model_may_be_mapped() -> None:
    found = relay_media.check_form_forwarded(FIELDS, {**FIELDS, "model": "up-whisper"}, requirement=REQ)
    assert ids(found) == [] and found.judged == {REQ}


def test_a_dropped_or_changed_form_field_fails() -> None:
    received = {k: v for k, v in FIELDS.items() if k != "language"} | {"temperature": "0"}
    found = relay_media.check_form_forwarded(FIELDS, received, requirement=REQ)
    assert [v.where for v in found] == ["upstream form field language", "upstream form field temperature"]
    assert found[0].actual == "<absent>"


def test_no_form_upstream_fails() -> None:
    found = relay_media.check_form_forwarded(FIELDS, None, requirement=REQ)
    assert ids(found) == [REQ] and "no multipart form" in found[0].actual


def test_the_same_file_passes_and_a_generic_content_type_is_allowed() -> None:
    assert ids(relay_media.check_file_forwarded(SENT, SENT, requirement=REQ)) == []
    generic = FilePart(SENT.filename, "application/octet-stream", WAV)
    assert ids(relay_media.check_file_forwarded(SENT, generic, requirement=REQ)) == []


def test_changed_file_bytes_fail_with_both_digests_and_lengths_never_the_bytes() -> None:
    changed = FilePart(SENT.filename, SENT.content_type, WAV[:100])
    (violation,) = relay_media.check_file_forwarded(SENT, changed, requirement=REQ)
    assert violation.where == "upstream form file bytes"
    assert hashlib.sha256(WAV).hexdigest()[:12] in violation.expected and f"{len(WAV)} bytes" in violation.expected
    assert hashlib.sha256(WAV[:100]).hexdigest()[:12] in violation.actual and "100 bytes" in violation.actual
    assert "RIFF" not in violation.expected + violation.actual and "<binary" in violation.actual


def test_a_renamed_file_or_another_content_type_fails() -> None:
    other = FilePart("upload.bin", "audio/mpeg", WAV)
    found = relay_media.check_file_forwarded(SENT, other, requirement=REQ)
    assert [v.where for v in found] == ["upstream form file filename", "upstream form file content type"]


def test_no_file_upstream_fails() -> None:
    found = relay_media.check_file_forwarded(SENT, None, requirement=REQ)
    assert ids(found) == [REQ] and found[0].actual == "no file part upstream"


AUDIO = b"RIFF\x00\x01\x00\x00WAVE" + bytes(range(256)) * 4


def test_speech_audio_byte_for_byte_passes() -> None:
    found = relay_media.check_media_answer(AUDIO, "audio/wav", AUDIO, "audio/wav", requirement="relay.answer.speech")
    assert ids(found) == [] and found.judged == {"relay.answer.speech"}


def test_truncated_audio_fails_without_showing_bytes() -> None:
    (violation,) = relay_media.check_media_answer(AUDIO, "audio/wav", AUDIO[:512], "audio/wav",
                                                  requirement="relay.answer.speech")
    assert violation.where == "body" and "512 bytes" in violation.actual
    assert hashlib.sha256(AUDIO[:512]).hexdigest()[:12] in violation.actual and "WAVE" not in violation.actual


def test_another_content_type_fails() -> None:
    found = relay_media.check_media_answer(AUDIO, "audio/wav", AUDIO, "audio/mpeg", requirement="relay.answer.speech")
    assert [v.where for v in found] == ["header Content-Type"]
    assert ids(relay_media.check_media_answer(AUDIO, "audio/wav", AUDIO, None, requirement="relay.answer.speech"))


def test_a_text_transcript_compares_exactly_but_charset_may_differ() -> None:
    text = b"1\n00:00:00,000 --> 00:00:01,000\nScripted transcription of M.\n\n"
    assert ids(relay_media.check_media_answer(text, "text/plain; charset=utf-8", text, "text/plain",
                                              requirement=REQ)) == []
    (violation,) = relay_media.check_media_answer(text, "text/plain", text.replace(b"M.", b"N."), "text/plain",
                                                  requirement=REQ)
    assert "Scripted transcription of N." in violation.actual     # text is shown as text


def test_a_json_answer_compares_as_json_but_model_and_usage() -> None:
    upstream = json.dumps({"text": "Scripted.", "model": "up-whisper", "usage": {"seconds": 1}}).encode()
    client = json.dumps({"usage": {"seconds": 2}, "text": "Scripted.", "model": "relay-whisper"}, indent=1).encode()
    assert ids(relay_media.check_media_answer(upstream, "application/json", client, "application/json",
                                              requirement=REQ)) == []
    changed = json.dumps({"text": "Something else."}).encode()
    assert ids(relay_media.check_media_answer(upstream, "application/json", changed, "application/json",
                                              requirement=REQ)) == [REQ]


def test_no_upstream_answer_fails() -> None:
    found = relay_media.check_media_answer(None, "", b"{}", "application/json", requirement="relay.forwarding.images")
    assert ids(found) == ["relay.forwarding.images"] and found[0].actual == "no upstream record"
