#!/usr/bin/env python3
"""A counter that counts every add twice: its reads are out of the acceptable range."""
from _maelstrom import serve

total = [0]


def handle(me, nodes, msg, send):
    body = msg["body"]
    if body["type"] == "add":
        total[0] += 2 * body["delta"]
        send(msg["src"], {"type": "add_ok", "in_reply_to": body["msg_id"]})
    elif body["type"] == "read":
        send(msg["src"], {"type": "read_ok", "value": total[0], "in_reply_to": body["msg_id"]})


serve(handle)
