"""sync_rpc used in other ways than the proxy does, for the fixture tests."""
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
