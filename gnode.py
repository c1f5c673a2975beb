#!/bin/sh
# Run directly, as Maelstrom runs a node, this file is first a shell script of one line: it
# has Python load it as the module gnode, whose byte-code Python caches in __pycache__,
# instead of compiling all of it as a script on every start. To Python the line is a string.
# sys.path[0] is this file's real folder, as for a script: never -c's working directory.
"exec" "python3" "-c" "import importlib.util, os, sys; sys.argv[0] = sys.argv.pop(1); sys.path[0] = os.path.dirname(os.path.realpath(sys.argv[0])); spec = importlib.util.spec_from_file_location('gnode', sys.argv[0]); sys.modules['gnode'] = gnode = importlib.util.module_from_spec(spec); spec.loader.exec_module(gnode); gnode.main()" "$0" "$@"
__doc__ = """gnode: Maelstrom nodes in plain, blocking Python, on gevent greenlets.

A Maelstrom node reads one JSON message per line on stdin and writes one per
line on stdout. gnode reads a line, parses it, hands it to a greenlet of its
own, runs the handler registered for its type, and writes the answer. A handler
may block (``node.sync_rpc`` waits for another node's answer like a function
call) without holding up any other message.

    # handlers/echo.py
    from gnode import handler

    @handler("echo")
    def echo(node, msg):
        return {"type": "echo_ok", "echo": msg.body["echo"]}

Run it the way Maelstrom does: ``./gnode.py`` (or the ``gnode`` console
script). Every module in ``handlers/`` beside this file is imported at start.
The file reads top to bottom as the life of a message: the public names, the
wire format, the writer, the node, start-up.
"""
import argparse
import collections
import gc
import importlib.util
import json
import logging
import os
import random
import signal
import stat
import sys
import time

import gevent
from gevent import Timeout
from gevent.event import AsyncResult, Event
from greenlet import GreenletExit, getcurrent, greenlet

__all__ = [
    # writing a node
    "handler", "every", "Node", "Message", "Call", "wait", "KV", "TSO", "main", "DEFAULT_RPC_TIMEOUT", "SERVICES",
    # Maelstrom's errors: a class per code, and the codes
    "RPCError", "RPCTimeout", "NodeNotFound", "NotSupported", "TemporarilyUnavailable", "MalformedRequest", "Crash",
    "Abort", "KeyDoesNotExist", "KeyAlreadyExists", "PreconditionFailed", "TxnConflict",
    "TIMEOUT", "NODE_NOT_FOUND", "NOT_SUPPORTED", "TEMPORARILY_UNAVAILABLE", "MALFORMED_REQUEST", "CRASH", "ABORT",
    "KEY_DOES_NOT_EXIST", "KEY_ALREADY_EXISTS", "PRECONDITION_FAILED", "TXN_CONFLICT",
]

log = logging.getLogger("gnode")
trace_log = logging.getLogger("gnode.trace")  # every message in and out, with --trace

# Maelstrom's error codes (its protocol document lists them); 1000 and up are yours.
TIMEOUT = 0
NODE_NOT_FOUND = 1
NOT_SUPPORTED = 10
TEMPORARILY_UNAVAILABLE = 11
MALFORMED_REQUEST = 12
CRASH = 13
ABORT = 14
KEY_DOES_NOT_EXIST = 20
KEY_ALREADY_EXISTS = 21
PRECONDITION_FAILED = 22
TXN_CONFLICT = 30

# Maelstrom's built-in services: always there to be sent to.
SERVICES = ("lin-kv", "seq-kv", "lww-kv", "lin-tso")

DEFAULT_RPC_TIMEOUT = 1.0  # seconds
_READ_SIZE = 65536  # one pipe's worth
_EXIT_GRACE = 5.0  # seconds a running handler gets after stdin closes (Maelstrom's client timeout)
_CLIENT_PATIENCE = 4.0  # seconds after which a Maelstrom client (timeout 5 s) may be gone: don't answer it.
# Counted from when we read the request, which can be later than when it was sent: hence the margin.
_WRITE_BATCH = 32  # lines a busy node lets pile up before it writes them (see _Writer; bench/ measured it)
_MAX_IDLE_WORKERS = 64  # parked worker greenlets kept for later bursts of blocking handlers
_RETIRE_BATCH, _RETIRE_EVERY = 128, 0.01  # idle workers beyond those retired per tick (~0.5 ms), tick in s
_ENDED_CALLS_KEPT = 4096  # how calls ended, among the last this many msg_ids: tells a late answer from a send's
_LATENCIES_KEPT = 1024  # latencies of the last answered calls, for node.stats()'s percentiles
_GC_YOUNG_THRESHOLD = 10_000  # allocations between young collections (Python's default, 700, is
# every ~100 messages here, which rarely make a cycle; bench/ measured the difference)


# ---------------------------------------------------------------- public names

class _ErrorClass(type):
    """Makes ``RPCError(code, ...)`` an instance of the class of that code, so
    ``RPCError(22, "x")`` is caught by ``except PreconditionFailed`` too."""

    def __call__(cls, *args, **kwargs):
        if cls is RPCError and args and type(args[0]) is int and args[0] in _ERROR_CLASSES:
            return _ERROR_CLASSES[args[0]](*args[1:], **kwargs)
        return super().__call__(*args, **kwargs)


class RPCError(Exception, metaclass=_ErrorClass):
    """A Maelstrom error: ``code``, ``text`` and ``body``, the error message's body.

    Raise it in a handler to answer ``{"type": "error", "code": code, "text": text}``;
    ``RPCError(code, text)`` is an instance of the subclass of that code, when there is one.
    A call raises it when the answer is an error (``answered`` is then true and ``body``
    is that answer), or when the node refused to send it (an unknown destination, code 1).
    ``definite`` is Maelstrom's: true when the operation certainly did not happen.
    """

    def __init__(self, code, text="", body=None, answered=False):
        super().__init__(code, text)
        self.code = code
        self.text = text
        self.body = body if body is not None else {"type": "error", "code": code, "text": text}
        self.answered = answered

    @property
    def definite(self):
        return self.code in _DEFINITE_CODES

    def __str__(self):
        return "error %s: %s" % (self.code, self.text)


class _CodedError(RPCError):
    """An RPCError whose class says its code: raised as ``KeyDoesNotExist("no key 5")``."""
    code = None  # set by each subclass

    def __init__(self, text="", body=None, answered=False):
        super().__init__(type(self).code, text, body, answered)


class RPCTimeout(_CodedError):
    """No answer came in time (code 0, indefinite: the request may have been done)."""
    code = TIMEOUT


class NodeNotFound(_CodedError):
    """Code 1: the destination does not exist."""
    code = NODE_NOT_FOUND


class NotSupported(_CodedError):
    """Code 10: the request's type is not supported."""
    code = NOT_SUPPORTED


class TemporarilyUnavailable(_CodedError):
    """Code 11: it cannot be done now, and certainly was not done."""
    code = TEMPORARILY_UNAVAILABLE


class MalformedRequest(_CodedError):
    """Code 12: the request could not have been done (it is not well formed)."""
    code = MALFORMED_REQUEST


class Crash(_CodedError):
    """Code 13: a failure with no more said; indefinite (it may have happened)."""
    code = CRASH


class Abort(_CodedError):
    """Code 14: a failure where the operation certainly did not happen."""
    code = ABORT


class KeyDoesNotExist(_CodedError):
    """Code 20: the key is not there."""
    code = KEY_DOES_NOT_EXIST


class KeyAlreadyExists(_CodedError):
    """Code 21: the key is there already."""
    code = KEY_ALREADY_EXISTS


class PreconditionFailed(_CodedError):
    """Code 22: a precondition did not hold (a compare-and-set found another value)."""
    code = PRECONDITION_FAILED


class TxnConflict(_CodedError):
    """Code 30: the transaction was aborted on a conflict."""
    code = TXN_CONFLICT


_ERROR_CLASSES = {cls.code: cls for cls in (
    RPCTimeout, NodeNotFound, NotSupported, TemporarilyUnavailable, MalformedRequest, Crash, Abort,
    KeyDoesNotExist, KeyAlreadyExists, PreconditionFailed, TxnConflict)}
