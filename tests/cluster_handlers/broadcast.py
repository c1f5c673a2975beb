"""A broadcast node for the cluster's own tests: a value is passed to every peer once, and
passed on by each that had not seen it; a read lists what this node has seen."""
from gnode import handler

seen = set()


@handler("broadcast")
def broadcast(node, msg):
    value = msg.body["message"]
    if value not in seen:
        seen.add(value)
        for peer in node.node_ids:
            if peer != node.id and peer != msg.src:
                node.send(peer, {"type": "broadcast", "message": value})
    return {"type": "broadcast_ok"}


@handler("broadcast_ok")
def acknowledged(node, msg):
    """A peer's acknowledgement: nothing to do, as nothing is sent again."""


@handler("read")
def read(node, msg):
    return {"type": "read_ok", "messages": sorted(seen)}
