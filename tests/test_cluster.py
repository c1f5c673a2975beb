"""gnode_cluster with real node processes: gnode nodes whose plugins the tests write, and
stand-ins that break Maelstrom's rules on purpose."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import gnode
import gnode_cluster
from gnode_cluster import Cluster, ClusterError
from gnode_cluster import journal
from helpers import GNODE, ROOT, node_env

BROADCAST = """
from gnode import handler

seen = set()


@handler("broadcast")
def broadcast(node, msg):
    if msg.body["message"] not in seen:
        seen.add(msg.body["message"])
        for peer in node.node_ids:
            if peer != node.id:
                node.send(peer, {"type": "broadcast", "message": msg.body["message"]})
    return {"type": "broadcast_ok"}


@handler("broadcast_ok")
def acknowledged(node, msg):
    pass


@handler("read")
def read(node, msg):
    return {"type": "read_ok", "messages": sorted(seen)}


@handler("pid")
def pid(node, msg):
    import os
    return {"type": "pid_ok", "pid": os.getpid()}


@handler("kv_add")
def kv_add(node, msg):
    return {"type": "kv_add_ok", "value": node.lin_kv.update("total", lambda v: v + msg.body["delta"], default=0)}


@handler("say")
def say(node, msg):
    import sys
    sys.stderr.write("saying %s\\n" % msg.body["text"])
    node.send(msg.body["to"], {"type": "note"})
    return {"type": "say_ok"}


@handler("ignore")
def ignore(node, msg):
    pass  # never answers


@handler("fail")
def fail(node, msg):
    raise gnode.KeyDoesNotExist("nothing under %s" % msg.body["key"])


