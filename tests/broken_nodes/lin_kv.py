#!/usr/bin/env python3
"""lin-kv nodes, one right and two wrong, chosen by the first argument:

    proxy          forwards every request to Maelstrom's lin-kv service and relays its
                   answer: linearizable, the control
    dict-per-node  answers from a dict of its own on each node: a read misses what was
                   written through another node (stale reads)
    loses-writes   the first node keeps the one dict and the others forward to it, but a
                   write is acknowledged at once and forwarded without waiting: under a
                   partition the forward is dropped and an acknowledged write is lost
                   (a forwarded read or cas the first node does not answer in time fails,
                   definitely: no indeterminate cas is left to explain the loss away)
"""
import sys
import threading

from _maelstrom import serve

MODE = sys.argv[1]
TEMPORARILY_UNAVAILABLE, KEY_DOES_NOT_EXIST, PRECONDITION_FAILED = 11, 20, 22
LEADER_PATIENCE = 0.3  # seconds a forwarded read or cas waits for the first node (clients wait 1 s)
store = {}
relaying = {}  # msg_id of a request we forwarded -> (who asked, their msg_id)


def request(body):
    """The request itself, without its envelope's msg_id."""
    return {key: value for key, value in body.items() if key != "msg_id"}


def apply(body):
    """Perform a request on this node's dict; the answer's body."""
    key = str(body["key"])
    if body["type"] == "write":
        store[key] = body["value"]
        return {"type": "write_ok"}
    if key not in store:
        return {"type": "error", "code": KEY_DOES_NOT_EXIST, "text": "no key %s" % key}
    if body["type"] == "read":
        return {"type": "read_ok", "value": store[key]}
    if store[key] != body["from"]:
        return {"type": "error", "code": PRECONDITION_FAILED, "text": "expected %s, had %s" % (body["from"], store[key])}
    store[key] = body["to"]
    return {"type": "cas_ok"}


def handle(node_id, node_ids, msg, send):
    body = msg["body"]
    if "in_reply_to" in body:  # the answer to a request we forwarded: relay it
        asker = relaying.pop(body["in_reply_to"], None)
        if asker is not None:
            answer = {key: value for key, value in body.items() if key not in ("msg_id", "in_reply_to")}
            send(asker[0], {**answer, "in_reply_to": asker[1]})
        return
    leader = node_ids[0]
    if MODE == "proxy":
        relaying[send("lin-kv", request(body))] = (msg["src"], body["msg_id"])
    elif MODE == "dict-per-node" or node_id == leader:
        answer = apply(body)
        if not body.get("unacknowledged"):
            send(msg["src"], {**answer, "in_reply_to": body["msg_id"]})
    elif body["type"] == "write":  # the bug: acknowledged before the leader has it
        send(leader, {**request(body), "unacknowledged": True})
        send(msg["src"], {"type": "write_ok", "in_reply_to": body["msg_id"]})
    else:
        msg_id = send(leader, request(body))
        relaying[msg_id] = (msg["src"], body["msg_id"])
        threading.Timer(LEADER_PATIENCE, give_up, (msg_id, send)).start()


def give_up(msg_id, send):
    asker = relaying.pop(msg_id, None)
    if asker is not None:
        send(asker[0], {"type": "error", "code": TEMPORARILY_UNAVAILABLE, "text": "no answer from the leader",
                        "in_reply_to": asker[1]})


serve(handle)
