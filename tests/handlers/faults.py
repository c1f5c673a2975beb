"""Handlers that misbehave on purpose, for the fixture tests."""
import os
import sys
import time

import gevent

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


@handler("nap")
def nap(node, msg):
    time.sleep(msg.body["seconds"])  # time.sleep is gevent's after patching: only this greenlet sleeps
    return {"type": "nap_ok"}


@handler("unencodable")
def unencodable(node, msg):
    return {"type": "unencodable_ok", "value": {1, 2}}


@handler("no_type")
def no_type(node, msg):
    return {"value": 1}


@handler("error_without_code")
def error_without_code(node, msg):
    """An error body with no integer code: Maelstrom rejects such a line."""
    return {"type": "error", "text": "no code"}


@handler("spawn_exit")
def spawn_exit(node, msg):
    gevent.spawn(sys.exit, 3)
    gevent.spawn(_interrupt)
    node.spawn(sys.exit, 4)
    return {"type": "spawn_exit_ok"}


def _interrupt():
    raise KeyboardInterrupt


@handler("exit")
def exit_(node, msg):
    sys.exit(5)


@handler("interrupt")
def interrupt(node, msg):
    raise KeyboardInterrupt


@handler("raw_write")
def raw_write(node, msg):
    """Writes around print(): straight to file descriptor 1, and to sys.__stdout__."""
    os.write(1, b"raw bytes on fd 1\n")
    sys.__stdout__.write("text on sys.__stdout__\n")
    sys.__stdout__.flush()
    return {"type": "raw_write_ok"}


@handler("copy_back")
def copy_back(node, msg):
    """The request's body, retyped: it carries the request's msg_id, which must not stay."""
    body = dict(msg.body)
    body["type"] = "copy_back_ok"
    return body


@handler("ask_service")
def ask_service(node, msg):
    """A read from Maelstrom's lin-kv service (the test plays it)."""
    return {"type": "ask_service_ok", "answer": node.sync_rpc("lin-kv", {"type": "read", "key": msg.body["key"]})}


@handler("background_call_fails")
def background_call_fails(node, msg):
    """A call in a raw greenlet (gevent.spawn_raw: the hub is its parent), then a bug."""
    def call_then_fail():
        node.sync_rpc(msg.body["target"], {"type": "ping"}, timeout=5)
        raise KeyError("a bug in background code")
    gevent.spawn_raw(call_then_fail)
    return {"type": "background_call_fails_ok"}


class Unprintable(Exception):
    def __str__(self):
        raise KeyboardInterrupt  # not even an Exception: showing it must not end the node


@handler("unprintable")
def unprintable(node, msg):
    raise Unprintable()


class HalfMadeError(RPCError):
    def __init__(self):  # never calls RPCError.__init__: no code, no text
        pass


@handler("half_made_error")
def half_made_error(node, msg):
    raise HalfMadeError()
