"""Shared fixtures of the self-tests."""

from __future__ import annotations

pytest_plugins = ["pytester"]
