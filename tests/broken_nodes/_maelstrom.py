"""The little a broken node needs: read messages, answer them. Plain Python, no gnode: the
verdicts must hold for any node, and these nodes must break the rules gnode keeps."""
import json
import sys
import threading


def serve(handle):
    """Call ``handle(node_id, node_ids, msg, send)`` for every message after init; ``send(dest,
    body)`` writes a message from this node and returns the msg_id it gave it; it may be
    called from other threads (a timer's) too."""
    node = {"id": None, "ids": [], "next": 0}
    writing = threading.Lock()

    def send(dest, body):
        with writing:
            node["next"] += 1
            sys.stdout.write(json.dumps({"src": node["id"], "dest": dest, "body": {**body, "msg_id": node["next"]}})
                             + "\n")
            sys.stdout.flush()
            return node["next"]

    for line in sys.stdin:
        msg = json.loads(line)
        body = msg["body"]
        if body["type"] == "init":
            node["id"], node["ids"] = body["node_id"], body["node_ids"]
            send(msg["src"], {"type": "init_ok", "in_reply_to": body["msg_id"]})
        else:
            handle(node["id"], node["ids"], msg, send)
