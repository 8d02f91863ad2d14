"""The op reference page and the functions' type stub are generated from the op table and
the methods, and kept in step with them; every public name has a docstring with an example
(which the doctests run)."""

from __future__ import annotations

import importlib
import inspect

import varjax as vj
from varjax import _functions
from varjax._opdoc import _API_MODULES, API, PAGE, STUB, render, render_api, render_stub
from varjax._ops import OPS

REGENERATE = "regenerate with: python -m varjax._opdoc"


def test_ops_page_matches_the_table():
    assert PAGE.read_text() == render(), REGENERATE


def test_every_table_op_is_on_the_page():
    text = PAGE.read_text()
    assert all(f"| `{name}` |" in text for name in OPS)


def test_type_stub_matches_the_functions():
    assert STUB.read_text() == render_stub(), REGENERATE
    text = STUB.read_text()
    assert all(f"def {name}(" in text for name in _functions.__all__)


def test_api_reference_matches_the_modules():
    assert API.read_text() == render_api(), REGENERATE
    text = API.read_text()
    for name in ("DataLoader", "assert_close", "functional_call", "clip_grad_norm_", "device"):
        assert f"`{name}" in text


_MORE_MODULES = [
    "varjax.distributed", "varjax.distributed.fsdp", "varjax.distributed.tensor",
    "varjax.distributed.tensor.parallel", "varjax.distributed.device_mesh",
    "varjax.distributed.run", "varjax.viz", "varjax.nn.parallel", "varjax.utils.checkpoint",
]  # fmt: skip


def test_every_public_name_has_a_docstring_with_an_example():
    modules = [m for _, m, attr in _API_MODULES if attr is None] + _MORE_MODULES
    missing = []
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in module.__all__:  # every public module declares its names
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue  # dtypes, constants, submodules (documented as modules)
            doc = obj.__doc__ if isinstance(obj, type) else inspect.getdoc(obj)  # a class's own
            if ">>>" not in (doc or ""):
                missing.append(f"{module_name}.{name}")
    assert not missing, f"no docstring example: {sorted(set(missing))}"


def test_every_tensor_member_has_a_docstring_with_an_example():
    missing = []
    for name in dir(vj.Tensor):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(vj.Tensor, name)
        if isinstance(member, property):
            member = member.fget
        elif isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if callable(member) and ">>>" not in (inspect.getdoc(member) or ""):
            missing.append(name)
    assert not missing, f"Tensor members without a docstring example: {missing}"
