#!/usr/bin/env python3
"""The least a gevent-based echo node can do: the floor under any gevent framework.

baseline_echo.py with one change: stdin is non-blocking and, when it is empty, the node
waits in gevent's hub on a libev io watcher instead of blocking in ``read``. So its
closed-loop latency is the baseline's plus what a wake-up through gevent's event loop
costs; what gnode takes beyond this is gnode's own. No monkey-patching, no greenlets of
its own, no framework. Everything else is the baseline's, line for line (keep the two
the same): ``json.loads``, the reply built as gnode builds it (``in_reply_to``, a
``msg_id`` from one counter), all the replies of one read in one ``os.write`` (stdout
stays blocking). It answers ``init``, ``echo`` and ``proxy``; anything else gets error 10.

stdin's file description is made non-blocking, which whoever shares it (a shell, when
run by hand in a terminal) would see too; the bench gives it a pipe of its own.
"""
import json
import os

import gevent


def main():
    os.set_blocking(0, False)
    hub = gevent.get_hub()
    readable = hub.loop.io(0, 1)  # 1: EV_READ
    node_id = None
    next_id = 0
    forwarded = {}  # msg_id of a forward -> (client, msg_id of its proxy request)
    partial = b""
    while True:
        try:
            data = os.read(0, 65536)
        except BlockingIOError:
            hub.wait(readable)
            continue
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
