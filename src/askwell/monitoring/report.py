"""The monitoring results as a page a person reads: ``monitor_markdown`` (beside the JSON)."""

from __future__ import annotations

from typing import Any


def monitor_markdown(results: dict[str, Any]) -> str:
    """Alerts first, then one line per window, then the features that drifted most."""
    windows = results["windows"]
    lines = [
        "# Monitoring",
        "",
        f"Run {results['time']}; references: "
        + "; ".join(
            f"`{r['model_version']}` ({r['n']} questions, {r['source']})"
            for r in results["references"]
        ),
        "",
        f"## Alerts ({len(results['alerts'])})",
        "",
    ]
    lines += [f"- {a['window_end'][:16]}: {a['message']}" for a in results["alerts"]] or ["None."]
    lines += [
        "",
        "## Windows",
        "",
        "| window end | predictions | judged | drifted features | degraded | p99 ms | alerts |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for w in windows:
        drifted = sum(1 for a in w["alerts"] if a["kind"] == "feature_drift")
        lines.append(
            f"| {w['end'][:16]} | {w['n']} | {'yes' if w['judged'] else 'no'} | {drifted} | "
            f"{w['degraded_rate']:.1%} | {w['latency_ms']['p99']:.0f} | {len(w['alerts'])} |"
        )
    worst: dict[str, float] = {}
    for w in windows:
        for name, result in w["features"].items():
            if result is not None and w["judged"]:
                worst[name] = max(worst.get(name, 0.0), result["psi"])
    if worst:
        lines += ["", "## Largest feature PSI over judged windows", ""]
        lines += ["| feature | max PSI |", "|---|---:|"]
        for name, value in sorted(worst.items(), key=lambda kv: -kv[1])[:15]:
            lines.append(f"| {name} | {value:.3f} |")
    return "\n".join(lines) + "\n"
