"""sync_rpc used in other ways than the proxy does, for the fixture tests."""
import time

import gevent

from gnode import handler


@handler("proxy_within")
def proxy_within(node, msg):
    """A proxy whose call has its own timeout, given in the request."""
    return {"type": "proxy_within_ok",
            "result": node.sync_rpc(msg.body["target"], msg.body["inner"], timeout=msg.body["timeout"])}


@handler("proxy_bounded")
def proxy_bounded(node, msg):
    """A proxy inside the handler's own gevent.Timeout, shorter than the call's."""
    with gevent.Timeout(msg.body["bound"]):
        return {"type": "proxy_bounded_ok", "result": node.sync_rpc(msg.body["target"], msg.body["inner"], timeout=30)}


@handler("tell")
def tell(node, msg):
    """Fire and forget: the answer, if any, goes to the note_ok handler. Says which msg_id
    the note took."""
    sent = node.send(msg.body["target"], {"type": "note", "text": msg.body["text"]})
    return {"type": "tell_ok", "note_msg_id": sent}


@handler("note_ok")
def note_ok(node, msg):
    """Shows that an answer to node.send reached its handler, and that returning a body
    from it answers nothing (an answer is never answered)."""
    node.send(msg.src, {"type": "noted", "in_reply_to_was": msg.body["in_reply_to"]})
    return {"type": "never_sent"}


@handler("call_and_work")
def call_and_work(node, msg):
    """A call, then CPU work that holds the node (no yield) for ``work`` seconds, then a
    yield, as any wait would be: the hub gets a turn, and runs the timers that fell due."""
    result = node.sync_rpc(msg.body["target"], {"type": "ping", "k": msg.body["k"]}, timeout=msg.body["timeout"])
    deadline = time.perf_counter() + msg.body.get("work", 0)
    while time.perf_counter() < deadline:
        pass
    gevent.sleep(0)
    return {"type": "call_and_work_ok", "k": result["k"]}
