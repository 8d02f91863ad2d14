"""The notebooks run top to bottom (nbclient) and print what the tutorial promises."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(name: str) -> list[str]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            outputs.append(
                "".join(
                    o.get("text", "")
                    for o in cell.get("outputs", [])
                    if o.get("output_type") == "stream"
                )
            )
    return outputs


@pytest.fixture(scope="module")
def tutorial() -> list[str]:
    return execute("autograd_tutorial.ipynb")


def test_tutorial_prints_the_matrix_of_4_5(tutorial):
    matrix = "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])\n"
    assert matrix in tutorial  # the tutorial's own cell prints exactly the matrix
    assert "".join(tutorial).count(matrix) == 2  # and the idiomatic form again
    assert "grad_fn=<AddBackward0>" in "".join(tutorial)
    assert "tensor(27., grad_fn=<MeanBackward0>)" in "".join(tutorial)


def test_tutorial_loop_gradient_is_2_to_the_k_times_the_vector(tutorial):
    text = "".join(tutorial)
    k = int(re.search(r"doublings: (\d+)", text).group(1))
    grad = ast.literal_eval(re.search(r"loop gradient: (\[.*\])", text).group(1))
    expected = [2**k * g for g in (0.1, 1.0, 0.0001)]
    assert k >= 1
    assert all(abs(a - b) <= 1e-6 * abs(b) for a, b in zip(grad, expected))
    assert "matches 2^k * gradients: True" in text


def test_tutorial_exercise_answers(tutorial):
    text = "".join(tutorial)
    assert "features.requires_grad: False" in text and "score.requires_grad: True" in text
    assert "frozen_w.grad: None" in text
    assert "tensor([4., 6.])" in text


def run_notebook(name: str) -> nbformat.NotebookNode:
    """Execute a notebook in its folder and return it with its outputs; a cell that raises
    (a failed ``assert`` in the notebook too) fails the test with a CellExecutionError."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return nb


def test_train_digits_reaches_95_percent_and_plots_its_curves():
    nb = run_notebook("train_digits.ipynb")  # its last cells assert the accuracies themselves
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(
        o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout"
    )
    accuracy = dict(re.findall(r"(MLP|CNN) final test accuracy: ([\d.]+)", text))
    assert set(accuracy) == {"MLP", "CNN"}, text
    assert all(float(a) >= 0.95 for a in accuracy.values()), accuracy
    # the compiled training step and the evaluation are reused after the first epoch
    assert text.count("programs compiled after the first epoch: 0") == 2, text
    assert re.search(r"MLP: test accuracy ([\d.]+) trained, \1 reloaded", text), text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the learning curves


def test_inside_varjax_draws_the_graph_shows_the_program_and_a_recompile():
    nb = run_notebook("inside_varjax.ipynb")
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(
        o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout"
    )
    assert "MeanBackward0" in text and "nodes: 5" in text, text  # the tutorial's graph
    assert "still pending: True" in text, text  # showing the program computed nothing
    assert re.search(r"-> \d+ XLA kernels \(\d+ fused\)", text), text  # the fused program
    said = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "differs from the nearest earlier one" in said, said  # the recompile, explained
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the timing plot
