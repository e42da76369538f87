"""The client-impact lane: recorded exchanges replayed through the official ``openai`` SDK.

Owns nothing on the wire: the recorded bytes are served to an ``openai.OpenAI`` client through
an ``httpx.MockTransport`` and a fixed "typical caller" per operation reads what applications
read. Depends on ``conformance.model`` only (and on ``openai``/``httpx``); no check, suite or
transport imports it.
"""
