"""gnode-cluster check: a workload's checkers run again on a history, without nodes: gnode's
store folders and history.jsonl, and Maelstrom's history.edn, with test's exit statuses."""
import json
import os
import subprocess
import sys

from gnode_cluster import run_test, store
from helpers import ROOT, node_env

BROKEN = ROOT / "tests" / "broken_nodes"


def check(*args, cwd):
    return subprocess.run([sys.executable, "-m", "gnode_cluster", "check", *args], cwd=cwd, capture_output=True,
                          timeout=120, env=node_env())


def files(folder):
    return sorted(os.path.relpath(os.path.join(d, name), folder) for d, _, names in os.walk(folder) for name in names)


def test_check_judges_a_store_folder_again_as_the_test_did_and_writes_nothing(tmp_path):
    result = run_test("lin-kv", str(BROKEN / "lin_kv.py"), args=["dict-per-node"], node_count=2, concurrency="2n",
                      time_limit=2, rate=50, seed=3, store=str(tmp_path / "store"))
    assert result.valid is False
    before = files(tmp_path)
    done = check("store/latest", cwd=tmp_path)  # the workload is read from the folder's results.json
    assert done.returncode == 1, done.stderr.decode()
    assert "lin-kv: INVALID" in done.stdout.decode() and result.results["why"][0] in done.stdout.decode()
    assert "not kept" in done.stdout.decode() and files(tmp_path) == before

    done = check("--checker-budget", "1", str(tmp_path / "store" / "latest" / "history.jsonl"), "-w", "lin-kv",
                 cwd=tmp_path)
    assert done.returncode == 2 and "budget" in done.stdout.decode()  # out of budget: unknown, never a pass

    done = check("-w", "lin-kv", "store/latest", "--store", "kept", cwd=tmp_path)
    kept = json.loads((tmp_path / "kept" / "latest" / "results.json").read_text())
    assert done.returncode == 1 and kept["valid"] is False and kept["why"] == result.results["why"]
    assert kept["options"]["checked"] == str((tmp_path / "store" / "latest").absolute())
    assert (tmp_path / "kept" / "latest" / "history.jsonl").read_text() == \
        (tmp_path / "store" / "latest" / "history.jsonl").read_text()


