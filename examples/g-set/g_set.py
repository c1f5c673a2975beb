"""g-set: a grow-only set, as a state-based CRDT.

Each node adds to its own copy and answers at once. Twice a second it sends its whole set
to every other node, which merges it in with a union. A union does not care about order
or duplicates, so copies that missed each other's messages (a partition) agree again one
round after the network heals: no acknowledgements or retries needed, the next round is
the retry. (The cost: whole sets on the wire. broadcast's gossip.py sends only what is new.)
"""
from gnode import every, handler

elements = set()


@handler("add")
def add(node, msg):
    elements.add(msg.body["element"])
    return {"type": "add_ok"}


@handler("read")
def read(node, msg):
    return {"type": "read_ok", "value": sorted(elements)}


@handler("replicate")
def replicate(node, msg):
    elements.update(msg.body["value"])  # merge: union. No answer: the next round repeats it anyway.


@every(0.5, jitter=0.2)
def spread(node):
    if elements:
        for peer in node.node_ids:
            if peer != node.id:
                node.send(peer, {"type": "replicate", "value": sorted(elements)})
