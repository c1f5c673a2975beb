"""pn-counter: a counter that goes up and down, as a state-based CRDT.

Each node keeps, for every node, the total of the increments and the total of the
decrements that node has taken from its clients (two grow-only counters, P and N). A
node only ever raises its own entries, so merging two copies is taking the larger of each
entry. The value is sum(P) - sum(N). Twice a second every node sends its copy to every
other; after a partition heals, one round brings every node to the same value.
"""
from gnode import every, handler

increments = {}  # node id -> the sum of the positive deltas it took
decrements = {}  # node id -> the sum of the negated negative deltas it took


@handler("add")
def add(node, msg):
    delta = msg.body["delta"]
    side = increments if delta >= 0 else decrements
    side[node.id] = side.get(node.id, 0) + abs(delta)
    return {"type": "add_ok"}


@handler("read")
def read(node, msg):
    return {"type": "read_ok", "value": sum(increments.values()) - sum(decrements.values())}


@handler("replicate")
def replicate(node, msg):
    for mine, theirs in ((increments, msg.body["p"]), (decrements, msg.body["n"])):
        for owner, total in theirs.items():
            mine[owner] = max(mine.get(owner, 0), total)  # merge: each entry only grows


@every(0.5, jitter=0.2)
def spread(node):
    for peer in node.node_ids:
        if peer != node.id:
            node.send(peer, {"type": "replicate", "p": increments, "n": decrements})
