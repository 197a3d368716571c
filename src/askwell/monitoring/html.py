"""The monitoring results as one self-contained HTML page (``askwell monitor report``): the
alerts, feature drift per window, the outputs, operations, the suggestion rules' feedback and
performance over time once outcomes have arrived.

The page reads a results dict as ``run_monitor`` gives it (``windows``, ``alerts``, and where
present ``time``, ``references``, ``settings``, ``reference_roc_auc`` and ``performance``:
one item per window with outcomes, ``{window_end, n, roc_auc: {value, low, high} | None,
ece, positive_rate, month?}`` as ``askwell monitor outcomes`` writes them), so it can be
rebuilt from a saved STEM.monitor.json or from the store's latest run (windows only). Every
string from the data is escaped; plots are inline PNGs; no scripts, no external assets.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askwell.data.profile import PAGE_CSS, figure_html
from askwell.errors import OutputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TOP_FEATURES = 15  # rows of the drift heatmap: the features that drifted most
LINE_FEATURES = 6  # features drawn as lines over time
_EXTRA_CSS = """
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr));
        gap: 0 2em; }
td.wrap { white-space: normal; max-width: 70ch; }
.alert-count { color: #b00; font-weight: 700; } .quiet { color: #176317; }
"""
_UNJUDGED = "#eeeeee"  # background of windows with too few predictions to be judged


def write_monitor_html(results: dict[str, Any], out: Path) -> Path:
    """Writes the page to ``out`` (creating its folder) and returns ``out``; raises
    OutputError when it cannot be written."""
    page = monitor_html(results)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write the monitoring report ({exc})") from None
    return out


def monitor_html(results: dict[str, Any]) -> str:
    """The page, as one string."""
    windows = [w for w in results.get("windows", []) if isinstance(w, dict)]
    alerts = results.get("alerts")
    if not isinstance(alerts, list):
        alerts = [a for w in windows for a in w.get("alerts", [])]
    settings = results.get("settings") or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>askwell monitoring report</title>",
        f"<style>{PAGE_CSS}{_EXTRA_CSS}</style></head><body>",
        "<h1>Monitoring report</h1>",
        _header(results, windows, alerts),
        f"<h2 id='alerts'>Alerts ({len(alerts)})</h2>",
        _alerts(alerts),
        "<h2 id='drift'>Feature drift</h2>",
        _section_note(
            "PSI of each catalog feature in each window against the serving model's reference "
            "(under 0.1 stable, 0.1 to 0.25 worth a look, over 0.25 a large shift; an alert "
            "also needs the test's p-value below monitor.p_value). Grey: windows with too few "
            "predictions to be judged."
        ),
        "<div class='grid'>",
        figure_html(*_drift_heatmap(windows)),
        figure_html(*_drift_lines(windows, settings)),
        "</div>",
        "<h2 id='outputs'>Model outputs</h2>",
        _section_note(
            "The windows keep each output's mean and PSI (numbers) or shares (labels): the "
            "band and verdict shares show how the score and the closing risk are distributed."
        ),
        "<div class='grid'>",
        figure_html(*_output_means(windows)),
        figure_html(*_output_psi(windows, settings)),
        *(figure_html(*_output_shares(windows, name)) for name in _label_outputs(windows)),
        "</div>",
        "<h2 id='operations'>Operations</h2>",
        "<div class='grid'>",
        figure_html(*_degraded(windows, settings)),
        figure_html(*_latency(windows, settings)),
        "</div>",
        "<h2 id='performance'>Performance over time</h2>",
        _performance(results.get("performance"), results.get("reference_roc_auc")),
        "<h2 id='rules'>Suggestion rules</h2>",
        _rules(windows),
        "<h2 id='windows'>Windows</h2>",
        _windows(windows),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# ---- HTML pieces ----


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: frozenset[int]) -> str:
    e = html.escape

    def cell(i: int, c: str) -> str:
        css = "num" if i in numeric else "wrap"
        return f"<td class='{css}'>{e(c)}</td>"

    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return (
        f"<div class='scroll'><table><thead><tr>{th}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _section_note(text: str) -> str:
    return f"<p class='note'>{html.escape(text)}</p>"


def _header(results: dict[str, Any], windows: list[dict[str, Any]], alerts: list[Any]) -> str:
    e = html.escape
    judged = sum(1 for w in windows if w.get("judged"))
    span = f"{windows[0]['start'][:16]} to {windows[-1]['end'][:16]}" if windows else "none"
    references = "; ".join(
        f"{r.get('model_version')} ({r.get('n')} questions, {r.get('source')})"
        for r in results.get("references") or []
    )
    settings = results.get("settings") or {}
    thresholds = ", ".join(
        f"{k} {settings[k]}"
        for k in ("psi_alert", "p_value", "min_n", "max_degraded_rate", "max_latency_p99_ms")
        if k in settings
    )
    count = (
        f"<span class='alert-count'>{len(alerts)}</span>"
        if alerts
        else "<span class='quiet'>none</span>"
    )
    rows = [
        ("run", e(str(results.get("time") or "the store's latest run"))),
        ("windows", e(f"{len(windows)} ({judged} judged), {span} UTC")),
        ("alerts", count),
        ("references", e(references or "not recorded")),
        ("thresholds", e(thresholds or "not recorded (monitor.* settings)")),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _alerts(alerts: list[Any]) -> str:
    if not alerts:
        return _section_note("No alerts: every judged window stayed within the thresholds.")
    rows = [
        [
            str(a.get("window_end", ""))[:16],
            str(a.get("kind", "")),
            str(a.get("subject", "")),
            _fmt(a.get("value")),
            _fmt(a.get("threshold")),
            str(a.get("message", "")),
        ]
        for a in alerts
    ]
    head = ["window end", "kind", "subject", "value", "threshold", "message"]
    return _table(head, rows, frozenset({3, 4}))


def _performance(performance: object, reference_auc: object) -> str:
    items = [p for p in performance if isinstance(p, dict)] if isinstance(performance, list) else []
    if not items:
        return _section_note(
            "No outcomes have arrived yet: ROC AUC and calibration per window appear here once "
            "the questions' outcomes are joined to their predictions (askwell monitor "
            "outcomes; then --outcomes)."
        )
    rows = []
    for p in items:
        auc = p.get("roc_auc") or {}
        rows.append(
            [
                str(p.get("month") or str(p.get("window_end", ""))[:16]),
                _count(p.get("n")),
                _fmt(auc.get("value")),
                f"{_fmt(auc.get('low'))} to {_fmt(auc.get('high'))}" if auc else "n/a",
                _fmt(p.get("ece")),
                _pct(p.get("positive_rate")),
            ]
        )
    head = ["window", "outcomes", "ROC AUC", "95% interval", "ECE", "positive rate"]
    note = (
        f"The model's ROC AUC on its test set: {_fmt(reference_auc)}."
        if _num(reference_auc) is not None
        else ""
    )
    return (
        "<div class='grid'>"
        + figure_html(*_performance_plot(items, _num(reference_auc)))
        + "</div>"
        + (_section_note(note) if note else "")
        + _table(head, rows, frozenset({1, 2, 3, 4, 5}))
    )


def _rules(windows: list[dict[str, Any]]) -> str:
    totals: dict[str, list[int]] = {}
    for w in windows:
        for rule, s in (w.get("rules") or {}).items():
            t = totals.setdefault(str(rule), [0, 0, 0])
            t[0] += int(s.get("shown") or 0)
            t[1] += int(s.get("feedback") or 0)
            t[2] += int(s.get("not_helpful") or 0)
    if not totals:
        return _section_note("No suggestion was shown in these windows.")
    rows = [
        [rule, _count(shown), _count(fb), _pct(bad / fb) if fb else "no feedback"]
        for rule, (shown, fb, bad) in sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0]))
    ]
    return _section_note("Over all windows.") + _table(
        ["rule", "shown", "feedback", "not helpful"], rows, frozenset({1, 2, 3})
    )


def _windows(windows: list[dict[str, Any]]) -> str:
    if not windows:
        return _section_note("No predictions in the monitored period.")
    rows = []
    for w in windows:
        latency = w.get("latency_ms") or {}
        rows.append(
            [
                str(w.get("end", ""))[:16],
                _count(w.get("n")),
                "yes" if w.get("judged") else "no",
                _pct(w.get("degraded_rate")),
                _fmt(latency.get("p99"), 0),
                _count(len(w.get("alerts") or [])),
            ]
        )
    head = ["window end", "predictions", "judged", "degraded", "p99 ms", "alerts"]
    return _table(head, rows, frozenset({1, 3, 4, 5}))


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value: object, digits: int = 3) -> str:
    v = _num(value)
    if v is None:
        return "n/a"
    return f"{v:.{digits}g}" if 0 < abs(v) < 10 ** -(digits - 1) else f"{v:.{digits}f}"


def _pct(value: object) -> str:
    v = _num(value)
    return "n/a" if v is None else f"{v:.1%}"


def _count(value: object) -> str:
    v = _num(value)
    return "n/a" if v is None else f"{int(v):,}"


# ---- plots (Figure objects, never pyplot: no global state; figure_html renders with Agg) ----

Plot = tuple[str, str, "Figure | None"]


def _plain(name: str) -> str:
    """A name as matplotlib should draw it: "$" would start mathtext."""
    return name.replace("$", r"\$")


def _dates(moments: Sequence[str]) -> list[float]:
    """Moments as matplotlib's date numbers: days since 1970-01-01 UTC."""
    found = [datetime.fromisoformat(m) for m in moments]
    return [(m if m.tzinfo else m.replace(tzinfo=UTC)).timestamp() / 86400 for m in found]


def _middles(windows: list[dict[str, Any]]) -> list[float]:
    """Where each window is drawn: its middle (the shading spans it whole)."""
    starts = _dates([w["start"] for w in windows])
    ends = _dates([w["end"] for w in windows])
    return [(a + b) / 2 for a, b in zip(starts, ends, strict=True)]


def _figure(height: float = 3.2) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, height), layout="constrained")
    return fig, fig.add_subplot()


