"""The bench's broadcast node: a new value goes to each neighbour of Maelstrom's topology
but the one it came from, once; no retries (the bench runs without partitions)."""
from gnode import handler

seen = set()
neighbours = []


@handler("topology")
def topology(node, msg):
    neighbours[:] = msg.body["topology"][node.id]
    return {"type": "topology_ok"}


@handler("broadcast")
def broadcast(node, msg):
    value = msg.body["message"]
    if value not in seen:
        seen.add(value)
        for peer in neighbours:
            if peer != msg.src:
                node.send(peer, {"type": "broadcast", "message": value})
    return {"type": "broadcast_ok"}


@handler("broadcast_ok")
def acknowledged(node, msg):
    """A neighbour's acknowledgement: nothing is sent again."""


@handler("read")
def read(node, msg):
    return {"type": "read_ok", "messages": sorted(seen)}
