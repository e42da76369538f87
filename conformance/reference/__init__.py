"""The embedded reference gateway: a deterministic implementation of the whole Nexhina spec.

It is the default target of ``nexhina-conformance run`` and the oracle of the self-tests.
It must never import ``conformance.checks`` or ``conformance.suites``: a bug shared with
the checks would then pass on both sides.
"""
