"""The grader sandbox image: the host's exact stack, non-root, runs a notebook with no network."""

from __future__ import annotations

import importlib.metadata as md
import json

import pytest

STACK = ("pandas", "numpy", "matplotlib", "scikit-learn", "scipy", "nbgrader", "nbconvert", "nbclient",
         "nbformat", "ipykernel", "jupyter_client", "openpyxl")  # fmt: skip


@pytest.fixture(scope="module")
def grader(built) -> str:
    return built.report.images["grader"]


def test_same_stack_versions_as_the_host(grader, run_image) -> None:
    code = f"import importlib.metadata as m, json; print(json.dumps({{p: m.version(p) for p in {STACK!r}}}))"
    run = run_image(grader, ["python", "-c", code])
    assert run.status == 0, run
    assert json.loads(run.stdout) == {p: md.version(p) for p in STACK}


def test_runs_as_non_root(grader, run_image, docker_client) -> None:
    assert docker_client.images.get(grader).attrs["Config"]["User"] == "1001:1001"
    run = run_image(grader, ["sh", "-c", "id -u; id -un; command -v curl wget || true"])
    assert run.status == 0 and run.stdout.split() == ["1001", "grader"], run


EXECUTE = """
import json, nbformat
from nbclient import NotebookClient
nb = nbformat.v4.new_notebook()
nb.cells = [
    nbformat.v4.new_code_cell("import pandas as pd\\nfrom sklearn.linear_model import LinearRegression\\n"
                              "df = pd.DataFrame({'x': [1, 2, 3], 'y': [2, 4, 6]})\\n"
                              "m = LinearRegression().fit(df[['x']], df['y'])\\nprint(round(m.coef_[0], 6))"),
    nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\\nplt.plot([1, 2]); plt.title('Điểm số')\\nprint('ok')"),
]
NotebookClient(nb, timeout=60, kernel_name="python3").execute()
print(json.dumps([c.outputs[0]["text"].strip() for c in nb.cells]))
"""


def test_executes_a_notebook_without_network(grader, run_image) -> None:
    run = run_image(grader, ["python", "-c", EXECUTE], timeout=180)
    assert run.status == 0, run
    assert json.loads(run.stdout.strip().splitlines()[-1]) == ["2.0", "ok"], run
