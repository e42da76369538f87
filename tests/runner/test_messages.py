"""Binary-safe rendering of exchanges and violations (conformance.messages, Exchange.curl).

A WAV upload, an audio answer or any body with control bytes must appear as
``<binary N bytes, content-type, sha256 prefix>``; a multipart request replays as
``curl -F field=value -F 'file=@uploads/...'``; a decision reference points into DECISIONS.md.
"""

from __future__ import annotations

import hashlib
import re

import httpx

from conformance.messages import render_exchange, spec_ref, violation_text
from conformance.model import Exchange, Level, Requirement, Violation, binary_placeholder, is_binary, printable

WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80>\x00\x00\x00}\x00\x00\x02\x00\x10\x00data\x00\x00"
BAD_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
REQ = Requirement("audio.speech.format", Level.MUST, "speech", "full", "speech answers audio", ("D19",))


def multipart_exchange() -> Exchange:
    request = httpx.Request("POST", "http://gw.test/v1/audio/transcriptions",
                            files={"file": ("tiny.wav", WAV, "audio/wav"), "model": (None, "ref-whisper"),
                                   "prompt": (None, "@not-a-file")},
                            headers={"Authorization": "Bearer ********"})
    request.read()
    return Exchange("POST", str(request.url), dict(request.headers), request.content, 200,
                    {"content-type": "audio/wav"}, body=WAV)


def clean(text: str) -> None:
    data = text.encode("utf-8")
    assert not BAD_BYTES.search(data), text


def test_placeholder_names_size_type_and_digest() -> None:
    shown = binary_placeholder(WAV, "audio/wav; rate=8000")
    assert shown == f"<binary {len(WAV)} bytes, audio/wav, sha256 {hashlib.sha256(WAV).hexdigest()[:12]}>"


def test_binary_is_judged_by_media_type_then_by_bytes() -> None:
    assert is_binary(b"plain", "audio/mpeg") and is_binary(b"\xff\xfe", "") and is_binary(b"a\x00b", "")
    assert not is_binary(b'{"a": 1}', "application/json; charset=utf-8") and not is_binary(b"tab\there\r\n", "")
    assert printable("a\x00b\x1b[31m") == "a\\x00b\\x1b[31m"


def test_multipart_request_and_audio_answer_render_as_placeholders() -> None:
    text = render_exchange(multipart_exchange())
    clean(text)
    assert f"file (file tiny.wav): {binary_placeholder(WAV, 'audio/wav')}" in text
    assert "model: ref-whisper" in text
    assert text.rstrip().endswith(binary_placeholder(WAV, "audio/wav"))
    assert "RIFF" not in text


def test_multipart_curl_uses_form_fields_and_a_file_under_the_report_dir() -> None:
    exchange = multipart_exchange()
    line = exchange.curl()
    clean(line)
    [(path, data)] = exchange.uploads()
    assert data == WAV and path.startswith("uploads/") and path.endswith(".wav")
    assert f"-F 'file=@{path};type=audio/wav;filename=tiny.wav'" in line
    assert "-F model=ref-whisper" in line and "--form-string prompt=@not-a-file" in line
    assert "multipart/form-data" not in line and "RIFF" not in line


def test_raw_binary_body_replays_with_data_binary() -> None:
    exchange = Exchange("POST", "http://gw.test/v1/x", {"Content-Type": "application/octet-stream"},
                        b"\x00\x01\xfe", 400)
    [(path, _)] = exchange.uploads()
    assert exchange.curl().endswith(f"--data-binary @{path}")


def test_json_request_still_replays_with_data_raw() -> None:
    exchange = Exchange("POST", "http://gw.test/v1/chat/completions", {"Content-Type": "application/json"},
                        b'{"model": "m"}', 200)
    assert exchange.curl().endswith("""--data-raw '{"model": "m"}'""") and exchange.uploads() == []


def test_violation_text_escapes_control_characters_and_links_decisions() -> None:
    violation = Violation(REQ.id, "audio bytes", "RIFF\x00\x00WAVE\x1b[2J", "/")
    text = violation_text(REQ, violation, multipart_exchange())
    clean(text)
    assert "spec:     D19 (DECISIONS.md#d19)" in text
    assert "RIFF\\x00\\x00WAVE\\x1b[2J" in text


def test_spec_ref_leaves_pointers_alone() -> None:
    assert spec_ref("D8") == "D8 (DECISIONS.md#d8)"
    assert spec_ref("#/components/schemas/Error") == "#/components/schemas/Error"


def test_a_huge_text_body_is_cut_and_only_its_head_decoded() -> None:
    body = b'{"a": "' + b"x" * 5_000_000 + b'\x00"}'
    exchange = Exchange("POST", "http://gw.test/v1/chat/completions", {}, None, 200,
                        {"content-type": "application/json"}, body=body)
    text = render_exchange(exchange, limit=100)
    assert text.endswith(f"...<{len(body)} bytes in all>") and len(text) < 1000
