"""gnode-cluster test: Maelstrom's command line, its results and verdicts, with gnode nodes
and with nodes broken on purpose (tests/broken_nodes/, plain Python without gnode)."""
import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

from gnode_cluster import run_test
from gnode_cluster.journal import open_journal
from helpers import GNODE, ROOT, node_env

BROKEN = ROOT / "tests" / "broken_nodes"


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gnode_cluster", *args], cwd=cwd, capture_output=True,
                          timeout=120, env=node_env())


def test_echo_on_the_command_line_is_valid_and_its_results_land_in_the_store_as_maelstroms(tmp_path):
    done = cli("test", "-w", "echo", "--bin", str(GNODE), "--time-limit", "2", "--rate", "20", cwd=tmp_path)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    out = done.stdout.decode()
    assert "echo: valid" in out and "msgs-per-op: all" in out
    latest = tmp_path / "store" / "latest"
    assert latest.is_symlink() and os.readlink(latest).startswith("echo" + os.sep)
    assert sorted(os.listdir(latest)) == ["history.jsonl", "index.html", "messages.jsonl.gz", "node-logs",
                                          "plotly-%s.min.js" % importlib.metadata.version("plotly"), "results.json"]
    assert sorted(os.listdir(latest / "node-logs")) == ["n%d.log" % i for i in range(1, 6)]  # Maelstrom's default
    results = json.loads((latest / "results.json").read_text())
    assert results["valid"] is True and results["workload"]["valid"] is True and results["stats"]["valid"] is True
    assert results["net"]["all"]["msgs_per_op"] > 0 and "msgs_per_op" in results["net"]["servers"]
    history = [json.loads(line) for line in open(latest / "history.jsonl")]
    invokes = [e for e in history if e["type"] == "invoke"]
    assert len(invokes) > 10 and len(invokes) == sum(e["type"] == "ok" for e in history)
    assert {e["process"] % 5 for e in invokes} <= set(range(5))  # concurrency 1n: one worker per node


def test_bad_arguments_exit_254(tmp_path):
    assert cli("test", "-w", "echo", "--bin", str(GNODE), "--no-such-flag", cwd=tmp_path).returncode == 254
    for flag, value, says in [("--concurrency", "lots", b"--concurrency: a number"),
                              ("--time-limit", "1.5", b"--time-limit: a whole number"),
                              ("--rate", "-1", b"--rate: at least 0"),
                              ("--availability", "2", b"--availability: total, or a fraction"),
                              ("--nemesis", "kill", b"--nemesis: unknown kill"),
                              ("-w", "nope", b"-w: one of echo, unique-ids")]:
        done = cli("test", "-w", "echo", "--bin", str(GNODE), flag, value, cwd=tmp_path)
        assert done.returncode == 254 and says in done.stderr, (flag, done.stderr)
        assert not (tmp_path / "store").exists()  # refused before anything ran
    assert cli("test", "-w", "echo", cwd=tmp_path).returncode == 254  # --bin is required


def test_an_echo_that_comes_back_changed_is_invalid_saying_which(tmp_path):
    done = cli("test", "-w", "echo", "--bin", str(BROKEN / "echo_wrong.py"), "--node-count", "1",
               "--time-limit", "2", "--rate", "10", cwd=tmp_path)
    assert done.returncode == 1, done.stdout.decode() + done.stderr.decode()
    assert "echo: INVALID" in done.stdout.decode()
    assert "did not come back as sent; the first: expected 'Please echo" in done.stdout.decode()


def test_a_reply_with_an_extra_key_is_a_failure_as_under_maelstrom(tmp_path):
    result = run_test("echo", str(BROKEN / "echo_extra_key.py"), node_count=1, time_limit=1, rate=10,
                      store=str(tmp_path / "store"))
    assert result.valid is False
    assert any("disallowed key(s) served_by" in error for error in result.results["exceptions"])
    assert result.results["operations"]["echo"]["ok"] == 0
    assert result.results["stats"]["valid"] is False  # no echo ever ended ok


