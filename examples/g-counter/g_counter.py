"""g-counter: a grow-only counter kept in Maelstrom's seq-kv service, not in the nodes.

The total lives under one key of seq-kv. An add is a compare-and-set loop
(node.seq_kv.update: read, add, cas; again if another node's add got in between), so no
add is ever lost. The nodes hold no state and never talk to each other, so a partition
between them changes nothing (services are never cut off).

The catch is the read. seq-kv is sequentially consistent, not linearizable: a read may be
answered from an older state, and Maelstrom checks that the final reads see every add. What
moves a node's view of seq-kv to the newest state is a request that changes something (a
read, a failing cas, or a write of the value already there, does not). So a read first
writes a value never written before under a key of this node's own, then reads the total.
"""
import itertools

from gnode import handler

KEY = "counter"
fresh = itertools.count()  # a new value for this node's sync key each time


@handler("add")
def add(node, msg):
    delta = msg.body["delta"]
    if delta:  # 0 changes nothing (and g-counter's deltas are never negative)
        node.seq_kv.update(KEY, lambda total: total + delta, default=0)
    return {"type": "add_ok"}


@handler("read")
def read(node, msg):
    node.seq_kv.write("sync-" + node.id, next(fresh))  # a change: our view moves to the newest state
    return {"type": "read_ok", "value": node.seq_kv.read(KEY, default=0)}
