"""askwell: an ML-powered writing assistant for Stack Exchange-style questions."""

__version__ = "0.1.0"
