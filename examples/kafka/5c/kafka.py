"""kafka (Gossip Glomers 5c): the logs of ../kafka.py with no service calls at all.

In 5b every send costs a compare-and-set on lin-kv (and a read and another try when a
peer took the offset first) plus a write, and a poll one read per message: about five
service calls an operation. Here each key has an owner, one node picked by the key's
checksum, the same on every node. The owner keeps the key's log and committed offset in
memory and is the only one to hand out its offsets, so it needs no compare-and-set: no
other node can take an offset behind its back. A node that gets a request for a key it
does not own forwards that part of the request, as is, to the owner with node.sync_rpc,
and answers with what the owner said. Requests for keys a node owns cost no message.

The price is that a key's log lives on one node: that node down or cut off, the key is
unavailable (the kafka workload runs without partitions, as the challenge does).
"""
import collections
import zlib

from gnode import handler

POLL_LIMIT = 16  # messages of one key per poll
logs = collections.defaultdict(list)  # key -> its messages; a message's offset is its index
committed = {}  # key -> the highest offset committed


def owner(node, key):
    # crc32, not hash(): Python salts str hashes per process, and all nodes must agree
    return node.node_ids[zlib.crc32(key.encode()) % len(node.node_ids)]


def by_owner(node, keys):
    """{owner: [key, ...]} for the keys of a request."""
    owners = collections.defaultdict(list)
    for key in keys:
        owners[owner(node, key)].append(key)
    return owners


@handler("send")
def send(node, msg):
    key = msg.body["key"]
    where = owner(node, key)
    if where != node.id:
        return {"type": "send_ok", "offset": node.sync_rpc(where, msg.body)["offset"]}
    logs[key].append(msg.body["msg"])
    return {"type": "send_ok", "offset": len(logs[key]) - 1}


@handler("poll")
def poll(node, msg):
    offsets, found = msg.body["offsets"], {}
    for where, keys in by_owner(node, offsets).items():
        if where != node.id:
            asked = {"type": "poll", "offsets": {key: offsets[key] for key in keys}}
            found.update(node.sync_rpc(where, asked)["msgs"])
            continue
        for key in keys:
            start = offsets[key]
            found[key] = [[offset, logs[key][offset]]
                          for offset in range(start, min(start + POLL_LIMIT, len(logs[key])))]
    return {"type": "poll_ok", "msgs": found}


@handler("commit_offsets")
def commit_offsets(node, msg):
    offsets = msg.body["offsets"]
    for where, keys in by_owner(node, offsets).items():
        if where != node.id:
            node.sync_rpc(where, {"type": "commit_offsets", "offsets": {key: offsets[key] for key in keys}})
            continue
        for key in keys:
            committed[key] = max(committed.get(key, offsets[key]), offsets[key])
    return {"type": "commit_offsets_ok"}


@handler("list_committed_offsets")
def list_committed_offsets(node, msg):
    found = {}
    for where, keys in by_owner(node, msg.body["keys"]).items():
        if where != node.id:
            found.update(node.sync_rpc(where, {"type": "list_committed_offsets", "keys": keys})["offsets"])
            continue
        found.update((key, committed[key]) for key in keys if key in committed)
    return {"type": "list_committed_offsets_ok", "offsets": found}
