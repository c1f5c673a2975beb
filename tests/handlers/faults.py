"""Handlers that misbehave on purpose, for the fixture tests."""
from gnode import RPCError, handler


@handler("crash")
def crash(node, msg):
    raise ValueError("boom")


@handler("refuse")
def refuse(node, msg):
    raise RPCError(1001, "not today")


@handler("shout")
def shout(node, msg):
    print("shouting:", msg.body["text"])
    return {"type": "shout_ok"}
