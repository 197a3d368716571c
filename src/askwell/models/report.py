"""The evaluation as one self-contained HTML page, written by ``askwell train`` beside its JSON.

The page reads only the evaluation summary (``config``, ``params``, ``threshold``,
``validation_auc``, ``split``, ``test`` and ``learning_curve``), so it can be rebuilt from a
saved JSON. Every section tolerates a missing part or a NaN value and says "not available"
instead; every string from the data is HTML-escaped, and plots are inline PNGs (no scripts, no
external assets).
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

# One page style and one figure → inline PNG path for every askwell page.
from askwell.data.profile import PAGE_CSS, figure_html
from askwell.errors import OutputError
from askwell.models.ledger import describe_read

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

NA = "not available"
# Spelled as escapes: ruff flags these look-alikes of ASCII letters.
RHO, MINUS, EN_DASH = "\u03c1", "\u2212", "\u2013"
ALPHA = 0.05  # the significance level the baseline sentences use
_EXTRA_CSS = """
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr));
        gap: 0 2em; }
td.na { color: #888; font-style: italic; }
.excerpt { color: #555; font-size: 0.9em; }
td.wrap { white-space: normal; min-width: 16em; max-width: 60ch; vertical-align: top; }
details summary { cursor: pointer; margin: 0.8em 0; }
"""
# (key, name, plain meaning); the ones with a bootstrap interval are listed first.
_METRICS = (
    ("roc_auc", "ROC-AUC", "chance a random good question scores above a random other one"),
    ("pr_auc", "PR-AUC", "average precision over all thresholds"),
    ("brier", "Brier score", "mean squared error of the probability (lower is better)"),
    ("ece", "ECE", "expected calibration error (lower is better)"),
    ("log_loss", "log loss", "lower is better"),
    ("f1", "F1", "at the threshold"),
    ("precision", "precision", "at the threshold"),
    ("recall", "recall", "at the threshold"),
    ("accuracy", "accuracy", "at the threshold"),
    ("positive_rate", "positive rate", "share of test questions with the label"),
)
_BASELINES = {
    "random": "random scores",
    "majority": "one constant score, the training base rate, so AUC 0.5 by construction",
    "heuristic": "the hand-written rule-based heuristic",
}
_SLICE_FAMILIES = {
    "body_length": "Body length (words of prose)",
    "code": "Code (a code block or inline code)",
    "site_kind": "Main vs meta site",
    "tag": "First tag (the most frequent first tags, then other)",
}
_DROPPED = (
    ("duplicates_dropped", "duplicates", "same title and body as an earlier question (kept once)"),
    (
        "near_duplicates_dropped",
        "near-duplicates",
        "word 3-grams nearly the same as an earlier question's (MinHash; kept once)",
    ),
    ("undated_dropped", "undated", "no creation date, so no place in the time order"),
    (
        "unknown_label_dropped",
        "unknown label",
        "the source does not say; never counted as negative",
    ),
    (
        "censored_dropped",
        "of which censored",
        "posted less than the label's window before the site's data ends: not known yet",
    ),
)


def write_report(evaluation: dict[str, Any], out: Path) -> Path:
    """Writes the page to ``out`` (creating its folder) and returns ``out``; raises
    OutputError when it cannot be written."""
    test = _dict(evaluation.get("test"))
    config = _dict(evaluation.get("config"))
    e = html.escape
    title = " · ".join(_text(config.get(k)) for k in ("label", "model", "split"))
    figures = list(_figures(evaluation, test))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>askwell evaluation: {e(title)}</title>",
        f"<style>{PAGE_CSS}{_EXTRA_CSS}</style></head><body>",
        f"<h1>Model evaluation: {e(title)}</h1>",
        _header(evaluation, test),
        _baselines(test),
        "<h2>Plots</h2>",
        "<div class='grid'>",
        *(figure_html(*f) for f in figures[:4]),
        "</div>",
        *(figure_html(*f) for f in figures[4:]),
        _kpi(test),
        _reasons(test),
        _slices(test),
        _errors(test),
        _edit_check(test),
        _learning_curve(evaluation),
        _validation(evaluation),
        "</body></html>",
    ]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(parts) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the report ({exc})") from None
    return out


# ---- reading the summary defensively ----


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    """A list from a list or tuple (the in-memory summary) or an array; else empty."""
    if isinstance(value, list | tuple):
        return list(value)
    tolist = getattr(value, "tolist", None)  # numpy arrays
    out = tolist() if callable(tolist) else None
    return out if isinstance(out, list) else []


def _num(value: object) -> float | None:
    """A finite float (numpy scalars too), or None for missing, non-numeric or NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _nan(value: object) -> float:
    """For plotting: NaN leaves a gap where a value is unknown."""
    x = _num(value)
    return math.nan if x is None else x


def _text(value: object) -> str:
    return NA if value is None or value == "" else str(value)


def _fmt(value: object, digits: int = 3) -> str:
    x = _num(value)
    return NA if x is None else f"{x:.{digits}f}"


def _pct(value: object) -> str:
    x = _num(value)
    return NA if x is None else f"{x * 100:.1f}%"


def _count(value: object) -> str:
    x = _num(value)
    return NA if x is None else f"{int(x):,}"


def _interval(est: object) -> tuple[float | None, float | None, float | None]:
    d = _dict(est)
    return _num(d.get("value")), _num(d.get("low")), _num(d.get("high"))


def _ci(est: object) -> str:
    """ "value [low, high]" — or only the value when the interval is unknown."""
    value, low, high = _interval(est)
    if value is None:
        return NA
    if low is None or high is None:
        return f"{value:.3f} [interval {NA}]"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def _p(value: object) -> str:
    x = _num(value)
    return NA if x is None else f"{x:.2g}"


def _series(curve: object, *keys: str) -> list[list[float]] | None:
    """Equal-length, all-finite point lists for ``keys``, or None."""
    d = _dict(curve)
    out = [[_num(v) for v in _list(d.get(k))] for k in keys]
    lengths = {len(s) for s in out}
    if len(lengths) != 1 or 0 in lengths or any(v is None for s in out for v in s):
        return None
    return [[v for v in s if v is not None] for s in out]


def _plain(name: str) -> str:
    """A name as matplotlib should draw it: "$" would start mathtext (and can fail)."""
    return name.replace("$", r"\$")


# ---- HTML pieces ----


def _table(head: list[str], rows: list[list[str]], numeric: frozenset[int] = frozenset()) -> str:
    e = html.escape

    def cell(i: int, c: str) -> str:
        css = " ".join(x for x in ("num" if i in numeric else "", "na" if c == NA else "") if x)
        return f"<td class='{css}'>{e(c)}</td>" if css else f"<td>{e(c)}</td>"

    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return (
        f"<div class='scroll'><table><thead><tr>{th}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


def _header(evaluation: dict[str, Any], test: dict[str, Any]) -> str:
    e = html.escape
    config = _dict(evaluation.get("config"))
    sizes = _dict(_dict(evaluation.get("split")).get("sizes"))
    threshold = test.get("threshold", evaluation.get("threshold"))
    meta = [
        ("label", _text(config.get("label"))),
        ("model", _text(config.get("model"))),
        ("split", _text(config.get("split"))),
        (
            "test size",
            f"{_count(test.get('n_test'))} questions with a known label "
            f"(of {_count(sizes.get('test'))} in the test part)",
        ),
        ("threshold", f"{_fmt(threshold)} (chosen on validation, applied to test)"),
        ("test reads", describe_read(test)),
    ]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in meta)
    metrics = _dict(test.get("metrics"))
    intervals = _dict(test.get("intervals"))
    rows = []
    for key, name, meaning in _METRICS:
        value = _pct(metrics.get(key)) if key == "positive_rate" else _fmt(metrics.get(key))
        ci = ""  # only some metrics are bootstrapped; blank says "none computed", not unknown
        if key in intervals:
            _, low, high = _interval(intervals[key])
            ci = NA if low is None or high is None else f"[{low:.3f}, {high:.3f}]"
        rows.append([name, value, ci, meaning])
    return (
        f"<dl class='meta'>{dl}</dl><h2>Headline metrics (test)</h2>"
        + _table(["metric", "value", "95% CI", "meaning"], rows, frozenset({1, 2}))
        + _note(
            "Intervals are 95% bootstrap intervals over test questions (computed for the "
            "ranking and calibration metrics; the others are point values)."
        )
    )


def _baselines(test: dict[str, Any]) -> str:
    baselines = _dict(test.get("baselines"))
    parts = ["<h2>Baselines</h2>"]
    if not baselines:
        return parts[0] + _note(f"Baseline comparison: {NA}.")
    rows = [["model", _ci(_dict(test.get("intervals")).get("roc_auc")), "", "", ""]]
    sentences = []
    for name, raw in baselines.items():
        b = _dict(raw)
        diff = _dict(b.get("model_minus_baseline"))
        p = _num(diff.get("p_value_one_sided"))
        diff_text = _ci(
            {"value": diff.get("diff"), "low": diff.get("low"), "high": diff.get("high")}
        )
        verdict = NA if p is None else ("yes" if p < ALPHA else "no")
        rows.append([str(name), _ci(b.get("roc_auc")), diff_text, _p(p), verdict])
        what = _BASELINES.get(str(name))
        tail = f": {what}." if what else "."
        if p is None:
            sentences.append(f"Whether the model beats the {name} baseline is {NA}{tail}")
        else:
            verb = "beats" if p < ALPHA else "does not beat"
            sentences.append(
                f"The model {verb} the {name} baseline at p < {ALPHA} (p = {_p(p)}){tail}"
            )
    n_boot = {
        _count(_dict(_dict(b).get("model_minus_baseline")).get("n_boot"))
        for b in baselines.values()
    }
    parts.append(
        _table(
            [
                "scorer",
                "ROC-AUC [95% CI]",
                f"model {MINUS} baseline [95% CI]",
                "one-sided p",
                "beaten",
            ],
            rows,
            frozenset({1, 2, 3}),
        )
    )
    parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in sentences) + "</ul>")
    parts.append(
        _note(
            "Differences are paired: the same bootstrap resample of test questions scores the "
            f"model and the baseline ({', '.join(sorted(n_boot))} resamples), so the smallest "
            "possible p-value is 1 / (resamples + 1)."
        )
    )
    return "".join(parts)


