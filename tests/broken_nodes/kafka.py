#!/usr/bin/env python3
"""Single-node kafka logs, one right and three wrong, chosen by the first argument:

    log               each key an append-only log, offsets 0, 1, 2, ...: the control
    duplicate-offset  hands out each offset twice, so two messages share one
    unpolled          acknowledges every send, but never lets one in three be polled
    backwards         every poll starts two offsets before where it was asked to
"""
import sys

from _maelstrom import serve

MODE = sys.argv[1]
POLL_LIMIT = 16  # messages of a key per poll
logs = {}  # key -> {offset: msg}
sends = {}  # key -> sends acknowledged
committed = {}


def send(key, msg):
    log = logs.setdefault(key, {})
    sends[key] = sends.get(key, 0) + 1
    offset = (sends[key] - 1) // 2 if MODE == "duplicate-offset" else sends[key] - 1
    if not (MODE == "unpolled" and offset % 3 == 2):
        log[offset] = msg
    return offset


def poll(offsets):
    msgs = {}
    for key, start in offsets.items():
        if MODE == "backwards":
            start -= 2
        log = logs.get(key, {})
        msgs[key] = [[offset, log[offset]] for offset in sorted(log) if offset >= start][:POLL_LIMIT]
    return msgs


def handle(node_id, node_ids, msg, reply_to):
    body = msg["body"]
    kind = body["type"]
    if kind == "send":
        answer = {"type": "send_ok", "offset": send(body["key"], body["msg"])}
    elif kind == "poll":
        answer = {"type": "poll_ok", "msgs": poll(body["offsets"])}
    elif kind == "commit_offsets":
        for key, offset in body["offsets"].items():
            committed[key] = max(committed.get(key, offset), offset)
        answer = {"type": "commit_offsets_ok"}
    elif kind == "list_committed_offsets":
        answer = {"type": "list_committed_offsets_ok",
                  "offsets": {key: committed[key] for key in body["keys"] if key in committed}}
    else:
        return
    reply_to(msg["src"], {**answer, "in_reply_to": body["msg_id"]})


serve(handle)
