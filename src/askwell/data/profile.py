"""``askwell data profile``: per-site summaries of an ingested dataset, as a table and a page.

Questions are read in batches, keeping only small per-row values (lengths, flags, scores), so
the large text columns never sit in memory whole. The resulting :class:`Profile` holds
summaries only (quantiles, rates, a length histogram, monthly counts); rendering it needs no
further access to the data.

"Unknown" is never reported as zero: a value missing from a source (no AnswerCount, no
CreationDate, a metadata-only export without Title/Body) is left out of its statistic, and a
statistic with nothing to go on is ``None`` (shown as "—").
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table
from rich.text import Text

from askwell.config import ProfileSettings
from askwell.data.dataset import Dataset
from askwell.errors import InputError, OutputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ALL_SITES = "all sites"
# Body length histogram: bins of a tenth of a decade from 1 to 10**7 characters.
HIST_BINS_PER_DECADE = 10
HIST_DECADES = 7
_BATCH_ROWS = 65_536
_QUESTION_COLUMNS = [
    "site", "creation_date", "score", "answer_count", "accepted_answer_id", "title",
    "body_text", "body_chars", "n_code_blocks", "n_inline_code",
]  # fmt: skip
# A word is a run of non-whitespace, whitespace as Python's str.split sees it (RE2's \s is
# ASCII only, so Unicode separators such as no-break spaces are named too).
_WORD = r"[^\s\pZ\x0b\x1c-\x1f\x85]+"
_MAX_LINES = 8  # per-site lines on one plot before it becomes unreadable
_SYMLOG_SPREAD = 500  # score range beyond which a linear axis hides the small sites


@dataclass(frozen=True, slots=True)
class ScoreStats:
    """Quantiles (linear interpolation) and mean of the known question scores."""

    min: float
    p01: float
    p25: float
    median: float
    p75: float
    p99: float
    max: float
    mean: float


@dataclass(frozen=True, slots=True)
class SiteProfile:
    """One site (or all sites together). Rates are shares in [0, 1] or None when unknown.

    - ``answered_rate``: questions with answer_count > 0, over the ``answer_count_known``
      questions whose source gave an answer count (not inferred from the answers table).
    - ``accepted_rate``: questions with an accepted answer id. A source without that column
      cannot be told apart from one without accepted answers, so it is None for a site
      read only from CSV exports where no question has one.
    - Lengths and code shares are over the ``with_body`` questions that carry a body
      (title lengths over those with a title); medians; a word is a run of
      non-whitespace in ``body_text``.
    - ``first_date``/``last_date`` span the questions with a known creation date.
    """

    site: str
    questions: int
    answers: int
    rejects: int
    dated: int
    first_date: datetime | None
    last_date: datetime | None
    score: ScoreStats | None
    answer_count_known: int
    answered_rate: float | None
    accepted_rate: float | None
    with_title: int
    median_title_chars: float | None
    with_body: int
    median_body_chars: float | None
    median_body_words: float | None
    code_rate: float | None
    code_block_rate: float | None
    body_chars_hist: tuple[int, ...]  # counts per bin of body_hist_edges(); empty bodies in 0
    monthly: tuple[tuple[date, int], ...]  # (first day of month, questions), by month


@dataclass(frozen=True, slots=True)
class Profile:
    """A dataset's profile: sites largest first (by questions, then name), plus the total."""

    folder: Path
    fingerprint: str
    status: str
    code_version: str
    sites: tuple[SiteProfile, ...]
    total: SiteProfile


def body_hist_edges() -> list[float]:
    """Bin edges (characters) of ``SiteProfile.body_chars_hist``."""
    n = HIST_BINS_PER_DECADE * HIST_DECADES
    return [10 ** (i / HIST_BINS_PER_DECADE) for i in range(n + 1)]


