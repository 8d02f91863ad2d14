"""The package's shape: imports run one way (no cycle, no import inside a function), the
Variable's whole surface is declared in its class and bases, an op is one row, and ops
lifted from user code live as long as that code and grow no global table."""

from __future__ import annotations

import ast
import gc
import logging
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import varjax as vj
from varjax import _functions, _lift, _ops
from varjax.utils import checkpoint

ROOT = Path(vj.__file__).resolve().parent

# Bottom to top: a module imports only from its own layer or the ones below (DESIGN.md).
LAYERS = [
    "_caches _config _grad_mode _source _dtypes _args _format _views _tracing _device _html "
    "_op_examples",
    "_ops",
    "_record random _autocast",
    "_program _placement",
    "_recompile _compile",
    "_forward _anomaly _vjp _hooks _higher_order _backward",
    "_methods _variable",
    "_functions _creation _lift _function _state _serialization _checkpoint_shards linalg",
    "nn optim autograd utils cuda accelerator backends testing amp distributed viz",
    "_jit func _compiled",
    "<package> _opdoc",
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    top = module.split(".")[0] if module else "<package>"
    for i, names in enumerate(LAYERS):
        if top in names.split():
            return i
    raise AssertionError(f"varjax.{module} is in no layer of tests/test_architecture.py")


def _imports(module: str) -> set[str]:
    """The varjax modules ``module`` imports at import time (not under TYPE_CHECKING)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".") if package else []
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            subs = {f"{target}.{a.name}".lstrip(".") for a in node.names}
            found |= {s for s in subs if s in MODULES}
            if not subs & set(MODULES) or node.module:
                found.add(target)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert not any(n.startswith("varjax") for n in names), (module, "absolute import")
    return {m for m in found if m != module}


def test_imports_run_one_way_through_the_layers():
    for module in MODULES:
        for target in _imports(module):
            assert _layer(target) <= _layer(module), (
                f"varjax.{module} (layer {_layer(module)}) imports varjax.{target} "
                f"(layer {_layer(target)}): imports must run from the top down"
            )


def test_no_import_cycle_and_no_import_inside_a_function():
    graph = {m: _imports(m) for m in MODULES}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in graph[m]:
            assert state.get(t) != 1, "import cycle: " + " -> ".join(path + [m, t])
            if t not in state:
                visit(t, path + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
    for module, path in MODULES.items():
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = [n for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert not inner, f"varjax.{module}.{fn.name} imports inside a function"


def _class_body_names(cls: type) -> set[str]:
    """Names a type checker sees declared in the body of ``cls`` (parsed from its source)."""
    tree = ast.parse(Path(sys.modules[cls.__module__].__file__).read_text())
    (node,) = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__]
    names = set()
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
    return names


def test_variable_surface_is_declared_in_its_class_and_bases():
    """Every public attribute of Variable is written in the body of Variable or of one of its
    bases (what a type checker reads), and importing the rest of varjax adds none."""
    declared = set()
    for cls in vj.Variable.__mro__[:-1]:
        declared |= _class_body_names(cls)
    public = {n for n in dir(vj.Variable) if not n.startswith("_")}
    assert public <= declared, public - declared
    code = "import varjax._variable as v; print(sorted(n for n in dir(v.Variable)))"
    alone = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert alone.stdout.strip() == str(sorted(dir(vj.Variable)))
    assert vj.Tensor is vj.Variable and isinstance(vj.ones(2), vj.Tensor)
    np.testing.assert_array_equal(vj.Tensor([1.0, 2.0]).numpy(), [1.0, 2.0])
    assert vj.Tensor(2, 3).shape == (2, 3) and vj.Tensor().shape == (0,)


def test_an_op_is_one_row():
    """A row with a convention is the op, the method, the function (the method taking
    ``out=``) and its export."""
    for row in _ops.rows():
        for name in row.names:
            method = getattr(vj.Variable, name)
            assert method.row is row and getattr(vj, name).__wrapped__ is method, name
            assert name in vj.__all__ and name in _functions.__all__
            assert method.__doc__ and row.op.doc in method.__doc__
        assert _ops.OPS[row.op.name] is row.op


USER_SCRIPT = """
import varjax as torch

x = torch.tensor([1.0, 2.0], requires_grad=True)
w: torch.Tensor = torch.ones(2, 2)
y = (x.sinh() + torch.sinh(x)).sum(0, keepdim=True) + x.mean() % 2 // 1
z = w.reshape(4).view(2, 2).t().matmul(x).softmax(0).flatten().clone()
loss = (y * z.exp()).sum()
loss.backward()
print(x.grad, loss.item(), torch.cat([x, x]).max(0).values, x.detach().numpy())
"""


@pytest.mark.skipif(shutil.which("pyright") is None, reason="pyright is not installed")
def test_a_type_checker_sees_every_method(tmp_path):
    script = tmp_path / "user.py"
    script.write_text(USER_SCRIPT)
    run = subprocess.run(
        ["pyright", "--outputjson", str(script)], capture_output=True, text=True, timeout=300
    )
    assert '"errorCount": 0' in run.stdout, run.stdout[-3000:]


def test_a_fresh_lambda_per_call_grows_no_table_and_compiles_once():
    x = vj.tensor([0.5, 1.5], requires_grad=True)
    ops_before, lifted_before = len(_ops.OPS), len(_lift._LIFTED)
    compiles = []
    for _ in range(20):
        x.grad = None
        checkpoint(lambda a: (a.sin() * a).tanh(), x).sum().backward()  # a new lambda each time
        compiles.append(vj.compile_stats().compiles)
    # only the first calls compiled: the backward, then the same without the loss's value,
    # which nobody read (see _compile.wants_value)
    assert compiles[2:] == compiles[1:2] * 18 and compiles[1] - compiles[0] <= 1
    assert len(_ops.OPS) == ops_before and len(_lift._LIFTED) == lifted_before + 1
    expected = jax.grad(lambda a: jnp.sum(jnp.tanh(jnp.sin(a) * a)))(jnp.array([0.5, 1.5]))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_lifted_ops_live_as_long_as_the_user_function():
    lifted = vj.op(lambda a: jnp.cos(a) * 2)
    lifted(vj.ones(2)).sum().item()
    ref = weakref.ref(lifted.op)
    del lifted
    vj.clear_caches()  # compiled programs hold their ops too
    gc.collect()
    assert ref() is None

    class Cube(vj.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a**3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 3 * a**2 * g

    Cube.apply(vj.ones(2)).sum().item()
    cls_ref = weakref.ref(Cube)
    del Cube
    vj.clear_caches()
    gc.collect()
    assert cls_ref() is None


def test_recompile_explanations_name_the_user_function(caplog):
    def my_block(a):
        return (a * 2).tanh()

    vj.config.explain_recompiles = True
    try:
        with caplog.at_level(logging.WARNING, logger="varjax.recompile"):
            for n in (2, 3):
                x = vj.tensor(np.ones(n, np.float32), requires_grad=True)
                checkpoint(my_block, x).sum().backward()
    finally:
        vj.config.explain_recompiles = False
    assert "read by 'my_block'" in caplog.text, caplog.text


def test_a_function_with_two_outputs_is_one_node_whose_backward_runs_once():
    calls = []

    class SinCos(vj.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a.sin(), a.cos()

        @staticmethod
        def backward(ctx, gs, gc_):
            calls.append(1)
            (a,) = ctx.saved_tensors
            return gs * a.cos() - gc_ * a.sin()

    x = vj.tensor([0.3, 1.2], requires_grad=True)
    s, c = SinCos.apply(x)
    assert s.grad_fn == c.grad_fn
    (s * 2 + c * 3).sum().backward()
    np.testing.assert_allclose(
        x.grad.numpy(), 2 * np.cos([0.3, 1.2]) - 3 * np.sin([0.3, 1.2]), rtol=1e-6
    )
    assert len(calls) == 1  # traced once into the backward program: one call of backward


def test_the_optimizer_update_is_one_op_for_the_parameter_and_its_state():
    w = vj.tensor([1.0, -2.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    node = w._node
    assert node.group is not None and len(node.group.alive()) == 2  # parameter, momentum
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6], rtol=1e-6)  # w - lr * 2w


def test_the_readme_walks_the_architecture():
    text = (ROOT.parent / "docs" / "architecture.md").read_text()
    files = "_ops _record _program _compile _forward _backward _vjp _hooks _higher_order _variable"
    for name in files.split():
        assert f"{name}.py" in text
    for step in ("Adding an op", "Adding a layer", "Adding an optimizer"):
        assert step in text