import gnode
"""


@pytest.fixture
def broadcast(plugin_dir):
    return str(plugin_dir({"broadcast.py": BROADCAST}))


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within %gs" % timeout
        time.sleep(0.02)


def read(cluster, node):
    return cluster.request(node, {"type": "read"})["messages"]


def test_three_nodes_broadcast_through_the_network_and_init_went_out_as_maelstrom_sends_it(broadcast, tmp_path):
    with Cluster(str(GNODE), node_count=3, handlers=broadcast, latency=20, log_dir=str(tmp_path)) as cluster:
        assert cluster.nodes == ["n0", "n1", "n2"]
        assert cluster.request("n0", {"type": "broadcast", "message": 1}) == {
            "type": "broadcast_ok", "in_reply_to": 1, "msg_id": 3}  # init_ok 0, then the two sends
        wait_for(lambda: read(cluster, "n2") == [1] and read(cluster, "n1") == [1])
        events = cluster.journal()
    inits = [e for e in events if e["event"] == "send" and e["body"]["type"] == "init"]
    assert [(e["from"], e["to"], e["body"]) for e in inits] == [
        ("c%d" % i, "n%d" % i, {"type": "init", "msg_id": 1, "node_id": "n%d" % i, "node_ids": ["n0", "n1", "n2"]})
        for i in range(3)]
    gossip = [e for e in events if e["from"] == "n0" and e["to"] == "n1" and e["body"]["type"] == "broadcast"]
    assert [e["event"] for e in gossip] == ["send", "delivered"] and gossip[1]["time"] - gossip[0]["time"] >= 0.02
    written = [json.loads(x) for x in journal.open_journal(tmp_path)]
    assert [(e["event"], e["id"]) for e in written] == [(e["event"], e["id"]) for e in events]
    # on disk a body is written once, with its send; read back, a delivery has it again
    assert all(("body" in e) == (e["event"] == "send") for e in written)
    assert journal.read(journal.open_journal(tmp_path)) == events and not (tmp_path / "messages.jsonl").exists()


def test_a_partition_drops_messages_at_delivery_and_heal_lets_later_ones_through(broadcast):
    with Cluster(str(GNODE), node_count=3, handlers=broadcast, latency=50) as cluster:
        cluster.partition([["n0"], ["n1", "n2"]])
        cluster.request("n0", {"type": "broadcast", "message": 7})
        cluster.request("n1", {"type": "broadcast", "message": 8})
        def dropped():
            return sorted((e["from"], e["to"]) for e in cluster.journal() if e["event"] == "dropped")
        wait_for(lambda: dropped() == [("n0", "n1"), ("n0", "n2"), ("n1", "n0"), ("n2", "n0")])  # n2 relays 8
        assert read(cluster, "n1") == [8] and read(cluster, "n2") == [8] and read(cluster, "n0") == [7]
        cluster.heal()
        cluster.request("n2", {"type": "broadcast", "message": 9})
        wait_for(lambda: read(cluster, "n0") == [7, 9])
        stats, journal = cluster.net_stats(), cluster.journal()
    between_servers = [e for e in journal if e["from"][0] != "c" and e["to"][0] != "c"]
    assert stats["servers"]["msg_count"] == sum(e["event"] == "send" for e in between_servers)
    assert stats["servers"]["recv_count"] == sum(e["event"] == "delivered" for e in between_servers)
    operations = sum(e["event"] == "send" and e["from"][0] == "c" and e["body"]["type"] != "init" for e in journal)
    assert stats["all"]["msgs_per_op"] == round(stats["all"]["msg_count"] / operations, 3)


def test_services_answer_nodes_through_the_network(broadcast):
    with Cluster(str(GNODE), node_count=2, handlers=broadcast, latency=5) as cluster:
        assert cluster.request("n0", {"type": "kv_add", "delta": 2})["value"] == 2
        assert cluster.request("n1", {"type": "kv_add", "delta": 3})["value"] == 5
        to_kv = [e for e in cluster.journal() if e["to"] == "lin-kv" and e["event"] == "delivered"]
        assert [e["body"]["type"] for e in to_kv] == ["read", "cas", "read", "cas"]


def test_a_request_raises_the_typed_error_or_a_timeout_and_a_client_is_reused_with_its_own_msg_ids(broadcast):
    with Cluster(str(GNODE), nodes=["a", "b"], handlers=broadcast) as cluster:
        with pytest.raises(gnode_cluster.KeyDoesNotExist, match="nothing under k"):
            cluster.request("a", {"type": "fail", "key": "k"})
        client = cluster.client()
        assert client.request("b", {"type": "read"})["in_reply_to"] == 1
        assert client.request("b", {"type": "read"})["in_reply_to"] == 2
        with pytest.raises(gnode_cluster.RPCTimeout):
            client.request("a", {"type": "ignore"}, timeout=0.2)
        with pytest.raises(ValueError, match="is closed"):
            client.request("a", {"type": "read"})
        with pytest.raises(ValueError, match="'z' is not a node of this cluster"):
            cluster.request("z", {"type": "read"})


def stand_in(tmp_path, script):
    """A node in plain Python that answers init, then does what ``script`` says."""
    path = tmp_path / "stand_in.py"
    path.write_text("#!%s\n" % sys.executable + textwrap.dedent("""
        import json, sys, time
        def send(src, dest, body):
            sys.stdout.write(json.dumps({"src": src, "dest": dest, "body": body}) + "\\n")
            sys.stdout.flush()
        init = json.loads(sys.stdin.readline())
        me = init["body"]["node_id"]
        send(me, init["src"], {"type": "init_ok", "in_reply_to": 1})
    """) + textwrap.dedent(script))
    path.chmod(0o755)
    return str(path)


def test_a_node_that_writes_a_line_maelstrom_rejects_is_named_with_the_line_and_its_stderr(tmp_path):
    node = stand_in(tmp_path, """
        sys.stderr.write("about to misbehave\\n"); sys.stderr.flush()
        for line in sys.stdin:
            request = json.loads(line)
            if me == "n1":
                sys.stdout.write(json.dumps({"src": me, "dest": "n7", "body": {"type": "lost"}}) + "\\n")
                sys.stdout.flush()
    """)
    with pytest.raises(ClusterError) as failure:
        with Cluster(node, node_count=2) as cluster:
            with pytest.raises(ClusterError):
                cluster.request("n1", {"type": "hello"})
    text = str(failure.value)
    assert "node n1 wrote a line Maelstrom rejects (invalid dest 'n7': not a node of this test" in text
    assert '{"src": "n1", "dest": "n7", "body": {"type": "lost"}}' in text and "about to misbehave" in text


@pytest.mark.parametrize("line,problem", [
    ("not json", "not well-formed JSON"),
    ("", "not well-formed JSON"),
    ('{"src": "n0", "dest": "c0", "body": {"type": "x"}, "extra": 1}', "a message has exactly src, dest and body"),
    ('{"src": "n0", "dest": "c0", "body": [1]}', "body must be a JSON object"),
    ('{"src": "n0", "dest": "c0", "body": {}, "id": "7"}', "id must be an integer"),
])
def test_every_kind_of_line_maelstrom_rejects_fails_the_run(tmp_path, line, problem):
    node = stand_in(tmp_path, """
        sys.stdout.write(%r + "\\n"); sys.stdout.flush()
        sys.stdin.read()
    """ % line)
    with pytest.raises(ClusterError, match="node n0 wrote a line Maelstrom rejects \\(%s" % problem):
        with Cluster(node, node_count=1) as cluster:
            wait_for(lambda: cluster.failed)


def test_a_node_that_exits_is_named_with_its_status(tmp_path):
    node = stand_in(tmp_path, """
        sys.stderr.write("giving up\\n")
        sys.exit(3)
    """)
    with pytest.raises(ClusterError, match="(?s)node n0 exited with status 3 before the end of the test.*giving up"):
        with Cluster(node, node_count=1) as cluster:
            wait_for(lambda: cluster.failed)


def test_a_node_that_never_answers_init_fails_the_start_and_is_ended(tmp_path, monkeypatch):
    monkeypatch.setattr("gnode_cluster.cluster.INIT_TIMEOUT", 0.5)
    node = stand_in(tmp_path, "")  # replaced below: reads init, says nothing
    open(node, "w").write("#!%s\nimport sys, time\nsys.stdin.readline()\ntime.sleep(60)\n" % sys.executable)
    cluster = Cluster(node, node_count=1)
    with pytest.raises(ClusterError, match="node n0 did not answer init within 0.5s"):
        cluster.start()
    assert all(p.process.poll() is not None for p in cluster._processes.values()) or not cluster._processes


def test_no_process_outlives_a_test_that_raised(broadcast):
    pids = []
    with pytest.raises(RuntimeError, match="the test failed"):
        with Cluster(str(GNODE), node_count=3, handlers=broadcast) as cluster:
            pids = [cluster.request(n, {"type": "pid"})["pid"] for n in cluster.nodes]
            raise RuntimeError("the test failed")
    assert len(pids) == 3
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_each_nodes_stderr_goes_to_its_own_log(broadcast, tmp_path):
    with Cluster(str(GNODE), node_count=2, handlers=broadcast, log_dir=str(tmp_path)) as cluster:
        cluster.request("n1", {"type": "say", "text": "hello from n1", "to": "n0"})
        wait_for(lambda: "saying hello from n1" in cluster.log("n1"))
        assert "saying" not in cluster.log("n0")
    assert sorted(os.listdir(tmp_path / "node-logs")) == ["n0.log", "n1.log"]


SLOW_READ = """
import gevent
from gnode import handler