def profile_dataset(folder: Path, *, allow_partial: bool = False) -> Profile:
    """Profiles the dataset at ``folder``; raises InputError when it is not a (complete)
    dataset or a table cannot be read."""
    dataset = Dataset.open(folder, allow_partial=allow_partial)
    rows = _question_rows(dataset)
    answers = _site_counts(dataset, "answers")
    rejects = _site_counts(dataset, "rejects")

    # XML dumps omit AcceptedAnswerId only when there is none, so their sites know the rate.
    inputs = dataset.manifest.get("inputs") or []
    known = {str(i.get("site")) for i in inputs if isinstance(i, dict) and i.get("format") == "xml"}
    if rows.num_rows:
        accepted_sites = pc.unique(pc.filter(rows["site"], rows["accepted"])).to_pylist()
        known.update(accepted_sites)
        site_known = pc.is_in(rows["site"], value_set=pa.array(sorted(known), pa.string()))
        accepted = pc.if_else(site_known, rows["accepted"], pa.scalar(None, pa.bool_()))
        rows = rows.set_column(rows.schema.get_field_index("accepted"), "accepted", accepted)

    rows = rows.sort_by("site")
    sites: list[SiteProfile] = []
    offset = 0
    counts = {v["values"]: v["counts"] for v in pc.value_counts(rows["site"]).to_pylist()}
    names = sorted(counts)  # the order sort_by gives: UTF-8 bytes sort as code points do
    for name in names:
        part = rows.slice(offset, counts[name])
        offset += counts[name]
        sites.append(_summarize(name, part, answers[name], rejects[name]))
    for name in sorted((set(answers) | set(rejects)) - set(names)):
        sites.append(_summarize(name, rows.slice(0, 0), answers[name], rejects[name]))
    sites.sort(key=lambda s: (-s.questions, s.site))
    total = _summarize(ALL_SITES, rows, sum(answers.values()), sum(rejects.values()))
    return Profile(
        folder=folder,
        fingerprint=dataset.fingerprint,
        status=str(dataset.manifest.get("status", "")),
        code_version=str(dataset.manifest.get("code_version", "")),
        sites=tuple(sites),
        total=total,
    )


def _batches(dataset: Dataset, table: str, columns: list[str]) -> Iterator[pa.RecordBatch]:
    if not dataset.has(table):
        yield from dataset.table(table, columns).to_batches()
        return
    path = dataset.folder / dataset.manifest["tables"][table]["file"]
    try:
        parquet = pq.ParquetFile(path)
        yield from parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: unreadable table ({exc})") from None


