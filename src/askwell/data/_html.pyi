# Type stub for the C extension built from _html.pyx.
def extract(
    s: str,
) -> tuple[
    str,
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...],
    int,
    int,
    int,
    int,
]: ...