def _time_axis(ax: Axes, windows: list[dict[str, Any]]) -> None:
    """Dates on x, and the windows not judged shaded."""
    starts = _dates([w["start"] for w in windows])
    ends = _dates([w["end"] for w in windows])
    for w, start, end in zip(windows, starts, ends, strict=True):
        if not w.get("judged"):
            ax.axvspan(start, end, color=_UNJUDGED, zorder=0)
    _date_ticks(ax, "window (UTC; grey: not judged)")
    ax.grid(alpha=0.3)


def _date_ticks(ax: Axes, label: str) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    )
    ax.set_xlabel(label)


def _threshold(ax: Axes, value: object, label: str) -> None:
    v = _num(value)
    if v is not None:
        ax.axhline(v, color="#b00", linestyle="--", linewidth=1, label=label)


def _feature_psi(windows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """PSI per feature per window; NaN where the window has none or was not judged (a
    handful of predictions gives a large PSI by chance)."""
    names = sorted({n for w in windows for n, r in (w.get("features") or {}).items() if r})
    psi: dict[str, list[float]] = {}
    for n in names:
        values = [
            _num(((w.get("features") or {}).get(n) or {}).get("psi")) if w.get("judged") else None
            for w in windows
        ]
        psi[n] = [math.nan if v is None else v for v in values]
    return psi


def _top(psi: dict[str, list[float]], k: int) -> list[str]:
    def worst(name: str) -> float:
        finite = [v for v in psi[name] if math.isfinite(v)]
        return max(finite) if finite else 0.0

    return sorted(psi, key=lambda n: (-worst(n), n))[:k]


def _drift_heatmap(windows: list[dict[str, Any]]) -> Plot:
    import numpy as np

    title = "PSI per feature and window"
    psi = _feature_psi(windows)
    if not psi:
        return title, "No feature drift was measured (no window had features).", None
    names = _top(psi, TOP_FEATURES)
    grid = np.array([psi[n] for n in names], dtype=float)
    fig, ax = _figure(1.4 + 0.28 * len(names))
    cmap = _reds()
    image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=cmap, vmin=0.0, vmax=0.5)
    fig.colorbar(image, ax=ax, label="PSI (0.5 and above: darkest)", shrink=0.8)
    ax.set_yticks(range(len(names)), labels=[_plain(n) for n in names])
    step = max(1, len(windows) // 10)
    ticks = list(range(0, len(windows), step))
    ax.set_xticks(ticks, labels=[windows[i]["end"][5:10] for i in ticks], rotation=45)
    ax.set_xlabel("window end (month-day, UTC)")
    if grid.size <= 200:
        for (i, j), v in np.ndenumerate(grid):
            if math.isfinite(v):
                color = "white" if v > 0.3 else "black"  # readable on the dark cells
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color=color)
    caption = (
        f"The {len(names)} features of {len(psi)} with the largest PSI in any judged window, "
        "most drifted first; grey: not judged (too few predictions) or not measured."
    )
    return title, caption, fig


