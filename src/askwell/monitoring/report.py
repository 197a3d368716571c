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


def outcomes_markdown(result: dict[str, Any]) -> str:
    """Late outcomes: alerts, then one line per month."""
    ref = result["reference_roc_auc"]
    lines = [
        "# Performance over time (late outcomes)",
        "",
        f"Label `{result['label']}`: {result['joined']} of {result['scored']} scored questions "
        f"found, {result['known']} with a known outcome. Reference: the model's test ROC AUC "
        + ("unknown" if ref is None else f"{ref:.3f}")
        + ".",
        "",
        f"## Alerts ({len(result['alerts'])})",
        "",
    ]
    lines += [f"- {a['message']}" for a in result["alerts"]] or ["None."]
    lines += [
        "",
        "| month | outcomes | pending | ROC AUC [95% CI] | ECE | outcome rate | mean prediction |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for w in result["performance"]:
        auc = w["roc_auc"]
        auc_text = (
            "—" if auc is None else f"{auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]"
        )
        lines.append(
            f"| {w['month']} | {w['n']} | {w['pending']} | {auc_text} | "
            + ("—" if w["ece"] is None else f"{w['ece']:.3f}")
            + " | "
            + ("—" if w["positive_rate"] is None else f"{w['positive_rate']:.3f}")
            + " | "
            + ("—" if w["mean_predicted"] is None else f"{w['mean_predicted']:.3f}")
            + " |"
        )
    return "\n".join(lines) + "\n"
