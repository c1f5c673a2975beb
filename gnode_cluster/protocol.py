"""Maelstrom's wire protocol, written once for the cluster, the test runner, the services
and the fixture runner: what an envelope on a node's stdout must be, who is always on the
network, the error codes and which of them are definite, and the exception an error answer
becomes.

Nothing here imports gnode or gevent: a node in any language is tested with these rules.
gnode.py keeps copies of the codes and services for its own use (it runs as a lone file);
tests/test_units.py checks that the two agree.
"""
import json

# Maelstrom's error codes: (code, name, definite). A definite error says the operation
# certainly did not happen; codes from 1000 up are a node's own, and always indefinite.
ERRORS = (
    (0, "timeout", False),
    (1, "node-not-found", True),
    (10, "not-supported", True),
    (11, "temporarily-unavailable", True),
    (12, "malformed-request", True),
    (13, "crash", False),
    (14, "abort", True),
    (20, "key-does-not-exist", True),
    (21, "key-already-exists", True),
    (22, "precondition-failed", True),
    (30, "txn-conflict", True),
)
ERROR_NAMES = {code: name for code, name, _ in ERRORS}
DEFINITE_CODES = frozenset(code for code, _, definite in ERRORS if definite)
TIMEOUT, KEY_DOES_NOT_EXIST, PRECONDITION_FAILED = 0, 20, 22

SERVICES = ("lin-kv", "seq-kv", "lww-kv", "lin-tso")  # always on the network, whatever the workload
ENVELOPE_KEYS = {"src", "dest", "body"}  # and maybe an integer "id": Maelstrom's closed map


class RPCError(Exception):
    """An error answer, or no answer: ``code``, ``text`` and ``body`` (the answer's body);
    ``answered`` is true when an answer came; ``definite`` is Maelstrom's: true when the
    operation certainly did not happen."""

    def __init__(self, code, text="", body=None, answered=False):
        super().__init__(code, text)
        self.code = code
        self.text = text
        self.body = body if body is not None else error_body(code, text)
        self.answered = answered

    @property
    def definite(self):
        return self.code in DEFINITE_CODES

    def __str__(self):
        return "error %s: %s" % (self.code, self.text)


class _CodedError(RPCError):
    """An RPCError whose class says its code."""
    code = None  # set by each subclass

    def __init__(self, text="", body=None, answered=False):
        super().__init__(type(self).code, text, body, answered)


class RPCTimeout(_CodedError):
    """No answer came in time (code 0, indefinite: the request may have been done)."""
    code = TIMEOUT


# One class per code, named as gnode.py names them, so ``except KeyDoesNotExist`` reads the same
# in a node and in a test of it.
class NodeNotFound(_CodedError): code = 1
class NotSupported(_CodedError): code = 10
class TemporarilyUnavailable(_CodedError): code = 11
class MalformedRequest(_CodedError): code = 12
class Crash(_CodedError): code = 13
class Abort(_CodedError): code = 14
class KeyDoesNotExist(_CodedError): code = KEY_DOES_NOT_EXIST
class KeyAlreadyExists(_CodedError): code = 21
class PreconditionFailed(_CodedError): code = PRECONDITION_FAILED
class TxnConflict(_CodedError): code = 30


ERROR_CLASSES = {cls.code: cls for cls in _CodedError.__subclasses__()}


def error_body(code, text):
    """The body of an error answer."""
    return {"type": "error", "code": code, "text": text}


def raise_for_error(reply):
    """Return ``reply``, an answer's body, unless it is an error: then raise its RPCError."""
    if reply.get("type") != "error":
        return reply
    code = reply.get("code")
    if type(code) is int and code in ERROR_CLASSES:
        raise ERROR_CLASSES[code](reply.get("text", ""), reply, answered=True)
    raise RPCError(code, reply.get("text", ""), reply, answered=True)


def envelope_problem(line, is_member=None):
    """Why Maelstrom would reject ``line`` (bytes or text, without its newline) written on a
    node's stdout, after which it reads nothing more from that node, or None; and the parsed
    envelope, for a good line. ``is_member(name)`` says whether ``src`` and ``dest`` are on
    the network (a node of the test, a service, or an open client)."""
    try:  # UTF-8 only, as Maelstrom reads: json.loads alone would take UTF-16 bytes too
        envelope = json.loads(line.decode("utf-8") if isinstance(line, bytes) else line)
    except ValueError:
        return "not well-formed JSON", None
    if not isinstance(envelope, dict):
        return "not a JSON object", None
    if set(envelope) - ENVELOPE_KEYS - {"id"} or not ENVELOPE_KEYS <= set(envelope):
        return "a message has exactly src, dest and body (and maybe an integer id), not %s" \
            % ", ".join(sorted(envelope)), None
    if "id" in envelope and not is_integer(envelope["id"]):
        return "id must be an integer", None
    src, dest, body = envelope["src"], envelope["dest"], envelope["body"]
    if not isinstance(src, str) or not isinstance(dest, str):
        return "src and dest must be strings", None
    if not isinstance(body, dict):
        return "body must be a JSON object", None
    if is_member is not None:
        for end, name in (("src", src), ("dest", dest)):
            if not is_member(name):
                return "invalid %s %r: not a node of this test, a service, nor an open client" % (end, name), None
    return None, envelope


def body_problem(body):
    """Why a body breaks the reserved keys' rules (``type`` a string; ``msg_id``,
    ``in_reply_to`` and an error's ``code`` integers), or None. Maelstrom's clients refuse
    such an answer; between nodes it is the node's own business."""
    if not isinstance(body.get("type"), str):
        return "body must have a string type"
    for key in ("msg_id", "in_reply_to", "code"):
        if key in body and not is_integer(body[key]):
            return "%s must be an integer" % key
    if body["type"] == "error" and not is_integer(body.get("code")):
        return "an error needs an integer code"
    return None


def is_integer(value):
    """A JSON integer: not a float, not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)
