#!/usr/bin/env python3
"""txn-rw-register nodes, one right and three wrong, chosen by the first argument (and
txn-list-append nodes too: an append adds to the key's list):

    leader          the first node runs every transaction, one at a time, and the others
                    forward to it: strict serializable, the control
    aborted-reads   one node; a transaction that writes is answered, one time in three, with
                    txn-conflict (it failed) after its writes were kept: others read them (G1a)
    no-isolation    each node runs transactions on a store of its own and sends its writes
                    to the others after answering: concurrent transactions on two nodes
                    both read a value and both overwrite it (lost updates)
    read-committed  one node; a transaction's reads see the writes committed so far, but
                    its writes commit only once the next transaction has read: nothing
                    uncommitted is ever read, yet two transactions can each miss the
                    other's write (read committed, not serializable)
"""
import sys

from _maelstrom import serve

MODE = sys.argv[1]
TXN_CONFLICT = 30
store = {}
relaying = {}  # msg_id of a transaction we forwarded -> (who asked, their msg_id)
pending = {}  # read-committed: the writes of the last transaction, committed when the next one has read
answered = [0]


def run(txn, buffered=None):
    """Run the micro-ops on the store (writes into ``buffered`` instead, if given); the
    completed micro-ops and the transaction's final writes."""
    done, writes = [], {}
    for f, k, v in txn:
        key = str(k)
        current = writes.get(key, store.get(key))
        if f == "r":
            done.append([f, k, current])
            continue
        writes[key] = v if f == "w" else (current or []) + [v]
        done.append([f, k, v])
        if buffered is None:
            store[key] = writes[key]
    return done, writes


def handle(node_id, node_ids, msg, send):
    body, src = msg["body"], msg["src"]
    if "in_reply_to" in body:  # the leader's answer to a transaction we forwarded
        asker = relaying.pop(body["in_reply_to"], None)
        if asker is not None:
            answer = {key: value for key, value in body.items() if key not in ("msg_id", "in_reply_to")}
            send(asker[0], {**answer, "in_reply_to": asker[1]})
        return
    if body["type"] == "replicate":  # no-isolation's writes from another node
        store.update(body["writes"])
        return
    reply = {"in_reply_to": body["msg_id"]}
    if MODE == "leader" and node_id != node_ids[0]:
        relaying[send(node_ids[0], {"type": "txn", "txn": body["txn"]})] = (src, body["msg_id"])
        return
    if MODE == "read-committed":
        done, writes = run(body["txn"], buffered=True)
        store.update(pending)  # the previous transaction commits only now, after this one read
        pending.clear()
        pending.update(writes)
        send(src, {"type": "txn_ok", "txn": done, **reply})
        return
    done, writes = run(body["txn"])
    if MODE == "aborted-reads" and writes:
        answered[0] += 1
        if answered[0] % 3 == 0:
            send(src, {"type": "error", "code": TXN_CONFLICT, "text": "conflict (its writes stay)", **reply})
            return
    send(src, {"type": "txn_ok", "txn": done, **reply})
    if MODE == "no-isolation" and writes:
        for peer in node_ids:
            if peer != node_id:
                send(peer, {"type": "replicate", "writes": writes})


serve(handle)
