"""varjax.save / varjax.load: safetensors files, round trips checked against NumPy copies of
the saved values, interop with safetensors' own reader and writer, clear errors for bad files
that leave a model untouched, atomic writes, and no pickle anywhere."""

from __future__ import annotations

import json
import math
import os
import pickle
from collections import OrderedDict

import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import safetensors
import safetensors.numpy

import varjax as vj
from varjax import nn

DTYPES = [
    np.float32, np.float16, ml_dtypes.bfloat16, np.int32, np.int8, np.uint8, np.bool_,
]  # fmt: skip
SHAPES = [(), (3,), (2, 3), (0, 2)]


def _array(rng, shape, dtype) -> np.ndarray:
    return (rng.standard_normal(shape) * 50).astype(dtype)


def _snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in model.state_dict().items()}


def _assert_same_arrays(actual: dict, expected: dict) -> None:
    assert list(actual) == list(expected)
    for k in expected:
        a, e = np.asarray(actual[k]), np.asarray(expected[k])
        assert a.dtype == e.dtype and a.shape == e.shape, k
        np.testing.assert_array_equal(a, e, err_msg=k)


def _plain(obj):
    """The structure with container types, key types and array contents spelled out."""
    if isinstance(obj, (vj.Variable, np.ndarray)):
        a = np.asarray(obj)
        return ("array", a.dtype.name, a.shape, a.tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, [(type(k).__name__, k, _plain(v)) for k, v in obj.items()])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    return (type(obj).__name__, obj)


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_variable_round_trip(tmp_path, rng, dtype, shape):
    expected = _array(rng, shape, dtype)
    path = tmp_path / "x.safetensors"
    vj.save(vj.Variable(expected), path)
    out = vj.load(path)
    assert isinstance(out, vj.Variable) and not out.requires_grad
    assert out.dtype == np.dtype(dtype) and tuple(out.shape) == shape
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_pending_and_grad_requiring_variables_save_their_values(tmp_path, mode):
    w = vj.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = w * 2 + 1  # pending in lazy mode, with history
    vj.save({"w": w, "y": y}, tmp_path / "f.safetensors")
    out = vj.load(str(tmp_path / "f.safetensors"))
    assert not out["w"].requires_grad and out["w"].grad_fn is None
    _assert_same_arrays(
        out, {"w": np.array([1, -2, 3], np.float32), "y": np.array([3, -3, 7], np.float32)}
    )


def test_numpy_and_jax_leaves(tmp_path):
    expected = {
        "np": np.arange(6, dtype=np.int8).reshape(2, 3),
        "jax": np.array([0.5, 1.5], np.float32),
    }
    vj.save({"np": expected["np"], "jax": jnp.asarray(expected["jax"])}, tmp_path / "f")
    out = vj.load(tmp_path / "f")
    assert all(isinstance(v, vj.Variable) for v in out.values())
    _assert_same_arrays(out, expected)


@pytest.mark.parametrize(
    "make, n_in", [(lambda: nn.Linear(3, 2), 3), (_model, 4)], ids=["linear", "sequential"]
)
def test_state_dict_round_trip(tmp_path, make, n_in):
    vj.manual_seed(0)
    model = make()
    model(vj.randn(5, n_in))
    expected = _snapshot(model)  # BatchNorm's running stats and int counter moved above
    vj.save(model.state_dict(), tmp_path / "model.safetensors")

    vj.manual_seed(1)
    fresh = make()
    assert any(not np.array_equal(fresh.state_dict()[k], v) for k, v in expected.items())
    loaded = vj.load(tmp_path / "model.safetensors")
    assert isinstance(loaded, OrderedDict)
    fresh.load_state_dict(loaded)
    _assert_same_arrays(fresh.state_dict(), expected)
    for p in fresh.parameters():
        assert p.requires_grad  # loading copies values; parameters stay parameters


def test_nested_optimizer_style_state(tmp_path, rng):
    buf0, buf1 = _array(rng, (3, 2), np.float32), _array(rng, (2,), np.float32)
    state = {
        "state": {
            0: {"momentum_buffer": vj.Variable(buf0), "step": vj.tensor(7.0)},
            1: {"momentum_buffer": vj.Variable(buf1), "step": vj.tensor(7.0)},
        },
        "param_groups": [
            {
                "lr": 0.1, "momentum": 0.9, "nesterov": False, "dampening": 0,
                "betas": (0.9, 0.999), "name": None, "tag": "body", "params": [0, 1],
            }
        ],
        "extras": {
            "inf": math.inf, "big": 2**70, "empty_list": [], "empty": {},
            "ord": OrderedDict(b=1, a=2),
        },
    }  # fmt: skip
    vj.save(state, tmp_path / "optim.safetensors")
    out = vj.load(tmp_path / "optim.safetensors")
    assert _plain(out) == _plain(state)
    assert list(out["state"]) == [0, 1] and type(out) is dict
    assert type(out["param_groups"][0]["betas"]) is tuple
    assert type(out["extras"]["ord"]) is OrderedDict and list(out["extras"]["ord"]) == ["b", "a"]


