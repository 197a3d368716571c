"""Serving is its own artifact: a scoring process loads weights and vocabularies and imports
no training code, no dataset code, no MLflow, no pandas and no pyarrow.

scikit-learn imports pandas whenever pandas is installed (``sklearn/utils/fixes.py``:
``try: import pandas``, reached from ``import sklearn``), and this environment has it for
training; so a scoring process starts by refusing them (``serving.scoring_process``), and
scikit-learn goes on without. The script below does what a scoring process does, refusals
first, on the shipped bundles, and reports ``sys.modules``; run without the refusals
(pandas loaded), it must give the very same numbers. A real pool's processes are checked
too, by the shared libraries mapped into them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = """
import json, sys, threading
from multiprocessing import Pipe

if sys.argv[1] == "as-served":  # what scoring_process.run does before anything else
    from askwell.serving import scoring_process
    scoring_process.refuse()

from askwell.explain.predictor import Draft
from askwell.models.bundle import default_bundle
from askwell.serving.pool import _serve

server, scorer = Pipe()
answers = []

def serve_one():
    answers.append(server.recv())
    if answers[0][0] != "ready":
        return
    server.send(Draft("How do I sort a list of tuples by the second item in Python?",
                      "I tried `sorted(pairs)` but it sorts by the first item.", ("python",)))
    answers.append(server.recv())
    server.close()

thread = threading.Thread(target=serve_one)
thread.start()
_serve(scorer, str(default_bundle()))  # returns once the server closes its end
thread.join()
assert answers[0][0] == "ready", answers
(status, reading) = answers[1]
assert status == "ok", answers
scored = reading.scored
print(json.dumps({
    "scores": [repr(scored.score), repr(scored.judgement), repr(scored.closing_risk)],
    "modules": sorted(sys.modules),
}))
"""

NEVER = ("askwell.models.train", "askwell.data.dataset", "mlflow", "lightgbm")


def _run(mode: str, script: str = _SCRIPT) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _top(modules: list[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules} | set(modules)


def test_a_scoring_process_imports_no_training_code_and_no_pandas() -> None:
    served = _run("as-served")
    loaded = _top(served["modules"])
    assert not loaded & {"pandas", "pyarrow", *NEVER}, sorted(loaded & {"pandas", *NEVER})
    assert not {m for m in served["modules"] if m.startswith("askwell.data.")} - {
        "askwell.data._html",
        "askwell.data.text",
    }  # reading a question's HTML, nothing of the dataset
    plain = _run("with-pandas")  # as it would be without the refusals
    assert "pandas" in _top(plain["modules"])  # so the refusals are what keeps it out
    assert served["scores"] == plain["scores"]


def _mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_the_pools_processes_load_no_pandas_or_pyarrow() -> None:
    """The processes a real pool spawns: no pandas or pyarrow library is mapped into them,
    while this process (which imported pandas) shows them, so the check can see them."""
    import pandas  # noqa: F401

    from askwell.explain.predictor import Predictor
    from askwell.models.bundle import default_bundle
    from askwell.serving.pool import ScoringPool

    assert "/pandas/" in _mapped(os.getpid())
    bundle = default_bundle()
    pool = ScoringPool(bundle, 1, Predictor.load(bundle).model_version)
    try:
        assert pool.alive == 1
        (process,) = [p.process for p in pool._all]
        assert process.pid is not None
        maps = _mapped(process.pid)
        assert "/sklearn/" in maps  # the model is loaded there
        assert "/pandas/" not in maps and "/pyarrow/" not in maps
    finally:
        pool.close()


def test_a_refused_module_raises_as_if_not_installed() -> None:
    from askwell.serving.scoring_process import RefusedImports

    finder = RefusedImports(["pandas"])
    with pytest.raises(ImportError, match="not imported in a scoring process"):
        finder.find_spec("pandas.core.frame")
    assert finder.find_spec("pandasx") is None and finder.find_spec("numpy") is None