def _reds() -> Any:
    import matplotlib

    return matplotlib.colormaps["Reds"].with_extremes(bad=_UNJUDGED)


def _drift_lines(windows: list[dict[str, Any]], settings: dict[str, Any]) -> Plot:
    title = "PSI over time, most drifted features"
    psi = _feature_psi(windows)
    if not psi:
        return title, "No feature drift was measured.", None
    fig, ax = _figure()
    x = _middles(windows)
    for name in _top(psi, LINE_FEATURES):
        ax.plot(x, psi[name], marker="o", markersize=3, label=_plain(name))
    _threshold(ax, settings.get("psi_alert", 0.25), "alert PSI")
    _time_axis(ax, windows)
    ax.set_ylabel("PSI")
    ax.legend(fontsize=7, loc="upper left")
    return title, "Each line one feature; the dashed line is monitor.psi_alert.", fig


def _output_names(windows: list[dict[str, Any]], key: str) -> list[str]:
    """The outputs whose results carry ``key`` in some window."""
    return sorted(
        {
            n
            for w in windows
            for n, r in (w.get("outputs") or {}).items()
            if isinstance(r, dict) and key in r
        }
    )


def _output_series(windows: list[dict[str, Any]], key: str) -> dict[str, list[float]]:
    """A numeric field (mean, psi) of each output per window (NaN where missing)."""
    series: dict[str, list[float]] = {}
    for n in _output_names(windows, key):
        values = [_num(((w.get("outputs") or {}).get(n) or {}).get(key)) for w in windows]
        series[n] = [math.nan if v is None else v for v in values]
    return series


