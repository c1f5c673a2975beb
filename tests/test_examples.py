"""Every example of examples/ through a short gnode-cluster run of its workload, with the
options its README command uses (shorter, and a seed): each must be valid. The efficiency
runs of broadcast take a minute each and are not here: bench/examples.py runs them."""
import json
import os
import re

import pytest

from gnode_cluster import run_test
from helpers import GNODE, ROOT

EXAMPLES = ROOT / "examples"


@pytest.fixture
def run(tmp_path, monkeypatch):
    """run(workload, example folder, **options): a gnode-cluster test of gnode.py with that
    folder as its handlers, with the default settings of the examples."""
    monkeypatch.delenv("BROADCAST_INTERVAL_MS", raising=False)

    def run(workload, example, **options):
        result = run_test(workload, str(GNODE), args=["--handlers", str(EXAMPLES / example)],
                          store=str(tmp_path / "store"), **options)
        assert result.valid is True, json.dumps({k: result.results[k] for k in ("why", "workload", "exceptions")})
        return result
    return run


def dropped(result):
    """How many node-to-node messages the partitions dropped."""
    with open(os.path.join(result.path, "messages.jsonl")) as journal:
        return sum(json.loads(line)["event"] == "dropped" for line in journal)


def test_echo(run):
    result = run("echo", "echo", node_count=1, time_limit=3, rate=20, seed=1)
    assert result.results["operations"]["echo"]["ok"] > 30


def test_unique_ids_are_unique_and_always_available_under_partitions(run):
    result = run("unique-ids", "unique-ids", node_count=3, time_limit=3, rate=1000, availability="total",
                 nemesis="partition", nemesis_interval=0.5, seed=2)
    assert result.results["operations"]["generate"] == {"ok": result.results["workload"]["attempted_count"],
                                                          "fail": 0, "info": 0}


def test_broadcast_loses_nothing_to_partitions(run):
    result = run("broadcast", "broadcast", node_count=5, time_limit=5, rate=20, latency=10, nemesis="partition",
                 nemesis_interval=0.5, final_wait=2, seed=3)
    workload = result.results["workload"]
    assert workload["lost_count"] == 0 and workload["never_read_count"] == 0
    assert workload["stable_count"] == workload["attempt_count"] > 20  # every value reached every final read
    assert dropped(result) > 0  # the partitions did cut gossip off: the retries made up for it


def test_broadcast_reaches_every_node_of_25_without_a_partition(run):
    result = run("broadcast", "broadcast", node_count=25, time_limit=3, rate=20, latency=20, final_wait=1, seed=4)
    workload = result.results["workload"]
    assert workload["stable_count"] == workload["attempt_count"] > 10


def test_g_set_loses_nothing_to_partitions(run):
    result = run("g-set", "g-set", node_count=5, time_limit=5, rate=20, latency=10, nemesis="partition",
                 nemesis_interval=0.5, final_wait=2, seed=5)
    workload = result.results["workload"]
    assert workload["lost_count"] == 0 and workload["stable_count"] == workload["attempt_count"] > 20
    assert dropped(result) > 0


def test_pn_counter_final_reads_add_up_under_partitions(run):
    result = run("pn-counter", "pn-counter", node_count=5, time_limit=5, rate=20, latency=10,
                 nemesis="partition", nemesis_interval=0.5, final_wait=2, seed=6)
    assert dropped(result) > 0
    assert result.results["operations"]["add"]["ok"] > 20


def test_g_counter_on_seq_kv_final_reads_see_every_add(run):
    result = run("g-counter", "g-counter", node_count=3, time_limit=4, rate=100, nemesis="partition",
                 nemesis_interval=0.5, final_wait=1, seed=7)
    assert result.results["operations"]["add"]["ok"] > 50


def test_the_docs_list_every_example_with_commands_that_name_its_folder():
    section = (ROOT / "docs" / "examples.md").read_text()
    folders = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    named = set(re.findall(r"--handlers \"\$PWD/examples/([\w-]+)\"", section))
    named_env = set(re.findall(r"GNODE_HANDLERS=\$PWD/examples/([\w-]+) maelstrom test", section))
    assert sorted(named) == sorted(named_env) == folders


def test_kafka_on_lin_kv_is_valid_on_two_nodes(run):
    result = run("kafka", "kafka", node_count=2, concurrency="2n", time_limit=4, rate=200, latency=10, final_wait=1,
                 seed=1)
    assert result.results["operations"]["send"]["ok"] > 100 and result.results["workload"]["error_types"] == []


def test_kafka_with_offsets_taken_without_a_compare_and_set_is_invalid(tmp_path):
    # The one-line bug of docs/examples.md: read the next offset, then write it, with no cas.
    racy = (EXAMPLES / "kafka" / "kafka.py").read_text().replace(
        'offset = node.lin_kv.update("next/" + key, lambda n: n + 1, default=-1)',
        'offset = node.lin_kv.read("next/" + key, default=-1) + 1; node.lin_kv.write("next/" + key, offset)')
    assert "; node.lin_kv.write" in racy
    (tmp_path / "racy").mkdir()
    (tmp_path / "racy" / "kafka.py").write_text(racy)
    result = run_test("kafka", str(GNODE), args=["--handlers", str(tmp_path / "racy")], node_count=2,
                      concurrency="2n", time_limit=4, rate=200, latency=10, final_wait=1, seed=1,
                      store=str(tmp_path / "store"))
    assert result.valid is False and "inconsistent-offsets" in result.results["workload"]["bad_error_types"]
