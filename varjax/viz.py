"""Seeing inside varjax from a notebook: the recorded graph behind a Variable, and the program
XLA would compile to compute it.

``graph(v)`` walks the nodes behind ``v`` (``_record.Node``) and draws them as torchviz's
``make_dot`` does: ops by their ``grad_fn`` names, leaves and parameters by name, with shapes
and dtypes; pending nodes are dashed and sit in one box, the program that computing ``v``
compiles. It renders with the ``graphviz`` package (SVG inline in Jupyter), and falls back to
a text tree where the Graphviz ``dot`` binary is missing. ``program(v)`` linearizes the same
pending nodes as ``_forward.materialize`` (or a backward as ``_vjp.run``) without running
them, and asks XLA what it made of them: the jaxpr, the fused kernels and the cost analysis.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax

from . import _vjp
from ._ops import P
from ._program import Builder, pending
from ._record import Node
from ._variable import Variable

try:  # optional: only drawing needs it (the text tree does not)
    import graphviz
except ImportError:  # pragma: no cover - the test extras install it
    graphviz = None

__all__ = ["Graph", "GraphNode", "Program", "graph", "program"]

_NO_PACKAGE = "drawing a graph needs the graphviz Python package: pip install graphviz"
_NO_DOT = (
    "saving a graph as {fmt} needs the Graphviz `dot` program, which is not installed; "
    "install Graphviz (apt-get install graphviz, brew install graphviz, or conda install "
    "graphviz), or save as .dot/.gv (the DOT source) or .txt (the text tree)"
)


def _has_dot() -> bool:
    return graphviz is not None and shutil.which("dot") is not None


# -- the recorded graph ---------------------------------------------------------------------------


@dataclass
class GraphNode:
    """One node of a drawn graph: ``kind`` is "op", "leaf" (AccumulateGrad, a leaf that
    requires grad), "param" (a named leaf) or "const" (a value nothing differentiates);
    ``state`` is "computed", "pending" (the next read of the output computes it) or "not
    kept" (behind a computed value: backward computes it again, nothing else needs it).

    Example:
        >>> import varjax as vj
        >>> x = vj.ones(2, requires_grad=True)
        >>> n = vj.viz.graph(x * 2).nodes[0]
        >>> n.label, n.kind, n.op, n.shape, n.dtype, n.state
        ('MulBackward0', 'op', 'mul', (2,), 'float32', 'pending')
    """

    id: str
    label: str  # the grad_fn name of an op (its op name if it needs no grad), a leaf's name
    kind: str
    shape: tuple
    dtype: str
    state: str
    inputs: list[str] = field(default_factory=list)  # ids of the nodes it reads
    op: str = ""  # the op table's name ("mul"); empty for a leaf

    @property
    def pending(self) -> bool:
        """Computed by the program that the next read of the output compiles."""
        return self.state == "pending"


def _label(n: Node, names: dict[int, str]) -> tuple[str, str]:
    """(label, kind) of node ``n``."""
    name = names.get(id(n))
    if name is not None:
        return name, "param"
    # (a leaf made by a creation op, vj.ones(..., requires_grad=True), is pending till read)
    if n.op is None or (n.is_leaf and n.requires_grad):
        return ("AccumulateGrad", "leaf") if n.requires_grad else ("tensor", "const")
    if n.op is P.follow:  # a write autograd did not see: PyTorch keeps the grad_fn
        return "follow", "op"
    grad_name = n.op.grad_name_of(n) if n.requires_grad else None
    return grad_name or n.op.name, "op"


def _walk(root: Node, names: dict[int, str]) -> list[GraphNode]:
    seen: dict[int, Node] = {id(root): root}
    stack = [root]
    while stack:
        for x in stack.pop().inputs:
            if type(x) is Node and id(x) not in seen:
                seen[id(x)] = x
                stack.append(x)
    todo = {id(n) for n in pending(root, {})} | ({id(root)} if root.value is None else set())
    out = []
    for n in sorted(seen.values(), key=lambda n: n.seq, reverse=True):  # the output first
        label, kind = _label(n, names)
        state = "computed" if n.value is not None else "pending" if id(n) in todo else "not kept"
        out.append(
            GraphNode(
                str(id(n)), label, kind, tuple(n.shape), str(n.dtype), state,
                [str(id(x)) for x in n.inputs if type(x) is Node],
                n.op.name if n.op is not None else "",
            )
        )  # fmt: skip
    return out


def _dims(node: GraphNode) -> str:
    return f"({', '.join(map(str, node.shape))}{',' if len(node.shape) == 1 else ''}) {node.dtype}"


_FILL = {"op": "lightgrey", "leaf": "lightblue", "param": "lightblue", "const": "white"}


class Graph:
    """The recorded graph behind a Variable (see ``graph``): ``nodes`` (output first),
    ``source`` (DOT), ``save(path)``, and inline display in Jupyter (SVG, or the text tree
    without the Graphviz binary; ``str(g)`` is the text tree).

    Example:
        >>> import varjax as vj
        >>> x = vj.ones(2, requires_grad=True)
        >>> g = vj.viz.graph((x * 2).sum())
        >>> len(g), g.pending, [n.label for n in g.nodes]
        (3, 3, ['SumBackward0', 'MulBackward0', 'AccumulateGrad'])
        >>> print(str(g).splitlines()[2])
        └─ MulBackward0  (2,) float32  [pending]
    """

    def __init__(self, nodes: list[GraphNode]) -> None:
        self.nodes = nodes
        self._by_id = {n.id: n for n in nodes}

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def pending(self) -> int:
        """How many nodes are pending: what the next read of the output computes, in one
        program."""
        return sum(n.pending for n in self.nodes)

    def digraph(self) -> Any:
        """The graph as a ``graphviz.Digraph`` (to restyle or render yourself)."""
        if graphviz is None:
            raise ImportError(_NO_PACKAGE)
        g = graphviz.Digraph(
            "varjax", graph_attr={"rankdir": "BT"},
            node_attr={"shape": "box", "style": "filled", "fontname": "monospace",
                       "fontsize": "10", "height": "0.2"},
        )  # fmt: skip
        program = graphviz.Digraph(
            "cluster_program",
            graph_attr={"label": f"one compiled program ({self.pending} pending nodes)",
                        "style": "dashed", "color": "grey40", "fontname": "monospace",
                        "fontsize": "10"},
        )  # fmt: skip
        for i, n in enumerate(self.nodes):
            attrs = {"fillcolor": "darkolivegreen1" if i == 0 else _FILL[n.kind]}
            if n.state != "computed":
                attrs["style"] = "filled,dashed" if n.pending else "filled,dotted"
            label = f"{n.label}\n{_dims(n)}"
            (program if n.pending else g).node(n.id, label, **attrs)
        if self.pending:
            g.subgraph(program)
        for n in self.nodes:
            for x in n.inputs:
                g.edge(x, n.id)
        g.node(
            "legend",
            "solid: computed\ndashed: pending\ndotted: not kept\nblue: leaf / parameter\n"
            "green: output",
            shape="note", style="", fontsize="9",
        )  # fmt: skip
        return g

    @property
    def source(self) -> str:
        """The graph in Graphviz's DOT language."""
        return self.digraph().source

    def text(self) -> str:
        """The graph as an indented tree, the output at the top (a node read twice is shown
        once, then referred to)."""
        lines = [
            "legend: [computed] holds a value, [pending] the next read computes it,"
            " [not kept] backward computes it again"
        ]
        shown: set[str] = set()

        def visit(node: GraphNode, prefix: str, last: bool, top: bool) -> None:
            branch = "" if top else ("└─ " if last else "├─ ")
            state = node.state
            again = node.id in shown and node.inputs
            lines.append(
                f"{prefix}{branch}{node.label}  {_dims(node)}  [{state}]"
                + ("  (inputs shown above)" if again else "")
            )
            if again:
                return
            shown.add(node.id)
            inner = prefix + ("" if top else ("   " if last else "│  "))
            for k, x in enumerate(node.inputs):
                visit(self._by_id[x], inner, k == len(node.inputs) - 1, False)

        if self.nodes:
            visit(self.nodes[0], "", True, True)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()

    def _repr_svg_(self) -> str | None:
        if not _has_dot():
            return None
        return self.digraph().pipe(format="svg", encoding="utf-8")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        bundle = {"text/plain": self.text()}
        svg = self._repr_svg_()
        if svg is not None:
            bundle["image/svg+xml"] = svg
        return bundle

    def save(self, path: str | Path) -> Path:
        """Write the graph to ``path``: an image by its suffix (.svg, .png, .pdf: needs the
        Graphviz binary), the DOT source (.dot, .gv) or the text tree (.txt)."""
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        if fmt == "txt":
            path.write_text(self.text() + "\n")
        elif fmt in ("dot", "gv"):
            path.write_text(self.source)
        elif not _has_dot():
            raise RuntimeError(_NO_DOT.format(fmt=fmt or "an image"))
        else:
            path.write_bytes(self.digraph().pipe(format=fmt))
        return path


