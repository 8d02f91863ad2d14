"""varjax.viz and the rich display: the drawn graph names its nodes as PyTorch's autograd
does, the program view matches what XLA compiled without computing anything, and the
notebook displays say what a value, a module and the compile cache hold."""

from __future__ import annotations

import shutil
import sys
import time
import types

import pytest

import varjax as vj
from varjax import _compile, viz


def tutorial(lib):
    x = lib.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    return x, z.mean()


def _torch_names(fn) -> list[str]:
    """grad_fn names by a walk of next_functions, depth first, each node once."""
    out, seen, stack = [], set(), [fn]
    while stack:
        f = stack.pop()
        if f is None or f in seen:  # (varjax makes a GradFn per access: equal, not identical)
            continue
        seen.add(f)
        out.append(f.name().split("::")[-1])
        stack.extend(g for g, _ in reversed(f.next_functions))
    return out


def test_graph_names_the_nodes_as_pytorch_does():
    torch = pytest.importorskip("torch")
    _, t_out = tutorial(torch)
    x, out = tutorial(vj)
    expected = _torch_names(t_out.grad_fn)
    assert expected == ["MeanBackward0", "MulBackward0", "MulBackward0", "AddBackward0",
                        "AccumulateGrad"]  # fmt: skip
    assert _torch_names(out.grad_fn) == expected
    g = viz.graph(out)
    assert [n.label for n in g.nodes] == expected
    assert [n.shape for n in g.nodes] == [(), (2, 2), (2, 2), (2, 2), (2, 2)]
    assert {n.dtype for n in g.nodes} == {"float32"}
    assert g.pending == len(g) == 5 and out._node.value is None  # drawing computes nothing
    assert [n.label for n in viz.graph(out, {"x": x}).nodes][-1] == "x"


def test_computed_nodes_are_solid_and_pending_ones_dashed():
    x, out = tutorial(vj)
    out.item()
    w = out * 2
    g = viz.graph(w)
    # y and z were not kept (nobody holds them): backward computes them again, a read of w not
    assert [n.state for n in g.nodes] == ["pending", "computed"] + ["not kept"] * 3 + ["computed"]
    assert g.pending == 1
    statements = g.source.split("\t")  # one node statement each (labels span two lines)
    assert [s for s in statements if "MulBackward0" in s and "dashed" in s]  # pending
    assert [s for s in statements if "MeanBackward0" in s and "dash" not in s]  # computed
    assert [s for s in statements if "AddBackward0" in s and "dotted" in s]  # not kept


def test_text_tree_is_the_fallback_without_the_dot_binary(monkeypatch, tmp_path):
    _, out = tutorial(vj)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    g = viz.graph(out)
    text = str(g)
    assert text.splitlines()[1] == "MeanBackward0  () float32  [pending]"
    assert "└─ AccumulateGrad  (2, 2) float32  [pending]" in text
    assert "(inputs shown above)" in text  # y * y reads y twice
    assert g._repr_svg_() is None and g._repr_mimebundle_() == {"text/plain": text}
    assert g.save(tmp_path / "g.txt").read_text() == text + "\n"
    assert g.save(tmp_path / "g.dot").read_text().startswith("digraph")
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        g.save(tmp_path / "g.png")


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz binary")
def test_graph_renders_svg_and_png_with_the_dot_binary(tmp_path):
    _, out = tutorial(vj)
    g = viz.graph(out)
    assert "<svg" in g._repr_svg_() and "MeanBackward0" in g._repr_mimebundle_()["image/svg+xml"]
    assert g.save(tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_dot_source_names_the_parameters_of_a_linear_model():
    vj.manual_seed(0)
    model = vj.nn.Linear(3, 2)
    loss = model(vj.randn(4, 3)).pow(2).mean()
    g = viz.graph(loss, dict(model.named_parameters()))
    assert '"weight' in g.source and '"bias' in g.source
    assert {n.label for n in g.nodes if n.kind == "param"} == {"weight", "bias"}
    assert "AddmmBackward0" in g.source


def test_program_reports_kernels_flops_and_the_jaxpr_and_computes_nothing():
    _, out = tutorial(vj)
    before = vj.compile_stats()
    p = viz.program(out)
    assert p.kernels >= 1 and p.flops > 0 and p.bytes_accessed > 0
    assert {"add", "mul", "reduce_sum", "div"} <= set(p.primitives)
    assert out._node.value is None
    assert vj.compile_stats().compiles == before.compiles  # not in varjax's cache
    assert "XLA kernels" in repr(p) and "jaxpr" in p._repr_html_()
    b = viz.program(out, backward=True)
    assert b.kind == "backward" and b.kernels >= 1 and "mul" in b.primitives
    out.backward()  # still the tutorial's gradient: the views changed nothing
    # whether backward returned the value too depends on whether earlier losses were read
    # (_compile.wants_value); once read, nothing is left to compile
    assert out.item() == 27.0 and viz.program(out).kernels == 0


def test_variable_html_says_pending_before_showing_values():
    _, out = tutorial(vj)
    text = out._repr_html_()
    assert "pending" in text and "MeanBackward0" in text and "cpu" in text
    assert "tensor(27." in text and "float32" in text
    assert "computed" in out._repr_html_()
    big = vj.ones(2000) * 2
    assert "not shown" in big._repr_html_() and big._node.value is None


def test_module_and_compile_stats_html():
    m = vj.nn.Sequential(vj.nn.Linear(64, 32), vj.nn.ReLU(), vj.nn.Linear(32, 10))
    text = m._repr_html_()
    assert "2,410 parameters" in text and "2,080 parameters" in text
    assert "weight: (32, 64)" in text and "ReLU()" in text
    html = vj.compile_stats()._repr_html_()
    assert "cache_hits" in html and "compile_seconds" in html


def test_a_slow_compile_prints_a_note_in_a_notebook_only(monkeypatch, capsys):
    monkeypatch.setattr(_compile, "NOTE_AFTER", 0.0)
    (vj.ones(3) * 5).cos().tolist()  # outside IPython: nothing
    assert "varjax: compiling" not in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=object))
    (vj.ones(3) * 5).tan().exp().tolist()
    time.sleep(0.05)  # the note comes from a timer thread
    assert "varjax: compiling a forward program" in capsys.readouterr().out

    step = vj.jit(lambda x: (x * 2).sin())
    step(vj.ones(2)).tolist()
    time.sleep(0.05)
    assert "varjax: compiling a varjax.jit program" in capsys.readouterr().out
    step(vj.ones(2)).tolist()  # cached: no compile, no note
    time.sleep(0.05)
    assert "varjax: compiling" not in capsys.readouterr().out
