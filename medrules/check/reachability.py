"""Warnings for provisions that can never take effect (placeholder until the analysis lands)."""
from __future__ import annotations


def warnings(ck) -> list:
    return []