# ---- plots ----

Plot: TypeAlias = "tuple[str, str, Figure | None]"  # title, caption, figure or None


def _figures(evaluation: dict[str, Any], test: dict[str, Any]) -> Iterator[Plot]:
    # Figure objects with the Agg canvas (in figure_html), never pyplot: no global state.
    from matplotlib.figure import Figure

    yield _reliability(Figure, test)
    yield _confusion(Figure, test, _text(_dict(evaluation.get("config")).get("label")))
    yield _roc(Figure, test)
    yield _pr(Figure, test)
    yield _per_site(Figure, test)
    yield _kpi_plot(Figure, test)


def _reliability(figure: type[Figure], test: dict[str, Any]) -> Plot:
    title = "Reliability diagram"
    bins = []
    for b in _list(test.get("reliability")):
        d = _dict(b)
        pred, obs, n = _num(d.get("mean_predicted")), _num(d.get("observed_rate")), d.get("count")
        if pred is not None and obs is not None:
            low, high = _num(d.get("lower")), _num(d.get("upper"))
            lo, hi = (
                (low, high) if low is not None and high is not None else (pred - 0.05, pred + 0.05)
            )
            bins.append((pred, obs, int(_num(n) or 0), lo, hi))
    if not bins:
        return title, f"Reliability bins: {NA}.", None
    fig = figure(figsize=(6.0, 5.4), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[3, 1])
    ax = fig.add_subplot(grid[0])
    counts = fig.add_subplot(grid[1], sharex=ax)
    ax.plot([0, 1], [0, 1], "--", color="gray", linewidth=1, label="perfect calibration")
    ax.plot([b[0] for b in bins], [b[1] for b in bins], "o-", color="#4c72b0", label="model")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), ylabel="observed rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    ax.tick_params(labelbottom=False)
    bars = counts.bar(
        [(b[3] + b[4]) / 2 for b in bins],
        [b[2] for b in bins],
        width=[(b[4] - b[3]) * 0.9 for b in bins],
        color="#a6b8d8",
    )
    counts.bar_label(bars, labels=[f"{b[2]:,}" for b in bins], fontsize="x-small")
    counts.margins(y=0.3)
    counts.set(xlabel="predicted probability (bin)", ylabel="questions")
    ece = _ci(_dict(test.get("intervals")).get("ece"))
    return (
        title,
        "Observed rate of the label against the mean predicted probability, per probability "
        f"bin; points on the diagonal are well calibrated. Bars: questions per bin. ECE {ece}.",
        fig,
    )