# Maelstrom's definite codes: the operation certainly did not happen. 0, 13, the codes of
# 1000 and up (your own) and unknown ones are indefinite.
_DEFINITE_CODES = frozenset((NODE_NOT_FOUND, NOT_SUPPORTED, TEMPORARILY_UNAVAILABLE, MALFORMED_REQUEST,
                             ABORT, KEY_DOES_NOT_EXIST, KEY_ALREADY_EXISTS, PRECONDITION_FAILED, TXN_CONFLICT))


def _error_answer(body):
    """The RPCError a call raises for an error answer: the class of its code."""
    return RPCError(body.get("code"), body.get("text", ""), body, answered=True)


class Message:
    """One message received: ``src``, ``dest`` and ``body`` (a dict with a string ``type``)."""

    __slots__ = ("src", "dest", "body", "answered", "received")

    def __init__(self, src, dest, body, received):
        self.src = src
        self.dest = dest
        self.body = body
        self.answered = False
        self.received = received  # time.monotonic() when it was read

    def __repr__(self):
        return "Message(%r -> %r: %r)" % (self.src, self.dest, self.body)


_handlers = {}  # message type -> handler function, filled by @handler


def handler(msg_type):
    """Register the decorated ``fn(node, msg)`` as the handler of messages of ``msg_type``.

    Returning a dict answers the message with it; returning None answers nothing
    (the handler may call ``node.reply`` itself). ``@handler("init")`` is a start-up
    hook: it runs once ``node.id`` is known, and the node answers ``init_ok`` itself.
    """
    def register(fn):
        prior = _handlers.get(msg_type)
        if prior is not None and prior is not fn:
            raise _StartupError('two handlers for "%s": %s and %s' % (msg_type, _where(prior), _where(fn)))
        _handlers[msg_type] = fn
        return fn
    return register


def _where(fn):
    code = getattr(fn, "__code__", None)
    return "%s:%d" % (code.co_filename, code.co_firstlineno) if code else repr(fn)


class _StartupError(Exception):
    """The node cannot start: bad configuration, or a handler plugin that will not load."""


# ---------------------------------------------------------------- the wire

class _BadMessage(Exception):
    """An input line that is not a Maelstrom message; ``src`` and ``msg_id`` are set where it
    can be answered (never for an answer or an error: answering those could ping-pong)."""

    def __init__(self, problem, src=None, msg_id=None):
        super().__init__(problem)
        self.problem = problem
        self.src = src
        self.msg_id = msg_id


def _refuse_constant(name):
    raise ValueError("%s is not JSON" % name)


_decoder = json.JSONDecoder(parse_constant=_refuse_constant)  # strict: no NaN, no Infinity
_scan = _decoder.scan_once  # the C scanner alone, without decode's whitespace handling


def _scan_line(line):
    """The stdlib's C scanner on one line: the JSON value that fills it, or ValueError."""
    value, end = _scan(line, 0)
    if end != len(line):
        raise ValueError("more on the line than one JSON value")
    return value


_DIGITS_MARKED = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))  # digits to "0", all else to " "
_LONG_NUMBER = b"0" * 19  # a digit run this long may be an integer beyond 64 bits
_DEEP = 900  # brackets a line needs to be nested about as deep as the stdlib parses (990 on 3.10, 3.11)


_orjson_loads = None  # orjson.loads, once _import_orjson has found it


def _import_orjson():
    """Take orjson's parser, if it is installed: it reads a message in about 40% of the
    stdlib scanner's time. It is imported once init is answered, since its import (it
    loads dataclasses, uuid, zoneinfo, ...) would add a tenth to the node's start."""
    global _orjson_loads
    try:
        import orjson
    except ImportError:
        log.debug("orjson is not installed: the stdlib's json module reads every message")
        return
    _orjson_loads = orjson.loads
    gc.freeze()  # what the import made lives for ever too (as main's freeze)
    log.debug("orjson %s reads messages from now on", orjson.__version__)


def _loads_for(data, lines):
    """The quick parser for ``lines``, the lines of ``data``: orjson's, if it has been
    imported, else the stdlib's scanner. orjson takes whitespace around a value as the
    stdlib does, and rejects the lines the stdlib's strict decoder rejects (NaN, a lone
    surrogate, 1e400), so that _parse_message says why. But it reads an integer beyond 64
    bits as a float without a word, and takes 1,024 levels of nesting where the stdlib
    may stop at 990: where a run of 19 digits could be such an integer, or a line could
    be nested that deep, the stdlib reads the lines."""
    if _orjson_loads is None or _LONG_NUMBER in data.translate(_DIGITS_MARKED) \
            or (max(map(len, lines)) >= _DEEP and data.count(b"[") + data.count(b"{") >= _DEEP):
        return _scan_line
    return _orjson_loads


def _split_lines(data):
    """The lines of ``data`` (bytes, each line ending in a newline), as str; a line that is
    not UTF-8 stays bytes, for _parse_message to say so. One decode for a whole read."""
    try:
        lines = data.decode().split("\n")
    except UnicodeDecodeError:
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            try:
                lines[i] = line.decode()
            except UnicodeDecodeError:
                pass
    lines.pop()  # after the last newline
    return lines


def _parse_message(line, received):
    """Parse one stdin line (str, or bytes if it is not UTF-8) into a Message read at time
    ``received``, or raise _BadMessage saying what is wrong. (The common line, a message
    as Maelstrom writes it, is taken by a quicker path in Node._receive, to the same end.)

    Unknown keys (Maelstrom adds a top-level ``id``) are ignored.
    """
    try:
        text = line if type(line) is str else line.decode()
        envelope = _decoder.decode(text)
    except UnicodeDecodeError as e:
        raise _BadMessage("not UTF-8 (%s at byte %d)" % (e.reason, e.start)) from None
    except ValueError as e:  # blank: only ASCII whitespace (a no-break space is not JSON's)
        raise _BadMessage("empty line" if not text.strip(" \t\n\r\x0b\x0c") else "not JSON (%s)" % e) from None
    except RecursionError:
        raise _BadMessage("nested too deeply to parse") from None
    if type(envelope) is not dict:
        raise _BadMessage("not a JSON object but %s" % _kind(envelope))
    src = envelope.get("src")
    body = envelope.get("body")
    if type(body) is not dict:
        raise _BadMessage('"body" is %s, not an object' % _kind(body))
    msg_id = body.get("msg_id")
    if msg_id is not None and type(msg_id) is not int:
        raise _BadMessage('"msg_id" is %s, not an integer' % _kind(msg_id))
    if type(src) is not str or not src:
        raise _BadMessage('"src" is %s, not a node name' % _kind(src))
    if "in_reply_to" in body or body.get("type") == "error":
        msg_id = None
    dest = envelope.get("dest")
    if type(dest) is not str or not dest:
        raise _BadMessage('"dest" is %s, not a node name' % _kind(dest), src, msg_id)
    if type(body.get("type")) is not str:
        raise _BadMessage('"type" is %s, not a string' % _kind(body.get("type")), src, msg_id)
    in_reply_to = body.get("in_reply_to")
    if in_reply_to is not None and type(in_reply_to) is not int:
        raise _BadMessage('"in_reply_to" is %s, not an integer' % _kind(in_reply_to), src, msg_id)
    return Message(src, dest, body, received)


def _kind(value):
    """How a bad value is named in a message: missing, or its JSON type and a glimpse of it."""
    if value is None:
        return "missing or null"
    name = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)
    return "%s (%s)" % (name, _glimpse(value, json.dumps))


def _glimpse(value, show=repr, limit=80):
    """``show(value)``, cut short, for a log line or an error text. It never fails: a value
    can be nested too deeply to show, or be of a class whose repr raises."""
    try:
        text = show(value)
        return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)
    except RecursionError:
        return "(nested too deeply to show)"
    except BaseException as e:  # a repr may raise anything, SystemExit included
        return "(cannot be shown: %s)" % type(e).__name__


def _make_chunk_encoder():
    """``chunks(message, 0)``: the pieces of one message's JSON, which joined are what
    ``json.dumps`` writes by default, but refusing NaN and infinities (not JSON: Maelstrom
    would choke on them). ``json.dumps`` builds a new C encoder on every call; building it
    once saves a third of the encoding time. ``Node._write`` joins the pieces itself: a
    function around the join would cost a call per message."""
    plain = json.JSONEncoder(allow_nan=False, check_circular=False)
    try:
        from json.encoder import c_make_encoder, encode_basestring_ascii
        c_encode = c_make_encoder(None, plain.default, encode_basestring_ascii, None,
                                  ": ", ", ", False, False, False)
        c_encode({"probe": [1.5]}, 0)
    except Exception:  # no C accelerator, or its signature changed: the plain encoder is correct too
        return lambda message, _indent_level: (plain.encode(message),)
    return c_encode


