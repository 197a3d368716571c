"""Latency benchmark: ``Predictor.score`` (score, band, suggestions, highlights) per question,
in process, on one core, with both models (answer and closing, as shipped) and with the answer
model alone, beside the book's approach (LIME on the same model, 5,000 samples). The two
predictors score each question in turn, so the machine's drift touches both alike.

Questions are 1,000 real ones drawn (seed 0) from the quality benchmark's dataset
(``bench/work/quality-ds``, ingested from ``../shared/data`` when missing), so their lengths
vary as real questions do; the target is read on those of about 2,000 characters (title and
body, 1,500 to 2,500). The process is pinned to one CPU. LIME runs on a few of the same
questions: at seconds per question, a handful gives its cost. JSON and a markdown table go to
``--out``.

Hostile bodies (issue 12's done-when: a 50 kB pathological body costs at most 3x a normal
2,000-character question): each fills the API's 50 kB limit with one pattern, and goes the
API's way, ``Predictor.score_draft`` (the Markdown read within the scoring limits, then
scored), as do the ~2,000-character questions in the same run (their Markdown as a person
would type it, ``bench.serve.markdown_body``). Cost is CPU time of this process (the
machine's other programs do not inflate it as they do wall time; wall time is shown too).

    .venv/bin/python -m bench.latency [--out bench/results] [--n 1000] [--lime 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from askwell.records import Question
from bench.ingest import ROOT, machine_info, write_results

TARGET_MS = 30.0
BOTH_OVER_ANSWER = 2.0  # p99 with the closing model at most twice that of the answer model alone
LIME_OVER_BOTH = 300.0  # LIME's median at least this many times Predictor.score's
NEAR_2000 = (1500, 2500)
LIME_SAMPLES = 5000
SEED = 0


def _length(q: Question) -> int:
    return len(q.title) + len(q.body.text) + sum(map(len, q.body.code_blocks))


def load_questions(n: int) -> list[Question]:
    """``n`` real questions, drawn with a fixed seed from the quality dataset."""
    from askwell.models.train import _TEXT_COLUMNS
    from bench.quality import _sources, prepare_dataset

    dataset, _, _ = prepare_dataset(_sources()[0])
    rows = dataset.table("questions", _TEXT_COLUMNS).to_pylist()
    pick = np.random.default_rng(SEED).choice(len(rows), size=min(n, len(rows)), replace=False)
    return [Question.from_row(rows[i]) for i in sorted(pick)]


def _percentiles(ms: list[float]) -> dict[str, float]:
    values = np.asarray(ms)
    return {
        "n": len(ms),
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
    }


def time_predictor(questions: list[Question]) -> tuple[list[float], list[float], Any]:
    """Milliseconds per question with both models and with the answer model alone (each
    question scored by one, then the other), and the answer-only predictor (for LIME)."""
    from askwell.explain.predictor import Predictor

    both, alone = Predictor.load(), Predictor.load(closing=False)
    for q in questions[:20]:  # warm caches (column names, group membership) as a server would
        both.score(q)
        alone.score(q)
    ms_both: list[float] = []
    ms_alone: list[float] = []
    for q in questions:
        for predictor, ms in ((both, ms_both), (alone, ms_alone)):
            started = time.perf_counter()
            predictor.score(q)
            ms.append((time.perf_counter() - started) * 1000)
    return ms_both, ms_alone, alone


def time_lime(predictor: Any, questions: list[Question]) -> list[float]:
    """The book's explanation: LIME over the words of the body, 5,000 perturbed samples, each
    scored by the same model."""
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(class_names=["poor", "good"], random_state=SEED)
    ms = []
    for q in questions:

        def classify(texts: list[str], q: Question = q) -> Any:
            variants = [replace(q, body=replace(q.body, text=t)) for t in texts]
            p = predictor.model.predict_proba(variants)
            return np.column_stack([1 - p, p])

        started = time.perf_counter()
        explainer.explain_instance(q.body.text, classify, num_samples=LIME_SAMPLES)
        ms.append((time.perf_counter() - started) * 1000)
    return ms


# Hostile requests of the API's largest size (serve.max_text_kb: 50 kB of title and body),
# typed as Markdown: each pattern repeated to fill the body (or, "long title", the title).
# Each was once 7-15x (some far more) the cost of a normal question (issue 12).
HOSTILE_TITLE = "Why does this fail?"
REQUEST_CHARS = 50_000
PATHOLOGICAL = {
    "brackets": "[",
    "unclosed links": "[a](",
    "emphasis": "*a",
    "star runs": "*",
    "backticks": "`a",
    "tags": "<a ",
    "html line breaks": "a<br>",
    "entities": "a&#46; ",
    "quote markers": "> ",
    "nested quotes": None,  # "> x", ">> x", … 40 levels deep, again and again
    "one long prose paragraph": "This sentence is about the code that does not work as I "
    "expected it to. ",
    "single-letter words": "a ",
    "many short lines": "a\n",
    "many short sentences": "Hi! Thanks! ",
    "list items": "- a\n",
    "links": "[a](http://example.com/a) ",
    "long title": None,  # a 50 kB title over a one-line body
}
PATHOLOGICAL_OVER_NORMAL = 3.0  # at most this many times a normal ~2,000-character question
PATHOLOGICAL_RUNS = 5


def hostile_draft(name: str) -> Any:
    """The 50 kB request ``name`` of ``PATHOLOGICAL``, as a ``Draft``."""
    from askwell.explain.predictor import Draft

    size = REQUEST_CHARS - len(HOSTILE_TITLE)
    if name == "long title":
        body = "It fails. How do I fix it?"
        return Draft(("word " * REQUEST_CHARS)[: REQUEST_CHARS - len(body)], body)
    if name == "nested quotes":
        lines = [">" * (1 + i % 40) + " x\n" for i in range(size // 20)]
        return Draft(HOSTILE_TITLE, "".join(lines)[:size], ("python",))
    unit = PATHOLOGICAL[name]
    assert unit is not None
    return Draft(HOSTILE_TITLE, (unit * (size // len(unit) + 1))[:size], ("python",))


def _cost(predictor: Any, draft: Any, runs: int) -> tuple[float, float]:
    """Median CPU ms and median wall ms of ``runs`` calls of ``score_draft``."""
    cpu, wall = [], []
    for _ in range(runs):
        c, w = time.process_time(), time.perf_counter()
        predictor.score_draft(draft)
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return float(np.median(cpu)), float(np.median(wall))


def time_pathological(normal: list[Question]) -> dict[str, Any]:
    """The hostile requests' cost against the ~2,000-character questions', in the same run
    and the same way (the API's: ``Predictor.score_draft`` of the Markdown, both models)."""
    from askwell.explain.predictor import Draft, Predictor
    from bench.serve import markdown_body

    predictor = Predictor.load()
    drafts = [Draft(q.title, markdown_body(q), q.tags) for q in normal]
    for d in drafts[:20]:
        predictor.score_draft(d)
    costs = [_cost(predictor, d, 3) for d in drafts]
    cpu = float(np.median([c for c, _ in costs]))
    wall = float(np.median([w for _, w in costs]))
    shapes: dict[str, dict[str, Any]] = {}
    for name in PATHOLOGICAL:
        draft = hostile_draft(name)
        extent = predictor.score_draft(draft).extent
        c, w = _cost(predictor, draft, PATHOLOGICAL_RUNS)
        shapes[name] = {
            "request_chars": len(draft.title) + len(draft.body),
            "cpu_ms": c,
            "wall_ms": w,
            "over_normal_cpu": c / cpu,
            "over_normal_wall": w / wall,
            "scored": {
                "title_chars": extent.title_chars,
                "body_chars": extent.body_chars,
                "sentences": extent.sentences,
                "body_limit": extent.body_limit,
            },
        }
    worst = max(shapes, key=lambda k: shapes[k]["over_normal_cpu"])
    return {
        "normal": {"n": len(drafts), "cpu_ms": cpu, "wall_ms": wall},
        "shapes": shapes,
        "worst": worst,
        "worst_over_normal_cpu": shapes[worst]["over_normal_cpu"],
        "limit": PATHOLOGICAL_OVER_NORMAL,
        "pass": shapes[worst]["over_normal_cpu"] <= PATHOLOGICAL_OVER_NORMAL,
    }


def markdown(doc: dict[str, Any]) -> str:
    def row(name: str, s: dict[str, float]) -> str:
        return (
            f"| {name} | {s['n']:,} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} "
            f"| {s['max']:.1f} |"
        )

    t, h = doc["target"], doc["pathological"]
    return "\n".join(
        [
            "# Latency benchmark",
            "",
            f"Machine: {doc['machine']['cpu_count']} CPUs ({doc['machine']['cpu_model']}), "
            f"pinned to one; askwell {doc['machine'].get('askwell', '?')}. Run {doc['run_at']}.",
            "",
            "| what | questions | p50 ms | p95 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|",
            row("Predictor.score, both models, all questions", doc["predictor"]["all"]),
            row(
                "Predictor.score, both models, 1,500-2,500 characters",
                doc["predictor"]["near_2000"],
            ),
            row("answer model alone, all questions", doc["answer_only"]["all"]),
            row("answer model alone, 1,500-2,500 characters", doc["answer_only"]["near_2000"]),
            row(f"LIME, {LIME_SAMPLES:,} samples (the book's way, answer model)", doc["lime"]),
            "",
            f"- Both models / answer model alone, p99 on ~2,000-character questions: "
            f"{doc['ratio_both_p99']:.2f}x (target <= {BOTH_OVER_ANSWER:.0f}x): "
            f"**{'PASS' if doc['ratio_both_p99'] <= BOTH_OVER_ANSWER else 'FAIL'}**",
            f"- LIME / Predictor.score with both models, median per question: "
            f"{doc['ratio_lime_median']:.0f}x (target >= {LIME_OVER_BOTH:.0f}x): "
            f"**{'PASS' if doc['ratio_lime_median'] >= LIME_OVER_BOTH else 'FAIL'}**",
            f"- p99 <= {TARGET_MS:.0f} ms on ~2,000-character questions (both models): "
            f"{t['p99_ms']:.1f} ms, **{'PASS' if t['pass'] else 'FAIL'}**",
            f"- A 50 kB hostile request costs at most {PATHOLOGICAL_OVER_NORMAL:.0f}x a normal "
            f"~2,000-character question (CPU, same run): worst {h['worst']} "
            f"{h['worst_over_normal_cpu']:.2f}x, "
            f"**{'PASS' if h['pass'] else 'FAIL'}** (table below)",
            "",
            "## Hostile requests of 50 kB",
            "",
            f"Each fills the API's limit (50,000 characters of title and body) with one "
            "pattern; scored the API's way (`Predictor.score_draft`: the Markdown read within "
            "the scoring limits, then both models), against the median of the "
            f"{h['normal']['n']} ~2,000-character questions scored the same way in this run "
            f"({h['normal']['cpu_ms']:.1f} ms CPU, {h['normal']['wall_ms']:.1f} ms wall). "
            f"Median of {PATHOLOGICAL_RUNS} runs; *scored*: what the answer says was read "
            "(title and body characters, sentences, the limit that cut it).",
            "",
            "| request | CPU ms | x normal (CPU) | wall ms | x normal (wall) | scored |",
            "|---|---:|---:|---:|---:|---|",
            *(
                f"| {k} | {v['cpu_ms']:.1f} | {v['over_normal_cpu']:.2f} | {v['wall_ms']:.1f} "
                f"| {v['over_normal_wall']:.2f} | {v['scored']['title_chars']:,} + "
                f"{v['scored']['body_chars']:,} chars, {v['scored']['sentences']} "
                f"sentence{'' if v['scored']['sentences'] == 1 else 's'}, "
                f"cut by {v['scored']['body_limit'] or 'title'} |"
                for k, v in h["shapes"].items()
            ),
            "",
            "Predictor.score = the calibrated score, band and evidence, the ideas helping and "
            "hurting, ranked suggestions (each re-scored by its what-if) and leave-one-sentence-"
            "out highlights, for one question, in process, after 20 warm-up calls.",
            "",
            "How to run: `.venv/bin/python -m bench.latency [--out bench/results] [--n 1000] "
            "[--lime 5]`.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--n", type=int, default=1000, help="questions to time")
    parser.add_argument("--lime", type=int, default=5, help="questions to explain with LIME")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    questions = load_questions(args.n)
    ms, alone_ms, predictor = time_predictor(questions)
    is_near = [NEAR_2000[0] <= _length(q) <= NEAR_2000[1] for q in questions]
    near = [m for m, keep in zip(ms, is_near, strict=True) if keep]
    near_alone = [m for m, keep in zip(alone_ms, is_near, strict=True) if keep]
    with_prose = [q for q in questions if q.body.text.strip()]
    lime_ms = time_lime(predictor, with_prose[: args.lime])
    near_stats = _percentiles(near)
    alone_stats = _percentiles(near_alone)
    hostile = time_pathological([q for q, keep in zip(questions, is_near, strict=True) if keep])
    doc = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "predictor": {"all": _percentiles(ms), "near_2000": near_stats},
        "answer_only": {"all": _percentiles(alone_ms), "near_2000": alone_stats},
        "ratio_both_p99": near_stats["p99"] / alone_stats["p99"],
        "lime": _percentiles(lime_ms),
        "ratio_lime_median": float(np.median(lime_ms) / np.median(ms)),
        "pathological": hostile,
        "target": {"p99_ms": near_stats["p99"], "limit_ms": TARGET_MS,
                   "pass": near_stats["p99"] <= TARGET_MS},
    }  # fmt: skip
    write_results(args.out, "latency", doc, markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
