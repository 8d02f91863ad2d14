"""Jacobian benchmark (issue 4): ``varjax.autograd.functional.jacobian`` of f: R^256 -> R^256
against a PyTorch-style loop of one ``autograd.grad`` per output row, in varjax itself, and
``jax.jacrev`` of the same function, all in one run.

    python -m benchmarks.bench_jacobian
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import varjax as vj

from ._harness import machine, median_times, print_table

N = 256
RNG = np.random.default_rng(0)
W = (RNG.standard_normal((N, N)) / np.sqrt(N)).astype(np.float32)
X = RNG.standard_normal(N).astype(np.float32)


def f_vj(x):
    return (vj.tensor(W) @ x).tanh() * x


def jacobian_vectorized():
    return vj.autograd.functional.jacobian(f_vj, vj.tensor(X)).numpy()


def jacobian_row_loop():
    x = vj.tensor(X, requires_grad=True)
    y = f_vj(x)
    eye = np.eye(N, dtype=np.float32)
    rows = [
        vj.autograd.grad(y, x, grad_outputs=vj.tensor(eye[i]), retain_graph=True)[0]
        for i in range(N)
    ]
    return vj.stack(rows).numpy()


_jac = jax.jit(jax.jacrev(lambda x: jnp.tanh(jnp.asarray(W) @ x) * x))


def jacobian_jax():
    return np.asarray(_jac(jnp.asarray(X)))


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    args = ap.parse_args(argv)
    np.testing.assert_allclose(jacobian_vectorized(), jacobian_row_loop(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(jacobian_vectorized(), jacobian_jax(), rtol=1e-4, atol=1e-5)
    fns = {"vectorized": jacobian_vectorized, "row loop": jacobian_row_loop, "jax": jacobian_jax}
    times = median_times(fns, number=1, repeat=3 if args.quick else 7, warmup=1)
    ratio = times["row loop"] / times["vectorized"]
    rows = [
        {
            "workload": f"jacobian R^{N} -> R^{N}",
            "vectorized ms": f"{times['vectorized'] * 1e3:.2f}",
            "row loop ms": f"{times['row loop'] * 1e3:.1f}",
            "jax.jacrev ms": f"{times['jax'] * 1e3:.2f}",
            "row loop / vectorized": f"{ratio:.1f}",
            "bar": ">= 5",
            "ok": "yes" if ratio >= 5 else "NO",
        }
    ]
    print(f"machine: {machine()}")
    print_table(rows, list(rows[0]))
    return rows


if __name__ == "__main__":
    main()
