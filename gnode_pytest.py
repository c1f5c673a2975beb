"""Scripted JSON fixture tests for Maelstrom nodes, collected by pytest.

Every ``*.json`` file under a folder named ``fixtures`` (or named on the command
line) holds cases; each case becomes one test item that runs the real node as a
process on pipes, the way Maelstrom runs it, plays the other side of the
conversation, and compares what the node writes on stdout. Every line the node
writes must also be a message Maelstrom would accept. The file format is in
docs/fixtures.md.

The node run is gnode.py beside this file, unless ``--gnode-node "CMD"`` names
another executable: any Maelstrom node, in any language, can be tested this way.
"""
import json
import os
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from gnode_cluster.protocol import SERVICES, body_problem, envelope_problem
FILE_KEYS = {"description", "source", "handlers", "args", "env", "cases"}
CASE_KEYS = {"name", "timeout_ms", "handlers", "args", "env", "exact", "input", "expected",
             "steps", "stderr", "exit_code"}
CLUSTER_CASE_KEYS = {"name", "timeout_ms", "handlers", "args", "env", "steps", "stderr", "nodes", "node_count",
                     "latency", "latency_dist"}
STEP_KINDS = {"send", "expect", "quiet_ms", "close"}
CLUSTER_STEP_KINDS = {"send", "expect", "expect_all", "eventually", "partition", "isolate", "heal", "quiet_ms"}
NOTHING = "(nothing)"


def pytest_addoption(parser):
    parser.addoption("--gnode-node", metavar="CMD",
                     help="the node command fixture tests run (default: python gnode.py)")


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".json" and (
            "fixtures" in file_path.parent.parts or parent.session.isinitpath(file_path)):
        return FixtureFile.from_parent(parent, path=file_path)
    return None


class FixtureError(Exception):
    """A fixture file that is not in the fixture format."""


class FixtureFile(pytest.File):
    def collect(self):
        try:
            spec = json.loads(self.path.read_text(encoding="utf-8"))
            cases = _check_file(spec)
        except (ValueError, FixtureError) as e:
            raise self.CollectError("%s is not a fixture file: %s" % (self.path, e)) from None
        defaults = {key: spec[key] for key in ("handlers", "args", "env") if key in spec}
        for case in cases:
            yield FixtureItem.from_parent(self, name=case["name"], case={**defaults, **case})


def _check_file(spec):
    if not isinstance(spec, dict) or not isinstance(spec.get("cases"), list) or not spec["cases"]:
        raise FixtureError('it needs an object with a non-empty "cases" list')
    _no_unknown_keys(spec, FILE_KEYS, "the file")
    _check_node_settings(spec, "the file")
    names = set()
    for index, case in enumerate(spec["cases"]):
        where = "case %d" % (index + 1)
        if not isinstance(case, dict) or not isinstance(case.get("name"), str) or not case["name"]:
            raise FixtureError("%s needs a \"name\"" % where)
        where = "case %r" % case["name"]
        if case["name"] in names:
            raise FixtureError("two cases are named %r" % case["name"])
        names.add(case["name"])
        if "nodes" in case or "node_count" in case:
            _check_cluster_case(case, where)
            continue
        _no_unknown_keys(case, CASE_KEYS, where)
        _check_node_settings(case, where)
        if ("steps" in case) == ("input" in case or "expected" in case):
            raise FixtureError('%s needs either "input" and "expected", or "steps"' % where)
        if "steps" in case:
            for number, step in enumerate(case["steps"], 1):
                if not isinstance(step, dict) or len(step) != 1 or next(iter(step)) not in STEP_KINDS:
                    raise FixtureError("%s step %d must be one of %s"
                                       % (where, number, ", ".join('{"%s": ...}' % k for k in sorted(STEP_KINDS))))
        elif not isinstance(case.get("input"), list) or not isinstance(case.get("expected"), list):
            raise FixtureError('%s: "input" and "expected" must be lists of lines' % where)
    return spec["cases"]