_encode_chunks = _make_chunk_encoder()
_quote = json.encoder.encode_basestring_ascii  # a name as the encoder writes it


def _without_ids(body, in_reply_to):
    """``body`` less the ids ``Node._write`` sets (a copy of the request, say), so that ours
    go last: its ``msg_id``, and its ``in_reply_to`` if ``in_reply_to`` is ours to set."""
    return {k: v for k, v in body.items() if k != "msg_id" and (k != "in_reply_to" or in_reply_to is None)}


def _refuse_body(body):
    """Raise the TypeError that says why ``body`` cannot be sent (``Node._write`` checks it)."""
    if type(body) is not dict or type(body.get("type")) is not str:
        raise TypeError("a message body must be a dict with a string \"type\", not %s"
                        % _glimpse(body))
    raise TypeError("an error body needs an integer \"code\", not %s" % _glimpse(body))


# ---------------------------------------------------------------- the writer

class _Writer:
    """Owns stdout; a greenlet never waits for it. Lines leave in one write when the node
    is about to wait for input (``flush_now``), or at the end of the event loop's turn
    they were written in, and while the node is busy every ``_WRITE_BATCH`` lines, so the
    process reading our stdout works on the first answers while we work on the rest.
    While the OS will not take all we have (that process is behind), ``congested`` is
    true and the stdin loop waits (``wait_drained``) instead of reading more work: so
    memory stays bounded, and answers are not kept waiting behind a growing backlog."""

    def __init__(self, fd, loop, on_closed):
        self._fd = fd
        self._loop = loop
        self._on_closed = on_closed  # called once stdout's reader has gone (EPIPE)
        self._lines = []  # encoded lines not yet handed to the OS
        self._backlog = bytearray()  # bytes the OS would not take yet
        self._scheduled = None  # the loop callback that will flush, or the writable watcher
        self._writable = loop.io(fd, 2)
        self._drained = Event()
        self._drained.set()

    def write(self, line):
        lines = self._lines
        lines.append(line)
        if len(lines) >= _WRITE_BATCH:  # (> would write 33 at a time: no test can tell; the bench chose 32)
            self._flush()
        elif self._scheduled is None:
            self._scheduled = self._loop.run_callback(self._flush)

    @property
    def congested(self):
        return bool(self._backlog)

    def wait_drained(self):
        self._drained.wait()

    def _flush(self):
        backlog = self._backlog
        if self._lines:
            self._lines.append("")  # so the join ends with a newline
            backlog += "\n".join(self._lines).encode()
            self._lines = []
        if backlog:  # empty when drain() came before this scheduled flush
            try:
                del backlog[:os.write(self._fd, backlog)]  # cheap: a bytearray drops its head in place
            except BlockingIOError:
                pass
            except OSError:  # EPIPE or worse: nobody will read what we write
                backlog.clear()
                self._on_closed()
                return
        if backlog:
            if self._scheduled is not self._writable:
                self._drained.clear()
                self._writable.start(self._flush)
                self._scheduled = self._writable
        elif self._scheduled is not None:  # all written: what was to flush later has nothing to do
            self._scheduled.stop()
            self._scheduled = None
            self._drained.set()

    def flush_now(self):
        """Hand the OS what it will take now, without waiting (as the process must end at once)."""
        if self._lines or self._backlog:
            self._flush()

    def drain(self):
        """Write everything still queued, waiting (this greenlet only) as long as it takes."""
        self.flush_now()
        self._drained.wait()


# ---------------------------------------------------------------- calls in flight

_TIMED_OUT = object()  # the outcome of a call whose own timeout fired
_ABANDONED = object()  # the outcome of a sync_rpc whose caller was thrown out of its wait
_FOREVER = float("inf")
_ENDINGS = {_TIMED_OUT: "it had timed out", _ABANDONED: "its caller had stopped waiting"}  # for the log


def _check_timeout(seconds, what):
    """``seconds`` if it is a positive, finite number; else TypeError (not a number) or
    ValueError (NaN, say, which would break the loop's heap of timers)."""
    try:
        in_range = 0 < seconds < _FOREVER
    except TypeError:  # a string, say: a TypeError, as Python's own calls raise
        raise TypeError("a %s timeout must be a number of seconds, not %r" % (what, seconds)) from None
    if not in_range:
        raise ValueError("a %s timeout must be a positive, finite number of seconds, not %r" % (what, seconds))
    return seconds


class Call:
    """A request in flight, made by ``node.rpc``: ``dest`` and ``msg_id``, then, once it has
    settled, its answer, its error or its timeout. It settles whether anyone waits or not,
    and then leaves the node's table of calls."""

    __slots__ = ("dest", "msg_id", "_node", "_result", "_timer", "_seconds", "_callback", "_workers",
                 "_started", "_order")

    def __init__(self, node, dest, msg_id, seconds, callback):
        self.dest = dest
        self.msg_id = msg_id
        self._node = node
        self._result = AsyncResult()  # the outcome: an answer's body, or _TIMED_OUT / _ABANDONED
        # A plain timer that settles the call: cheaper in time and memory than gevent.Timeout.
        self._timer = node._loop.timer(seconds)
        self._seconds = seconds
        self._callback = callback
        self._workers = None  # worker greenlets waiting in get(): woken straight, not through the hub
        self._started = time.monotonic()

    def __repr__(self):
        return "<Call msg_id %s to %s, %s>" % (self.msg_id, self.dest, "settled" if self.ready() else "in flight")

    def ready(self):
        """Whether the call has settled: answered, errored or timed out."""
        return self._result.ready()

    def get(self, timeout=None):
        """Wait (this greenlet only) for the call to settle; return the answer's body, or raise
        what ``sync_rpc`` raises. ``timeout`` bounds this wait alone: RPCTimeout is raised
        when it passes, and the call goes on until its own timeout."""
        result = self._result
        if not result.ready():  # wait: in one frame with the rest, as it is on every sync_rpc's path
            if timeout is not None:
                timeout = _check_timeout(timeout, "get")
            node = self._node
            caller = getcurrent()
            if type(caller) is _Worker:  # parks; the next greenlet to park switches back to it once woken
                if self._workers is None:
                    self._workers = []
                if node._input_ended:
                    node._settled.set()
                node._workers.park(caller, self._workers, timeout)
            elif caller is node._hub:
                raise RuntimeError("a call cannot be waited for in the hub: wait from a handler or a greenlet")
            else:  # a greenlet of the user's: gevent resumes it from the hub
                result.wait(timeout)
            if not result.ready():
                raise RPCTimeout("gave up after %gs waiting for the answer from %s to msg_id %d; "
                                 "the call goes on" % (timeout, self.dest, self.msg_id))
        outcome = result.value
        if outcome is _TIMED_OUT:
            raise RPCTimeout("no answer from %s to msg_id %d within %gs" % (self.dest, self.msg_id, self._seconds))
        if outcome["type"] == "error":
            raise _error_answer(outcome)
        return outcome

    def _settle(self, outcome):
        """The call is over: leave the table, wake whoever waits, run the callback. (Each
        line here is on every answered call's path: the stats are kept with few steps.)"""
        node, msg_id = self._node, self.msg_id
        del node._calls[msg_id]
        self._timer.close()
        self._result.set(outcome)  # wakes the user's greenlets, and gnode.wait, through the hub
        node._calls_settled = self._order = node._calls_settled + 1  # _order: gnode.wait's sort key
        if type(outcome) is dict:
            node._answered_calls[msg_id % _ENDED_CALLS_KEPT] = msg_id
            node._stats.latencies.append(time.monotonic() - self._started)
            if outcome["type"] == "error":
                node._stats.errored += 1
        else:
            node._unanswered_calls[msg_id % _ENDED_CALLS_KEPT] = (msg_id, outcome)
            if outcome is _TIMED_OUT:
                node._stats.timed_out += 1
            else:
                node._stats.abandoned += 1
        waiting = self._workers
        if waiting:
            for worker in waiting:
                node._workers.wake(worker)
            waiting.clear()
        if self._callback is not None:
            gevent.spawn(self._callback, self)  # its exception is logged by the hub, with its file and line


