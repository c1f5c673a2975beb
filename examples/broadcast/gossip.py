"""The node-to-node half of broadcast: who forwards to whom, batches, and retries.

Shape: a star. The first node of the test is the hub and every other node a leaf (a
spanning tree of depth 1, whatever topology Maelstrom suggests). A leaf sends what its
clients broadcast to the hub; the hub sends everything new to every other node. A value
crosses at most two links, so it reaches every node in about two latencies.

Batches: nothing is sent at once. A new value is put in the outbox of each peer that must
hear of it, and every INTERVAL each non-empty outbox leaves as one `gossip` message. A
longer interval puts more values in each message: fewer messages, more latency. It is the
one setting, read at start from the environment: BROADCAST_INTERVAL_MS (default 100).

Retries: a peer acknowledges each batch (`gossip_ok`). A batch whose call fails (dropped by
a partition: its timeout fires; or an error) goes back into the outbox and leaves again with
the next flush, so no value is lost to a partition. Duplicates are harmless: a node keeps
a set, and passes on only what it did not have.
"""
import os

import gnode
from gnode import every, handler

INTERVAL = float(os.environ.get("BROADCAST_INTERVAL_MS", "100")) / 1000
GOSSIP_TIMEOUT = 1.0  # seconds before a batch counts as lost and goes back to the outbox

messages = set()  # every value this node has seen: what a read returns
outbox = {}       # peer -> values it must still be sent


def hub(node):
    return node.node_ids[0]


def learn(node, values, source):
    """Keep ``values`` (from a client, or from the peer ``source``) and queue the new ones for
    the peers that must hear of them."""
    new = set(values) - messages
    if not new:
        return
    messages.update(new)
    if node.id == hub(node):
        targets = [peer for peer in node.node_ids if peer not in (node.id, source)]
    elif source in node.node_ids:
        targets = []  # a leaf hears only from the hub, which sends to every node itself
    else:
        targets = [hub(node)]  # from a client: up to the hub
    for peer in targets:
        outbox.setdefault(peer, set()).update(new)


@handler("gossip")
def gossip(node, msg):
    learn(node, msg.body["messages"], msg.src)
    return {"type": "gossip_ok"}


@every(INTERVAL, jitter=0.1)
def flush(node):
    """Each peer's outbox leaves as one call; a call that fails puts its batch back."""
    for peer, values in outbox.items():
        if values:
            batch, outbox[peer] = values, set()
            node.rpc(peer, {"type": "gossip", "messages": sorted(batch)}, timeout=GOSSIP_TIMEOUT,
                     callback=lambda call, peer=peer, batch=batch: settled(call, peer, batch))


def settled(call, peer, batch):
    try:
        call.get()  # settled already: returns gossip_ok's body, or raises why it failed
    except gnode.RPCError:
        outbox[peer].update(batch)  # lost or refused: it goes again with the next flush
