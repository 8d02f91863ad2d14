"""A launcher like torchrun: ``python -m varjax.distributed.run --nproc-per-node N
script.py [args...]`` starts N worker processes on this node with torchrun's environment
(``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``GROUP_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``), which ``init_process_group()`` reads, and waits for them.
If a worker fails, the launcher stops the others and exits with that worker's exit code.

On CPU each worker's JAX sees its own devices only (one CPU device, unless the user's
``XLA_FLAGS`` ask for more): the launcher passes the environment through unchanged.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]

_PORT = 29500  # torchrun's default, for several nodes (they must agree on one)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m varjax.distributed.run",
        description="Start worker processes with torchrun's environment variables.",
    )
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                   dest="nproc_per_node", help="workers on this node (default 1)")  # fmt: skip
    p.add_argument("--nnodes", type=int, default=1, help="nodes (default 1)")
    p.add_argument("--node-rank", "--node_rank", type=int, default=0, dest="node_rank",
                   help="this node's rank in [0, nnodes) (default 0)")  # fmt: skip
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1", dest="master_addr",
                   help="rank 0's host, the coordinator (default 127.0.0.1)")  # fmt: skip
    p.add_argument("--master-port", "--master_port", type=int, default=None,
                   dest="master_port",
                   help=f"the coordinator's port (default: a free one on one node, {_PORT} "
                   f"on several)")  # fmt: skip
    p.add_argument("--standalone", action="store_true", help="one node (accepted for torchrun)")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the script as a module, as `python -m`")  # fmt: skip
    p.add_argument("--no-python", "--no_python", action="store_true", dest="no_python",
                   help="run the script as a program, not with the Python interpreter")  # fmt: skip
    p.add_argument("training_script", help="the script (or module, with -m) each worker runs")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def _check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.nproc_per_node < 1 or args.nnodes < 1:
        p.error(
            f"--nproc-per-node ({args.nproc_per_node}) and --nnodes ({args.nnodes}) must be "
            f"at least 1"
        )
    if not 0 <= args.node_rank < args.nnodes:
        p.error(
            f"--node-rank {args.node_rank} is not in [0, {args.nnodes - 1}]; number the "
            f"nodes 0 to nnodes - 1"
        )
    if args.module and args.no_python:
        p.error("-m and --no-python exclude each other: choose one")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(args: argparse.Namespace) -> list[str]:
    script = [args.training_script, *args.training_script_args]
    if args.no_python:
        return script
    return [sys.executable, *(["-m"] if args.module else []), *script]


def _env(args: argparse.Namespace, local_rank: int, port: int) -> dict[str, str]:
    n = args.nproc_per_node
    env = dict(os.environ)
    env.update(
        RANK=str(args.node_rank * n + local_rank),
        LOCAL_RANK=str(local_rank),
        WORLD_SIZE=str(args.nnodes * n),
        LOCAL_WORLD_SIZE=str(n),
        GROUP_RANK=str(args.node_rank),
        MASTER_ADDR=args.master_addr,
        MASTER_PORT=str(port),
    )
    return env


def _start(args: argparse.Namespace) -> list[subprocess.Popen]:
    port = args.master_port
    if port is None:
        port = _free_port() if args.nnodes == 1 else _PORT
    command = _command(args)
    return [subprocess.Popen(command, env=_env(args, i, port)) for i in range(args.nproc_per_node)]


def _stop(workers: Sequence[subprocess.Popen], grace: float = 5.0) -> None:
    """Terminate the workers still running; kill those that outlast ``grace`` seconds."""
    for w in workers:
        if w.poll() is None:
            w.terminate()
    deadline = time.monotonic() + grace
    for w in workers:
        try:
            w.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()


def _exit_code(returncode: int) -> int:
    # a worker killed by signal k reads -k; a shell reports 128 + k
    return returncode if returncode >= 0 else 128 - returncode


def _wait(workers: Sequence[subprocess.Popen], first_rank: int) -> int:
    """Wait for every worker; at the first failure stop the rest and return its exit code."""
    running = list(enumerate(workers))
    while running:
        for local_rank, w in list(running):
            code = w.poll()
            if code is None:
                continue
            running.remove((local_rank, w))
            if code != 0:
                _stop(workers)
                print(
                    f"varjax.distributed.run: worker rank {first_rank + local_rank} (local "
                    f"rank {local_rank}, pid {w.pid}) failed with exit code {code}; the "
                    f"other workers were terminated",
                    file=sys.stderr,
                )
                return _exit_code(code)
        time.sleep(0.05)
    return 0


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _on_sigterm(handler: object) -> object:
    """Install ``handler`` for SIGTERM where Python allows it (the main thread); the old one."""
    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: the launcher's own SIGTERM stays the default
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Start the workers that ``argv`` (default ``sys.argv[1:]``) asks for, wait for them and
    return the exit code: 0, or the first failed worker's. Ctrl-C (or SIGTERM) stops them.

    Example:
        >>> import sys
        >>> from varjax.distributed.run import main
        >>> code = "import os, sys; sys.exit(3 * int(os.environ['RANK']))"
        >>> main(["--nproc-per-node", "2", "--no-python", sys.executable, "-c", code])
        3
    """
    p = _parser()
    args = p.parse_args(argv)
    _check(p, args)
    workers = _start(args)
    previous = _on_sigterm(_terminated)
    try:
        return _wait(workers, args.node_rank * args.nproc_per_node)
    except KeyboardInterrupt:
        _stop(workers)
        print("varjax.distributed.run: interrupted; the workers were terminated", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            _on_sigterm(previous)


if __name__ == "__main__":
    sys.exit(main())