def _expire(call):
    """A call's timer fired (a plain function: a bound method per call would cost 64 bytes)."""
    if not call._result.ready():
        call._settle(_TIMED_OUT)


def wait(calls, count=None, timeout=None):
    """Wait (this greenlet only) until ``count`` of ``calls`` have settled (default: all), or
    until ``timeout`` seconds have passed; return the settled calls, in the order they settled."""
    calls = list(calls)
    count = len(calls) if count is None else min(count, len(calls))
    done = Event()
    settled = [0]

    def one_settled(_result):
        settled[0] += 1
        if settled[0] >= count:
            done.set()

    results = [call._result for call in calls]
    for result in results:
        if result.ready():
            settled[0] += 1
    if settled[0] < count:
        for result in results:
            result.rawlink(one_settled)
        try:
            done.wait(None if timeout is None else _check_timeout(timeout, "wait"))
        finally:
            for result in results:
                result.unlink(one_settled)  # tidiness only: a call drops its links when it settles
    return sorted((call for call in calls if call.ready()), key=lambda call: call._order)


# ---------------------------------------------------------------- background work

_tasks = []  # (fn, seconds, jitter) of each @every, filled as plugins load


def every(seconds, jitter=0.0):
    """Run the decorated ``fn(node)`` every ``seconds`` once ``init`` is done, until the end
    of input. Runs never overlap: they are spaced from start to start, and a run that takes
    longer than ``seconds`` is followed at once by the next (missed runs are not made up).
    ``jitter`` (0 to 1) spreads each interval uniformly over ``seconds * (1 ± jitter)``, so
    nodes started together do not run in lock step. An exception is logged, with the
    function's file and line, and the next run still comes."""
    _check_timeout(seconds, "@every")
    if not 0 <= jitter <= 1:
        raise ValueError("@every's jitter is a fraction from 0 to 1, not %r" % (jitter,))

    def register(fn):
        _tasks.append((fn, seconds, jitter))
        return fn
    return register


class _Periodic:
    """The clock of the ``@every`` tasks: a greenlet each, from init to the end of input."""

    def __init__(self, tasks):
        self._tasks = tasks
        self._greenlets = []

    def start(self, node):
        self._greenlets = [gevent.spawn(self._run, node, *task) for task in self._tasks]

    def stop(self):
        gevent.killall(self._greenlets, block=False)

    @staticmethod
    def _run(node, fn, seconds, jitter):
        spread = random.Random()
        next_run = time.monotonic() + _interval(seconds, jitter, spread)
        while True:
            gevent.sleep(max(0.0, next_run - time.monotonic()))
            started = time.monotonic()
            try:
                fn(node)
            except GreenletExit:  # stopped at the end of input
                raise
            except BaseException:
                log.exception("periodic task %s failed; it runs again as usual", _where(fn))
            next_run = max(started + _interval(seconds, jitter, spread), time.monotonic())


def _interval(seconds, jitter, spread):
    """The time from one run of a periodic task to the next: ``seconds * (1 ± jitter)``."""
    return seconds * (1 + jitter * spread.uniform(-1, 1)) if jitter else seconds


# ---------------------------------------------------------------- statistics

class _Stats:
    """What ``node.stats()`` reports. Counting costs an increment per message, and a few
    attribute updates per call."""

    def __init__(self):
        # message type -> [count]: a list's item is incremented in fewer steps than a dict's
        # value, and a plain dict is indexed faster than a defaultdict
        self.received = {}
        self.sent = {}
        # Calls, by how they ended; the answered are the rest. Those made are those ended and in flight.
        self.errored = self.timed_out = self.abandoned = 0
        self.handler_errors = 0  # handlers that raised something other than an RPCError
        self.latencies = collections.deque(maxlen=_LATENCIES_KEPT)  # seconds, of the last answered calls

    def report(self, settled, in_flight):
        """The counts as a dict, given the numbers of calls settled so far and in flight."""
        ordered = sorted(self.latencies)

        def percentile(p):
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 3) if ordered else None
        return {"received": {kind: n for kind, (n,) in self.received.items()},
                "sent": {kind: n for kind, (n,) in self.sent.items()},
                "calls": {"made": settled + in_flight, "answered": settled - self.errored - self.timed_out - self.abandoned,
                          "errored": self.errored,
                          "timed_out": self.timed_out, "latency_ms": {"p50": percentile(0.5), "p99": percentile(0.99)}},
                "handler_errors": self.handler_errors}

    def summary(self, settled, in_flight):
        report = self.report(settled, in_flight)

        def by_type(counts):
            return "%d (%s)" % (sum(counts.values()), ", ".join("%s %d" % kv for kv in sorted(counts.items())))
        calls = report["calls"]
        return ("stats: in %s; out %s; calls %d made, %d answered, %d errored, %d timed out, p50 %s ms, "
                "p99 %s ms; handler errors %d" % (
                    by_type(report["received"]), by_type(report["sent"]), calls["made"], calls["answered"],
                    calls["errored"], calls["timed_out"], calls["latency_ms"]["p50"], calls["latency_ms"]["p99"],
                    report["handler_errors"]))


# ---------------------------------------------------------------- the worker hand-off

_RETIRE = object()  # what the retirer hands a parked worker to make it end


class _Worker(greenlet):
    """A greenlet that handles messages (``_Workers._work``): its calls are a handler's."""


class _Workers:
    """Who runs next. Messages wait in ``ready`` for a worker greenlet; a worker whose wait
    is over waits in ``woken``. A greenlet that parks (``pass_on``) switches straight to
    what can run next: a woken worker, else a worker for the next message. Only when
    nothing is left does the hub get the floor, after ``before_idle`` (the writer's flush).
    So every message runs in a greenlet of its own, a flood needs no new greenlet per
    message, and an answer reaches its caller without a turn of the event loop."""

    def __init__(self, hub, run, before_idle):
        self.ready = collections.deque()  # (fn, msg) waiting for a worker
        self.woken = collections.deque()  # workers whose wait is over
        self._hub = hub
        self._loop = hub.loop
        self._run = run  # run(fn, msg): a worker's job
        self._before_idle = before_idle
        self._idle = collections.deque()  # worker greenlets parked, waiting for more messages
        self._takeover_armed = False  # a _take_over call is queued in the hub
        self._nursery = None  # the greenlet that starts workers, once started
        self._retirer = self._loop.timer(_RETIRE_EVERY, _RETIRE_EVERY)  # runs while too many are idle

    def start(self):
        self._nursery = greenlet(self._start_workers, self._hub)
        self._nursery.switch(getcurrent())

    def wake(self, worker):
        """``worker``'s wait is over: it is switched to by the next greenlet that parks."""
        self.woken.append(worker)
        self._arm_takeover()

    def park(self, worker, waiting, timeout=None):
        """The calling ``worker`` waits, in the list ``waiting``, until whoever ends the wait
        takes it out of the list and ``wake``s it, or, after ``timeout`` seconds (None: no
        bound), it gives up. A worker thrown out of its wait (a handler's own gevent.Timeout,
        say) leaves the list, or, if woken meanwhile, is not resumed a second time."""
        waiting.append(worker)
        bound = None
        if timeout is not None:
            bound = self._loop.timer(timeout)
            bound.start(self._give_up, worker, waiting, update=True)
        try:
            while worker in waiting:
                self.pass_on()
        except BaseException:
            if worker in waiting:
                waiting.remove(worker)
            elif worker in self.woken:
                self.woken.remove(worker)
            raise
        finally:
            if bound is not None:
                bound.close()

    def _give_up(self, worker, waiting):
        if worker in waiting:
            waiting.remove(worker)
            self.wake(worker)

    def pass_on(self):
        """The calling greenlet parks: switch straight to what can run next, or to the hub."""
        runnable = self._next_runnable()
        if runnable is None:
            self._before_idle()
            runnable = self._hub
        return runnable.switch()

    def _next_runnable(self):
        if self.woken:
            runnable = self.woken.popleft()
            if self.woken or self.ready:
                self._arm_takeover()  # in case ``runnable`` blocks on something else than us
            return runnable
        if self.ready:
            return self._worker()  # which arms the take-over itself if it leaves work (_work)
        return None

    def _arm_takeover(self):
        if not self._takeover_armed:
            self._takeover_armed = True
            self._loop.run_callback(self._take_over)

    def _take_over(self):
        """Runs in the hub, so whichever greenlet was working through the queues has
        stopped without passing them on (its handler waits on something of gevent's, a
        sleep, a lock): what is left goes on from here."""
        self._takeover_armed = False
        runnable = self._next_runnable()
        if runnable is not None:
            runnable.switch()

    def _worker(self):
        """A greenlet to handle queued messages: a parked worker, or a new one (switching to
        the nursery starts one)."""
        return self._idle.pop() if self._idle else self._nursery

    def _start_workers(self, starter):
        """The nursery's life: each switch to it starts one more worker. A new greenlet
        inherits the Python recursion depth of whatever first switches into it; handing
        over happens deep in parked calls' stacks, so workers are started from here, where
        the stack is shallow, or a burst of blocked handlers would add up to a RecursionError."""
        starter.switch()
        while True:
            _Worker(self._work, self._hub).switch()

    def _work(self):
        """A worker greenlet's life: handle queued messages one after another, park when
        the queue is empty, be woken for more. A handler that blocks keeps its worker,
        and the rest of the queue is taken over by another."""
        ready, woken, idle, run, me = self.ready, self.woken, self._idle, self._run, getcurrent()
        while True:
            while ready:
                fn, msg = ready.popleft()
                if not self._takeover_armed and (ready or woken):
                    self._arm_takeover()  # in case this handler blocks on something else than us
                run(fn, msg)
            idle.append(me)
            if len(idle) > _MAX_IDLE_WORKERS and not self._retirer.active:
                self._retirer.start(self._retire_idle_workers)
            try:
                if self.pass_on() is _RETIRE:
                    break
            except BaseException:  # something woke a parked worker by mistake: retire it
                log.exception("a parked worker was woken by an exception; retiring it")
                idle.remove(me)
                break

    def _retire_idle_workers(self):
        """The retirer's tick, in the hub: a burst of blocking handlers has left more parked
        workers than are kept. Ending a greenlet costs a few µs (its stacks are freed), so
        they go a batch per tick: were each to end as it parked, a burst of 10,000 timeouts
        would take half as long again to answer."""
        idle = self._idle
        for _ in range(min(_RETIRE_BATCH, len(idle) - _MAX_IDLE_WORKERS)):
            idle.popleft().switch(_RETIRE)  # the oldest first; it ends, back into the hub
        if len(idle) <= _MAX_IDLE_WORKERS:
            self._retirer.stop()