def _output_means(windows: list[dict[str, Any]]) -> Plot:
    title = "Score and closing risk: mean per window"
    means = _output_series(windows, "mean")
    if not means:
        return title, "No numeric output was measured.", None
    fig, ax = _figure()
    x = _middles(windows)
    for name, values in means.items():
        ax.plot(x, values, marker="o", markersize=3, label=_plain(name))
    _time_axis(ax, windows)
    ax.set_ylabel("mean")
    ax.legend(fontsize=8)
    return title, "The mean of each numeric output over the window's predictions.", fig


def _output_psi(windows: list[dict[str, Any]], settings: dict[str, Any]) -> Plot:
    title = "Output drift: PSI per window"
    psi = _output_series(windows, "psi")
    if not psi:
        return title, "No output drift was measured.", None
    judged = [bool(w.get("judged")) for w in windows]
    psi = {
        n: [v if j else math.nan for v, j in zip(vs, judged, strict=True)] for n, vs in psi.items()
    }
    fig, ax = _figure()
    x = _middles(windows)
    for name, values in psi.items():
        ax.plot(x, values, marker="o", markersize=3, label=_plain(name))
    _threshold(ax, settings.get("psi_alert", 0.25), "alert PSI")
    _time_axis(ax, windows)
    ax.set_ylabel("PSI")
    ax.legend(fontsize=8)
    return title, "Each output against its own model's reference (judged windows).", fig


