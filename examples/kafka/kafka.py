"""kafka (Gossip Glomers 5a and 5b): append-only logs under string keys, kept in Maelstrom's
lin-kv service, so any number of nodes can serve them and agree.

A send takes the key's next offset with a compare-and-set on "next/KEY" (node.lin_kv.update
retries when another node took it first), then stores the message under "msg/KEY/OFFSET".
A poll reads a key's messages from the offset asked for, and stops at the first offset not
stored yet: a sender may have taken an offset and not written its message, and skipping it
would make a poll skip a message that later appears. Committed offsets live under
"commit/KEY", only ever raised.
"""
from gnode import handler

POLL_LIMIT = 16  # messages of one key per poll


@handler("send")
def send(node, msg):
    key = msg.body["key"]
    offset = node.lin_kv.update("next/" + key, lambda n: n + 1, default=-1)
    node.lin_kv.write("msg/%s/%d" % (key, offset), msg.body["msg"])
    return {"type": "send_ok", "offset": offset}


@handler("poll")
def poll(node, msg):
    found = {}
    for key, start in msg.body["offsets"].items():
        pairs = []
        for offset in range(start, start + POLL_LIMIT):
            value = node.lin_kv.read("msg/%s/%d" % (key, offset), default=None)
            if value is None:
                break
            pairs.append([offset, value])
        found[key] = pairs
    return {"type": "poll_ok", "msgs": found}


@handler("commit_offsets")
def commit_offsets(node, msg):
    for key, offset in msg.body["offsets"].items():
        node.lin_kv.update("commit/" + key, lambda old: max(old, offset), default=offset)
    return {"type": "commit_offsets_ok"}


@handler("list_committed_offsets")
def list_committed_offsets(node, msg):
    offsets = {}
    for key in msg.body["keys"]:
        committed = node.lin_kv.read("commit/" + key, default=None)
        if committed is not None:
            offsets[key] = committed
    return {"type": "list_committed_offsets_ok", "offsets": offsets}