# ---------------------------------------------------------------- the node

class Node:
    """The running node, handed to every handler as its first argument.

    ``id`` and ``node_ids`` come from Maelstrom's ``init`` (None and [] before it);
    ``rpc_timeout`` is the default timeout of a call, in seconds. ``lin_kv``, ``seq_kv``
    and ``lww_kv`` are clients of Maelstrom's key-value services, ``lin_tso`` of its
    timestamp oracle.
    """

    def __init__(self, handlers, rpc_timeout=DEFAULT_RPC_TIMEOUT, trace=False, tasks=(), stats_every=None):
        self.id = None
        self.node_ids = []
        self.rpc_timeout = _check_timeout(rpc_timeout, "default call")
        self.lin_kv = KV(self, "lin-kv")
        self.seq_kv = KV(self, "seq-kv")
        self.lww_kv = KV(self, "lww-kv")
        self.lin_tso = TSO(self)
        handlers = dict(handlers)
        self._init_hook = handlers.pop("init", None)
        handlers["init"] = Node._handle_init  # called as handlers are: fn(node, msg)
        self._handlers = handlers
        self._next_msg_id = 0  # every message we send takes the next one
        self._calls = {}  # msg_id -> Call, while it is in flight
        self._calls_settled = 0
        # How calls ended, at msg_id % _ENDED_CALLS_KEPT, to name an answer that comes after: rings,
        # cheaper than a dict. The msg_ids of answered calls; (msg_id, outcome) of the others.
        self._answered_calls = [None] * _ENDED_CALLS_KEPT
        self._unanswered_calls = [(None, None)] * _ENDED_CALLS_KEPT
        self._destinations = {}  # where Maelstrom lets us send (nodes, services, senders seen) -> its name in JSON
        self._quoted_id = "null"  # our id in JSON
        self._held = []  # messages that came before init; None once init is done
        self._hub = gevent.get_hub()
        self._loop = self._hub.loop
        self._workers = _Workers(self._hub, self._handle, self._flush_now)
        self._queue = self._workers.ready.append  # bound once: it is on every message's path
        self._periodic = _Periodic(list(tasks))
        self._stats = _Stats()
        self._count_received, self._count_sent = self._stats.received, self._stats.sent
        self._stats_every = stats_every
        self._busy = 0  # messages handed to a worker and not finished yet
        self._input_ended = False
        self._settled = Event()  # poked, once input has ended, when a handler finishes or waits
        self._writer = None
        self._line_number = 0
        self._trace = trace

    # -- what handlers call

    def send(self, dest, body):
        """Send ``body`` to ``dest`` without waiting for an answer; returns its ``msg_id``.
        An answer to it goes to the handler registered for the answer's type, if any."""
        msg_id = self._next_msg_id
        self._write(dest, body)
        return msg_id

    def reply(self, msg, body):
        """Answer ``msg`` with ``body`` (``in_reply_to`` and ``msg_id`` are added).

        A request is answered once: a second answer is refused with a warning. A
        message without ``msg_id``, or that is itself an answer, gets none. A Maelstrom client
        gives up after 5 s and may be gone by then; an answer to a client later than
        that is dropped with a warning, since Maelstrom stops reading a node that
        writes to a client that no longer exists.
        """
        request_id = msg.body.get("msg_id")
        if request_id is None or "in_reply_to" in msg.body:  # nothing to answer, or an answer
            return
        if msg.answered:
            log.warning("refused a second answer to %s's msg_id %s: %s", msg.src, request_id,
                        _glimpse(body))
            return
        if msg.src[0] == "c" and time.monotonic() - msg.received > _CLIENT_PATIENCE \
                and msg.body.get("type") != "init":
            msg.answered = True
            log.warning("dropped the answer to client %s's msg_id %s: %.1fs after the request, "
                        "the client has given up and may be gone", msg.src, request_id,
                        time.monotonic() - msg.received)
            return
        self._write(msg.src, body, request_id, None if self.id else msg.dest)
        msg.answered = True

    def rpc(self, dest, body, timeout=None, callback=None):
        """Send ``body`` to ``dest`` and return at once the Call in flight. It settles when
        its answer comes or after ``timeout`` seconds (default ``node.rpc_timeout``); then
        ``callback(call)``, if given, runs in a greenlet of its own. A ``timeout`` that is
        not a number raises TypeError, one that is not positive and finite ValueError, and
        an unknown ``dest`` NodeNotFound, before anything is sent."""
        seconds = self.rpc_timeout if timeout is None else _check_timeout(timeout, "call")
        msg_id = self._next_msg_id
        call = self._calls[msg_id] = Call(self, dest, msg_id, seconds, callback)  # before the write: the answer can't beat it
        try:
            self._write(dest, body)
        except BaseException:
            del self._calls[msg_id]
            raise
        call._timer.start(_expire, call, update=True)  # update: never fire early
        return call

    def sync_rpc(self, dest, body, timeout=None):
        """Send ``body`` to ``dest`` and wait for the answer; return the answer's body.

        ``node.rpc(dest, body, timeout).get()``: only the calling greenlet waits. Raises
        RPCTimeout after ``timeout`` seconds, the RPCError of the code that came back if the
        answer is an error, and NodeNotFound if ``dest`` is unknown.
        """
        if getcurrent() is self._hub:  # refused before anything is sent
            raise RuntimeError("sync_rpc cannot wait in the hub: call it from a handler or a greenlet")
        call = self.rpc(dest, body, timeout)
        try:
            return call.get()
        except BaseException:
            if not call.ready():  # thrown out of its wait: nobody else can want this call
                call._settle(_ABANDONED)
            raise

    def spawn(self, fn, *args):
        """Run ``fn(*args)`` in a greenlet of its own and return it: ``.get()`` returns what
        ``fn`` returned, or raises what it raised. An exception is logged (once), never fatal."""
        return gevent.spawn(fn, *args)

    def stats(self):
        """Counts so far: messages ``received`` and ``sent`` by type; ``calls`` made,
        answered, errored and timed out, with the latency of the last answered ones (p50
        and p99, ms); ``handler_errors``, the handlers that raised something other than an
        RPCError."""
        return self._stats.report(self._calls_settled, len(self._calls))

    def _write(self, dest, body, in_reply_to=None, src=None):
        """Encode one message and queue it for stdout. It takes the next msg_id only once
        it is sure to be sent, so the ids of the messages sent have no gaps."""
        quoted = self._destinations
        if in_reply_to is None and dest not in quoted:
            raise NodeNotFound("unknown destination %r: not a node of this test, "
                               "a service, nor a sender seen so far" % (dest,))
        msg_id = self._next_msg_id
        kind = body.get("type") if type(body) is dict else None  # checked here, not in a call: every message passes
        if type(kind) is not str or (kind == "error" and type(body.get("code")) is not int):
            _refuse_body(body)
        if "msg_id" in body or ("in_reply_to" in body and in_reply_to is not None):
            body = _without_ids(body, in_reply_to)
        # The envelope as json.dumps writes it, with only the body through the encoder: the
        # names are quoted once (_destinations), and the body's closing brace gives way to
        # the ids, which go last.
        text = "".join(_encode_chunks(body, 0))
        src = self._quoted_id if src is None else _quote(src)
        if in_reply_to is None:
            line = f'{{"src": {src}, "dest": {quoted[dest]}, "body": {text[:-1]}, "msg_id": {msg_id}}}}}'
        else:
            if type(in_reply_to) is not int:  # a handler changed the request's msg_id: as JSON writes it
                in_reply_to = "".join(_encode_chunks(in_reply_to, 0))
            line = (f'{{"src": {src}, "dest": {quoted.get(dest) or _quote(dest)}, "body": {text[:-1]}, '
                    f'"in_reply_to": {in_reply_to}, "msg_id": {msg_id}}}}}')
        self._next_msg_id = msg_id + 1
        try:
            self._count_sent[kind][0] += 1
        except KeyError:  # the first of its type
            self._count_sent[kind] = [1]
        if self._trace:
            trace_log.info("out %s", line)
        self._writer.write(line)

    def _flush_now(self):
        self._writer.flush_now()

    # -- the life of a message: read, parse, route, hand to a worker, handle, answer

    def run(self, in_fd, out_fd):
        """Serve: read stdin until it ends, then finish what can be finished.

        Returns when it is time to exit.
        """
        self._writer = _Writer(out_fd, self._loop, self._output_closed)
        self._workers.start()
        if self._stats_every:
            self._loop.timer(self._stats_every, self._stats_every).start(self._log_stats)
        read, wait_readable = os.read, self._hub.wait
        readable = self._loop.io(in_fd, 1)
        receive = self._receive
        partial = []  # pieces of a line whose newline has not come yet
        while True:
            if self._writer.congested:
                self._writer.wait_drained()
            try:
                chunk = read(in_fd, _READ_SIZE)
            except BlockingIOError:
                wait_readable(readable)
                continue
            except OSError as e:
                log.error("reading stdin failed (%s): treating it as the end of input", e)
                break
            if not chunk:
                break
            end = chunk.rfind(b"\n") + 1
            if not end:
                partial.append(chunk)
                continue
            if partial:
                partial.append(chunk[:end])
                data = b"".join(partial)
                partial = []
            else:
                data = chunk[:end]
            if end < len(chunk):
                partial.append(chunk[end:])
            receive(data, time.monotonic())
            self._hand_over(readable if len(chunk) < _READ_SIZE else None)
        if partial:  # a last line with no newline
            partial.append(b"\n")
            receive(b"".join(partial), time.monotonic())
            self._hand_over(None)
        self._end_of_input()

    def _hand_over(self, readable):
        """The end of a chunk: its handlers get the floor. They run one after another
        (``_pass_on``) before anything more is read, each that blocks leaving the rest to
        another worker. The reader is switched back when ``readable`` has input, or, after a
        full chunk (more is surely waiting), on the hub's next turn. Waiting for input at once
        after a short read saves a read that would find nothing."""
        me = getcurrent()
        if readable is not None:
            readable.start(me.switch)
        else:
            self._loop.run_callback(me.switch)
        try:
            self._workers.pass_on()
        finally:
            if readable is not None:
                readable.stop()

    def _receive(self, data, received):
        """Parse and route the lines of one read, ``data`` (bytes, each line ending in a
        newline), read at ``received``: a request is queued for a worker, an answer settles
        its call. A line as Maelstrom writes it is taken here, with the parser _loads_for
        picks and look-ups alone; any other goes to _parse_message, which accepts exactly
        the same messages and says what is wrong with the rest."""
        lines = _split_lines(data)
        loads = _loads_for(data, lines)
        destinations, counts, handlers, queue = self._destinations, self._count_received, self._handlers, self._queue
        holding, trace = self._held is not None, self._trace
        number = self._line_number
        self._line_number = number + len(lines)
        queued = 0
        for line in lines:
            number += 1
            try:
                envelope = loads(line)
                src, dest, body = envelope["src"], envelope["dest"], envelope["body"]  # only a dict has keys
                kind, msg_id, in_reply_to = body["type"], body.get("msg_id"), body.get("in_reply_to")
                quick = True
            except Exception:  # not one JSON object, bytes, a key missing: for a closer look
                quick = False
            if quick and type(kind) is str and type(src) is str and src and type(dest) is str \
                    and dest and (msg_id is None or type(msg_id) is int) \
                    and (in_reply_to is None or type(in_reply_to) is int):
                msg = Message(src, dest, body, received)
            else:
                try:
                    msg = _parse_message(line, received)
                except _BadMessage as bad:
                    self._bad_input(line, number, bad, received)
                    continue
                src, body, kind = msg.src, msg.body, msg.body["type"]
            if src not in destinations:
                destinations[src] = _quote(src)
            try:
                counts[kind][0] += 1
            except KeyError:  # the first of its type
                counts[kind] = [1]
            if trace:
                trace_log.info("in  %s", line)
            if "in_reply_to" in body or kind == "error":  # an answer: never answered back
                self._resolve(msg)
            elif holding:
                self._start(handlers.get(kind, _no_handler), msg)
            else:  # as _start does
                queue((handlers.get(kind, _no_handler), msg))
                queued += 1
        self._busy += queued

    def _bad_input(self, line, number, bad, received):
        log.warning("input line %d ignored: %s: %s", number, bad.problem,
                    _glimpse(line if type(line) is str else line.decode(errors="replace"), str))
        if bad.msg_id is not None:
            self._destinations.setdefault(bad.src, _quote(bad.src))
            self._start(_refuse_malformed(bad.problem),
                        Message(bad.src, None, {"msg_id": bad.msg_id}, received))

    def _resolve(self, msg):
        """An answer came: it settles the call in flight it answers. An answer that no call
        waits for (to a send, or late, or a duplicate) goes to the handler of its type if
        there is one, and is dropped otherwise; an error is never handled, so never answered."""
        body = msg.body
        call = self._calls.get(body.get("in_reply_to"))
        if call is not None:
            call._settle(body)
        elif body["type"] not in ("error", "init") and body["type"] in self._handlers:
            self._start(self._handlers[body["type"]], msg)
        else:
            self._drop_answer(msg)

    def _drop_answer(self, msg):
        """Say why an answer goes nowhere. An answer to a ``send`` (a gossip acknowledgement,
        say) that no handler takes is normal, so it is only a debug line."""
        body, in_reply_to = msg.body, msg.body.get("in_reply_to")
        ended = None
        if type(in_reply_to) is int:
            slot = in_reply_to % _ENDED_CALLS_KEPT
            if self._answered_calls[slot] == in_reply_to:
                ended = "it was answered"
            elif self._unanswered_calls[slot][0] == in_reply_to:
                ended = _ENDINGS[self._unanswered_calls[slot][1]]
        if ended is not None:
            log.info("dropped an answer to a call that had ended (%s): %s from %s in reply to "
                     "msg_id %s", ended, body["type"], msg.src, in_reply_to)
        elif type(in_reply_to) is int and 0 <= in_reply_to < self._next_msg_id:
            log.debug("an answer to a send that no handler takes: %s from %s in reply to msg_id %s",
                      body["type"], msg.src, in_reply_to)
        else:
            log.info("dropped an answer to msg_id %s, which this node never sent: %s from %s",
                     in_reply_to, body["type"], msg.src)

    def _start(self, fn, msg):
        """Queue ``fn(node, msg)`` for a worker greenlet; before init, hold it for later
        (Maelstrom may deliver a peer's message before our init). Whoever queues hands the
        queue over when done: the reader at the end of its chunk, a worker by draining it."""
        if self._held is not None and fn is not Node._handle_init:
            self._held.append((fn, msg))
            return
        self._busy += 1
        self._queue((fn, msg))

    def _handle_init(self, msg):
        """The built-in handler of Maelstrom's first message: learn who we are, answer init_ok."""
        if self.id is not None:
            raise RPCError(MALFORMED_REQUEST, "already initialised as %s" % self.id)
        node_id, node_ids = msg.body.get("node_id"), msg.body.get("node_ids")
        if type(node_id) is not str or not node_id or type(node_ids) is not list \
                or not all(type(n) is str and n for n in node_ids):
            raise RPCError(MALFORMED_REQUEST, "init needs node_id (a string) and node_ids (a list of strings)")
        self.id, self.node_ids = node_id, list(node_ids)
        self._quoted_id = _quote(node_id)
        for name in (*node_ids, *SERVICES):
            self._destinations[name] = _quote(name)
        try:
            if self._init_hook is not None:
                self._init_hook(self, msg)
        finally:  # the node knows who it is now: what came before init is handled, hook or no hook
            if self._held is not None:
                self._release_held()
        self.reply(msg, {"type": "init_ok"})
        self._periodic.start(self)
        if _orjson_loads is None:
            self._loop.run_callback(_import_orjson)  # after init_ok's flush, queued before it

    def _handle(self, fn, msg):
        """Run one handler and answer for it: the body it returns, or the error it raised."""
        try:
            body = fn(self, msg)
            if body is not None:
                self.reply(msg, body)
        except BaseException as e:
            self._answer_error(msg, fn, e)
        finally:
            self._busy -= 1
            if self._input_ended:
                self._settled.set()

    def _answer_error(self, msg, fn, e):
        """Answer for what handler ``fn`` raised: its RPCError's code and text, code 0 for a
        gevent.Timeout, else code 13 with the traceback on stderr. Working out the answer
        never fails, whatever the exception does when it is shown: the message must be
        answered and the worker live on."""
        try:
            if isinstance(e, RPCError):
                code, text = e.code, str(e.text)
            elif isinstance(e, Timeout):
                code, text = TIMEOUT, "timed out: %s" % e
            else:
                self._stats.handler_errors += 1
                log.exception("handler %s failed on a %r message from %s", _where(fn), msg.body.get("type"), msg.src)
                code, text = CRASH, "%s: %s" % (type(e).__name__, e)
            if type(code) is not int:
                log.warning("error code %s is not an integer; answering code %d", _glimpse(code), CRASH)
                code, text = CRASH, "%s (code was %s)" % (text, _glimpse(code))
        except BaseException:  # showing it raised, SystemExit or KeyboardInterrupt included
            code, text = CRASH, type(e).__name__
        try:
            self.reply(msg, {"type": "error", "code": code, "text": text})
        except Exception:
            log.exception("could not send the error answer")

    def _release_held(self):
        held, self._held = self._held, None
        for fn, msg in held:
            self._start(fn, msg)

    # -- endings

    def _end_of_input(self):
        """stdin is closed, so no answer can come any more. Let each running handler
        finish or reach a wait for an answer that has not come (it never will), abandon
        those waits silently, and flush. Background greenlets are not waited for."""
        self._input_ended = True
        self._periodic.stop()
        if self._held:
            log.warning("input ended before init: %d message(s) never handled", len(self._held))
        deadline = time.monotonic() + _EXIT_GRACE
        while True:
            running = self._busy - sum(len(call._workers or ()) for call in self._calls.values())
            if not running:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("input ended; %d handler(s) still running after %gs are abandoned",
                            running, _EXIT_GRACE)
                break
            self._settled.clear()
            self._settled.wait(left)
        self._writer.drain()

    def _log_stats(self):
        log.info("%s", self._stats.summary(self._calls_settled, len(self._calls)))

    def _output_closed(self):
        _exit(0, "stdout was closed by its reader; exiting")

    def _on_signal(self, signum):
        self._writer.flush_now()
        _exit(0, "got %s; exiting" % signal.Signals(signum).name)