def test_on_progress_is_told_where_the_main_phase_is(tmp_path):
    seen = []
    result = run_test("echo", str(GNODE), node_count=1, time_limit=2, rate=20, store=str(tmp_path), on_progress=seen.append)
    assert result.valid is True and len(seen) >= 2
    assert all(set(p) == {"elapsed", "time_limit", "ok", "fail", "info", "messages"} for p in seen)
    assert [p["elapsed"] for p in seen] == sorted(p["elapsed"] for p in seen) and seen[-1]["time_limit"] == 2
    assert 0 < seen[-1]["ok"] <= result.results["operations"]["echo"]["ok"] and seen[-1]["messages"] > 0


def test_on_a_terminal_the_command_line_shows_one_progress_line_on_stderr(tmp_path):
    import pty
    leader, follower = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "gnode_cluster", "test", "-w", "echo", "--bin", str(GNODE),
                           "--node-count", "1", "--time-limit", "2", "--rate", "20"], cwd=tmp_path,
                          stdout=subprocess.PIPE, stderr=follower, timeout=120, env=node_env())
    os.close(follower)
    shown = b""
    try:
        while True:
            shown += os.read(leader, 65536)
    except OSError:  # the terminal's other end is closed: all read
        pass
    os.close(leader)
    assert done.returncode == 0 and b"echo: valid" in done.stdout and b"\r" not in done.stdout
    assert shown.count(b"\r") >= 2 and b"/2 s  ok " in shown and b"msgs/s" in shown and shown.endswith(b"\n")


def test_options_are_maelstroms_and_wrong_ones_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown option"):
        run_test("echo", str(GNODE), time_limt=1)
    with pytest.raises(ValueError, match="--nemesis: unknown kill: each is one of partition"):
        run_test("echo", str(GNODE), nemesis="kill", store=str(tmp_path))
    with pytest.raises(ValueError, match="-w: one of echo, .* not 'gossip'"):
        run_test("gossip", str(GNODE), store=str(tmp_path))


def test_the_nemesis_partitions_and_heals_and_is_in_the_history(tmp_path):
    result = run_test("echo", str(GNODE), node_count=3, time_limit=2, rate=10, nemesis="partition",
                      nemesis_interval=0.2, store=str(tmp_path / "store"), seed=4)
    assert result.valid is True
    history = [json.loads(line) for line in open(os.path.join(result.path, "history.jsonl"))]
    nemesis = [e["f"] for e in history if e["process"] == "nemesis"]
    assert len(nemesis) >= 3 and nemesis[:2] == ["start-partition", "stop-partition"]
    dropped = [json.loads(line) for line in open_journal(result.path)]
    assert all(e["event"] != "dropped" for e in dropped)  # echo nodes never talk to each other


def test_a_seed_repeats_the_nemesis_whatever_order_the_workers_ran_in(tmp_path):
    def partitions(seed):
        result = run_test("echo", str(GNODE), node_count=5, time_limit=2, rate=300, concurrency=10,
                          nemesis="partition", nemesis_interval=0.1, store=str(tmp_path / "store"), seed=seed)
        history = [json.loads(line) for line in open(os.path.join(result.path, "history.jsonl"))]
        return [e["value"] for e in history if e["process"] == "nemesis"][:6]
    first = partitions(5)
    assert len(first) == 6 and partitions(5) == first and partitions(6) != first


def test_log_stderr_copies_each_nodes_stderr_named(tmp_path):
    done = cli("test", "-w", "echo", "--bin", str(GNODE), "--node-count", "2", "--time-limit", "1", "--log-stderr",
               "--", "--log-level", "debug", "--trace", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode()
    assert "n0: " in err and "n1: " in err and "gnode.trace: in " in err


def test_every_command_of_the_readme_section_runs_as_printed_and_says_what_it_says():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A first multi-node test"):]
    block = section[section.index("```sh\n") + 6:]
    commands = [line for line in block[:block.index("```")].splitlines() if line.strip()]
    assert len(commands) == 6
    expected = [(0, "echo: valid"), (1, "unique-ids: INVALID"), (1, "broadcast: INVALID"), (1, "g-counter: INVALID"),
                (1, "lin-kv: INVALID"), (1, "lin-kv: INVALID")]
    for command, (status, words) in zip(commands, expected):
        argv = command.split()
        assert argv[0] == "gnode-cluster"
        done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "gnode-cluster"), *argv[1:]],
                              cwd=ROOT, capture_output=True, timeout=120, env=node_env())
        assert (done.returncode, words) == (status, words) and words in done.stdout.decode(), \
            command + "\n" + done.stdout.decode() + done.stderr.decode()