def test_nan_and_top_level_scalars(tmp_path):
    vj.save({"x": math.nan}, tmp_path / "a")
    assert math.isnan(vj.load(tmp_path / "a")["x"])
    for value in (3, 2.5, "text", None, True, [], {}):
        vj.save(value, tmp_path / "b")
        out = vj.load(tmp_path / "b")
        assert out == value and type(out) is type(value)


def test_colliding_dotted_names(tmp_path):
    obj = {"a.b": vj.tensor([1.0]), "a": {"b": vj.tensor([2.0])}}
    vj.save(obj, tmp_path / "f")
    assert _plain(vj.load(tmp_path / "f")) == _plain(obj)


# -- interop with other safetensors readers and writers -----------------------------------------


def test_state_dict_file_reads_with_safetensors_numpy(tmp_path):
    model = _model()
    vj.save(model.state_dict(), tmp_path / "m.safetensors")
    raw = safetensors.numpy.load_file(tmp_path / "m.safetensors")
    assert sorted(raw) == sorted(model.state_dict())
    _assert_same_arrays({k: raw[k] for k in model.state_dict()}, _snapshot(model))
    with safetensors.safe_open(tmp_path / "m.safetensors", framework="np") as f:
        assert f.metadata()["format"] == "pt"


def test_nested_tensor_names_are_key_paths(tmp_path):
    vj.save({"state": {0: {"momentum_buffer": vj.zeros(2)}}, "w": vj.ones(1)}, tmp_path / "f")
    assert sorted(safetensors.numpy.load_file(tmp_path / "f")) == ["state.0.momentum_buffer", "w"]
    vj.save(vj.zeros(1), tmp_path / "g")
    assert list(safetensors.numpy.load_file(tmp_path / "g")) == ["tensor"]


def test_file_from_safetensors_writer_loads_as_flat_dict(tmp_path, rng):
    expected = {
        "a.weight": _array(rng, (2, 2), ml_dtypes.bfloat16),
        "b": np.array(True),
        "c": np.arange(3, dtype=np.uint8),
    }
    safetensors.numpy.save_file(
        {k: expected[k] for k in ("c", "b", "a.weight")}, tmp_path / "f", metadata={"format": "np"}
    )
    out = vj.load(tmp_path / "f")
    assert type(out) is dict and all(not v.requires_grad for v in out.values())
    _assert_same_arrays(out, expected)  # in the file's alphabetical key order


# -- errors ---------------------------------------------------------------------------------------