# ---------------------------------------------------------------- Maelstrom's services

_MISSING = object()  # no default given


class KV:
    """A client of a Maelstrom key-value service: ``node.lin_kv``, ``node.seq_kv``,
    ``node.lww_kv``, or ``KV(node, name)`` for any service that speaks their protocol.
    Every method takes ``timeout=`` (default ``node.rpc_timeout``) and waits in the calling
    greenlet only; errors come as the RPCError of their code (KeyDoesNotExist, ...)."""

    def __init__(self, node, service):
        self.node = node
        self.service = service

    def __repr__(self):
        return "KV(%r)" % self.service

    def read(self, key, default=_MISSING, timeout=None):
        """The value of ``key``. A missing key raises KeyDoesNotExist, or returns ``default``
        when one is given."""
        try:
            return self.node.sync_rpc(self.service, {"type": "read", "key": key}, timeout)["value"]
        except KeyDoesNotExist:
            if default is _MISSING:
                raise
            return default

    def write(self, key, value, timeout=None):
        """Set ``key`` to ``value``."""
        self.node.sync_rpc(self.service, {"type": "write", "key": key, "value": value}, timeout)

    def cas(self, key, expected, new, create_if_not_exists=False, timeout=None):
        """Set ``key`` to ``new`` if its value is ``expected``: else PreconditionFailed, or
        KeyDoesNotExist for a missing key, which ``create_if_not_exists`` creates instead
        (lww-kv ignores that flag, as Maelstrom's does)."""
        body = {"type": "cas", "key": key, "from": expected, "to": new}
        if create_if_not_exists:
            body["create_if_not_exists"] = True
        self.node.sync_rpc(self.service, body, timeout)

    def update(self, key, fn, default=_MISSING, timeout=None):
        """Set ``key`` to ``fn(old)`` atomically and return that new value: read, compute,
        compare-and-set, and again from the read while another writer got in between
        (PreconditionFailed). ``old`` is ``default`` for a missing key, which is then created;
        with no ``default``, a missing key raises KeyDoesNotExist."""
        while True:
            try:
                old, missing = self.read(key, timeout=timeout), False
            except KeyDoesNotExist:
                if default is _MISSING:
                    raise
                old, missing = default, True
            new = fn(old)
            try:
                self.cas(key, old, new, create_if_not_exists=missing, timeout=timeout)
                return new
            except PreconditionFailed:
                continue


