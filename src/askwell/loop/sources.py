"""Training data with provenance (``askwell retrain``, step 1): outcomes from dumps or
exports, reviewers' labels from the review queue, and the advice feedback, as one dataset.

- **Outcomes**: every question of the given datasets (``askwell ingest`` folders; a later
  source's copy of a question replaces an earlier one's: a newer export knows more outcomes).
  Their label is what the site did (``label_source`` "outcome", by the site's community).
- **Reviewers' labels** (the store's ``review_labels``): a question reviewers labelled takes
  their label (``closed``, ``close_reason``) where they agree; two reviewers who disagree
  leave it as it was (counted). An item that is in no outcome source (a draft its author
  shared, a question of data not given here) becomes a question of its own, its body read
  from Markdown as the editor reads it. ``label_source`` "review", by the reviewers' names.
- **Advice feedback** (the store's ``feedback`` on one suggestion, and ``revisions``): one
  row per suggestion marked not helpful, ignored, helpful, or followed in a later revision,
  with its time and the editing session it came from (no person's text: the store has none).

The dataset's fingerprint covers every table, provenance included, and the sources' own
fingerprints: the same inputs give the same fingerprint, so retraining is idempotent.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from askwell.data.dataset import MANIFEST, Dataset
from askwell.data.schema import CLOSE_REASONS, TABLE_SCHEMAS
from askwell.errors import InputError

OUTCOME, REVIEW = "outcome", "review"
REVIEWED_SITE = "review queue"  # the site of reviewed items that no outcome source holds
# Tables concatenated from the outcome sources, de-duplicated on (site, id) where they have it.
CARRIED = ("questions", "answers", "votes", "comments", "post_history")
KEYED = ("questions", "answers")


@dataclass(frozen=True)
class Sources:
    """Where retraining data comes from: ingested datasets (outcomes, oldest first) and the
    prediction store (reviewers' labels and advice feedback), each of which may be off."""

    outcomes: tuple[Path, ...]
    database_url: str | None = None
    reviews: bool = True
    feedback: bool = True


@dataclass
class Built:
    """The training dataset and what went into it."""

    dataset: Dataset
    summary: dict[str, Any] = field(default_factory=dict)


def build(sources: Sources, out: Path) -> Built:
    """The training dataset at ``out`` (replaced when it exists with other contents)."""
    if not sources.outcomes:
        raise InputError("retraining needs at least one outcome source (an ingested dataset)")
    datasets = [Dataset.open(p) for p in sources.outcomes]
    tables = {name: _carried(datasets, name) for name in CARRIED}
    questions = tables["questions"]
    provenance = _outcome_provenance(questions, datasets)
    reviews: dict[str, Any] = {"used": False}
    feedback = TABLE_SCHEMAS["advice_feedback"].empty_table()
    if sources.database_url is not None and (sources.reviews or sources.feedback):
        from askwell.store.db import Store

        store = Store.open(sources.database_url)
        try:
            if sources.reviews:
                questions, provenance, reviews = _apply_reviews(store, questions, provenance)
            if sources.feedback:
                feedback = _advice_feedback(store)
        finally:
            store.close()
    tables["questions"] = questions
    tables["provenance"] = provenance
    tables["advice_feedback"] = feedback
    origin = {
        "outcomes": [{"fingerprint": d.fingerprint, "folder": d.folder.name} for d in datasets],
        "reviews": sources.reviews and sources.database_url is not None,
        "feedback": sources.feedback and sources.database_url is not None,
    }
    dataset = _write(tables, origin, datasets, out)
    label_sources = Counter(provenance.column("label_source").to_pylist())
    summary = {
        "fingerprint": dataset.fingerprint,
        "questions": questions.num_rows,
        "labels_by_source": dict(sorted(label_sources.items())),
        "outcome_sources": origin["outcomes"],
        "reviews": reviews,
        "advice_feedback": _feedback_summary(feedback),
    }
    return Built(dataset, summary)


def _carried(datasets: list[Dataset], name: str) -> pa.Table:
    schema = TABLE_SCHEMAS[name]
    parts = [d.table(name).select(schema.names).cast(schema) for d in datasets if d.has(name)]
    if not parts:
        return schema.empty_table()
    table = pa.concat_tables(parts)
    if name in KEYED and table.num_rows:
        # The last source's copy of each (site, id) wins.
        order = pa.array(range(table.num_rows), pa.int64())
        keyed = table.append_column("_order", order)
        last = keyed.group_by(["site", "id"]).aggregate([("_order", "max")])
        table = table.take(last.column("_order_max"))
    return _sorted(table)


def _sorted(table: pa.Table) -> pa.Table:
    if {"site", "id"} <= set(table.column_names) and table.num_rows:
        return table.take(pc.sort_indices(table, [("site", "ascending"), ("id", "ascending")]))
    return table


def _outcome_provenance(questions: pa.Table, datasets: list[Dataset]) -> pa.Table:
    """Each question's label as its site gave it, by the site's community: known at its close
    date (none while it is open: an open question may still be closed)."""
    by_question = {}
    for d in datasets:
        for site, qid in zip(
            d.table("questions", ["site"]).column("site").to_pylist(),
            d.table("questions", ["id"]).column("id").to_pylist(),
            strict=True,
        ):
            by_question[(site, qid)] = d.fingerprint[:12]
    sites = questions.column("site").to_pylist()
    ids = questions.column("id").to_pylist()
    closed_dates = questions.column("closed_date").to_pylist()
    return pa.Table.from_pylist(
        [
            {
                "site": site,
                "id": qid,
                "label_source": OUTCOME,
                "label_detail": f"dataset {by_question.get((site, qid), '?')}",
                "label_time": closed,
                "label_by": f"{site} community",
            }
            for site, qid, closed in zip(sites, ids, closed_dates, strict=True)
        ],
        schema=TABLE_SCHEMAS["provenance"],
    )


def reviewed_labels(store: Any) -> tuple[list[dict[str, Any]], int]:
    """The label of each reviewed item where its reviewers agree (closed, reason, time,
    reviewers), and how many items had reviewers who disagreed."""
    items = {r["id"]: r for r in store.rows("review_items")}
    by_item: dict[int, list[dict[str, Any]]] = {}
    for label in store.rows("review_labels"):
        by_item.setdefault(int(label["item_id"]), []).append(label)
    agreed, disagreed = [], 0
    for item_id, labels in sorted(by_item.items()):
        verdicts = {bool(lab["closed"]) for lab in labels}
        if len(verdicts) > 1:
            disagreed += 1
            continue
        closed = verdicts.pop()
        reasons = Counter(lab["reason"] for lab in labels if lab["reason"] in CLOSE_REASONS)
        agreed.append(
            {
                "item": items[item_id],
                "closed": closed,
                # The reason most reviewers gave; on a tie, the first reviewer's.
                "reason": reasons.most_common(1)[0][0] if closed and reasons else None,
                "time": max(_utc(lab["created_at"]) for lab in labels),
                "by": ", ".join(sorted({str(lab["reviewer"]) for lab in labels})),
            }
        )
    return agreed, disagreed


def _apply_reviews(
    store: Any, questions: pa.Table, provenance: pa.Table
) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    agreed, disagreed = reviewed_labels(store)
    index = {
        (s, i): n
        for n, (s, i) in enumerate(
            zip(
                questions.column("site").to_pylist(),
                questions.column("id").to_pylist(),
                strict=True,
            )
        )
    }
    closed = questions.column("closed").to_pylist()
    reasons = questions.column("close_reason").to_pylist()
    prov = provenance.to_pylist()
    new_rows: list[dict[str, Any]] = []
    relabelled = changed = 0
    for label in agreed:
        item = label["item"]
        key = (item["site"], item["question_id"])
        record = {
            "label_source": REVIEW,
            "label_detail": f"review item {item['id']} ({item['source']})",
            "label_time": label["time"],
            "label_by": label["by"],
        }
        if item["question_id"] is not None and key in index:
            n = index[key]
            changed += int(closed[n] != label["closed"])
            closed[n], reasons[n] = label["closed"], label["reason"]
            prov[n] |= record
            relabelled += 1
        else:
            new_rows.append(_reviewed_question(item, label))
            prov.append({"site": REVIEWED_SITE, "id": -int(item["id"]), **record})
    questions = questions.set_column(
        questions.schema.get_field_index("closed"), "closed", pa.array(closed, pa.bool_())
    )
    questions = questions.set_column(
        questions.schema.get_field_index("close_reason"),
        "close_reason",
        pa.array(reasons, pa.string()),
    )
    if new_rows:
        questions = pa.concat_tables([questions, _question_rows(new_rows)])
    summary = {
        "used": True,
        "labelled_items": len(agreed) + disagreed,
        "agreed": len(agreed),
        "disagreed_left_out": disagreed,
        "relabelled_questions": relabelled,
        "labels_changed": changed,
        "new_questions": len(new_rows),
    }
    return questions, pa.Table.from_pylist(prov, schema=TABLE_SCHEMAS["provenance"]), summary


def _reviewed_question(item: dict[str, Any], label: dict[str, Any]) -> dict[str, Any]:
    tags = [t for t in str(item["tags"] or "").replace("<", " ").replace(">", " ").split() if t]
    return {
        "site": REVIEWED_SITE,
        "id": -int(item["id"]),  # never a real post id
        "creation_date": _utc(item["added_at"]),
        "title": item["title"],
        "tags": tags,
        "body_markdown": item["body"],
        "closed": label["closed"],
        "close_reason": label["reason"],
        "source": "review queue",
        "source_line": int(item["id"]),
    }


def _question_rows(rows: list[dict[str, Any]]) -> pa.Table:
    from askwell.data.rows import markdown_body_columns

    schema = TABLE_SCHEMAS["questions"]
    body = markdown_body_columns([r["body_markdown"] for r in rows])
    columns = {}
    for f in schema:
        if f.name in body:
            columns[f.name] = body[f.name].cast(f.type)
        else:
            columns[f.name] = pa.array([r.get(f.name) for r in rows], f.type)
    return pa.table(columns, schema=schema)


def _advice_feedback(store: Any) -> pa.Table:
    sessions = {r["request_id"]: r["session_id"] for r in store.rows("predictions")}

    def who(request_id: str) -> str:
        session = sessions.get(request_id)
        return f"editing session {session}" if session else "anonymous"

    rows = []
    for fb in store.rows("feedback"):
        if fb["suggestion_id"] is None:
            continue
        kind = "ignored" if fb.get("ignored") else "helpful" if fb["helpful"] else "not helpful"
        rows.append(
            {
                "rule": fb["suggestion_id"],
                "kind": kind,
                "request_id": fb["request_id"],
                "time": _utc(fb["created_at"]),
                "source": "feedback",
                "who": who(fb["request_id"]),
            }
        )
    for rev in store.rows("revisions"):
        for rule in rev["followed"]:
            rows.append(
                {
                    "rule": str(rule),
                    "kind": "followed",
                    "request_id": rev["request_id"],
                    "time": _utc(rev["created_at"]),
                    "source": "revision",
                    "who": f"editing session {rev['session_id']}",
                }
            )
    rows.sort(key=lambda r: (r["time"], r["request_id"], r["rule"], r["kind"]))
    return pa.Table.from_pylist(rows, schema=TABLE_SCHEMAS["advice_feedback"])


def _feedback_summary(feedback: pa.Table) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for rule, kind in zip(
        feedback.column("rule").to_pylist(), feedback.column("kind").to_pylist(), strict=True
    ):
        out.setdefault(rule, {})[kind] = out.get(rule, {}).get(kind, 0) + 1
    return dict(sorted(out.items()))


def _write(
    tables: dict[str, pa.Table], origin: dict[str, Any], datasets: list[Dataset], out: Path
) -> Dataset:
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # a half-written folder is never a dataset
    manifest: dict[str, Any] = {
        "status": "complete",
        "schema_version": datasets[-1].manifest.get("schema_version"),
        "inputs": [i for d in datasets for i in d.manifest.get("inputs", [])],
        "tables": {},
        "derived_from": origin,
        "built_by": "askwell retrain",
    }
    for name, table in tables.items():
        path = out / f"{name}.parquet"
        pq.write_table(table, path, compression="zstd")
        manifest["tables"][name] = {
            "file": path.name,
            "rows": table.num_rows,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    digest = hashlib.sha256(json.dumps(origin, sort_keys=True).encode())
    for name in sorted(manifest["tables"]):
        digest.update(f"{name}:{manifest['tables'][name]['sha256']}".encode())
    manifest["fingerprint"] = digest.hexdigest()
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Dataset.open(out)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