def _label_outputs(windows: list[dict[str, Any]]) -> list[str]:
    return _output_names(windows, "shares")


def _output_shares(windows: list[dict[str, Any]], name: str) -> Plot:
    import numpy as np

    title = f"{name.capitalize()} shares per window"
    shares = [((w.get("outputs") or {}).get(name) or {}).get("shares") or {} for w in windows]
    labels = list(dict.fromkeys(k for s in shares for k in s))
    fig, ax = _figure()
    x = np.arange(len(windows))
    bottom = np.zeros(len(windows))
    for label in labels:
        values = np.array([float(s.get(label, 0.0)) for s in shares])
        ax.bar(x, values, bottom=bottom, label=_plain(label))
        bottom += values
    step = max(1, len(windows) // 10)
    ticks = list(range(0, len(windows), step))
    ax.set_xticks(ticks, labels=[windows[i]["end"][5:10] for i in ticks], rotation=45)
    ax.set_xlabel("window end (month-day, UTC)")
    ax.set_ylabel("share of predictions")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return title, f"How the {name} was distributed in each window.", fig


def _degraded(windows: list[dict[str, Any]], settings: dict[str, Any]) -> Plot:
    title = "Degraded share per window"
    if not windows:
        return title, "No windows.", None
    fig, ax = _figure()
    values = [_num(w.get("degraded_rate")) for w in windows]
    ax.plot(_middles(windows), [math.nan if v is None else v for v in values], marker="o")
    _threshold(ax, settings.get("max_degraded_rate", 0.05), "alert above")
    _time_axis(ax, windows)
    ax.set_ylabel("answers from the fallback")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return title, "Answers the rule-based fallback gave because the model failed.", fig


def _latency(windows: list[dict[str, Any]], settings: dict[str, Any]) -> Plot:
    title = "Latency per window"
    if not windows:
        return title, "No windows.", None
    fig, ax = _figure()
    x = _middles(windows)
    for key in ("p50", "p99"):
        values = [_num((w.get("latency_ms") or {}).get(key)) for w in windows]
        ax.plot(x, [math.nan if v is None else v for v in values], marker="o", label=key)
    _threshold(ax, settings.get("max_latency_p99_ms", 1000), "p99 alert above")
    _time_axis(ax, windows)
    ax.set_ylabel("ms")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    return title, "Server-side time to answer, p50 and p99.", fig


def _performance_plot(items: list[dict[str, Any]], reference_auc: float | None) -> Plot:
    title = "ROC AUC and calibration per window"
    ends = _dates([str(p["window_end"]) for p in items])
    auc = [p.get("roc_auc") or {} for p in items]

    def series(values: list[object]) -> list[float]:
        return [math.nan if (x := _num(v)) is None else x for v in values]

    value = series([a.get("value") for a in auc])
    low = series([a.get("low") for a in auc])
    high = series([a.get("high") for a in auc])
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    errors = [
        [v - lo for v, lo in zip(value, low, strict=True)],
        [hi - v for v, hi in zip(value, high, strict=True)],
    ]
    top.errorbar(ends, value, yerr=errors, marker="o", capsize=3, label="ROC AUC")
    top.axhline(0.5, color="#888", linestyle=":", linewidth=1, label="chance")
    if reference_auc is not None:
        top.axhline(reference_auc, color="#176317", linestyle="--", linewidth=1, label="test set")
    top.set_ylabel("ROC AUC (95% interval)")
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    bottom.plot(ends, series([p.get("ece") for p in items]), marker="o", color="#c60")
    bottom.set_ylabel("ECE")
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    pad = max(0.5, (max(ends) - min(ends)) * 0.05)  # every window on the axis, AUC or not
    bottom.set_xlim(min(ends) - pad, max(ends) + pad)
    _date_ticks(bottom, "window end (UTC)")
    caption = (
        "Per window whose questions' outcomes have arrived: ROC AUC with its 95% bootstrap "
        "interval, and the expected calibration error (lower is better). A window whose "
        "outcomes are all alike has no AUC."
    )
    return title, caption, fig
