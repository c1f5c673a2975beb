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


@handler("double")
def double(node, msg):
    node.reply(msg, {"type": "double_ok", "first": True})
    return {"type": "double_ok", "first": False}


@handler("not_a_dict")
def not_a_dict(node, msg):
    return ["type", "oops"]
