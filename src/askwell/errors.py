"""Domain errors. Each carries a message a person can act on; the CLI prints it in one line."""

from __future__ import annotations


class AskwellError(Exception):
    """Base of every error askwell reports to a user instead of a traceback."""


class ConfigError(AskwellError):
    """The configuration (YAML, environment or flags) is invalid."""


class InputError(AskwellError):
    """An input file or folder is missing, empty, of the wrong kind or malformed."""


class OutputError(AskwellError):
    """The output location cannot be written safely."""


class DataCheckError(AskwellError):
    """A dataset failed its schema or integrity checks."""
