#!/usr/bin/env python3
"""The benchmark's yardstick: the plainest fast Maelstrom echo node CPython allows.

One blocking loop: read whatever stdin has (one ``os.read``), parse each complete line
with the stdlib's ``json.loads``, build the reply the way gnode does (``in_reply_to``
the request's ``msg_id``, a ``msg_id`` of our own from one counter), ``json.dumps`` it,
and write all the replies of that read in one ``os.write``. No greenlets, no framework.
Writing once per read rather than once per line is what makes it fast, and it is still
a correct node: it never holds an answer while it waits for input. It answers ``init``,
``echo`` and ``proxy`` (it forwards ``inner`` to ``target`` and hands the answer back in
``proxy_ok``, as gnode's handlers/proxy.py does); anything else gets error 10.
"""
import json
import os


def main():
    node_id = None
    next_id = 0
    forwarded = {}  # msg_id of a forward -> (client, msg_id of its proxy request)
    partial = b""
    while True:
        data = os.read(0, 65536)
        if not data:
            return
        lines = (partial + data).split(b"\n")
        partial = lines.pop()
        replies = []
        for line in lines:
            msg = json.loads(line)
            body = msg["body"]
            kind = body["type"]
            dest, request_id = msg["src"], body.get("msg_id")
            if kind == "echo":
                reply = {"type": "echo_ok", "echo": body["echo"]}
            elif "in_reply_to" in body:  # the answer to a forward: hand it back to the client
                dest, request_id = forwarded.pop(body["in_reply_to"])
                reply = {"type": "proxy_ok", "result": body}
            elif kind == "proxy":  # forward the inner message; its answer comes in a later read
                forwarded[next_id] = (dest, request_id)
                forward = dict(body["inner"], msg_id=next_id)
                next_id += 1
                replies.append(json.dumps({"src": node_id, "dest": body["target"], "body": forward}) + "\n")
                continue
            elif kind == "init":
                node_id = body["node_id"]
                reply = {"type": "init_ok"}
            else:
                reply = {"type": "error", "code": 10, "text": "unsupported type %r" % kind}
            if request_id is None:
                continue
            reply["in_reply_to"] = request_id
            reply["msg_id"] = next_id
            next_id += 1
            replies.append(json.dumps({"src": node_id, "dest": dest, "body": reply}) + "\n")
        if replies:
            out = "".join(replies).encode()
            while out:
                out = out[os.write(1, out):]


if __name__ == "__main__":
    main()
