"""The scripted upstream: an OpenAI-compatible provider the suite starts for the relay lane.

A gateway under test registers it as a channel. Every request it receives is recorded
(``records``); the answer is chosen by a run-unique marker ``nxc-<run>-<case>`` found in
the forwarded content (``markers``) that names a script (``scripts``). ``app`` is the ASGI
app, ``server`` runs it. Never imports ``conformance.checks``, the suites or the suite's
transport: it is the other end of the wire.
"""
