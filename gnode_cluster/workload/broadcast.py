"""broadcast: values broadcast to any node must reach every node's reads (Maelstrom's
workload/broadcast.clj, checked by Jepsen's set-full with broadcast as the add). Before any
operation each node is sent the ``--topology`` it may use."""
import itertools
import math

from . import SchemaError, SetupError, Workload, array, check_reply
from ..protocol import NotSupported, RPCError
from ..checker import set_full

TOPOLOGIES = ("grid", "line", "total", "tree", "tree2", "tree3", "tree4")
TOPOLOGY_TIMEOUT = 5.0  # the default RPC timeout, as Maelstrom's topology message has


def topology(kind, nodes):
    """Maelstrom's topology ``kind`` over ``nodes`` (node ids in order): a dict from each node to
    its neighbours' list, built as broadcast.clj builds it, neighbours in the same order."""
    nodes = list(nodes)
    if kind == "grid":
        return _grid(nodes)
    if kind == "line":
        return _line(nodes)
    if kind == "total":
        return {node: [other for other in nodes if other != node] for node in nodes}
    if kind in ("tree", "tree2", "tree3", "tree4"):
        return _tree(int(kind[4:] or 2), nodes)
    raise ValueError("unknown topology %r: one of %s" % (kind, ", ".join(TOPOLOGIES)))


def _grid(nodes):
    """Row by row in a square of side ceil(sqrt(n)); each node's neighbours are the ones below,
    above, right and left of it, in that order, where there is one."""
    side = math.ceil(math.sqrt(len(nodes)))

    def at(row, column):
        index = row * side + column
        if row >= 0 and 0 <= column < side and index < len(nodes):
            return nodes[index]
        return None

    grid = {}
    for row in range(side):
        for column in range(side):
            if at(row, column) is not None:
                around = [at(row + 1, column), at(row - 1, column), at(row, column + 1), at(row, column - 1)]
                grid[at(row, column)] = [node for node in around if node is not None]
    return grid


def _line(nodes):
    """A chain, each node's neighbours left then right; fewer than two nodes make an empty map,
    as in Maelstrom."""
    if len(nodes) < 2:
        return {}
    line = {nodes[0]: [nodes[1]]}
    for index in range(1, len(nodes) - 1):
        line[nodes[index]] = [nodes[index - 1], nodes[index + 1]]
    line[nodes[-1]] = [nodes[-2]]
    return line


def _tree(branching, nodes):
    """Nodes fill the tree tier by tier (root, then ``branching`` children, then their children),
    so node i's children are nodes branching*i+1 .. branching*i+branching; each node's
    neighbours are its parent, if any, then its children."""
    tree = {}
    for index, node in enumerate(nodes):
        parent = [nodes[(index - 1) // branching]] if index else []
        tree[node] = parent + nodes[branching * index + 1:branching * index + branching + 1]
    return tree


class Broadcast(Workload):
    """Half the operations broadcast the next integer (0, 1, 2, ... across all workers), half
    read; after the main phase each worker reads once more. A read that times out failed (it is
    idempotent); a broadcast that times out is indeterminate."""

    name = "broadcast"
    final_phase = True
    idempotent = frozenset({"read"})

    def __init__(self, options, rng):
        super().__init__(options, rng)
        self.messages = itertools.count()  # shared by the workers, so each value is broadcast once

    def setup(self, cluster):
        """Send each node the topology, once, and require a closed ``topology_ok``; any error,
        timeout or malformed reply raises, ending the test as in Maelstrom."""
        body = {"type": "topology",
                "topology": topology(self.options["topology"], self.options["nodes"])}
        for node in self.options["nodes"]:
            try:
                reply = cluster.request(node, dict(body), timeout=TOPOLOGY_TIMEOUT)
            except RPCError as e:
                hint = (" (has the node a topology handler? the node's own arguments, such as "
                        "--handlers DIR, go after --)") if isinstance(e, NotSupported) else ""
                raise SetupError("%s did not take the topology: %s%s" % (node, e, hint)) from None
            if reply.get("type") != "topology_ok":
                raise SchemaError("Malformed RPC response: %s answered the topology with type %r, not topology_ok"
                                  % (node, reply.get("type")))
            check_reply({}, reply)

    def next_op(self, worker):
        if self.rng.randrange(2) == 0:
            return {"f": "broadcast", "value": next(self.messages)}
        return {"f": "read", "value": None}

    def final_ops(self, worker):
        return [{"f": "read", "value": None, "final": True}]

    def request(self, op):
        if op["f"] == "broadcast":
            return {"type": "broadcast", "message": op["value"]}
        return {"type": "read"}

    def reply_schema(self, op):
        return {} if op["f"] == "broadcast" else {"messages": array}

    def completion_value(self, op, reply):
        return reply["messages"] if op["f"] == "read" else op["value"]

    def check(self, history):
        """Jepsen's set-full, each broadcast counting as an add."""
        return set_full(history, add_f="broadcast", read_f="read")


WORKLOAD = Broadcast