class TSO:
    """A client of Maelstrom's timestamp oracle, ``lin-tso``: ``node.lin_tso.ts()``."""

    def __init__(self, node, service="lin-tso"):
        self.node = node
        self.service = service

    def __repr__(self):
        return "TSO(%r)" % self.service

    def ts(self, timeout=None):
        """The next timestamp: an integer, one more than the last one handed out."""
        return self.node.sync_rpc(self.service, {"type": "ts"}, timeout)["ts"]


def _refuse_malformed(problem):
    def refuse(node, msg):
        raise RPCError(MALFORMED_REQUEST, problem)
    return refuse


def _no_handler(node, msg):
    log.warning("no handler for type %r (from %s)", msg.body["type"], msg.src)
    raise RPCError(NOT_SUPPORTED, "no handler for type %r" % msg.body["type"])


def _log_greenlet_failure(context, type_, value, tb):
    """The hub's way of showing what a greenlet raised: logged once, naming the function's
    file and line (a callback's, a spawned function's), instead of printed raw."""
    fn = getattr(context, "_run", None)  # what a gevent.Greenlet runs
    if getattr(fn, "__code__", None) is not None:
        what = "background greenlet %s at %s" % (fn.__qualname__, _where(fn))
    elif fn is not None:
        what = "background greenlet %s" % _glimpse(fn)
    else:
        what = _glimpse(context)
    log.error("%s failed", what, exc_info=(type_, value, tb))


def _exit(status, why=None):
    """The one way out: say why on stderr, and end the process now. Nothing is left to
    flush by then, and Maelstrom ends nodes with SIGKILL anyway, so no clean-up can matter."""
    if why:
        log.info(why)
    sys.stderr.flush()
    os._exit(status)