def _confusion(figure: type[Figure], test: dict[str, Any], label: str) -> Plot:
    title = "Confusion matrix at the threshold"
    c = _dict(test.get("confusion"))
    keys = (("true_positive", "false_negative"), ("false_positive", "true_negative"))
    cells = [[_num(c.get(k)) for k in row] for row in keys]
    if any(v is None for row in cells for v in row):
        return title, f"Confusion matrix: {NA}.", None
    grid = [[float(v or 0) for v in row] for row in cells]
    total = sum(map(sum, grid)) or 1.0
    fig = figure(figsize=(5.2, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="Blues", vmin=0)
    top = max(map(max, grid))
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            color = "white" if v > top * 0.6 else "#222"
            ax.text(j, i, f"{int(v):,}\n{v / total:.1%}", ha="center", va="center", color=color)
    # Short tick names: a long label name would run the two columns into each other.
    names = ["positive", "negative"]
    ax.set_xticks([0, 1], labels=[f"predicted\n{n}" for n in names])
    ax.set_yticks([0, 1], labels=[f"actually\n{n}" for n in names])
    return (
        title,
        f"Test questions by actual and predicted class at threshold {_fmt(test.get('threshold'))}"
        f" (positive: {label}); each cell gives the count and its share of all test questions.",
        fig,
    )


def _baseline_handles(ax: Axes, test: dict[str, Any]) -> None:
    """Baselines have no stored curve: their ROC-AUC goes in the legend as text entries."""
    for name, b in _dict(test.get("baselines")).items():
        auc = _ci(_dict(b).get("roc_auc"))
        ax.plot([], [], " ", label=f"{_plain(str(name))} baseline: ROC-AUC {auc}")


def _roc(figure: type[Figure], test: dict[str, Any]) -> Plot:
    title = "ROC curve"
    points = _series(_dict(test.get("curves")).get("roc"), "fpr", "tpr")
    if points is None:
        return title, f"ROC curve: {NA}.", None
    fig = figure(figsize=(6.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    auc = _ci(_dict(test.get("intervals")).get("roc_auc"))
    ax.plot(points[0], points[1], color="#4c72b0", linewidth=2, label=f"model: ROC-AUC {auc}")
    ax.plot([0, 1], [0, 1], "--", color="gray", linewidth=1, label="chance")
    _baseline_handles(ax, test)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate", ylabel="true positive rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return title, "True against false positive rate over all thresholds (test).", fig


def _pr(figure: type[Figure], test: dict[str, Any]) -> Plot:
    title = f"Precision{EN_DASH}recall curve"
    points = _series(_dict(test.get("curves")).get("pr"), "recall", "precision")
    if points is None:
        return title, f"{title}: {NA}.", None
    fig = figure(figsize=(6.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    auc = _ci(_dict(test.get("intervals")).get("pr_auc"))
    ax.plot(points[0], points[1], color="#4c72b0", linewidth=2, label=f"model: PR-AUC {auc}")
    rate = _num(_dict(test.get("metrics")).get("positive_rate"))
    if rate is not None:
        ax.axhline(rate, ls="--", color="gray", lw=1, label=f"chance: positive rate {rate:.1%}")
    _baseline_handles(ax, test)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="recall", ylabel="precision")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower left")
    return (
        title,
        "Precision against recall over all thresholds (test); a scorer without skill sits on "
        "the positive rate. Legend: the baselines' ROC-AUC.",
        fig,
    )


def _auc_bars(
    figure: type[Figure], rows: list[tuple[str, float | None, object]], overall: float | None
) -> Figure:
    """Horizontal ROC-AUC bars, top to bottom in ``rows`` order (name, AUC or None, n)."""
    fig = figure(figsize=(10.0, max(2.4, 1.2 + 0.32 * len(rows))), layout="constrained")
    ax = fig.add_subplot()
    bars = ax.barh(range(len(rows)), [a or 0.0 for _, a, _ in rows], color="#4c72b0")
    labels = [
        f" {a:.3f} (n={_count(n)})" if a is not None else f" {NA} (n={_count(n)})"
        for _, a, n in rows
    ]
    ax.bar_label(bars, labels=labels, fontsize="small")
    ax.axvline(0.5, ls="--", color="gray", lw=1, label="chance (0.5)")
    if overall is not None:
        ax.axvline(overall, color="#c44e52", lw=1.2, label=f"all test questions ({overall:.3f})")
    ax.set_yticks(range(len(rows)), labels=[_plain(name) for name, _, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set(xlim=(0, 1.15), xlabel="ROC-AUC (test)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small", loc="lower right", framealpha=0.9)
    return fig


def _per_site(figure: type[Figure], test: dict[str, Any]) -> Plot:
    title = "ROC-AUC per site"
    sites = [(str(k), _dict(v)) for k, v in _dict(test.get("per_site")).items()]
    if not sites:
        return title, f"Per-site results: {NA}.", None
    sites.sort(key=lambda s: (-(_num(s[1].get("n")) or 0), s[0]))  # largest on top
    rows = [(name, _num(d.get("roc_auc")), d.get("n")) for name, d in sites]
    overall = _num(_dict(test.get("metrics")).get("roc_auc"))
    return (
        title,
        "ROC-AUC on each site's test questions, with their number. Small sites give noisy "
        f"values; a site whose test questions all share one label has no ROC-AUC ({NA}).",
        _auc_bars(figure, rows, overall),
    )


def _deciles(test: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [_dict(d) for d in _list(_dict(test.get("kpi")).get("deciles"))]
    return sorted((d for d in rows if _num(d.get("bin")) is not None), key=lambda d: d["bin"])


def _kpi_plot(figure: type[Figure], test: dict[str, Any]) -> Plot:
    title = "KPI alignment: outcomes by score decile"
    deciles = _deciles(test)
    if not deciles:
        return title, f"Score deciles: {NA}.", None
    from matplotlib.ticker import PercentFormatter

    x = [int(d["bin"]) for d in deciles]
    fig = figure(figsize=(10.0, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for key, name, style in (
        ("mean_answered", "answered rate", "o-"),
        ("mean_accepted", "accepted rate", "s-"),
    ):
        ax.plot(x, [_nan(d.get(key)) for d in deciles], style, label=name)
    ax.set(ylim=(0, 1.05), xlabel="model score decile (1 = lowest scores)", ylabel="share")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xticks(x)
    ax.grid(alpha=0.3)
    right = ax.twinx()
    right.plot(
        x,
        [_nan(d.get("median_score")) for d in deciles],
        "^--",
        color="#555",
        label="median question score (right axis)",
    )
    right.set_ylabel("median question score")
    medians = [m for d in deciles if (m := _num(d.get("median_score"))) is not None]
    if medians:  # from zero, so a one-vote step does not look like a cliff
        right.set_ylim(min(0.0, min(medians)) - 0.5, max(0.0, max(medians)) * 1.15 + 0.5)
    handles = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize="small", loc="upper left")
    return (
        title,
        "Test questions in ten equal groups by model score: does a higher score mean a "
        "better-received question? Rising lines say yes.",
        fig,
    )


# ---- KPI and validation tables ----


def _range(low: object, high: object) -> str:
    if _num(low) is None and _num(high) is None:
        return NA
    return f"{_fmt(low)} {EN_DASH} {_fmt(high)}"


def _strength(rho: float) -> str:
    size = abs(rho)
    word = (
        "negligible"
        if size < 0.1
        else "weak"
        if size < 0.3
        else "moderate"
        if size < 0.5
        else "strong"
    )
    return word if word == "negligible" else f"{word} {'positive' if rho > 0 else 'negative'}"


def _reasons(test: dict[str, Any]) -> str:
    """The close-reason model on the closed test questions (closing models only)."""
    reasons = _dict(test.get("reasons"))
    if not reasons:
        return ""
    f1, base = _dict(reasons.get("macro_f1")), _dict(_dict(reasons.get("majority")).get("macro_f1"))
    names = [str(r) for r in reasons.get("reasons", [])]
    confusion = _dict(reasons.get("confusion"))
    per = _dict(reasons.get("per_reason_f1"))
    rows = [
        [r, _fmt(per.get(r), 2), *[_count(_dict(confusion.get(r)).get(q)) for q in names]]
        for r in names
    ]
    return (
        "<h2>Close reasons</h2>"
        + _note(
            f"On {_count(reasons.get('n'))} closed test questions: macro-F1 "
            f"{_fmt(f1.get('value'))} [{_fmt(f1.get('low'))}, {_fmt(f1.get('high'))}] against "
            f"{_fmt(base.get('value'))} for the majority baseline (always "
            f"“{_dict(reasons.get('majority')).get('reason')}”). Rows: the true reason; "
            "columns: the predicted one."
        )
        + _table(["reason", "F1", *[f"predicted: {q}" for q in names]], rows,
                 frozenset(range(1, 2 + len(names))))
    )  # fmt: skip


def _kpi(test: dict[str, Any]) -> str:
    kpi = _dict(test.get("kpi"))
    parts = ["<h2>KPI alignment: tables and reading</h2>"]
    if not kpi:
        return parts[0] + _note(f"KPI alignment: {NA}.")
    deciles = _deciles(test)
    reading = []
    if deciles:
        rows = [
            [
                str(int(d["bin"])),
                _range(d.get("lower"), d.get("upper")),
                _count(d.get("count")),
                _fmt(d.get("mean_model_score")),
                _pct(d.get("mean_answered")),
                _pct(d.get("mean_accepted")),
                _fmt(d.get("mean_score"), 2),
                _fmt(d.get("median_score"), 1),
            ]
            for d in deciles
        ]
        parts.append(
            _table(
                [
                    "decile",
                    "score range",
                    "questions",
                    "mean model score",
                    "answered",
                    "accepted",
                    "mean score",
                    "median score",
                ],
                rows,
                frozenset(range(8)),
            )
        )
        low, high = deciles[0], deciles[-1]
        for key, name, fmt in (
            ("mean_answered", "were answered", _pct),
            ("mean_accepted", "had an accepted answer", _pct),
        ):
            if _num(low.get(key)) is not None and _num(high.get(key)) is not None:
                reading.append(
                    f"In the top score decile {fmt(high.get(key))} of questions {name}, "
                    f"against {fmt(low.get(key))} in the bottom one."
                )
    else:
        parts.append(_note(f"Score deciles: {NA}."))
    spearman = _dict(kpi.get("spearman_answer_count_within_site"))
    rho = _num(spearman.get("weighted_mean"))
    parts.append(
        f"<h3>Spearman {RHO}(model score, answer count) within site</h3>"
        f"<p>Size-weighted mean: <strong>{html.escape(_fmt(rho))}</strong></p>"
    )
    if rho is not None:
        reading.append(
            f"Within a site, the model's score and the number of answers a question gets have "
            f"a {_strength(rho)} rank correlation ({RHO} = {rho:.2f})"
            + (
                ": higher-scored questions tend to get more answers."
                if rho >= 0.1
                else ": the score says little about how many answers a question gets."
                if rho > -0.1
                else ": higher-scored questions tend to get fewer answers."
            )
        )
    groups = []
    for site, value in _dict(spearman.get("per_group")).items():
        pair = _list(value)
        groups.append(
            [
                str(site),
                _fmt(pair[0] if pair else value),
                _count(pair[1] if len(pair) > 1 else None),
            ]
        )
    if groups:
        parts.append(_table(["site", RHO, "questions"], groups, frozenset({1, 2})))
    skipped = _dict(spearman.get("skipped"))
    if skipped:
        parts.append(_note("Skipped: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + "."))
    if reading:
        parts.append("<h3>Reading</h3>" + "".join(f"<p>{html.escape(r)}</p>" for r in reading))
    return "".join(parts)


def _validation(evaluation: dict[str, Any]) -> str:
    parts = ["<h2>Validation and data</h2><h3>Hyperparameter grid (validation ROC-AUC)</h3>"]
    grid = _dict(evaluation.get("validation_auc"))
    params = _dict(evaluation.get("params"))
    chosen = ", ".join(f"{k}={v}" for k, v in params.items())
    if grid:
        known = {k: x for k, v in grid.items() if (x := _num(v)) is not None}
        best = max(known, key=known.__getitem__) if known else None  # training keeps the best
        rows = [[str(k), _fmt(v), "best" if k == best else ""] for k, v in grid.items()]
        parts.append(_table(["candidate", "validation ROC-AUC", ""], rows, frozenset({1})))
    else:
        parts.append(_note(f"Validation grid: {NA}."))
    parts.append(_note(f"Chosen parameters: {chosen or NA}; the test part was scored after."))
    split = _dict(evaluation.get("split"))
    sizes = _dict(split.get("sizes"))
    parts.append("<h3>Split</h3>")
    if sizes:
        parts.append(
            _table(
                ["part", "questions"],
                [[str(k), _count(v)] for k, v in sizes.items()],
                frozenset({1}),
            )
        )
    else:
        parts.append(_note(f"Split sizes: {NA}."))
    dropped = [[name, _count(split.get(key)), why] for key, name, why in _DROPPED]
    parts.append("<h3>Dropped questions</h3>")
    parts.append(_table(["dropped", "questions", "why"], dropped, frozenset({1})))
    config = _dict(evaluation.get("config"))
    if config:
        parts.append("<h3>Configuration</h3>")
        parts.append(_table(["setting", "value"], [[str(k), _text(v)] for k, v in config.items()]))
    return "".join(parts)


# ---- slices and learning curve ----


def _slices(test: dict[str, Any]) -> str:
    from matplotlib.figure import Figure

    families = _dict(test.get("slices"))
    parts = ["<h2>Slices</h2>"]
    if not families:
        return parts[0] + _note(f"Slices: {NA}.")
    overall = _num(_dict(test.get("metrics")).get("roc_auc"))
    for family, raw in families.items():
        name = _SLICE_FAMILIES.get(str(family), str(family))
        slices = [(str(k), _dict(v)) for k, v in _dict(raw).items()]
        rows = [
            [
                label,
                _ci(d.get("roc_auc")),
                _count(d.get("n")),
                _pct(d.get("positive_rate")),
                _text(d.get("reason")) if d.get("reason") else "",
            ]
            for label, d in slices
        ]
        parts.append(f"<h3>{html.escape(name)}</h3>")
        parts.append(
            _table(
                ["slice", "ROC-AUC [95% CI]", "questions", "positive rate", "why no AUC"],
                rows,
                frozenset({1, 2, 3}),
            )
        )
        bars = [(label, _interval(d.get("roc_auc"))[0], d.get("n")) for label, d in slices]
        caption = (
            "ROC-AUC on each slice of the test questions, with their number; a slice with fewer "
            f"than 20 questions or one class has no ROC-AUC ({NA})."
            if bars
            else f"ROC-AUC per slice: {NA}."
        )
        fig = _auc_bars(Figure, bars, overall) if bars else None
        parts.append(figure_html(f"ROC-AUC by {name.lower()}", caption, fig))
    parts.append(
        _note(
            "Intervals are 95% bootstrap intervals over the slice's test questions; small "
            "slices give wide intervals."
        )
    )
    return "".join(parts)


def _errors(test: dict[str, Any]) -> str:
    """The most confident mistakes, their recurring causes first, then each one."""
    e = html.escape
    errors = _dict(test.get("errors"))
    worst = [_dict(w) for w in _list(errors.get("worst"))]
    parts = ["<h2>Error analysis</h2>"]
    if not worst:
        return parts[0] + _note(f"Mistakes at the threshold: {NA}.")
    parts.append(
        f"<p>The {len(worst)} most confident of the {_count(errors.get('n_mistakes'))} test "
        "mistakes at the chosen threshold. A mistake's <em>cause</em> is the idea (a group of "
        "features) that pushed its score hardest towards the wrong answer.</p>"
    )
    causes = [_dict(c) for c in _list(errors.get("causes"))]
    parts.append("<h3>Recurring causes</h3>")
    parts.append(
        _table(
            ["mistake", "pushed by", "mistakes", "share", "mean score", "examples"],
            [
                [
                    _text(c.get("kind")),
                    _text(c.get("cause")),
                    _count(c.get("n")),
                    _pct(c.get("share")),
                    _fmt(c.get("mean_score")),
                    " · ".join(_text(t) for t in _list(c.get("examples"))),
                ]
                for c in causes
            ],
            frozenset({2, 3, 4}),
        )
    )
    rows = []
    for w in worst:
        features = ", ".join(
            f"{_text(f.get('display'))} ({_fmt(f.get('push'), 2)})"
            for f in (_dict(x) for x in _list(w.get("top_features")))
        )
        excerpt = _text(w.get("excerpt"))
        rows.append(
            "<tr>"
            f"<td>{e(_text(w.get('site')))}<br>#{e(_text(w.get('id')))}</td>"
            f"<td class='wrap'><strong>{e(_text(w.get('title')))}</strong>"
            f"<div class='excerpt'>{e(excerpt)}</div></td>"
            f"<td class='num'>{e(_fmt(w.get('score')))}</td>"
            f"<td>{e(_text(w.get('kind')))}</td>"
            f"<td class='wrap'>{e(features)}</td></tr>"
        )
    parts.append(
        "<details><summary>Each mistake, most confident first</summary>"
        "<div class='scroll'><table><thead><tr><th>question</th><th>title and text</th>"
        "<th>score</th><th>mistake</th><th>top features towards the mistake (logit push)</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></details>"
    )
    return "".join(parts)


def _edit_check(test: dict[str, Any]) -> str:
    """Do the editor's mechanical edits, applied to the text, raise the score?"""
    check = _dict(test.get("edit_check"))
    parts = ["<h2>Advice check: edits applied to the text</h2>"]
    if not check:
        return parts[0] + _note(f"Advice check: {NA}.")
    shown = _dict(check.get("shown"))
    parts.append(
        f"<p>{_count(check.get('with_a_shown_edit'))} of {_count(check.get('n_questions'))} "
        "test questions get a mechanical suggestion; applying the top one to the text and "
        f"re-scoring raises the score for {_pct(shown.get('share_raised'))} of them "
        f"(median rise {_fmt(shown.get('median_gain'))}). Before the editor's filter, over "
        f"every question a mechanical rule applies to, the edit raises the score "
        f"{_pct(_dict(check.get('applicable')).get('share_raised'))} of the time. "
        f"Questions whose suggestions contradict each other: "
        f"{_count(check.get('with_contradictory_suggestions'))}.</p>"
    )
    rows = [
        [
            str(rule),
            _count(d.get("n")),
            _pct(d.get("share_raised")),
            _fmt(d.get("mean_gain")),
        ]
        for rule, d in ((k, _dict(v)) for k, v in _dict(check.get("applicable_by_rule")).items())
    ]
    parts.append(
        _table(
            ["rule", "test questions it applies to", "edit raises the score", "mean change"],
            rows,
            frozenset({1, 2, 3}),
        )
    )
    parts.append(
        _note(
            "Per rule, before any filtering: where the rule finds evidence, how often its edit "
            "raises this model's score. The editor shows a suggestion only when it does."
        )
    )
    return "".join(parts)


def _learning_curve(evaluation: dict[str, Any]) -> str:
    from matplotlib.figure import Figure

    parts = ["<h2>Learning curve</h2>"]
    points = [_dict(p) for p in _list(evaluation.get("learning_curve"))]
    known = [
        (n, tr, va)
        for p in points
        if (n := _num(p.get("n_train"))) is not None
        and (tr := _num(p.get("train_auc"))) is not None
        and (va := _num(p.get("val_auc"))) is not None
    ]
    if not known:
        return parts[0] + _note(f"Learning curve: {NA}.")
    fig = Figure(figsize=(7.0, 4.4), layout="constrained")
    ax = fig.add_subplot()
    sizes = [n for n, _, _ in known]
    ax.plot(sizes, [tr for _, tr, _ in known], "o-", label="training (rows fitted)")
    ax.plot(sizes, [va for _, _, va in known], "s-", label="validation")
    ax.set(xlabel="training questions", ylabel="ROC-AUC", ylim=(0.4, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    parts.append(
        figure_html(
            "Training and validation ROC-AUC by training size",
            "The same model fitted on growing seeded random subsets of the training part; "
            "the test part is not used.",
            fig,
        )
    )
    diagnosis = _text(points[-1].get("diagnosis")) if points else NA
    parts.append(f"<p>Diagnosis: <strong>{html.escape(diagnosis)}</strong>.</p>")
    return "".join(parts)