def test_a_node_that_exits_crashes_the_test_with_status_255_and_says_so(tmp_path):
    node = tmp_path / "exits.py"
    node.write_text("#!%s\nimport json, sys\nline = json.loads(sys.stdin.readline())\n"
                    "print(json.dumps({'src': line['body']['node_id'], 'dest': line['src'], 'body': "
                    "{'type': 'init_ok', 'in_reply_to': 1}}), flush=True)\nsys.stderr.write('bye\\n')\n" % sys.executable)
    node.chmod(0o755)
    done = cli("test", "-w", "echo", "--bin", str(node), "--node-count", "1", "--time-limit", "2", cwd=tmp_path)
    assert done.returncode == 255, done.stdout.decode() + done.stderr.decode()
    out = done.stdout.decode()
    assert "echo: CRASHED" in out and "the test crashed: node n0 exited with status 0" in out


def test_the_docs_python_example_runs_as_printed(tmp_path):
    docs = (ROOT / "docs" / "testing.md").read_text()
    section = docs[docs.index("**From Python**"):]
    example = section[section.index("```python\n") + len("```python\n"):]
    example = example[:example.index("```")]
    (tmp_path / "gnode.py").symlink_to(GNODE)  # its "./gnode.py", run from a folder of the user's
    done = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, timeout=60,
                          env=node_env())
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    msgs_per_op, path = done.stdout.decode().split()
    assert float(msgs_per_op) > 0 and (tmp_path / path / "results.json").exists()


# lin-kv and kafka: right nodes valid, each broken one invalid for its own reason

def lin_kv_test(tmp_path, mode, **options):
    return run_test("lin-kv", str(BROKEN / "lin_kv.py"), args=[mode], node_count=3, concurrency="2n", time_limit=4,
                    rate=60, final_wait=0.5, seed=3, store=str(tmp_path / "store"), **options)


def test_lin_kv_through_the_service_is_linearizable_even_under_partitions(tmp_path):
    result = lin_kv_test(tmp_path, "proxy", nemesis="partition", nemesis_interval=1)
    assert result.valid is True, result.results["why"]
    assert result.results["workload"]["by_f"]["write"]["ok"] > 20  # a verdict on real work


def test_lin_kv_with_a_dict_per_node_is_invalid_naming_the_stale_read(tmp_path):
    result = lin_kv_test(tmp_path, "dict-per-node")
    assert result.valid is False
    assert "is not linearizable" in result.results["why"][0] and "cannot be linearized" in result.results["why"][0]
    op = result.results["workload"]["failure"]["op"]  # the report highlights it
    assert result.results["workload"]["implicated"] == [{"process": op["process"], "time": op["time"]}]


def test_lin_kv_that_acknowledges_writes_before_they_are_kept_is_invalid_only_under_partitions(tmp_path):
    assert lin_kv_test(tmp_path, "loses-writes").valid is True  # no partition: the forward always arrives
    result = lin_kv_test(tmp_path, "loses-writes", nemesis="partition", nemesis_interval=1)
    assert result.valid is False and "cannot be linearized" in result.results["why"][0]


@pytest.mark.parametrize("mode, anomaly", [("log", None), ("duplicate-offset", "inconsistent-offsets"),
                                           ("unpolled", "lost-write"), ("backwards", "nonmonotonic-poll")])
def test_kafka_nodes_are_judged_by_jepsens_checker_each_for_its_own_fault(tmp_path, mode, anomaly):
    done = cli("test", "-w", "kafka", "--bin", str(BROKEN / "kafka.py"), "--node-count", "1", "--concurrency", "2",
               "--time-limit", "3", "--rate", "50", "--final-wait", "0.5", "--seed", "1", "--", mode, cwd=tmp_path)
    results = json.loads((tmp_path / "store" / "latest" / "results.json").read_text())
    if anomaly is None:
        assert done.returncode == 0 and results["valid"] is True, done.stdout.decode()
        assert results["workload"]["error_types"] == [] and results["operations"]["send"]["ok"] > 20
    else:
        assert done.returncode == 1 and anomaly in results["workload"]["bad_error_types"]
        invoked = {(e["process"], e["time"]) for e in map(json.loads, open(tmp_path / "store" / "latest" / "history.jsonl"))}
        assert results["workload"]["implicated"] and all((ref["process"], ref["time"]) in invoked
                                                         for ref in results["workload"]["implicated"])
        assert ("why: " in done.stdout.decode()) and anomaly in done.stdout.decode()


