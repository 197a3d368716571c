"""The store's one error: the service decides what a person is told."""

from __future__ import annotations

from askwell.errors import AskwellError


class StoreError(AskwellError):
    """The database could not be reached or did not take a write."""
