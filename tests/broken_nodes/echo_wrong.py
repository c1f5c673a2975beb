#!/usr/bin/env python3
"""Echoes every payload but the third, which comes back changed."""
from _maelstrom import serve

count = [0]


def handle(me, nodes, msg, send):
    count[0] += 1
    echo = msg["body"]["echo"] + (" (changed)" if count[0] == 3 else "")
    send(msg["src"], {"type": "echo_ok", "echo": echo, "in_reply_to": msg["body"]["msg_id"]})


serve(handle)