# txn-rw-register: the right node valid, each broken one invalid for its own reason, under the models asked for

@pytest.mark.parametrize("mode, options, valid, anomaly", [
    ("leader", dict(node_count=2), True, None),
    ("aborted-reads", dict(node_count=1, consistency_models="read-committed"), False, "G1a"),
    # rate 300: a lost update needs two transactions on one key within a replication's 20 ms
    ("no-isolation", dict(node_count=2, latency=20, key_count=2, rate=300), False, "lost-update"),
    ("read-committed", dict(node_count=1, consistency_models="read-committed"), True, None),
    ("read-committed", dict(node_count=1, consistency_models="serializable", key_count=2), False, "G2-item"),
])  # two keys in play, not ten: the anomalies need transactions on one key, which ten keys make rare on a slow machine
def test_txn_rw_register_nodes_are_judged_by_elle_under_the_models_asked_for(tmp_path, mode, options, valid, anomaly):
    result = run_test("txn-rw-register", str(BROKEN / "txn_rw_register.py"), args=[mode],
                      store=str(tmp_path / "store"), **{"concurrency": 4, "time_limit": 3, "rate": 100, "seed": 1,
                                                        **options})
    checked = result.results["workload"]
    assert result.valid is valid, result.results["why"]
    assert checked["txn_count"] > 100 and checked["consistency_models"] == [options.get("consistency_models",
                                                                                       "strict-serializable")]
    if anomaly is not None:
        assert anomaly in checked["anomaly_types"], checked["anomaly_types"]
        assert checked["not"] and not set(checked["not"]) & set(checked["strongest_possible"])
        invoked = {(e["process"], e["time"]) for e in map(json.loads, open(os.path.join(result.path, "history.jsonl")))
                   if e["type"] == "invoke"}  # a transaction is named by its invocation
        assert checked["implicated"] and all((ref["process"], ref["time"]) in invoked for ref in checked["implicated"])


@pytest.mark.parametrize("mode, valid", [("leader", True), ("read-committed", False)])
def test_txn_list_append_is_judged_by_elle_too(tmp_path, mode, valid):
    result = run_test("txn-list-append", str(BROKEN / "txn_rw_register.py"), args=[mode], node_count=1,
                      concurrency=4, time_limit=3, rate=100, seed=1, store=str(tmp_path / "store"))
    assert result.valid is valid, result.results["why"]
    if not valid:  # deferred commits overwrite each other's lists: appends lost, and cycles, explained
        assert "a contradiction!" in result.results["workload"]["why"]


def test_a_process_id_is_never_used_twice_even_across_the_final_phase(tmp_path):
    # kafka's final phase starts with a crash in each worker: it must take a fresh process id
    result = run_test("kafka", str(BROKEN / "kafka.py"), args=["log"], node_count=1, concurrency=2, time_limit=2,
                      rate=50, final_wait=0.5, seed=1, store=str(tmp_path / "store"))
    history = [json.loads(line) for line in open(os.path.join(result.path, "history.jsonl"))]
    phase_of = {}
    for entry in history:
        if entry["process"] != "nemesis":
            phase_of.setdefault(entry["process"], set()).add(bool(entry.get("final")) and entry["f"] != "crash")
    assert all(len(phases) == 1 for phases in phase_of.values()), phase_of
    assert any(True in phases for phases in phase_of.values())


def test_checker_budget_reaches_elles_cycle_search(tmp_path):
    # read-committed's node is valid under read-committed, with cycles in its graph (G2-item) that
    # one search step cannot get through: the verdict is then unknown, never a pass
    options = dict(node_count=1, concurrency=4, time_limit=2, rate=100, seed=1, key_count=2,
                   consistency_models="read-committed")
    judged = [run_test("txn-rw-register", str(BROKEN / "txn_rw_register.py"), args=["read-committed"],
                       store=str(tmp_path / "store"), **options, **budget) for budget in ({}, {"checker_budget": 1})]
    assert judged[0].valid is True and judged[0].results["workload"]["not"]  # cycles rule stronger models out
    assert judged[1].valid == "unknown"
    assert judged[1].results["workload"]["anomaly_types"] == ["cycle-search-timeout"]
