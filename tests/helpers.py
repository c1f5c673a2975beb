"""Helpers for tests that drive the node process directly, beyond what a JSON fixture can say."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GNODE = ROOT / "gnode.py"
INIT = {"src": "c0", "dest": "n1", "body": {"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1", "n2"]}}
INIT_OK = {"src": "n1", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1, "msg_id": 0}}


def line(message):
    return json.dumps(message).encode() + b"\n"


def echo(msg_id, payload, src="c1"):
    return {"src": src, "dest": "n1", "body": {"type": "echo", "msg_id": msg_id, "echo": payload}}


def run_node(stdin_bytes, *args, env=None, timeout=10, command=None, cwd="/tmp"):
    """Run the node on the given input to its end (from ``cwd``, Maelstrom's /tmp unless
    told); return the CompletedProcess."""
    return subprocess.run((command or [sys.executable, str(GNODE)]) + list(args), input=stdin_bytes,
                          capture_output=True, timeout=timeout, cwd=cwd, env=node_env(env))


def node_env(extra=None):
    """The environment a test node runs with: the caller's, less any GNODE_ setting."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GNODE_")}
    env.update(extra or {})
    return env


def output(completed):
    return [json.loads(x) for x in completed.stdout.decode().splitlines()]


class LiveNode:
    """The node as a running process the test converses with, playing its peers and services:
    ``send`` a message, ``receive`` what it writes (waiting up to a timeout), ``finish``."""

    def __init__(self, *args, env=None, node_ids=("n1", "n2", "n3")):
        from gnode_pytest import NodeUnderTest  # its stdout and stderr readers, on threads

        self.process = NodeUnderTest([sys.executable, str(GNODE), *args], "/tmp", node_env(env))
        self.send({"src": "c0", "dest": "n1", "body": {"type": "init", "msg_id": 1, "node_id": "n1",
                                                       "node_ids": list(node_ids)}})
        assert self.receive()["body"]["type"] == "init_ok", self.stderr()

    def send(self, message):
        self.process.send(line(message))

    def receive(self, timeout=5):
        """The next message the node writes; fails the test if none comes in ``timeout`` s."""
        raw = self.process.next_line(timeout)
        assert raw is not None, "the node wrote nothing in %gs; its stderr:\n%s" % (timeout, self.stderr())
        return json.loads(raw)

    def receive_all(self, count, timeout=5):
        return [self.receive(timeout) for _ in range(count)]

    def quiet(self, seconds):
        """Fails the test if the node writes anything within ``seconds``."""
        raw = self.process.next_line(seconds)
        assert raw is None, "the node wrote %r" % raw

    def stderr(self):
        return "\n".join(self.process.stderr)

    def finish(self):
        """Close stdin; return the exit status (None if it had to be killed) once it has exited."""
        self.process.close()
        try:
            return self.process.finish(10)
        finally:
            self.process.stop()
