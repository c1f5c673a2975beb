#!/usr/bin/env python3
"""Instructions a node executes per message, counted by valgrind's callgrind: a figure a
shared, noisy machine does not disturb, for telling two versions of the node apart.

    python3 bench/instructions.py                              # gnode.py in this checkout
    python3 bench/instructions.py --against /tmp/old/gnode.py  # the same, beside another node

Each node runs under ``valgrind --tool=callgrind`` three times: started and answering
``init`` only; then through PROXY round trips (64 outstanding, this script answering as
n2); then through ECHO echoes, one outstanding. The start-up run is subtracted from the
others, so the figures are instructions per proxy round trip and per echo. Repeated runs
differ by about half a percent (the number of messages per read varies).
"""
import argparse
import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

from run import INIT_LINE, PEER, echo_requests, proxy_requests  # the bench's own messages

HERE = os.path.dirname(os.path.realpath(__file__))
DEFAULT_NODE = os.path.join(os.path.dirname(HERE), "gnode.py")
OUTSTANDING = 64


class Node:
    """The node under callgrind, spoken to line by line."""

    def __init__(self, argv, out_file):
        self.process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file] + argv,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/tmp")

    def send(self, line):
        self.process.stdin.write(line)
        self.process.stdin.flush()

    def receive(self):
        line = self.process.stdout.readline()
        if not line:
            sys.exit("the node ended early; run it without valgrind to see why")
        return json.loads(line)

    def finish(self):
        self.process.stdin.close()
        self.process.wait()


def drive(node, mode, n):
    node.send(INIT_LINE)
    assert node.receive()["body"]["type"] == "init_ok"
    if mode == "echo":
        for k, request in enumerate(echo_requests("c1", n), 1):
            node.send(request)
            assert node.receive()["body"]["in_reply_to"] == k
        return
    requests = iter(proxy_requests("c1", n, "p"))
    for request in itertools.islice(requests, OUTSTANDING):
        node.send(request)
    done = 0
    while done < n:
        msg = node.receive()
        body = msg["body"]
        if msg["dest"] == PEER:  # the forward: answer it as n2
            node.send(json.dumps({"src": PEER, "dest": "n1", "body": {
                "type": "echo_ok", "echo": body["echo"], "in_reply_to": body["msg_id"], "msg_id": 1}}).encode() + b"\n")
            continue
        assert body["type"] == "proxy_ok", msg
        done += 1
        for request in itertools.islice(requests, 1):
            node.send(request)


def instructions(argv, mode, n, folder):
    out_file = os.path.join(folder, "callgrind.out")
    node = Node(argv, out_file)
    drive(node, mode, n)
    node.finish()
    with open(out_file) as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
    sys.exit("callgrind wrote no summary to " + out_file)


def measure(argv, proxies, echoes):
    with tempfile.TemporaryDirectory() as folder:
        start = instructions(argv, "proxy", 0, folder)
        proxy = instructions(argv, "proxy", proxies, folder)
        echo = instructions(argv, "echo", echoes, folder)
    return {"start": start, "proxy": (proxy - start) / proxies, "echo": (echo - start) / echoes}


def command(text):
    """A node command line; a Python script is run by this interpreter, since valgrind
    would otherwise count the shell and env that its shebang goes through."""
    argv = shlex.split(text)
    return [sys.executable] + argv if argv[0].endswith(".py") else argv


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--node", default=DEFAULT_NODE, help="the node command (default: gnode.py here)")
    p.add_argument("--against", metavar="CMD", help="another node command, measured beside it")
    p.add_argument("--proxies", type=int, default=3000, help="proxy round trips (default 3000)")
    p.add_argument("--echoes", type=int, default=5000, help="echoes (default 5000)")
    cfg = p.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not on PATH (apt install valgrind)")
    nodes = [("node", cfg.node)] + ([("against", cfg.against)] if cfg.against else [])
    figures = {label: measure(command(text), cfg.proxies, cfg.echoes) for label, text in nodes}
    rows = [("instructions per proxy round trip", "proxy", "{:,.0f}"),
            ("instructions per echo, 1 outstanding", "echo", "{:,.0f}"),
            ("instructions to start and answer init", "start", "{:,.0f}")]
    if cfg.against:
        print("| figure | %s | %s | change |\n|---|---:|---:|---:|" % (cfg.against, cfg.node))
        for name, key, form in rows:
            old, new = figures["against"][key], figures["node"][key]
            print("| %s | %s | %s | %+.1f%% |" % (name, form.format(old), form.format(new), (new / old - 1) * 100))
    else:
        print("| figure | %s |\n|---|---:|" % cfg.node)
        for name, key, form in rows:
            print("| %s | %s |" % (name, form.format(figures["node"][key])))


if __name__ == "__main__":
    main()