@handler("read")
def read(node, msg):
    gevent.sleep(0.3)  # the client has given up by then, however loaded the machine
    return {"type": "read_ok", "messages": []}
"""


def test_a_late_answer_to_a_client_that_timed_out_fails_the_run_as_under_maelstrom(plugin_dir):
    with pytest.raises(ClusterError, match="node a wrote a line Maelstrom rejects \\(invalid dest 'c1'"):
        with Cluster(str(GNODE), nodes=["a"], handlers=str(plugin_dir({"slow.py": SLOW_READ}))) as cluster:
            with pytest.raises(gnode_cluster.RPCTimeout):
                cluster.request("a", {"type": "read"}, timeout=0.05)  # closed before the answer comes
            wait_for(lambda: cluster.failed)


def test_the_docs_example_runs_as_printed_in_a_users_project(tmp_path):
    readme = (ROOT / "docs" / "cluster.md").read_text()
    example = readme[readme.index("# tests/test_my_broadcast.py"):]
    example = example[:example.index("```")]
    (tmp_path / "handlers").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "handlers" / "broadcast.py").write_text((ROOT / "tests" / "cluster_handlers" / "broadcast.py").read_text())
    (tmp_path / "tests" / "test_my_broadcast.py").write_text(example)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"], cwd=tmp_path,
                          capture_output=True, timeout=60, env=node_env())
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert "1 passed" in done.stdout.decode() and "'msgs_per_op'" in done.stdout.decode()
