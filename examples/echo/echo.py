"""echo: answer each request with its own payload (Maelstrom's first workload)."""
from gnode import handler


@handler("echo")
def echo(node, msg):
    # Returning a dict answers the request; gnode adds in_reply_to and msg_id.
    return {"type": "echo_ok", "echo": msg.body["echo"]}