def _truncated(path, data):
    path.write_bytes(data[: len(data) // 2])


def _last_byte_cut(path, data):
    path.write_bytes(data[:-1])


def _random_bytes(path, data):
    path.write_bytes(np.random.default_rng(0).bytes(len(data)))


def _empty(path, data):
    path.write_bytes(b"")


def _pickle(path, data):
    path.write_bytes(pickle.dumps({"weight": np.zeros(2)}))


@pytest.mark.parametrize("damage", [_truncated, _last_byte_cut, _random_bytes, _empty, _pickle])
def test_bad_file_is_a_clear_error_and_leaves_the_model_untouched(tmp_path, damage):
    model = _model()
    vj.save(model.state_dict(), tmp_path / "good")
    bad = tmp_path / "bad.safetensors"
    damage(bad, (tmp_path / "good").read_bytes())
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match="not a valid safetensors file") as info:
        model.load_state_dict(vj.load(bad))
    assert str(bad) in str(info.value) and "parser said" in str(info.value)
    _assert_same_arrays(_snapshot(model), before)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file at .*nope.safetensors"):
        vj.load(tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        vj.save(vj.zeros(1), tmp_path / "no_dir" / "x.safetensors")


def _wrong_shape(state):
    state["0.weight"] = vj.zeros(3, 3)


def _missing_key(state):
    del state["1.running_mean"]


def _extra_key(state):
    state["surprise"] = vj.zeros(1)


@pytest.mark.parametrize("edit", [_wrong_shape, _missing_key, _extra_key])
def test_mismatched_file_leaves_the_model_untouched(tmp_path, edit):
    vj.manual_seed(0)
    other = _model().state_dict()
    edit(other)
    vj.save(other, tmp_path / "other")
    vj.manual_seed(1)
    model = _model()
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict"):
        model.load_state_dict(vj.load(tmp_path / "other"))
    _assert_same_arrays(_snapshot(model), before)


class _Custom:
    pass


@pytest.mark.parametrize(
    "obj, where, what",
    [
        ({"a": [1, lambda: 0]}, "obj['a'][1]", "function"),
        ({"state": {0: {"x": _Custom()}}}, "obj['state'][0]['x']", "_Custom"),
        ({"s": {1, 2}}, "obj['s']", "set"),
        ({"z": np.zeros(2, np.complex128)}, "obj['z']", "complex128"),
        ({(1, 2): vj.zeros(1)}, "obj", "tuple"),
        ({"a": {1.5: 0}}, "obj['a']", "float"),
        ({True: 0}, "obj", "bool"),
    ],
)
def test_unsupported_content_is_a_type_error_and_writes_nothing(tmp_path, obj, where, what):
    path = tmp_path / "f.safetensors"
    vj.save({"old": vj.ones(2)}, path)
    with pytest.raises(TypeError, match=f"{what}") as info:
        vj.save(obj, path)
    assert where in str(info.value)
    assert os.listdir(tmp_path) == ["f.safetensors"]
    _assert_same_arrays(vj.load(path), {"old": np.ones(2, np.float32)})


def test_newer_format_version_asks_for_an_upgrade(tmp_path):
    doc = {"version": 99, "root": {"value": 1}}
    safetensors.numpy.save_file({}, tmp_path / "f", metadata={"varjax": json.dumps(doc)})
    with pytest.raises(RuntimeError, match="version 99.*upgrade varjax"):
        vj.load(tmp_path / "f")


def test_metadata_naming_a_missing_tensor(tmp_path):
    doc = {"version": 1, "root": {"dict": [["w", {"tensor": "w"}]], "ordered": True}}
    safetensors.numpy.save_file(
        {"v": np.zeros(1, np.float32)}, tmp_path / "f", metadata={"varjax": json.dumps(doc)}
    )
    with pytest.raises(RuntimeError, match="tensor 'w', which is missing"):
        vj.load(tmp_path / "f")


# -- atomic save ----------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, error):
    path = tmp_path / "model.safetensors"
    vj.save({"w": vj.ones(3)}, path)
    good = path.read_bytes()

    def half_write(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x00" * 100)
        raise error

    monkeypatch.setattr(safetensors.numpy, "save_file", half_write)
    with pytest.raises(type(error)):
        vj.save({"w": vj.zeros(3)}, path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["model.safetensors"]  # the temporary file is gone
    _assert_same_arrays(vj.load(path), {"w": np.ones(3, np.float32)})


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "f"
    vj.save({"w": vj.ones(3)}, path)
    vj.save({"v": vj.zeros(2)}, path)
    _assert_same_arrays(vj.load(path), {"v": np.zeros(2, np.float32)})
    assert os.listdir(tmp_path) == ["f"]


# -- no pickle ------------------------------------------------------------------------------------


class _Evil:
    """Unpickling this would create a directory: the proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.fixture
def no_pickle(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)


def test_pickle_payload_in_a_string_leaf_stays_a_string(tmp_path, no_pickle):
    payload = pickle.dumps(_Evil(str(tmp_path / "pwned")), protocol=0).decode("ascii")
    vj.save({"note": payload, "w": vj.ones(1)}, tmp_path / "f")
    assert vj.load(tmp_path / "f")["note"] == payload
    assert not (tmp_path / "pwned").exists()


def test_pickle_payload_as_metadata_never_runs(tmp_path, no_pickle):
    payload = pickle.dumps(_Evil(str(tmp_path / "pwned")), protocol=0).decode("ascii")
    tensors = {"w": np.ones(2, np.float32)}
    safetensors.numpy.save_file(tensors, tmp_path / "a", metadata={"varjax": payload})
    with pytest.raises(RuntimeError, match="metadata is not JSON"):
        vj.load(tmp_path / "a")
    safetensors.numpy.save_file(tensors, tmp_path / "b", metadata={"pickle": payload})
    _assert_same_arrays(vj.load(tmp_path / "b"), tensors)  # foreign metadata is ignored
    assert not (tmp_path / "pwned").exists()


def test_file_objects_and_pytorchs_load_arguments(tmp_path):
    """``torch.save(obj, buffer)`` / ``torch.load(f, map_location=..., weights_only=True)``
    as PyTorch code writes them."""
    import io

    model = nn.Linear(3, 2)
    buf = io.BytesIO()
    vj.save(model.state_dict(), buf)
    for where in ("cpu", vj.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        buf.seek(0)
        state = vj.load(buf, map_location=where, weights_only=True)
        assert type(state) is OrderedDict and list(state) == ["weight", "bias"]
        np.testing.assert_array_equal(state["weight"].numpy(), model.weight.detach().numpy())
        assert str(state["bias"].device) == "cpu"
    vj.save({"w": vj.ones(2)}, tmp_path / "a.safetensors", pickle_protocol=2)
    assert vj.load(tmp_path / "a.safetensors", "cpu", mmap=True)["w"].tolist() == [1.0, 1.0]
    buf.seek(0)
    with pytest.raises(ValueError, match="names several devices"):
        vj.load(buf, map_location={"cuda:0": "cpu", "cuda:1": "meta"})
    assert not list(tmp_path.glob("*.tmp"))
