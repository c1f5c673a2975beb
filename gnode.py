#!/usr/bin/env python3
"""gnode: Maelstrom nodes in plain, blocking Python, on gevent greenlets.

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
import signal
import stat
import sys
import time

import gevent
from gevent import Timeout
from gevent.event import AsyncResult, Event
from greenlet import getcurrent, greenlet

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
READ_SIZE = 65536  # one pipe's worth
EXIT_GRACE = 5.0  # seconds a running handler gets after stdin closes (Maelstrom's client timeout)
CLIENT_PATIENCE = 4.0  # seconds after which a Maelstrom client (timeout 5 s) may be gone: don't answer it.
# Counted from when we read the request, which can be later than when it was sent: hence the margin.
WRITE_BATCH = 32  # lines a busy node lets pile up before it writes them (see Writer; bench/ measured it)
MAX_IDLE_WORKERS = 64  # parked worker greenlets kept for later bursts of blocking handlers
RETIRE_BATCH, RETIRE_EVERY = 128, 0.01  # idle workers beyond those retired per tick (~0.5 ms), tick in s
ENDED_CALLS_KEPT = 4096  # ended calls remembered, to tell a late or second answer from a send's


# ---------------------------------------------------------------- public names

class RPCError(Exception):
    """A Maelstrom error.

    Raise it in a handler to answer ``{"type": "error", "code": code, "text": text}``.
    ``node.sync_rpc`` raises it when the answer is an error; ``body`` is that answer.
    """

    def __init__(self, code, text="", body=None):
        super().__init__(code, text)
        self.code = code
        self.text = text
        self.body = body if body is not None else {"type": "error", "code": code, "text": text}

    def __str__(self):
        return "error %s: %s" % (self.code, self.text)


class RPCTimeout(RPCError):
    """``node.sync_rpc`` got no answer in time (Maelstrom's code 0, indefinite)."""

    def __init__(self, text):
        super().__init__(TIMEOUT, text)


class Message:
    """One message received: ``src``, ``dest`` and ``body`` (a dict with a string ``type``)."""

    __slots__ = ("src", "dest", "body", "answered", "received")

    def __init__(self, src, dest, body):
        self.src = src
        self.dest = dest
        self.body = body
        self.answered = False
        self.received = time.monotonic()

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
            raise StartupError('two handlers for "%s": %s and %s' % (msg_type, _where(prior), _where(fn)))
        _handlers[msg_type] = fn
        return fn
    return register


def _where(fn):
    code = getattr(fn, "__code__", None)
    return "%s:%d" % (code.co_filename, code.co_firstlineno) if code else repr(fn)


class StartupError(Exception):
    """The node cannot start: bad configuration, or a handler plugin that will not load."""


# ---------------------------------------------------------------- the wire

class BadMessage(Exception):
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
intern = sys.intern


def parse_message(line):
    """Parse one stdin line (bytes) into a Message, or raise BadMessage saying what is wrong.

    Unknown keys (Maelstrom adds a top-level ``id``) are ignored.
    """
    # The common case first, for lines as Maelstrom writes them: the C scanner alone,
    # without json.loads' whitespace handling, then checks that only look.
    try:
        text = line.decode()
        envelope, end = _decoder.scan_once(text, 0)
    except (ValueError, StopIteration, RecursionError):
        envelope, end, text = None, -1, ""
    if end == len(text) and type(envelope) is dict:
        src, dest, body = envelope.get("src"), envelope.get("dest"), envelope.get("body")
        if type(body) is dict and type(src) is str and src and type(dest) is str and dest \
                and type(body.get("type")) is str:
            msg_id, in_reply_to = body.get("msg_id"), body.get("in_reply_to")
            if (msg_id is None or type(msg_id) is int) and (in_reply_to is None or type(in_reply_to) is int):
                return Message(intern(src), intern(dest), body)  # a few names, shared by all
    return _parse_carefully(line)


def _parse_carefully(line):
    """parse_message for any other line: accept what is valid, say what is not."""
    try:
        envelope = _decoder.decode(line.decode())
    except UnicodeDecodeError as e:
        raise BadMessage("not UTF-8 (%s at byte %d)" % (e.reason, e.start)) from None
    except ValueError as e:
        raise BadMessage("empty line" if not line.strip() else "not JSON (%s)" % e) from None
    except RecursionError:
        raise BadMessage("nested too deeply to parse") from None
    if type(envelope) is not dict:
        raise BadMessage("not a JSON object but %s" % _kind(envelope))
    src = envelope.get("src")
    body = envelope.get("body")
    if type(body) is not dict:
        raise BadMessage('"body" is %s, not an object' % _kind(body))
    msg_id = body.get("msg_id")
    if msg_id is not None and type(msg_id) is not int:
        raise BadMessage('"msg_id" is %s, not an integer' % _kind(msg_id))
    if type(src) is not str or not src:
        raise BadMessage('"src" is %s, not a node name' % _kind(src))
    if "in_reply_to" in body or body.get("type") == "error":
        msg_id = None
    dest = envelope.get("dest")
    if type(dest) is not str or not dest:
        raise BadMessage('"dest" is %s, not a node name' % _kind(dest), src, msg_id)
    if type(body.get("type")) is not str:
        raise BadMessage('"type" is %s, not a string' % _kind(body.get("type")), src, msg_id)
    in_reply_to = body.get("in_reply_to")
    if in_reply_to is not None and type(in_reply_to) is not int:
        raise BadMessage('"in_reply_to" is %s, not an integer' % _kind(in_reply_to), src, msg_id)
    return Message(intern(src), intern(dest), body)


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


def _make_encoder():
    """Encode one message as ``json.dumps`` does by default, but refuse NaN and infinities
    (not JSON: Maelstrom would choke on them). ``json.dumps`` builds a new C encoder on
    every call; building it once saves a third of the encoding time."""
    plain = json.JSONEncoder(allow_nan=False, check_circular=False)
    try:
        from json.encoder import c_make_encoder, encode_basestring_ascii
        c_encode = c_make_encoder(None, plain.default, encode_basestring_ascii, None,
                                  ": ", ", ", False, False, False)
        c_encode({"probe": [1.5]}, 0)
    except Exception:  # no C accelerator, or its signature changed: the plain encoder is correct too
        return plain.encode
    join = "".join
    return lambda message: join(c_encode(message, 0))


encode = _make_encoder()


def _check_body(body):
    if type(body) is not dict or type(body.get("type")) is not str:
        raise TypeError("a message body must be a dict with a string \"type\", not %s"
                        % _glimpse(body))
    if body["type"] == "error" and type(body.get("code")) is not int:
        raise TypeError("an error body needs an integer \"code\", not %s" % _glimpse(body))
    return body


# ---------------------------------------------------------------- the writer

class Writer:
    """Owns stdout; a greenlet never waits for it. Lines leave in one write when the node
    is about to wait for input (``flush_now``), or at the end of the event loop's turn
    they were written in, and while the node is busy every ``WRITE_BATCH`` lines, so the
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
        if len(lines) >= WRITE_BATCH:
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


# ---------------------------------------------------------------- the node

_TIMED_OUT = object()  # what a sync_rpc timer puts in the AsyncResult the call waits on
_FOREVER = float("inf")
_NO_CALL = (None, None)  # (answer, caller) of a call nobody waits for
_RETIRE = object()  # what the retirer hands a parked worker to make it end


class _Worker(greenlet):
    """A greenlet that handles messages (``Node._work``): its calls are a handler's."""


class Node:
    """The running node, handed to every handler as its first argument.

    ``id`` and ``node_ids`` come from Maelstrom's ``init`` (None and [] before it);
    ``rpc_timeout`` is the default wait of ``sync_rpc``, in seconds.
    """

    def __init__(self, handlers, rpc_timeout=DEFAULT_RPC_TIMEOUT, trace=False):
        self.id = None
        self.node_ids = []
        self.rpc_timeout = rpc_timeout
        handlers = dict(handlers)
        self._init_hook = handlers.pop("init", None)
        handlers["init"] = _handle_init
        self._handlers = handlers
        self._next_msg_id = 0  # every message we send takes the next one
        self._calls = {}  # msg_id -> (AsyncResult, caller greenlet) of a sync_rpc waiting for it
        self._ended_calls = collections.OrderedDict()  # msg_id -> how it ended, the last ENDED_CALLS_KEPT
        self._destinations = set()  # where Maelstrom lets us send: nodes, services, senders seen
        self._held = []  # messages that came before init; None once init is done
        self._hub = gevent.get_hub()
        self._loop = self._hub.loop
        self._ready = collections.deque()  # (handler, message) waiting for a worker
        self._woken = collections.deque()  # greenlets whose sync_rpc has its answer or timeout
        self._takeover_armed = False  # a _take_over call is queued in the hub
        self._nursery = None  # the greenlet that starts workers, once run() has begun
        self._idle = collections.deque()  # worker greenlets parked, waiting for more messages
        self._retirer = self._loop.timer(RETIRE_EVERY, RETIRE_EVERY)  # runs while too many are idle
        self._busy = 0  # messages handed to a worker and not finished yet
        self._on_timer = self._expire  # bound once: a bound method per call would cost 64 bytes each
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
        if msg.src[0] == "c" and time.monotonic() - msg.received > CLIENT_PATIENCE \
                and msg.body.get("type") != "init":
            msg.answered = True
            log.warning("dropped the answer to client %s's msg_id %s: %.1fs after the request, "
                        "the client has given up and may be gone", msg.src, request_id,
                        time.monotonic() - msg.received)
            return
        self._write(msg.src, body, request_id, msg.dest if self.id is None else self.id)
        msg.answered = True

    def sync_rpc(self, dest, body, timeout=None):
        """Send ``body`` to ``dest`` and wait for the answer; return the answer's body.

        Only the calling greenlet waits. Raises RPCTimeout after ``timeout`` seconds
        (default ``node.rpc_timeout``), RPCError if the answer is an error or ``dest``
        is unknown. A ``timeout`` that is not a number raises TypeError, one that is not
        positive and finite ValueError, before anything is sent.
        """
        seconds = self.rpc_timeout if timeout is None else timeout
        try:
            in_range = 0 < seconds < _FOREVER  # NaN is not: it would break the loop's heap of timers
        except TypeError:  # not a number at all, a string say: a TypeError, as Python's own calls raise
            raise TypeError("a sync_rpc timeout must be a number of seconds, not %r" % (seconds,)) from None
        if not in_range:
            raise ValueError("a sync_rpc timeout must be a positive, finite number of seconds, not %r" % (seconds,))
        caller = getcurrent()
        if caller is self._hub:
            raise RuntimeError("sync_rpc cannot wait in the hub: call it from a handler or a greenlet")
        # The timeout is a plain timer that resolves the same AsyncResult: cheaper in time and
        # memory than gevent.Timeout, which throws an exception into the waiting greenlet.
        timer = self._loop.timer(seconds)
        msg_id = self._next_msg_id
        answer = AsyncResult()
        call = self._calls[msg_id] = (answer, caller)  # before the request is written: the answer can't beat it
        try:
            self._write(dest, body)
            timer.start(self._on_timer, call, update=True)  # update: never fire early
            if self._input_ended:
                self._settled.set()
            wake = None if type(caller) is _Worker else caller.switch  # see _wake
            if wake is not None:
                answer.rawlink(wake)
            try:
                while not answer.ready():
                    self._pass_on()
            except BaseException:  # thrown out of the wait (a handler's own gevent.Timeout, say)
                if caller in self._woken:  # after its answer came: it must not be resumed now
                    self._woken.remove(caller)
                raise
            finally:
                if wake is not None:
                    answer.unlink(wake)
        finally:
            timer.close()
            del self._calls[msg_id]
            self._remember_ended_call(msg_id, answer)
        reply = answer.value
        if reply is _TIMED_OUT:
            raise RPCTimeout("no answer from %s to msg_id %d within %gs" % (dest, msg_id, seconds))
        if reply.get("type") == "error":
            raise RPCError(reply.get("code"), reply.get("text", ""), reply)
        return reply

    def _remember_ended_call(self, msg_id, answer):
        """Keep how a call ended for a while, so an answer that comes after it can be told
        apart (late, or a second one) from an answer to a plain ``send``."""
        ended = self._ended_calls
        ended[msg_id] = _how_ended(answer)
        if len(ended) > ENDED_CALLS_KEPT:
            ended.popitem(last=False)

    def _expire(self, call):
        # The answer may have come just before: the caller has not woken for it yet, keep it.
        answer, caller = call
        if not answer.ready():
            answer.set(_TIMED_OUT)
            self._wake(caller)

    def spawn(self, fn, *args):
        """Run ``fn(*args)`` in a greenlet of its own; an exception in it is logged, never fatal."""
        return gevent.spawn(_guarded, fn, *args)

    def _write(self, dest, body, in_reply_to=None, src=None):
        """Encode one message and queue it for stdout. It takes the next msg_id only once
        it is sure to be sent, so the ids of the messages sent have no gaps."""
        if in_reply_to is None and dest not in self._destinations:
            raise RPCError(NODE_NOT_FOUND, "unknown destination %r: not a node of this test, "
                           "a service, nor a sender seen so far" % (dest,))
        msg_id = self._next_msg_id
        body = _check_body(body)
        if "msg_id" in body or ("in_reply_to" in body and in_reply_to is not None):
            # a copy of the request, say: our in_reply_to and msg_id still go last
            body = {k: v for k, v in body.items() if k != "msg_id" and (k != "in_reply_to" or in_reply_to is None)}
        if in_reply_to is None:
            body = {**body, "msg_id": msg_id}
        else:
            body = {**body, "in_reply_to": in_reply_to, "msg_id": msg_id}
        line = encode({"src": src or self.id, "dest": dest, "body": body})
        self._next_msg_id = msg_id + 1
        if self._trace:
            trace_log.info("out %s", line)
        self._writer.write(line)

    # -- the life of a message: read, parse, route, hand to a worker, handle, answer

    def run(self, in_fd, out_fd):
        """Serve: read stdin until it ends, then finish what can be finished.

        Returns when it is time to exit.
        """
        self._writer = Writer(out_fd, self._loop, self._output_closed)
        self._nursery = greenlet(self._start_workers, self._hub)
        self._nursery.switch(getcurrent())
        read, wait_readable = os.read, self._hub.wait
        readable = self._loop.io(in_fd, 1)
        receive = self._receive
        partial = []  # pieces of a line whose newline has not come yet
        while True:
            if self._writer.congested:
                self._writer.wait_drained()
            try:
                chunk = read(in_fd, READ_SIZE)
            except BlockingIOError:
                wait_readable(readable)
                continue
            except OSError as e:
                log.error("reading stdin failed (%s): treating it as the end of input", e)
                break
            if not chunk:
                break
            end = chunk.rfind(b"\n")
            if end < 0:
                partial.append(chunk)
                continue
            if partial:
                partial.append(chunk[:end])
                lines = b"".join(partial).split(b"\n")
                partial = []
            else:
                lines = chunk[:end].split(b"\n")
            if end + 1 < len(chunk):
                partial.append(chunk[end + 1:])
            for line in lines:
                receive(line)
            self._hand_over(readable if len(chunk) < READ_SIZE else None)
        if partial:  # a last line with no newline
            receive(b"".join(partial))
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
            self._pass_on()
        finally:
            if readable is not None:
                readable.stop()

    def _receive(self, line):
        self._line_number += 1
        try:
            msg = parse_message(line)
        except BadMessage as bad:
            self._bad_input(line, bad)
            return
        self._destinations.add(msg.src)
        if self._trace:
            trace_log.info("in  %s", line.decode())
        body = msg.body
        if "in_reply_to" in body or body["type"] == "error":  # an answer: never answered back
            self._resolve(msg)
        else:
            self._start(self._handlers.get(body["type"], _no_handler), msg)

    def _bad_input(self, line, bad):
        log.warning("input line %d ignored: %s: %s", self._line_number, bad.problem,
                    _glimpse(line.decode(errors="replace"), str))
        if bad.msg_id is not None:
            self._destinations.add(bad.src)
            self._start(_refuse_malformed(bad.problem), Message(bad.src, None, {"msg_id": bad.msg_id}))

    def _resolve(self, msg):
        """An answer came: wake the sync_rpc waiting for it. An answer that nothing waits
        for (to a send, or late, or a duplicate) goes to the handler of its type if there
        is one, and is dropped otherwise; an error is never handled, so never answered."""
        body = msg.body
        answer, caller = self._calls.get(body.get("in_reply_to"), _NO_CALL)
        if answer is not None and not answer.ready():  # ready: a duplicate, or its timer fired
            answer.set(body)
            self._wake(caller)
        elif body["type"] not in ("error", "init") and body["type"] in self._handlers:
            self._start(self._handlers[body["type"]], msg)
        else:
            self._drop_answer(msg, answer)

    def _drop_answer(self, msg, answer):
        """Say why an answer goes nowhere. An answer to a ``send`` (a gossip acknowledgement,
        say) that no handler takes is normal, so it is only a debug line. ``answer`` is the
        call's AsyncResult while its caller has yet to wake for the first answer."""
        body, in_reply_to = msg.body, msg.body.get("in_reply_to")
        ended = _how_ended(answer) if answer is not None else self._ended_calls.get(in_reply_to)
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
        if self._held is not None and fn is not _handle_init:
            self._held.append((fn, msg))
            return
        self._busy += 1
        self._ready.append((fn, msg))

    def _wake(self, caller):
        """``caller``'s sync_rpc has its answer (or its timeout): a worker is queued, to be
        switched to by the next greenlet that parks. Any other greenlet (the user's own,
        spawned) is linked to the AsyncResult instead, and gevent resumes it from the hub,
        as it would after any wait: whatever it does next, even dying of an exception,
        then happens in the hub, not in some other greenlet's place."""
        if type(caller) is _Worker:
            self._woken.append(caller)
            self._arm_takeover()

    def _pass_on(self):
        """The calling greenlet parks: switch straight to what can run next (a call whose
        answer came, or a worker for the next message), without a turn of the hub. Only
        when there is nothing left to do does the hub get the floor, to wait for input and
        timers, and what the node has to say is written out first, at once."""
        runnable = self._next_runnable()
        if runnable is None:
            self._writer.flush_now()
            runnable = self._hub
        return runnable.switch()

    def _next_runnable(self):
        if self._woken:
            runnable = self._woken.popleft()
            if self._woken or self._ready:
                self._arm_takeover()  # in case ``runnable`` blocks on something else than us
            return runnable
        if self._ready:
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
        and the rest of the queue is taken over by another, so every message runs in a
        greenlet of its own while it runs, yet a flood needs no new greenlet per message."""
        ready, woken, idle, me = self._ready, self._woken, self._idle, getcurrent()
        while True:
            while ready:
                fn, msg = ready.popleft()
                if ready or woken:
                    self._arm_takeover()  # in case this handler blocks on something else than us
                self._handle(fn, msg)
            idle.append(me)
            if len(idle) > MAX_IDLE_WORKERS and not self._retirer.active:
                self._retirer.start(self._retire_idle_workers)
            try:
                if self._pass_on() is _RETIRE:
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
        for _ in range(min(RETIRE_BATCH, len(idle) - MAX_IDLE_WORKERS)):
            idle.popleft().switch(_RETIRE)  # the oldest first; it ends, back into the hub
        if len(idle) <= MAX_IDLE_WORKERS:
            self._retirer.stop()

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
        if self._held:
            log.warning("input ended before init: %d message(s) never handled", len(self._held))
        deadline = time.monotonic() + EXIT_GRACE
        while True:
            running = self._busy - sum(1 for answer, caller in self._calls.values()
                                       if type(caller) is _Worker and not answer.ready())
            if not running:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("input ended; %d handler(s) still running after %gs are abandoned",
                            running, EXIT_GRACE)
                break
            self._settled.clear()
            self._settled.wait(left)
        self._writer.drain()

    def _output_closed(self):
        _exit(0, "stdout was closed by its reader; exiting")

    def _on_signal(self, signum):
        self._writer.flush_now()
        _exit(0, "got %s; exiting" % signal.Signals(signum).name)


def _how_ended(answer):
    """How a call ended, from its AsyncResult: words for the log."""
    if not answer.ready():
        return "its caller had stopped waiting"  # thrown out of its wait
    return "it had timed out" if answer.value is _TIMED_OUT else "it was answered"


def _handle_init(node, msg):
    """The built-in handler of Maelstrom's first message: learn who we are, answer init_ok."""
    if node.id is not None:
        raise RPCError(MALFORMED_REQUEST, "already initialised as %s" % node.id)
    node_id, node_ids = msg.body.get("node_id"), msg.body.get("node_ids")
    if type(node_id) is not str or not node_id or type(node_ids) is not list \
            or not all(type(n) is str and n for n in node_ids):
        raise RPCError(MALFORMED_REQUEST, "init needs node_id (a string) and node_ids (a list of strings)")
    node.id, node.node_ids = node_id, list(node_ids)
    node._destinations.update(node_ids)
    node._destinations.update(SERVICES)
    try:
        if node._init_hook is not None:
            node._init_hook(node, msg)
    finally:  # the node knows who it is now: what came before init is handled, hook or no hook
        if node._held is not None:
            node._release_held()
    node.reply(msg, {"type": "init_ok"})


def _refuse_malformed(problem):
    def refuse(node, msg):
        raise RPCError(MALFORMED_REQUEST, problem)
    return refuse


def _no_handler(node, msg):
    log.warning("no handler for type %r (from %s)", msg.body["type"], msg.src)
    raise RPCError(NOT_SUPPORTED, "no handler for type %r" % msg.body["type"])


def _guarded(fn, *args):
    try:
        return fn(*args)
    except BaseException:
        log.exception("background greenlet %s failed", _where(fn))


def _exit(status, why=None):
    """The one way out: say why on stderr, and end the process now. Nothing is left to
    flush by then, and Maelstrom ends nodes with SIGKILL anyway, so no clean-up can matter."""
    if why:
        log.info(why)
    sys.stderr.flush()
    os._exit(status)


# ---------------------------------------------------------------- start-up

def load_handlers(folders):
    """Import every module in ``folders`` (names beginning with ``_`` are skipped) and
    return the handlers they registered, by message type."""
    for folder in folders:
        if not os.path.isdir(folder):
            raise StartupError("handlers folder %s does not exist (set it with --handlers DIR "
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
            except StartupError:
                raise
            except BaseException as e:
                log.error("handler plugin %s failed to import", path, exc_info=True)
                raise StartupError("handler plugin %s failed to import: %s: %s"
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


LOG_LEVELS = ("debug", "info", "warning", "error")


class Config:
    """What the command line and the environment ask of a node; flags win over variables."""

    def __init__(self, handlers, rpc_timeout, log_level, trace):
        self.handlers = handlers  # absolute paths of the plugin folders
        self.rpc_timeout = rpc_timeout  # seconds
        self.log_level = log_level  # one of LOG_LEVELS
        self.trace = trace  # log every message in and out


def parse_config(argv, environ):
    """The Config of ``argv`` and ``environ``: flags win over environment variables, which
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
    parser.add_argument("--log-level", metavar="LEVEL", type=str.lower, choices=LOG_LEVELS,
                        help="what the node logs on stderr: %s (default: $GNODE_LOG_LEVEL or info)"
                             % ", ".join(LOG_LEVELS))
    parser.add_argument("--trace", action="store_true", default=None,
                        help="log one stderr line for every message in and out "
                             "(default: on if $GNODE_TRACE is 1)")
    args = parser.parse_args(argv)
    folders = args.handlers or [f for f in environ.get("GNODE_HANDLERS", "").split(os.pathsep) if f]
    if not folders:
        if os.path.basename(here) in ("site-packages", "dist-packages"):  # installed, not a checkout
            raise StartupError("gnode is installed as a package and has no handlers/ of its own: "
                               "name your handlers folder with --handlers DIR or GNODE_HANDLERS")
        folders = [os.path.join(here, "handlers")]
    timeout = args.rpc_timeout or environ.get("GNODE_RPC_TIMEOUT") or DEFAULT_RPC_TIMEOUT
    try:
        timeout = float(timeout)
        if not 0 < timeout < float("inf"):
            raise ValueError
    except ValueError:
        raise StartupError("the RPC timeout must be a positive number of seconds, not %r" % timeout) from None
    log_level = args.log_level or environ.get("GNODE_LOG_LEVEL", "info").lower()
    if log_level not in LOG_LEVELS:
        raise StartupError("GNODE_LOG_LEVEL must be one of %s, not %r" % (", ".join(LOG_LEVELS), log_level))
    trace = args.trace if args.trace is not None else environ.get("GNODE_TRACE", "") not in ("", "0")
    return Config([os.path.abspath(f) for f in folders], timeout, log_level, trace)


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
    try:
        # First, while stdout is still stdout: --help writes there.
        config = parse_config(sys.argv[1:] if argv is None else argv, os.environ)
    except StartupError as e:
        _set_up_logging("info")
        log.error("%s", e)
        _exit(1)
    _set_up_logging(config.log_level)
    _set_up_gevent()
    sys.modules.setdefault("gnode", sys.modules[__name__])  # plugins import this very module
    gevent.get_hub().SYSTEM_ERROR = ()  # nothing a greenlet raises may end the node
    in_fd = _private_fd(0, os.O_RDONLY)
    out_fd = _private_fd(1, os.O_WRONLY)
    os.dup2(2, 1)  # stdout is for messages only: any other output, plugins' too, goes to stderr
    sys.stdout = sys.stderr
    try:
        handlers = load_handlers(config.handlers)
    except StartupError as e:
        log.error("%s", e)
        _exit(1)
    node = Node(handlers, config.rpc_timeout, config.trace)
    gc.freeze()  # start-up's objects live for ever: spare every full collection from scanning them
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, node._on_signal, signum)
    node.run(in_fd, out_fd)
    _exit(0)


if __name__ == "__main__":
    main()
