"""Maelstrom's echo workload: answer with the payload that came."""
from gnode import handler


@handler("echo")
def echo(node, msg):
    return {"type": "echo_ok", "echo": msg.body["echo"]}
