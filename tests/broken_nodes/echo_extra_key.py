#!/usr/bin/env python3
"""Echoes, but every reply carries a key Maelstrom's closed schema does not allow."""
from _maelstrom import serve


def handle(me, nodes, msg, send):
    send(msg["src"], {"type": "echo_ok", "echo": msg["body"]["echo"], "in_reply_to": msg["body"]["msg_id"],
                      "served_by": me})


serve(handle)
