"""varjax: PyTorch's imperative autograd, recorded lazily and compiled with JAX.

Example:
    >>> import varjax as vj
    >>> x = vj.ones(2, 2, requires_grad=True)
    >>> out = ((x + 2) * (x + 2) * 3).mean()
    >>> out.backward()
    >>> x.grad
    tensor([[4.5000, 4.5000],
            [4.5000, 4.5000]])
"""

from __future__ import annotations

from importlib import metadata as _metadata

import jax.numpy as _jnp
import numpy as _np

from . import (
    _functions,
    accelerator,
    amp,
    autograd,
    backends,
    cuda,
    distributed,
    func,
    linalg,
    nn,
    optim,
    random,
    testing,
    utils,
    viz,
)
from ._autocast import autocast, get_autocast_dtype, is_autocast_enabled
from ._compile import CompileStats, clear_caches, compile_stats
from ._compiled import compile
from ._config import config
from ._creation import (
    FloatTensor,
    arange,
    as_tensor,
    asarray,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    is_tensor,
    linspace,
    normal,
    numel,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from ._device import device, get_default_device, set_default_device
from ._dtypes import dtype, finfo, get_default_dtype, iinfo, set_default_dtype
from ._format import set_printoptions
from ._functions import *  # noqa: F403 - every function of the op table and the methods
from ._grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ._jit import jit
from ._lift import op
from ._recompile import RecompileWarning
from ._serialization import load, save
from ._variable import Size, Variable, from_dlpack
from .random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    set_rng_state,
)

try:
    __version__ = _metadata.version("varjax")
except _metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0.1.0"  # pyproject.toml's [project] version

Tensor = Variable  # one class: isinstance(x, varjax.Tensor), and Tensor([1.0, 2.0]) builds one

float16 = half = dtype(_jnp.float16)
bfloat16 = dtype(_jnp.bfloat16)
float32 = float = dtype(_jnp.float32)  # noqa: A001 - PyTorch's dtype names
float64 = double = dtype(_jnp.float64)
int32 = int = dtype(_jnp.int32)  # noqa: A001
int64 = long = dtype(_jnp.int64)
int16 = short = dtype(_jnp.int16)
int8 = dtype(_jnp.int8)
uint8 = dtype(_jnp.uint8)
complex64 = cfloat = dtype(_jnp.complex64)
complex128 = cdouble = dtype(_jnp.complex128)
bool = dtype(_np.bool_)  # noqa: A001
detach = Variable.detach

__all__ = [
    "CompileStats",
    "FloatTensor",
    "Generator",
    "default_generator",
    "RecompileWarning",
    "Size",
    "Tensor",
    "Variable",
    "arange",
    "as_tensor",
    "asarray",
    "empty",
    "empty_like",
    "from_numpy",
    "full_like",
    "is_tensor",
    "normal",
    "numel",
    "rand_like",
    "randint",
    "randint_like",
    "randn_like",
    "randperm",
    "accelerator",
    "amp",
    "autocast",
    "autograd",
    "backends",
    "cuda",
    "distributed",
    "device",
    "get_autocast_dtype",
    "get_default_device",
    "set_default_device",
    "bfloat16",
    "cdouble",
    "cfloat",
    "complex128",
    "complex64",
    "bool",
    "clear_caches",
    "compile",
    "compile_stats",
    "config",
    "detach",
    "double",
    "dtype",
    "enable_grad",
    "eye",
    "float",
    "float16",
    "float32",
    "float64",
    "finfo",
    "from_dlpack",
    "full",
    "func",
    "get_default_dtype",
    "get_rng_state",
    "iinfo",
    "set_default_dtype",
    "set_rng_state",
    "half",
    "initial_seed",
    "int",
    "int16",
    "int32",
    "int64",
    "int8",
    "inference_mode",
    "is_autocast_enabled",
    "is_grad_enabled",
    "jit",
    "linalg",
    "linspace",
    "load",
    "long",
    "short",
    "uint8",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "op",
    "optim",
    "rand",
    "randn",
    "random",
    "save",
    "set_grad_enabled",
    "set_printoptions",
    "tensor",
    "testing",
    "utils",
    "viz",
    "zeros",
    "zeros_like",
]
__all__ += _functions.__all__
