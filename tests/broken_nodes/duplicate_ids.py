#!/usr/bin/env python3
"""Mints ids from a counter of its own, without its node id: two nodes hand out the same ids."""
from _maelstrom import serve

count = [0]


def handle(me, nodes, msg, send):
    count[0] += 1
    send(msg["src"], {"type": "generate_ok", "id": count[0], "in_reply_to": msg["body"]["msg_id"]})


serve(handle)