def test_check_reads_a_maelstrom_history_edn(tmp_path):
    def op(index, process, type_, f, value, ms):
        return ("#jepsen.history.Op{:index %d, :time %d, :type :%s, :process %s, :f :%s, :value %s}\n"
                % (index, ms * 1_000_000, type_, process, f, value))
    good = (op(0, 0, "invoke", "write", "[1 3]", 10) + op(1, 0, "ok", "write", "[1 3]", 11)
            + '{:type :info, :f :start-partition, :value :majority, :process :nemesis, :time 12000000}\n'
            + op(2, 1, "invoke", "read", "[1 nil]", 20) + op(3, 1, "ok", "read", "[1 3]", 21)
            + op(4, 2, "invoke", "cas", "[1 [3 4]]", 30) + op(5, 2, "ok", "cas", "[1 [3 4]]", 31))
    (tmp_path / "good.edn").write_text(good)
    done = check("-w", "lin-kv", "good.edn", "--store", "kept", cwd=tmp_path)
    assert done.returncode == 0 and "lin-kv: valid" in done.stdout.decode(), done.stdout.decode()
    kept = [json.loads(line) for line in (tmp_path / "kept" / "latest" / "history.jsonl").read_text().splitlines()]
    assert len(kept) == 7 and kept[2] == {"type": "info", "f": "start-partition", "value": "majority",
                                          "process": "nemesis", "time": 0.012}  # kept whole, in seconds
    # after the cas completed, the value it replaced is gone
    (tmp_path / "bad.edn").write_text(good + op(6, 1, "invoke", "read", "[1 nil]", 40)
                                      + op(7, 1, "ok", "read", "[1 3]", 41))
    done = check("-w", "lin-kv", "bad.edn", cwd=tmp_path)
    assert done.returncode == 1 and "process 1's read of 3" in done.stdout.decode(), done.stdout.decode()

    kafka = (op(0, 0, "invoke", "send", '[[:send "a" 1]]', 1) + op(1, 0, "ok", "send", '[[:send "a" [0 1]]]', 2)
             + op(2, 1, "invoke", "send", '[[:send "a" 2]]', 3) + op(3, 1, "ok", "send", '[[:send "a" [0 2]]]', 4))
    (tmp_path / "history.edn").write_text(kafka)
    done = check("-w", "kafka", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1 and 'inconsistent-offsets (1): key "a" has 2 messages at offset 0' \
        in done.stdout.decode(), done.stdout.decode()


def test_check_refuses_what_it_cannot_judge_with_254(tmp_path):
    (tmp_path / "history.jsonl").write_text('{"process": 0, "type": "invoke", "f": "echo", "value": 1}\n')
    for args, says in [(["history.jsonl"], "say it with -w"),
                       (["-w", "lin-kv", "nowhere.jsonl"], "nowhere.jsonl"),
                       (["-w", "raft", "history.jsonl"], "-w: one of echo"),
                       (["-w", "lin-kv", "--checker-budget", "0", "history.jsonl"], "--checker-budget: at least 1"),
                       (["-w", "lin-kv", "notes.txt"], "a history is a .jsonl or .edn file")]:
        done = check(*args, cwd=tmp_path)
        assert done.returncode == 254 and says in done.stderr.decode(), (args, done.stderr)
        assert done.stdout == b""


def test_every_workload_can_check_a_history_without_its_generator():
    from gnode_cluster.options import resolve
    from gnode_cluster.workload import WORKLOADS, workload_class
    for name in WORKLOADS:  # lin-kv's generator alone would refuse these options (concurrency 5 < 2 x 5 nodes)
        verdict = workload_class(name).for_checking(resolve(workload=name)).check([])
        assert verdict["valid"] in (True, False, "unknown"), name


def test_check_judges_a_maelstrom_txn_history_under_the_models_asked_for(tmp_path):
    # Maelstrom's shape for txn-rw-register: micro-ops as [:r k v] and [:w k v] vectors
    (tmp_path / "history.edn").write_text(
        "{:type :invoke, :f :txn, :value [[:w 1 1]], :process 0, :time 1000000, :index 0}\n"
        "{:type :fail, :f :txn, :value [[:w 1 1]], :process 0, :time 2000000, :index 1}\n"
        "{:type :invoke, :f :txn, :value [[:r 1 nil]], :process 1, :time 3000000, :index 2}\n"
        "{:type :ok, :f :txn, :value [[:r 1 1]], :process 1, :time 4000000, :index 3}\n"
        "{:type :invoke, :f :txn, :value [[:w 2 1]], :process 0, :time 5000000, :index 4}\n"
        "{:type :ok, :f :txn, :value [[:w 2 1]], :process 0, :time 6000000, :index 5}\n"
        "{:type :invoke, :f :txn, :value [[:r 2 nil]], :process 1, :time 7000000, :index 6}\n"
        "{:type :ok, :f :txn, :value [[:r 2 1]], :process 1, :time 8000000, :index 7}\n")
    done = check("-w", "txn-rw-register", "--consistency-models", "read-uncommitted", "history.edn", cwd=tmp_path)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    done = check("-w", "txn-rw-register", "--consistency-models", "read-committed", "history.edn", cwd=tmp_path)
    out = done.stdout.decode()
    assert done.returncode == 1 and "found G1a (1)" in out and "which only process 0's fail txn" in out, out
    done = check("-w", "txn-rw-register", "--consistency-models", "read-comitted", "history.edn", cwd=tmp_path)
    assert done.returncode == 254 and b"--consistency-models: unknown consistency model(s) read-comitted" \
        in done.stderr


def test_partitions_are_read_from_our_histories_and_from_maelstroms_which_hold_each_nemesis_op_twice():
    ours = [{"process": "nemesis", "type": "info", "f": "start-partition", "time": 1.0,
             "value": {"kind": "majority", "grudge": {"n0": ["n1"]}}},
            {"process": 0, "type": "invoke", "f": "read", "time": 1.5},
            {"process": "nemesis", "type": "info", "f": "stop-partition", "time": 2.0, "value": None},
            {"process": "nemesis", "type": "info", "f": "start-partition", "time": 3.0,
             "value": {"kind": "one", "grudge": {}}}]
    assert store.partitions(ours) == [{"start": 1.0, "stop": 2.0, "kind": "majority", "grudge": {"n0": ["n1"]}},
                                      {"start": 3.0, "stop": None, "kind": "one", "grudge": {}}]
    twice = [dict(entry, value=[":" + entry["value"]["kind"], entry["value"]["grudge"]])
             if entry["f"] == "start-partition" else entry for entry in ours[:3]]
    twice = [twice[0], dict(twice[0], time=1.1), twice[1], twice[2], dict(twice[2], time=2.1)]
    assert store.partitions(twice) == [{"start": 1.0, "stop": 2.0, "kind": "majority", "grudge": {"n0": ["n1"]}}]
