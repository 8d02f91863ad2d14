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
