"""gnode_cluster: several Maelstrom nodes on one machine, on a network that behaves like
Maelstrom's, with its services: a fast first check of a multi-node system, in seconds,
from Python or from fixture files. Any executable that speaks Maelstrom's protocol runs
on it, in any language.

    from gnode_cluster import Cluster

    with Cluster("./gnode.py", node_count=3, handlers="my_broadcast", latency=50) as cluster:
        cluster.request("n0", {"type": "broadcast", "message": 1})
"""
from .cluster import Client, Cluster, ClusterError, node_names
from .core import run_test
from .protocol import (Abort, Crash, KeyAlreadyExists, KeyDoesNotExist, MalformedRequest, NodeNotFound, NotSupported,
                       PreconditionFailed, RPCError, RPCTimeout, TemporarilyUnavailable, TxnConflict)
from .store import Result

__all__ = ["Client", "Cluster", "ClusterError", "Result", "node_names", "run_test",
           # the errors a request raises, one class per Maelstrom code
           "RPCError", "RPCTimeout", "NodeNotFound", "NotSupported", "TemporarilyUnavailable", "MalformedRequest",
           "Crash", "Abort", "KeyDoesNotExist", "KeyAlreadyExists", "PreconditionFailed", "TxnConflict"]
