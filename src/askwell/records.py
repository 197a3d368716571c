"""Domain records shared by the layers (data → features → models → explain → serving)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from askwell.data.text import BodyParts, html_to_parts


@dataclass(frozen=True, slots=True)
class Question:
    """A question as askwell reads it: its title, its body split into prose and structure
    (see ``BodyParts``), and its tags. Built from an ingested row or from raw HTML."""

    title: str
    body: BodyParts
    tags: tuple[str, ...] = ()
    site: str | None = None

    @classmethod
    def from_html(
        cls,
        title: str | None,
        body_html: str | None,
        tags: tuple[str, ...] = (),
        site: str | None = None,
    ) -> Question:
        return cls(title or "", html_to_parts(body_html), tuple(tags), site)

    @classmethod
    def from_markdown(
        cls,
        title: str | None,
        body_markdown: str | None,
        tags: tuple[str, ...] = (),
        site: str | None = None,
    ) -> Question:
        """As a person types it in the editor (the body in Stack Exchange Markdown): the one
        way the API, batch scoring and ``askwell score`` build a question from text."""
        from askwell.markdown import to_html

        return cls.from_html(title, to_html(body_markdown or ""), tags, site)

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Question:
        """From a ``questions`` table row, as ``pyarrow.Table.to_pylist`` gives it or as
        ``DataFrame.to_dict("records")`` does (list cells as numpy arrays, counts as numpy
        integers): both must give the same question."""

        def strings(name: str) -> tuple[str, ...]:
            value = row.get(name)
            if isinstance(value, list | tuple | np.ndarray):
                return tuple(str(v) for v in value)
            return ()

        def count(name: str) -> int:
            value = row.get(name)
            return int(value) if isinstance(value, int | np.integer) else 0

        body = BodyParts(
            text=str(row.get("body_text") or ""),
            code_blocks=strings("code_blocks"),
            inline_code=strings("inline_code"),
            links=strings("links"),
            images=strings("images"),
            quotes=strings("quotes"),
            n_lists=count("n_lists"),
            n_list_items=count("n_list_items"),
            n_paragraphs=count("n_paragraphs"),
            n_blockquotes=count("n_blockquotes"),
        )
        site = row.get("site")
        return cls(
            str(row.get("title") or ""),
            body,
            strings("tags"),
            site if isinstance(site, str) else None,
        )
