"""Placeholder: filled by the nn work of issue 14."""

from __future__ import annotations

__all__: list[str] = []