def graph(v: Variable, params: dict[str, Variable] | None = None) -> Graph:
    """The recorded graph behind ``v``, drawn as torchviz's ``make_dot`` draws PyTorch's:
    ops by their ``grad_fn`` names with shapes and dtypes, leaves that require grad as
    AccumulateGrad (or by name, with ``params``, e.g. ``dict(model.named_parameters())``),
    pending nodes dashed, in the box of the one program that computing ``v`` compiles.
    Nothing is computed.

    Example:
        >>> import varjax as vj
        >>> x = vj.ones(2, 2, requires_grad=True)
        >>> out = ((x + 2) * 3).mean()
        >>> g = vj.viz.graph(out, params={"x": x})
        >>> [n.label for n in g.nodes]
        ['MeanBackward0', 'MulBackward0', 'AddBackward0', 'x']
        >>> print(g.text().splitlines()[1])
        MeanBackward0  () float32  [pending]
    """
    names = {id(p._node): name for name, p in (params or {}).items()}
    return Graph(_walk(v._node, names))


# -- the compiled program -------------------------------------------------------------------------

# instructions of an HLO entry computation that launch no work of their own
_FREE = frozenset("parameter constant tuple get-tuple-element bitcast".split())
_OPCODE = re.compile(r"=\s*(?:\([^=]*?\)|\S+)\s+([a-z][a-z0-9\-]*)\(")


