"""Serving is its own artifact: a scoring process loads weights and vocabularies and imports
no training code, no dataset code, no MLflow, and nothing that needs pandas or pyarrow.

The process runs ``serving.pool._serve`` (what each scoring process runs) on the shipped
bundles and scores a draft. scikit-learn imports pandas whenever pandas is installed
(``sklearn/utils/fixes.py``: ``try: import pandas``, reached from ``import sklearn``), and
pandas imports pyarrow, so in this environment, which has them for training, they are in
``sys.modules`` all the same: the second run makes them impossible to import and checks
that scoring gives the same numbers without them.
"""

from __future__ import annotations

import json
import subprocess
import sys

_SCRIPT = """
import json, sys, threading
from multiprocessing import Pipe

if sys.argv[1] == "without-pandas":
    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("pandas", "pyarrow"):
                raise ImportError(f"{name} is not installed here")
            return None
    sys.meta_path.insert(0, Refuse())

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


def test_a_scoring_process_imports_no_training_code() -> None:
    plain = _run("plain")
    loaded = _top(plain["modules"])
    assert not loaded & set(NEVER), sorted(loaded & set(NEVER))
    assert not {m for m in plain["modules"] if m.startswith("askwell.data.")} - {
        "askwell.data._html",
        "askwell.data.text",
    }  # reading a question's HTML, nothing of the dataset
    sklearn = _run(
        "plain", "import json, sys, sklearn; print(json.dumps({'modules': sorted(sys.modules)}))"
    )
    if "pandas" not in _top(sklearn["modules"]):  # a scikit-learn that no longer imports it
        assert not loaded & {"pandas", "pyarrow"}
    without = _run("without-pandas")
    assert not _top(without["modules"]) & {"pandas", "pyarrow", *NEVER}
    assert without["scores"] == plain["scores"]