def _check_cluster_case(case, where):
    """A case on several nodes (gnode_cluster): its keys, and each step's shape."""
    _no_unknown_keys(case, CLUSTER_CASE_KEYS, where)
    _check_node_settings(case, where)
    if not isinstance(case.get("steps"), list) or not case["steps"]:
        raise FixtureError('%s: a case on several nodes needs "steps"' % where)
    for number, step in enumerate(case["steps"], 1):
        if not isinstance(step, dict) or len(step) != 1 or next(iter(step)) not in CLUSTER_STEP_KINDS:
            raise FixtureError("%s step %d must be one of %s" % (
                where, number, ", ".join('{"%s": ...}' % k for k in sorted(CLUSTER_STEP_KINDS))))
        (kind, value), = step.items()
        if kind == "eventually" and (not isinstance(value, dict) or set(value) != {"send", "expect"}):
            raise FixtureError('%s step %d: "eventually" takes {"send": ..., "expect": ...}' % (where, number))
        requests = [value] if kind == "send" else [value["send"]] if kind == "eventually" else []
        answers = [value] if kind == "expect" else value if kind == "expect_all" else \
            [value["expect"]] if kind == "eventually" else []
        for message in requests + answers:
            if not isinstance(message, dict) or not isinstance(message.get("body"), dict) or \
                    not isinstance(message.get("dest" if message in requests else "src"), str):
                raise FixtureError('%s step %d: a request is {"dest": NODE, "body": {...}}, an answer '
                                   '{"src": NODE, "body": {...}}' % (where, number))


def _check_node_settings(obj, where):
    """``handlers``, ``args`` and ``env`` become a command line and an environment, which
    take strings only: say so here rather than let subprocess fail on a number."""
    handlers = obj.get("handlers", [])
    if not isinstance(handlers, str) and not _strings(handlers):
        raise FixtureError('%s: "handlers" must be a folder or a list of folders (strings)' % where)
    args = obj.get("args", [])
    if not _strings(args):
        raise FixtureError('%s: "args" must be a list of strings, not %s' % (where, json.dumps(args)))
    env = obj.get("env", {})
    if not isinstance(env, dict):
        raise FixtureError('%s: "env" must be an object of strings' % where)
    for key, value in env.items():
        if not isinstance(value, str):
            raise FixtureError('%s: env key %s must have a string value, not %s (environment '
                               'variables are strings: write "0.3", not 0.3)' % (where, json.dumps(key), json.dumps(value)))