def _site_counts(dataset: Dataset, table: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for batch in _batches(dataset, table, ["site"]):
        for item in pc.value_counts(batch.column(0)).to_pylist():
            counts[item["values"]] += item["counts"]
    return counts


def _question_rows(dataset: Dataset) -> pa.Table:
    """One small row per question: the values the statistics need, None where unknown."""
    parts = []
    null_int = pa.scalar(None, pa.int64())
    null_bool = pa.scalar(None, pa.bool_())
    for batch in _batches(dataset, "questions", _QUESTION_COLUMNS):
        col = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
        has_body = pc.is_valid(col["body_text"])
        blocks = pc.greater(col["n_code_blocks"], 0)
        any_code = pc.or_(blocks, pc.greater(col["n_inline_code"], 0))
        words = pc.count_substring_regex(col["body_text"], pattern=_WORD)
        created = col["creation_date"]
        month = pc.add(pc.multiply(pc.year(created), 12), pc.subtract(pc.month(created), 1))
        parts.append(
            pa.table(
                {
                    "site": col["site"],
                    "created": created,
                    "month": pc.cast(month, pa.int32()),
                    "score": col["score"],
                    "answered": pc.greater(col["answer_count"], 0),
                    "accepted": pc.is_valid(col["accepted_answer_id"]),
                    "title_chars": pc.cast(pc.utf8_length(col["title"]), pa.int64()),
                    "body_chars": pc.if_else(
                        has_body, pc.cast(col["body_chars"], pa.int64()), null_int
                    ),
                    "body_words": pc.if_else(has_body, pc.cast(words, pa.int64()), null_int),
                    "code": pc.if_else(has_body, any_code, null_bool),
                    "code_block": pc.if_else(has_body, blocks, null_bool),
                }
            )
        )
    if not parts:
        return pa.table(
            {
                "site": pa.array([], pa.string()),
                "created": pa.array([], pa.timestamp("ms", tz="UTC")),
                "month": pa.array([], pa.int32()),
                "score": pa.array([], pa.int64()),
                **{c: pa.array([], pa.bool_()) for c in ("answered", "accepted")},
                **{c: pa.array([], pa.int64()) for c in ("title_chars", "body_chars")},
                "body_words": pa.array([], pa.int64()),
                **{c: pa.array([], pa.bool_()) for c in ("code", "code_block")},
            }
        )
    return pa.concat_tables(parts)


def _known(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.drop_null(values)


def _rate(flags: pa.ChunkedArray) -> float | None:
    known = _known(flags)
    if len(known) == 0:
        return None
    return float(pc.sum(pc.cast(known, pa.int64())).as_py()) / len(known)


def _median(values: pa.ChunkedArray) -> float | None:
    known = _known(values)
    if len(known) == 0:
        return None
    return float(pc.quantile(known, q=0.5)[0].as_py())


def _score_stats(scores: pa.ChunkedArray) -> ScoreStats | None:
    known = _known(scores)
    if len(known) == 0:
        return None
    q = [float(v) for v in pc.quantile(known, q=[0.01, 0.25, 0.5, 0.75, 0.99]).to_pylist()]
    bounds = pc.min_max(known).as_py()
    return ScoreStats(
        min=float(bounds["min"]),
        p01=q[0],
        p25=q[1],
        median=q[2],
        p75=q[3],
        p99=q[4],
        max=float(bounds["max"]),
        mean=float(pc.mean(known).as_py()),
    )


def _histogram(lengths: pa.ChunkedArray) -> tuple[int, ...]:
    n_bins = HIST_BINS_PER_DECADE * HIST_DECADES
    values = _known(lengths).to_numpy().astype(np.float64)
    if values.size == 0:
        return ()
    # Bin i holds [10**(i/k), 10**((i+1)/k)); empty bodies go to bin 0, huge ones to the last.
    index = np.floor(np.log10(np.maximum(values, 1.0)) * HIST_BINS_PER_DECADE)
    index = np.clip(index, 0, n_bins - 1).astype(np.int64)
    return tuple(int(c) for c in np.bincount(index, minlength=n_bins))


def _monthly(months: pa.ChunkedArray) -> tuple[tuple[date, int], ...]:
    known = _known(months)
    if len(known) == 0:
        return ()
    out = []
    for item in pc.value_counts(known).to_pylist():
        year, month0 = divmod(int(item["values"]), 12)
        out.append((date(year, month0 + 1, 1), int(item["counts"])))
    return tuple(sorted(out))


def _summarize(site: str, rows: pa.Table, answers: int, rejects: int) -> SiteProfile:
    created = _known(rows["created"])
    first = last = None
    if len(created):
        bounds = pc.min_max(created).as_py()
        first, last = bounds["min"], bounds["max"]
    return SiteProfile(
        site=site,
        questions=rows.num_rows,
        answers=answers,
        rejects=rejects,
        dated=len(created),
        first_date=first,
        last_date=last,
        score=_score_stats(rows["score"]),
        answer_count_known=len(_known(rows["answered"])),
        answered_rate=_rate(rows["answered"]),
        accepted_rate=_rate(rows["accepted"]),
        with_title=len(_known(rows["title_chars"])),
        median_title_chars=_median(rows["title_chars"]),
        with_body=len(_known(rows["body_chars"])),
        median_body_chars=_median(rows["body_chars"]),
        median_body_words=_median(rows["body_words"]),
        code_rate=_rate(rows["code"]),
        code_block_rate=_rate(rows["code_block"]),
        body_chars_hist=_histogram(rows["body_chars"]),
        monthly=_monthly(rows["month"]),
    )


# ---- formatting shared by the terminal table and the page ----

DASH = "—"
# A newline in a header is a line break in both renderings.
HEADERS = (
    "site", "questions", "answers", "rejects", "first\nquestion", "last\nquestion",
    "score\nmin · p25 · med · p75 · max", "score\nmean", "answered", "accepted",
    "title\nchars\n(median)", "body\nchars\n(median)", "body\nwords\n(median)", "with\ncode",
    "with\ncode\nblock",
)  # fmt: skip
_NUMERIC = frozenset(range(1, len(HEADERS))) - {4, 5}


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_num(x: float | None) -> str:
    if x is None:
        return DASH
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.1f}"


def _fmt_pct(x: float | None) -> str:
    return DASH if x is None else f"{x * 100:.1f}%"


def _fmt_date(d: datetime | None) -> str:
    return DASH if d is None else d.astimezone(UTC).strftime("%Y-%m-%d")


def _cells(s: SiteProfile) -> list[str]:
    score = DASH
    mean = DASH
    if s.score is not None:
        q = s.score
        score = " · ".join(_fmt_num(v) for v in (q.min, q.p25, q.median, q.p75, q.max))
        mean = f"{q.mean:,.2f}"
    return [
        s.site,
        _fmt_int(s.questions),
        _fmt_int(s.answers),
        _fmt_int(s.rejects),
        _fmt_date(s.first_date),
        _fmt_date(s.last_date),
        score,
        mean,
        _fmt_pct(s.answered_rate),
        _fmt_pct(s.accepted_rate),
        _fmt_num(s.median_title_chars),
        _fmt_num(s.median_body_chars),
        _fmt_num(s.median_body_words),
        _fmt_pct(s.code_rate),
        _fmt_pct(s.code_block_rate),
    ]


_NOTES = (
    "Answered: share with answer_count > 0, over questions whose source gave an answer count.",
    "Accepted: share with an accepted answer id; — for sites read only from exports without "
    "that column.",
    "Lengths and code shares: medians and shares over questions that carry a body (titles: "
    "that carry a title); — where the source has none (metadata-only exports).",
    "Dates span the questions with a known creation date; — when none has one.",
)


def render_table(profile: Profile, console: Console) -> None:
    """Prints one row per site (largest first) and the all-sites total; split into two
    tables (counts and scores, then rates and lengths) when the console is too narrow."""
    console.print(
        Text.assemble(
            (str(profile.folder), "bold"),
            f" · {profile.status} · fingerprint {profile.fingerprint}",
        )
    )
    whole = _rich_table(profile, range(len(HEADERS)))
    natural = console.measure(whole, options=console.options.update_width(100_000)).maximum
    if natural <= console.width:
        console.print(whole)
    else:
        console.print(_rich_table(profile, range(8)))
        console.print(_rich_table(profile, [0, *range(8, len(HEADERS))]))
    for note in _NOTES:
        console.print(f"[dim]{note}[/]", highlight=False)


def _rich_table(profile: Profile, columns: Iterable[int]) -> Table:
    columns = list(columns)
    table = Table(header_style="bold")
    for i in columns:
        table.add_column(
            HEADERS[i],
            justify="right" if i in _NUMERIC else "left",
            overflow="fold",
            min_width=16 if i == 0 else None,
        )
    # Text, not markup: a site name like "[x]" must print as itself.
    for n, site in enumerate(profile.sites):
        cells = _cells(site)
        table.add_row(*(Text(cells[i]) for i in columns), end_section=n == len(profile.sites) - 1)
    cells = _cells(profile.total)
    table.add_row(*(Text(cells[i]) for i in columns), style="bold")
    return table


# ---- the HTML page ----

PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em;
       color: #222; max-width: 1400px; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; font-family: monospace; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.78em; }
th, td { padding: 0.3em 0.4em; border-bottom: 1px solid #e5e5e5; white-space: nowrap; }
th { background: #f5f5f5; text-align: left; vertical-align: bottom; white-space: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 700; border-top: 2px solid #999; }
.status-complete { color: #176317; } .status-partial { color: #b00; font-weight: 700; }
figure { margin: 1.5em 0; } figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; height: auto; }
.note { color: #555; font-size: 0.9em; }
"""


def write_html(profile: Profile, out_path: Path, settings: ProfileSettings) -> None:
    """Writes one self-contained page (inline CSS and PNG plots, no external assets) to
    ``out_path``, creating its folder; raises OutputError when it cannot be written."""
    e = html.escape
    plotted = list(profile.sites[: settings.max_sites_plotted])
    left_out = list(profile.sites[settings.max_sites_plotted :])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>askwell data profile: {e(profile.folder.name)}</title>",
        f"<style>{PAGE_CSS}</style></head><body>",
        "<h1>Dataset profile</h1>",
        '<dl class="meta">',
        f"<dt>dataset</dt><dd>{e(str(profile.folder))}</dd>",
        f"<dt>fingerprint</dt><dd>{e(profile.fingerprint)}</dd>",
        f'<dt>status</dt><dd class="status-{e(profile.status)}">{e(profile.status)}</dd>',
        f"<dt>ingested by</dt><dd>askwell {e(profile.code_version)}</dd>",
        f"<dt>sites</dt><dd>{len(profile.sites):,}</dd>",
        "</dl>",
        "<h2>Per site</h2>",
        _html_table(profile),
        "<ul class='note'>" + "".join(f"<li>{e(n)}</li>" for n in _NOTES) + "</ul>",
        "<h2>Plots</h2>",
    ]
    if left_out:
        names = ", ".join(e(s.site) for s in left_out)
        parts.append(
            f"<div class='note'>Plots show the {len(plotted)} largest sites (by questions) of "
            f"{len(profile.sites)}; {len(left_out)} left out (setting "
            f"profile.max_sites_plotted): <details><summary>left-out sites</summary>{names}"
            "</details></div>"
        )
    for title, caption, fig in _figures(profile, plotted):
        parts.append(figure_html(title, caption, fig))
    parts.append("</body></html>")
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{out_path}: cannot write the profile page ({exc})") from None


def _html_table(profile: Profile) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h).replace(chr(10), '<br>')}</th>" for h in HEADERS)
    rows = []
    for site, css in [(s, "") for s in profile.sites] + [(profile.total, "total")]:
        cells = "".join(
            f"<td class='num'>{e(c)}</td>" if i in _NUMERIC else f"<td>{e(c)}</td>"
            for i, c in enumerate(_cells(site))
        )
        rows.append(f"<tr class='{css}'>{cells}</tr>")
    return (
        f"<div class='scroll'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def figure_html(title: str, caption: str, fig: Figure | None) -> str:
    e = html.escape
    if fig is None:
        return f"<figure><h3>{e(title)}</h3><p class='note'>{e(caption)}</p></figure>"
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # render off-screen, whatever backend the process has chosen
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f"<figure><h3>{e(title)}</h3>"
        f'<img src="data:image/png;base64,{data}" alt="{e(title)}">'
        f"<figcaption>{e(caption)}</figcaption></figure>"
    )


def _new_figure(rows: int, per_row: float = 0.32, width: float = 10.0) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, max(2.2, 1.2 + per_row * rows)), layout="constrained")
    return fig, fig.add_subplot()


def _site_axis(ax: Axes, names: Sequence[str]) -> None:
    ax.set_yticks(range(len(names)), labels=list(names))
    ax.set_ylim(len(names) - 0.5, -0.5)  # largest site on top; unknown rows keep their place
    ax.grid(axis="x", alpha=0.3)


def _nan(x: float | None) -> float:
    return math.nan if x is None else x


def _figures(
    profile: Profile, sites: list[SiteProfile]
) -> Iterator[tuple[str, str, Figure | None]]:
    names = [s.site for s in sites]
    if not sites:
        yield "Questions per site", "The dataset holds no rows to plot.", None
        return
    with_body = [s for s in sites if s.body_chars_hist]
    dated = [s for s in sites if s.monthly]

    fig, ax = _new_figure(len(sites))
    bars = ax.barh(range(len(sites)), [s.questions for s in sites], color="#4c72b0")
    ax.bar_label(bars, labels=[f" {s.questions:,}" for s in sites], fontsize="small")
    ax.margins(x=0.1)
    _site_axis(ax, names)
    ax.set_xlabel("questions")
    yield "Questions per site", "Number of questions per site.", fig

    scored = [(s.site, s.score) for s in sites if s.score is not None]
    if scored:
        fig, ax = _new_figure(len(scored))
        stats: list[dict[str, Any]] = []
        for site, q in scored:
            stats.append(
                {
                    "med": q.median,
                    "q1": q.p25,
                    "q3": q.p75,
                    "whislo": q.p01,
                    "whishi": q.p99,
                    "mean": q.mean,
                    "fliers": [],
                    "label": site,
                }
            )
        ax.bxp(
            stats,
            positions=list(range(len(stats))),
            orientation="horizontal",
            showmeans=True,
            showfliers=False,
            widths=0.6,
        )
        _site_axis(ax, [site for site, _ in scored])
        # Sites differ by orders of magnitude (a top-voted sample beside a small meta site).
        spread = max(q.p99 for _, q in scored) - min(q.p01 for _, q in scored)
        scale = ""
        if spread > _SYMLOG_SPREAD:
            ax.set_xscale("symlog", linthresh=10)
            scale = " The score axis is linear from -10 to 10 and logarithmic beyond."
        ax.set_xlabel("question score")
        yield (
            "Score distribution per site",
            "Boxes span the 25th to 75th percentile, with the median as a line and the mean as "
            "a triangle. Extreme outliers are clipped for readability: whiskers end at the 1st "
            "and 99th percentile and scores beyond them are not drawn (the table gives min and "
            f"max).{scale}",
            fig,
        )
    else:
        yield "Score distribution per site", "No question has a known score.", None

    rates = [[_nan(s.answered_rate) for s in sites], [_nan(s.accepted_rate) for s in sites]]
    rates_fig = _grouped_bars(rates, ["answered", "accepted"], names)
    yield (
        "Answered and accepted rate per site",
        "Share of questions with at least one answer, and with an accepted answer. A missing "
        "bar means the source does not say (see the notes under the table)."
        if rates_fig
        else "No source gives answer counts or accepted answers.",
        rates_fig,
    )

    if profile.total.body_chars_hist:
        from matplotlib.ticker import PercentFormatter, StrMethodFormatter

        edges = body_hist_edges()
        fig, ax = _new_figure(0, width=12.5)  # room for the legend beside the plot
        fig.set_figheight(4.2)
        total = np.asarray(profile.total.body_chars_hist, dtype=np.float64)
        ax.stairs(total / total.sum(), edges, fill=True, color="#d0d8e8", label=ALL_SITES)
        for s in with_body[:_MAX_LINES]:
            counts = np.asarray(s.body_chars_hist, dtype=np.float64)
            ax.stairs(counts / counts.sum(), edges, label=s.site, linewidth=1.4)
        ax.set_xscale("log")
        ax.set_xlim(*_occupied_range(profile.total.body_chars_hist, edges))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel("body length (characters of text, log scale)")
        ax.set_ylabel("share of questions")
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.grid(alpha=0.3)
        yield (
            "Body length distribution",
            f"Share of each site's questions per body length bin{_largest(with_body)}, and of "
            "all questions "
            "(shaded). Questions without a body are left out; empty bodies count in the first "
            "bin.",
            fig,
        )
    else:
        yield "Body length distribution", "No question carries a body (metadata only).", None

    code = [[_nan(s.code_rate) for s in sites], [_nan(s.code_block_rate) for s in sites]]
    code_fig = _grouped_bars(code, ["any code", "code block"], names, zoom=True)
    yield (
        "Share of questions with code per site",
        "Questions with any code (block or inline) and with a code block, over questions that "
        "carry a body. A missing bar means the source has no bodies."
        if code_fig
        else "No question carries a body (metadata only).",
        code_fig,
    )

    if dated:
        from matplotlib.ticker import StrMethodFormatter

        fig, ax = _new_figure(0, width=12.5)  # room for the legend beside the plot
        fig.set_figheight(4.2)
        for s in dated[:_MAX_LINES]:
            months, per_month = _filled_months(s.monthly)
            ax.plot(
                np.array(months, dtype="datetime64[D]"),
                per_month,
                label=s.site,
                linewidth=1.3,
                marker="." if len(months) < 40 else None,
            )
        ax.set_ylabel("questions per month")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.grid(alpha=0.3)
        yield (
            "Questions over time",
            f"Questions per calendar month (UTC){_largest(dated)}; a month without questions "
            "between a site's first and last one counts as zero.",
            fig,
        )
    else:
        yield "Questions over time", "No question has a known creation date.", None


def _largest(shown: list[SiteProfile]) -> str:
    return f" (the {_MAX_LINES} largest sites)" if len(shown) > _MAX_LINES else ""


def _filled_months(monthly: tuple[tuple[date, int], ...]) -> tuple[list[date], list[int]]:
    counts = dict(monthly)
    first, last = monthly[0][0], monthly[-1][0]
    months = []
    m = first.year * 12 + first.month - 1
    while m <= last.year * 12 + last.month - 1:
        months.append(date(m // 12, m % 12 + 1, 1))
        m += 1
    return months, [counts.get(d, 0) for d in months]


def _occupied_range(counts: tuple[int, ...], edges: list[float]) -> tuple[float, float]:
    used = [i for i, c in enumerate(counts) if c]
    return edges[max(used[0] - 1, 0)], edges[min(used[-1] + 2, len(edges) - 1)]


def _grouped_bars(
    series: list[list[float]], labels: list[str], names: list[str], zoom: bool = False
) -> Figure | None:
    """Horizontal bars of shares (NaN = unknown), one group per site, each labelled with its
    percent; None when every share is unknown. ``zoom`` fits the axis to the largest share."""
    from matplotlib.ticker import PercentFormatter

    known = [v for values in series for v in values if not math.isnan(v)]
    if not known:
        return None
    fig, ax = _new_figure(len(names), per_row=0.5)
    height = 0.8 / len(series)
    for k, (values, label) in enumerate(zip(series, labels, strict=True)):
        ys = [i - 0.4 + height * (k + 0.5) for i in range(len(values))]
        bars = ax.barh(ys, values, height=height, label=label)
        texts = ["" if math.isnan(v) else f" {v * 100:.1f}%" for v in values]
        ax.bar_label(bars, labels=texts, fontsize="x-small")
        for y, v in zip(ys, values, strict=True):
            if math.isnan(v):  # say it, so a missing bar does not read as zero
                ax.text(0, y, f" {label}: unknown", va="center", fontsize="x-small", color="gray")
    top = min(1.0, max(0.02, max(known) * 1.25)) if zoom else 1.0
    ax.set_xlim(0, top * 1.08 if top == 1.0 else top)  # room for the labels at 100%
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize="small", loc="lower right", framealpha=0.9)
    _site_axis(ax, names)
    return fig