def _kernels(hlo: str) -> tuple[int, int]:
    """(kernels, fusions) of an optimized HLO module's entry computation: the instructions that
    do work, and how many of them are fusions of several ops."""
    entry = hlo.split("\nENTRY ", 1)[-1].split("\n}", 1)[0]
    ops = [m.group(1) for m in map(_OPCODE.search, entry.splitlines()[1:]) if m]
    work = [op for op in ops if op not in _FREE]
    return len(work), sum(op == "fusion" for op in work)


def _cost(compiled: Any) -> dict:
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):  # older JAX: one dict per device program
        cost = cost[0] if cost else {}
    return dict(cost or {})


class Program:
    """What varjax compiles to compute a pending value (see ``program``): ``jaxpr``,
    ``kernels`` (work instructions of XLA's optimized module), ``fusions`` (those that are
    fused kernels), ``flops``, ``bytes_accessed``, ``cost`` (XLA's whole cost analysis),
    ``hlo`` (the optimized module's text) and ``ops`` (the varjax instructions).

    Example:
        >>> import varjax as vj
        >>> p = vj.viz.program(vj.ones(2) * 2)
        >>> p.kind, p.ops, "mul" in p.primitives
        ('forward', 2, True)
    """

    def __init__(self, kind: str, ops: int, inputs: int, jaxpr: Any, compiled: Any) -> None:
        self.kind = kind
        self.ops = ops
        self.inputs = inputs
        self.jaxpr = jaxpr
        self.hlo = compiled.as_text() if compiled is not None else ""
        self.kernels, self.fusions = _kernels(self.hlo) if self.hlo else (0, 0)
        self.cost = _cost(compiled) if compiled is not None else {}
        self.flops = float(self.cost.get("flops", 0.0))
        self.bytes_accessed = float(self.cost.get("bytes accessed", 0.0))

    @property
    def primitives(self) -> list[str]:
        """The JAX primitives of the jaxpr, in order, with repeats (nested ones included)."""
        if self.jaxpr is None:
            return []
        out: list[str] = []

        def walk(jaxpr: Any) -> None:
            for eqn in jaxpr.eqns:
                out.append(eqn.primitive.name)
                for value in eqn.params.values():
                    for sub in value if isinstance(value, (tuple, list)) else (value,):
                        sub = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr's Jaxpr
                        if hasattr(sub, "eqns"):
                            walk(sub)

        walk(self.jaxpr.jaxpr)
        return out

    def summary(self) -> str:
        """One line: what the program is and what XLA made of it."""
        if self.jaxpr is None:
            return "computed already: reading it compiles nothing"
        return (
            f"{self.kind} program: {self.ops} varjax ops on {self.inputs} inputs -> "
            f"{self.kernels} XLA kernels ({self.fusions} fused), {self.flops:g} flops, "
            f"{self.bytes_accessed:g} bytes accessed"
        )

    def __repr__(self) -> str:
        if self.jaxpr is None:
            return self.summary()
        return f"{self.summary()}\n\njaxpr:\n{self.jaxpr_text}"

    @property
    def jaxpr_text(self) -> str:
        """The jaxpr as plain text (no terminal colours, which a notebook would show raw)."""
        return "" if self.jaxpr is None else self.jaxpr.pretty_print(use_color=False)

    def _repr_html_(self) -> str:
        if self.jaxpr is None:
            return f"<p>{html.escape(self.summary())}</p>"
        return (
            f"<div><p><b>{html.escape(self.summary())}</b></p>"
            f"<details><summary>jaxpr</summary><pre>{html.escape(self.jaxpr_text)}</pre>"
            f"</details><details><summary>optimized HLO</summary>"
            f"<pre>{html.escape(self.hlo)}</pre></details></div>"
        )


