"""broadcast: the clients' side (topology, broadcast, read). gossip.py spreads the values."""
from gnode import handler

from gossip import learn, messages


@handler("topology")
def topology(node, msg):
    # Maelstrom suggests neighbours; this node uses its own star instead (see gossip.py).
    return {"type": "topology_ok"}


@handler("broadcast")
def broadcast(node, msg):
    learn(node, [msg.body["message"]], msg.src)  # answered at once: gossip.py retries until it is spread
    return {"type": "broadcast_ok"}


@handler("read")
def read(node, msg):
    return {"type": "read_ok", "messages": sorted(messages)}
