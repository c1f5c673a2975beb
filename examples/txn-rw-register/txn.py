"""txn-rw-register (Gossip Glomers 6a, 6b and 6c): transactions of reads ["r", k, null] and
writes ["w", k, v] over registers, answered by every node at once, partition or not.

6a, one node: a transaction runs from its first micro-op to its last without blocking,
and greenlets switch only where one blocks, so no other transaction can come between
them: on one node the store is serializable for free.

6b and 6c, several nodes, totally available: a node never waits for its peers. It runs a
transaction on its own copy, sends the writes on with node.send and answers, waiting for
no one (fire and forget: a write a partition drops is never seen there, which the weak
models asked for allow). How the writes travel is the whole difference, set by TXN_REPLICATION:

- "each-write" (6b): one message per write, as the transaction makes it. A peer applies
  them one at a time, so a transaction there can read a value its writer overwrote
  before it committed (an intermediate read, Elle's G1b), and with latencies that vary,
  an older write can land last. Read uncommitted allows that; read committed does not.
- "transaction" (6c, the default): one message per transaction, holding the last value it
  wrote to each key, applied all at once. A peer only ever sees values that some
  transaction committed as its final ones: read committed.
"""
import os

from gnode import handler

REPLICATION = os.environ.get("TXN_REPLICATION", "transaction")
if REPLICATION not in ("transaction", "each-write"):
    raise SystemExit("TXN_REPLICATION must be transaction or each-write, not %r" % REPLICATION)

registers = {}  # this node's copy: key -> value


@handler("txn")
def txn(node, msg):
    done, written = [], {}
    for f, key, value in msg.body["txn"]:
        if f == "r":
            done.append([f, key, registers.get(key)])
            continue
        registers[key] = written[key] = value
        done.append([f, key, value])
        if REPLICATION == "each-write":
            replicate(node, [[key, value]])
    if written and REPLICATION == "transaction":
        replicate(node, list(written.items()))
    return {"type": "txn_ok", "txn": done}


def replicate(node, writes):
    """Sends [[key, value], ...] to every other node (pairs, not an object: JSON would turn
    the numeric keys into strings)."""
    for peer in node.node_ids:
        if peer != node.id:
            node.send(peer, {"type": "replicate", "writes": writes})


@handler("replicate")
def apply_writes(node, msg):
    registers.update((key, value) for key, value in msg.body["writes"])
