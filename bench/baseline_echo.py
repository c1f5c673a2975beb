#!/usr/bin/env python3
"""The benchmark's yardstick: the plainest Maelstrom echo node CPython allows.

One blocking loop over stdin lines: stdlib ``json.loads``, build the reply the way
gnode does (``in_reply_to`` the request's ``msg_id``, a ``msg_id`` of our own from one
counter), ``json.dumps``, write the line, flush. No greenlets, no framework, no
batching. It answers ``init`` and ``echo``; anything else gets error 10.
"""
import json
import sys


def main():
    stdin = sys.stdin.buffer
    stdout = sys.stdout
    node_id = None
    next_id = 0
    for line in stdin:
        msg = json.loads(line)
        body = msg["body"]
        kind = body["type"]
        if kind == "echo":
            reply = {"type": "echo_ok", "echo": body["echo"]}
        elif kind == "init":
            node_id = body["node_id"]
            reply = {"type": "init_ok"}
        else:
            reply = {"type": "error", "code": 10, "text": "unsupported type %r" % kind}
        request_id = body.get("msg_id")
        if request_id is None:
            continue
        reply["in_reply_to"] = request_id
        reply["msg_id"] = next_id
        next_id += 1
        stdout.write(json.dumps({"src": node_id, "dest": msg["src"], "body": reply}) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