def _strings(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _no_unknown_keys(obj, known, where):
    unknown = sorted(set(obj) - known)
    if unknown:
        raise FixtureError("%s has unknown key(s) %s (known: %s)" % (where, unknown, sorted(known)))


class CaseFailed(Exception):
    """What a failing case shows: why, the expected and actual lines, the node's stderr."""

    def __init__(self, why, rows, stderr):
        super().__init__(why)  # for str(e) only: pytest shows repr_failure, which reads .why (equivalent mutant)
        self.why, self.rows, self.stderr = why, rows, stderr


class FixtureItem(pytest.Item):
    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case

    def runtest(self):
        command, is_gnode = _node_command(self.config)
        args = list(self.case.get("args", []))
        handlers = self.case.get("handlers")
        if handlers is not None:
            if not is_gnode:
                pytest.skip("the case needs a handlers folder, which only gnode's own node takes, "
                            "and --gnode-node runs another executable")
            for folder in [handlers] if isinstance(handlers, str) else handlers:
                resolved = (self.path.parent / folder).resolve()
                if not resolved.is_dir():
                    pytest.fail("fixture case %r in %s: its handlers folder %s does not exist"
                                % (self.case["name"], self.path, resolved), pytrace=False)
                args += ["--handlers", str(resolved)]
        if "nodes" in self.case or "node_count" in self.case:
            run_cluster_case(self.case, command + args)
        else:
            run_case(self.case, command + args)

    def repr_failure(self, excinfo, style=None):
        if not isinstance(excinfo.value, CaseFailed):
            return super().repr_failure(excinfo)
        failed = excinfo.value
        out = ["fixture case %r failed: %s" % (self.case["name"], failed.why), ""]
        for mark, expected, actual in failed.rows:
            out.append("%2s expected: %s" % (mark, expected))
            if mark != "ok":
                out.append("     actual: %s" % actual)
        if isinstance(failed.stderr, dict):  # a case on several nodes: each node's, the silent ones together
            silent = [node for node, lines in failed.stderr.items() if not lines]
            for node, lines in failed.stderr.items():
                if lines:
                    out += _stderr_tail(lines, "node %s stderr" % node)
            if silent:
                out += ["", "%s %s stderr: (empty)" % ("node" if len(silent) == 1 else "nodes", ", ".join(silent))]
        else:
            out += _stderr_tail(failed.stderr, "node stderr")
        return "\n".join(out)

    def reportinfo(self):
        return self.path, None, "fixture %s" % self.name


def _stderr_tail(lines, title):
    tail = lines[-20:]
    if not tail:
        return ["", title + ": (empty)"]
    return ["", "%s (last %d of %d lines):" % (title, len(tail), len(lines))] + ["  " + line for line in tail]


def _node_command(config):
    """The node's command, and whether it is gnode's own (which alone takes ``--handlers``)."""
    given = config.getoption("--gnode-node")
    if given:
        return shlex.split(given), False
    return [sys.executable, str(Path(__file__).resolve().with_name("gnode.py"))], True


# ---------------------------------------------------------------- running a case

class NodeUnderTest:
    """The node under test on three pipes, with stdout lines and stderr collected by threads."""

    def __init__(self, command, cwd, env):
        self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()  # stdout lines as bytes, then None at end of output
        self.output_ended = False
        self.input_closed = False
        self.stderr = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line.decode("utf-8", "replace").rstrip("\n"))

    def send(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the node is gone; what it wrote before tells the story

    def close(self):
        self.input_closed = True
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def next_line(self, timeout):
        """The next stdout line (bytes), or None at the end of output or after ``timeout`` seconds."""
        if self.output_ended:
            return None
        try:
            line = self.lines.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        self.output_ended = line is None
        return line

    def finish(self, timeout):
        """Wait for the exit; return its status, or None if the node had to be killed."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self._stderr_reader.join(2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()  # now, not when collected: a long run of cases would hold many pipes open
            except OSError:
                pass


def run_case(case, command):
    """Run one fixture case against a fresh node process started with ``command`` (the
    case's arguments included); raise CaseFailed on any difference."""
    timeout = case.get("timeout_ms", 5000) / 1000
    exact = case.get("exact", False)
    # A case says all it depends on: the caller's GNODE_ settings do not leak into it.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GNODE_")}
    env.update(case.get("env", {}))
    node = NodeUnderTest(command, tempfile.gettempdir(), env)
    conversation = Conversation(exact)
    try:
        if "steps" in case:
            steps = case["steps"]
        else:
            steps = [{"send": line} for line in case["input"]] + [{"close": True}] \
                + [{"expect": line} for line in case["expected"]]
        for step in steps:
            (kind, value), = step.items()
            if kind == "send":
                node.send(conversation.sent(value))
            elif kind == "close":
                _check_still_running(node, conversation)
                node.close()
            elif kind == "expect":
                conversation.expect(value, node.next_line(timeout))
                if conversation.problems:  # a wrong answer or none: the rest cannot put it right
                    status = node.proc.poll()
                    if status is not None and (not node.input_closed or status != case.get("exit_code", 0)):
                        conversation.fail("the node exited with status %d" % status)
                    break
            elif kind == "quiet_ms":
                deadline = time.monotonic() + value / 1000
                line = node.next_line(value / 1000)  # any line up to the deadline: the sleep below makes up the rest
                if line is not None:
                    conversation.unexpected(line, "during %d ms of expected quiet" % value)
                time.sleep(max(0, deadline - time.monotonic()))
        if not conversation.problems:
            _finish_conversation(node, conversation, case, timeout)
    finally:
        node.stop()
    if conversation.problems:
        raise CaseFailed("; ".join(conversation.problems), conversation.rows, node.stderr)


def _finish_conversation(node, conversation, case, timeout):
    """After the last step: no more output, an exit with the status expected, the stderr asked for."""
    if not node.input_closed:
        _check_still_running(node, conversation)
    node.close()
    deadline = time.monotonic() + timeout
    while True:
        line = node.next_line(deadline - time.monotonic())
        if line is None:
            break
        conversation.unexpected(line, "after the last expected line")
    status = node.finish(max(deadline - time.monotonic(), 0.1))  # a moment at least (0.07 would do as well)
    if status is None:
        conversation.fail("the node did not exit within %d ms of its input closing" % (timeout * 1000))
    elif status != case.get("exit_code", 0):
        conversation.fail("the node exited with status %d, not %d" % (status, case.get("exit_code", 0)))
    for needle in case.get("stderr", []):
        if not any(needle in line for line in node.stderr):
            conversation.fail("stderr never said %r" % needle)


def _check_still_running(node, conversation):
    if node.output_ended or node.proc.poll() is not None:
        conversation.fail("the node exited before its input closed: under Maelstrom any exit "
                          "fails the whole test")


class Conversation:
    """What was sent and seen: checks each output line against the expected one and against
    what Maelstrom accepts, and keeps the rows a failure report shows."""

    def __init__(self, exact):
        self.exact = exact
        self.rows = []  # (mark, expected, actual)
        self.problems = []
        self.node_id = None
        self.destinations = set(SERVICES)

    def sent(self, line):
        """The bytes to write for a step's line, noting who the node may now answer."""
        text = line if isinstance(line, str) else json.dumps(line)
        try:
            message = json.loads(text)
            self.destinations.add(message["src"])
            if message["body"]["type"] == "init":
                self.node_id = message["body"]["node_id"]
                self.destinations.update(message["body"]["node_ids"])
        except (ValueError, KeyError, TypeError):
            pass  # malformed on purpose: the node must cope
        return text.encode("utf-8", "surrogateescape") + b"\n"

    def expect(self, expected, raw):
        expected_text = expected if isinstance(expected, str) else json.dumps(expected)
        if raw is None:
            self._row("!!", expected_text, NOTHING, "expected a line, got none")
            return
        actual_text = raw.decode("utf-8", "replace").rstrip("\n")
        problem = maelstrom_problem(raw, self.node_id, self.destinations)
        if self.exact and isinstance(expected, str):
            same = actual_text == expected_text
        else:
            try:
                same = strict_equal(json.loads(expected_text), json.loads(actual_text))
            except ValueError:
                same = False
        if problem:
            self._row("!!", expected_text, actual_text, "Maelstrom would reject a line: " + problem)
        elif not same:
            self._row("!!", expected_text, actual_text, "line %d differs" % (len(self.rows) + 1))
        else:
            self._row("ok", expected_text, actual_text, None)

    def unexpected(self, raw, when):
        self._row("!!", NOTHING, raw.decode("utf-8", "replace").rstrip("\n"), "unexpected output " + when)

    def fail(self, why):
        self.problems.append(why)

    def _row(self, mark, expected, actual, problem):
        self.rows.append((mark, expected, actual))
        if problem:
            self.problems.append(problem)


def maelstrom_problem(raw, node_id=None, destinations=None):
    """Why Maelstrom would refuse this stdout line (and stop reading the node), or None.
    Stricter than Maelstrom in two ways that only a bug explains: ``src`` must be the
    node's own id, and a body must keep the reserved keys' types, as clients require."""
    if not raw.endswith(b"\n"):
        return "no newline at the end of output"
    problem, message = envelope_problem(raw[:-1])
    if problem:
        return problem
    src, dest = message["src"], message["dest"]
    if node_id is not None and src != node_id:
        return "src %r is not the node id %r from init" % (src, node_id)
    if destinations is not None and dest not in destinations:
        return "dest %r is neither a node, a service nor anyone who wrote to the node" % dest
    return body_problem(message["body"])


def strict_equal(a, b):
    """JSON equality that, like Maelstrom, tells 1 from 1.0 and from true."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return a == b


# ---------------------------------------------------------------- cases on several nodes

def run_cluster_case(case, command):
    """Run a case on several nodes with gnode_cluster: node-to-node and service traffic is
    routed by the cluster; the steps are the clients' side. Raise CaseFailed on any difference."""
    from gnode_cluster import Cluster, ClusterError

    timeout = case.get("timeout_ms", 5000) / 1000
    env = {key: value for key, value in os.environ.items() if not key.startswith("GNODE_")}
    env.update(case.get("env", {}))
    rows, problems = [], []
    cluster = Cluster(command[0], node_count=case.get("node_count"), nodes=case.get("nodes"), args=command[1:],
                      env=env, inherit_env=False, canonical=False, latency=case.get("latency", 0),
                      latency_dist=case.get("latency_dist", "constant"))
    try:
        cluster.start()
        steps = _ClusterSteps(cluster, timeout, rows, problems)
        for step in case["steps"]:
            (kind, value), = step.items()
            getattr(steps, kind)(value)
            if problems:
                break
        cluster.check()
    except ClusterError as e:
        problems.append(str(e))
    finally:
        cluster.stop()
    logs = {node: cluster.log(node).splitlines() for node in cluster.nodes}
    for needle in case.get("stderr", []):
        if not any(needle in line for lines in logs.values() for line in lines):
            problems.append("no node's stderr said %r" % needle)
    if problems:
        raise CaseFailed("; ".join(problems), rows, logs)


class _ClusterSteps:
    """What each step of a case on several nodes does. Each ``send`` is a request of a fresh
    client; an ``expect`` is met by an answer to any request still waiting, from that node."""

    def __init__(self, cluster, timeout, rows, problems):
        self.cluster = cluster
        self.timeout = timeout
        self.rows = rows
        self.problems = problems
        self.waiting = []  # (node, Future) of requests not yet matched by an expect

    def send(self, request):
        self.waiting.append((request["dest"], self.cluster.client().send(request["dest"], request["body"])))

    def expect(self, answer):
        self.expect_all([answer])

    def expect_all(self, answers):
        """Every one of ``answers``, in any order, each from an answer still waiting."""
        deadline = time.monotonic() + self.timeout
        for expected in sorted(answers, key=lambda a: json.dumps(a, sort_keys=True)):
            found = self._take(expected, deadline)
            if found is None:
                seen = [json.dumps({"src": node, "body": f.result()}) for node, f in self.waiting if f.done()]
                pending = any(not f.done() for _, f in self.waiting)
                self._row("!!", expected, " or ".join(seen) or NOTHING, "no answer from %s matched %s" % (
                    expected["src"], "within %d ms" % (self.timeout * 1000) if pending else
                    "(every request had its answer)"))
                return

    def eventually(self, value):
        """Send, and again, until an answer matches: for a state that converges."""
        deadline = time.monotonic() + self.timeout
        last = NOTHING
        while time.monotonic() < deadline:
            node = value["send"]["dest"]
            answer = self.cluster.client().send(node, value["send"]["body"])
            try:
                body = self.cluster.wait(answer, max(0.0, deadline - time.monotonic()))
            except Exception:  # a timeout: try again while time is left
                continue
            last = json.dumps({"src": node, "body": body})
            if _answer_matches(value["expect"], node, body):
                self._row("ok", value["expect"], last, None)
                return
            time.sleep(0.02)
        self._row("!!", value["expect"], last, "never answered as expected within %d ms" % (self.timeout * 1000))

    def partition(self, groups):
        self.cluster.partition(groups)

    def isolate(self, node):
        self.cluster.isolate(node)

    def heal(self, _):
        self.cluster.heal()

    def quiet_ms(self, ms):
        time.sleep(ms / 1000)
        for node, answer in self.waiting:
            if answer.done():
                self._row("!!", NOTHING, json.dumps({"src": node, "body": answer.result()}),
                          "an answer came during %d ms of expected quiet" % ms)
                return

    def _take(self, expected, deadline):
        while True:
            for index, (node, answer) in enumerate(self.waiting):
                if answer.done() and _answer_matches(expected, node, answer.result()):
                    del self.waiting[index]
                    self._row("ok", expected, json.dumps({"src": node, "body": answer.result()}), None)
                    return answer
            if time.monotonic() >= deadline or all(answer.done() for _, answer in self.waiting):
                return None  # out of time, or no answer is left to come: a wrong one fails at once
            self.cluster.check()
            time.sleep(0.01)

    def _row(self, mark, expected, actual, problem):
        self.rows.append((mark, expected if isinstance(expected, str) else json.dumps(expected), actual))
        if problem:
            self.problems.append(problem)


def _answer_matches(expected, node, body):
    """An answer matches when it comes from the expected node and its body is the expected
    one: types count, as everywhere; in_reply_to and msg_id are compared only if given."""
    if expected["src"] != node:
        return False
    body = {key: value for key, value in body.items()
            if key not in ("in_reply_to", "msg_id") or key in expected["body"]}
    return strict_equal(expected["body"], body)
