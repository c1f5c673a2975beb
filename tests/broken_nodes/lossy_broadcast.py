#!/usr/bin/env python3
"""Broadcast that tells each peer once and never again: a value sent while a partition cuts
a peer off is lost to it for good."""
from _maelstrom import serve

seen = set()


def handle(me, nodes, msg, send):
    body = msg["body"]
    if body["type"] == "topology":
        send(msg["src"], {"type": "topology_ok", "in_reply_to": body["msg_id"]})
    elif body["type"] == "broadcast":
        if body["message"] not in seen:
            seen.add(body["message"])
            if msg["src"].startswith("c"):  # from a client: tell every peer, once
                for peer in nodes:
                    if peer != me:
                        send(peer, {"type": "broadcast", "message": body["message"]})
        if "msg_id" in body:
            send(msg["src"], {"type": "broadcast_ok", "in_reply_to": body["msg_id"]})
    elif body["type"] == "read":
        send(msg["src"], {"type": "read_ok", "messages": sorted(seen), "in_reply_to": body["msg_id"]})


serve(handle)