# ---------------------------------------------------------------- start-up

def _load_handlers(folders):
    """Import every module in ``folders`` (names beginning with ``_`` are skipped) and
    return the handlers they registered, by message type."""
    for folder in folders:
        if not os.path.isdir(folder):
            raise _StartupError("handlers folder %s does not exist (set it with --handlers DIR "
                               "or GNODE_HANDLERS)" % folder)
        if folder not in sys.path:
            sys.path.append(folder)  # so plugins can import their _helpers
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py") or name.startswith("_"):
                continue
            path = os.path.join(folder, name)
            loaded = sys.modules.get(name[:-3])
            if os.path.realpath(getattr(loaded, "__file__", None) or "") == os.path.realpath(path):
                continue  # a plugin before it imported it already
            spec = importlib.util.spec_from_file_location(_plugin_module_name(name[:-3], path), path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            try:
                spec.loader.exec_module(module)
            except _StartupError:
                raise
            except BaseException as e:
                log.error("handler plugin %s failed to import", path, exc_info=True)
                raise _StartupError("handler plugin %s failed to import: %s: %s"
                                   % (path, type(e).__name__, e)) from None
    return dict(_handlers)


def _plugin_module_name(stem, path):
    """A plugin is imported under its own name when ``import stem`` would find that very
    file, so a sibling that imports it gets the same module, not a second copy; otherwise
    (the name is taken, say by the standard library) under gnode_handlers."""
    try:
        spec = None if stem in sys.modules else importlib.util.find_spec(stem)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin and os.path.realpath(spec.origin) == os.path.realpath(path):
        return stem
    name = "gnode_handlers." + stem
    while name in sys.modules:
        name += "_"
    return name


_LOG_LEVELS = ("debug", "info", "warning", "error")


class _Config:
    """What the command line and the environment ask of a node; flags win over variables."""

    def __init__(self, handlers, rpc_timeout, log_level, trace, stats_every):
        self.handlers = handlers  # absolute paths of the plugin folders
        self.rpc_timeout = rpc_timeout  # seconds
        self.log_level = log_level  # one of _LOG_LEVELS
        self.trace = trace  # log every message in and out
        self.stats_every = stats_every  # seconds between stats lines on stderr, or None


def _parse_config(argv, environ):
    """The _Config of ``argv`` and ``environ``: flags win over environment variables, which
    win over defaults. ``--help`` prints to stdout and exits 0, as any command's does."""
    here = os.path.dirname(os.path.realpath(__file__))
    parser = argparse.ArgumentParser(
        prog="gnode", description="Run a Maelstrom node whose handlers are plugins in a folder.")
    parser.add_argument("--handlers", action="append", metavar="DIR",
                        help="a folder of handler plugins; may be repeated "
                             "(default: $GNODE_HANDLERS, %s-separated, or handlers/ beside gnode.py)"
                             % os.pathsep)
    parser.add_argument("--rpc-timeout", metavar="SECONDS",
                        help="default sync_rpc timeout (default: $GNODE_RPC_TIMEOUT or %g)"
                             % DEFAULT_RPC_TIMEOUT)
    parser.add_argument("--log-level", metavar="LEVEL", type=str.lower, choices=_LOG_LEVELS,
                        help="what the node logs on stderr: %s (default: $GNODE_LOG_LEVEL or info)"
                             % ", ".join(_LOG_LEVELS))
    parser.add_argument("--trace", action="store_true", default=None,
                        help="log one stderr line for every message in and out "
                             "(default: on if $GNODE_TRACE is 1)")
    parser.add_argument("--stats-every", metavar="SECONDS",
                        help="log a one-line summary of node.stats() this often "
                             "(default: $GNODE_STATS_EVERY, else never)")
    args = parser.parse_args(argv)
    folders = args.handlers or [f for f in environ.get("GNODE_HANDLERS", "").split(os.pathsep) if f]
    if not folders:
        if os.path.basename(here) in ("site-packages", "dist-packages"):  # installed, not a checkout
            raise _StartupError("gnode is installed as a package and has no handlers/ of its own: "
                               "name your handlers folder with --handlers DIR or GNODE_HANDLERS")
        folders = [os.path.join(here, "handlers")]
    timeout = _seconds_setting("the RPC timeout", args.rpc_timeout or environ.get("GNODE_RPC_TIMEOUT")
                               or DEFAULT_RPC_TIMEOUT)
    stats_every = args.stats_every or environ.get("GNODE_STATS_EVERY")
    if stats_every:
        stats_every = _seconds_setting("--stats-every", stats_every)
    log_level = args.log_level or environ.get("GNODE_LOG_LEVEL", "info").lower()
    if log_level not in _LOG_LEVELS:
        raise _StartupError("GNODE_LOG_LEVEL must be one of %s, not %r" % (", ".join(_LOG_LEVELS), log_level))
    trace = args.trace if args.trace is not None else environ.get("GNODE_TRACE", "") not in ("", "0")
    return _Config([os.path.abspath(f) for f in folders], timeout, log_level, trace, stats_every or None)


def _seconds_setting(name, text):
    try:
        seconds = float(text)
        if not 0 < seconds < float("inf"):
            raise ValueError
    except ValueError:
        raise _StartupError("%s must be a positive number of seconds, not %r" % (name, text)) from None
    return seconds


def _set_up_logging(level):
    """Everything logged goes to stderr, plugins' loggers too, at ``level`` and up. The trace
    of messages (logger ``gnode.trace``, written only with --trace) shows whatever the level."""
    logging.basicConfig(stream=sys.stderr, level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    trace_log.setLevel(logging.INFO)


def _set_up_gevent():
    """gevent.monkey.patch_all(), minus its search of every installed package's metadata
    for gevent plugins (about 25 searches, most of the node's start-up time). gevent's
    own patch events still fire; third-party gevent plugins are not looked for. (ssl
    stays patched, though it is 6 ms of the start: with socket patched and ssl not, no
    socket can be wrapped in TLS at all.) The hub shows the context of an error with
    reprlib.repr, short as pprint.saferepr, but without pprint's 5 ms of imports."""
    from gevent import events, monkey
    events.notify_and_call_entry_points = events.notify
    monkey.patch_all()
    gevent.config.format_context = "reprlib.repr"


def _private_fd(fd, flags):
    """A descriptor of our own for stdin or stdout, so that making it non-blocking does not
    leak into whoever shares the original (a terminal, a shell)."""
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode) or stat.S_ISCHR(os.fstat(fd).st_mode):
            own = os.open("/proc/self/fd/%d" % fd, flags)
        else:
            own = os.dup(fd)
    except OSError:
        own = os.dup(fd)
    os.set_blocking(own, False)
    return own


def main(argv=None):
    """Run a node as Maelstrom runs it (``./gnode.py`` or the ``gnode`` command): read the
    command line ``argv`` (default sys.argv[1:]) and the environment, load the handlers,
    serve stdin and stdout until input ends, and exit."""
    try:
        # First, while stdout is still stdout: --help writes there.
        config = _parse_config(sys.argv[1:] if argv is None else argv, os.environ)
    except _StartupError as e:
        _set_up_logging("info")
        log.error("%s", e)
        _exit(1)
    _set_up_logging(config.log_level)
    _set_up_gevent()
    sys.modules.setdefault("gnode", sys.modules[__name__])  # plugins import this very module
    hub = gevent.get_hub()
    hub.SYSTEM_ERROR = ()  # nothing a greenlet raises may end the node
    hub.NOT_ERROR = (GreenletExit,)  # and a sys.exit() in one is logged, as any other failure
    hub.print_exception = _log_greenlet_failure
    in_fd = _private_fd(0, os.O_RDONLY)
    out_fd = _private_fd(1, os.O_WRONLY)
    os.dup2(2, 1)  # stdout is for messages only: any other output, plugins' too, goes to stderr
    sys.stdout = sys.stderr
    try:
        handlers = _load_handlers(config.handlers)
    except _StartupError as e:
        log.error("%s", e)
        _exit(1)
    node = Node(handlers, config.rpc_timeout, config.trace, _tasks, config.stats_every)
    gc.freeze()  # start-up's objects live for ever: spare every full collection from scanning them
    gc.set_threshold(_GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, node._on_signal, signum)
    node.run(in_fd, out_fd)
    _exit(0)


if __name__ == "__main__":
    main()