def _forward_program(node: Node) -> tuple[int, int, Any, tuple]:
    """As ``_forward.materialize`` builds it, without running it."""
    b = Builder()
    b.value(node)
    b.side_writes()
    _, outs = b.store_slots([node])
    p = b.program(outs)
    return len(p.instrs) - len(p.args), len(p.args), p.forward(), p.inputs


def _backward_program(node: Node) -> tuple[int, int, Any, tuple]:
    """As ``_vjp.run`` builds ``node.backward()``, without running it."""
    p = _vjp.plan([node], [None], None)
    b = p.builder
    old = _vjp._old_grads(p)
    b.side_writes(p.region.slots)
    _, store_slots = b.store_slots([])
    prog = b.program(p.region.out_slots, p.leaf_slots, p.probe_slots)
    avals = ((node.aval,), tuple(n.aval for n, _ in p.probes), store_slots)
    fn = _vjp.vjp_fn(
        prog.instrs, prog.outs, prog.leaves, prog.probes, p.merge, old, p.cot_slots, avals,
        node.value is None and not node.aval[0],
    )  # fmt: skip
    return len(prog.instrs) - len(prog.args), len(prog.args), fn, prog.inputs


def program(v: Variable, backward: bool = False) -> Program:
    """The program varjax would compile to compute ``v`` (or, with ``backward=True``, to run
    ``v.backward()``), without computing it: its jaxpr, and from XLA's compiled module the
    number of kernels and the cost analysis. ``v`` stays pending, and nothing enters varjax's
    compile cache or ``compile_stats()``.

    Example:
        >>> import varjax as vj
        >>> x = vj.ones(2, 2, requires_grad=True)
        >>> out = ((x + 2) * 3).mean()
        >>> p = vj.viz.program(out)
        >>> p.kernels >= 1, p.flops > 0, "add" in p.primitives
        (True, True, True)
        >>> out._node.value is None  # still pending
        True
    """
    node = v._node
    if backward:
        if not node.requires_grad:
            raise RuntimeError(
                f"program(v, backward=True): v (shape {tuple(node.shape)}) does not require "
                "grad, so it has no backward; make a leaf it reads require grad first"
            )
        ops, inputs, fn, args = _backward_program(node)
        kind = "backward"
    elif node.value is None:
        ops, inputs, fn, args = _forward_program(node)
        kind = "forward"
    else:
        return Program("forward", 0, 0, None, None)
    jaxpr = jax.make_jaxpr(fn)(*args)
    compiled = jax.jit(fn).lower(*args).compile()
    return Program(kind, ops, inputs, jaxpr, compiled)
