"""Features: the interpretable "microscope" statistics of a question (``catalog`` is the one
registry of their names; ``text_stats`` holds the pure string → number helpers)."""
