"""Tiny, valid input files the suites upload (owned here, reused read-only by every suite).

Everything is generated in memory with the standard library, so the package ships no binary
fixtures and every upload stays a few kilobytes (cheap on a paid endpoint).
"""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

#: Sample rate of :func:`tiny_wav` (16 kHz is what speech-to-text models resample to anyway).
WAV_SAMPLE_RATE = 16_000


def tiny_wav(seconds: float = 0.1, *, sample_rate: int = WAV_SAMPLE_RATE, frequency: float = 440.0) -> bytes:
    """A valid RIFF/WAVE file: 16-bit mono PCM holding a quiet sine tone.

    A tone rather than silence because some speech-to-text services reject an all-zero
    signal as "no audio"; quiet so that nothing about it looks like a test of the model.

    Args:
        seconds: duration (default 0.1 s: 3,244 bytes at 16 kHz).
        sample_rate: frames per second.
        frequency: tone frequency in Hz.

    Returns:
        The complete file (44-byte header plus the samples).
    """
    if seconds <= 0 or sample_rate <= 0:
        raise ValueError("seconds and sample_rate must be positive")
    frames = max(1, round(seconds * sample_rate))
    amplitude = 0.1 * 32767  # -20 dBFS
    samples = (round(amplitude * math.sin(2 * math.pi * frequency * i / sample_rate)) for i in range(frames))
    pcm = struct.pack(f"<{frames}h", *samples)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def _city_tool(name: str, description: str) -> dict[str, Any]:
    """A chat-completions function tool taking one required ``city`` string."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "City name"}},
                "required": ["city"],
            },
        },
    }


#: The tools the chat and Responses scenarios offer (chat-completions form).
WEATHER_TOOL: dict[str, Any] = _city_tool("get_weather", "Current weather in a city.")
TIME_TOOL: dict[str, Any] = _city_tool("get_time", "Current local time in a city.")


def responses_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """The Responses API form of a chat-completions function tool (the function fields flattened)."""
    return {"type": "function", **tool["function"]}
