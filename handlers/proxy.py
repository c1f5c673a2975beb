"""Forward a message to another node and hand back its answer.

{"type": "proxy", "target": "n2", "inner": {...}} sends `inner` to `target`,
waits for the answer and replies {"type": "proxy_ok", "result": <answer body>}.
An error answer is a result like any other; no answer in time is error code 0.
"""
from gnode import RPCError, handler


@handler("proxy")
def proxy(node, msg):
    try:
        result = node.sync_rpc(msg.body["target"], msg.body["inner"])
    except RPCError as error:
        if not error.answered:  # timed out, or refused before sending (unknown target)
            raise
        result = error.body
    return {"type": "proxy_ok", "result": result}
