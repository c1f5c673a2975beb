"""Unit tests of Maelstrom's workloads in gnode_cluster.workload: request shapes, closed reply
schemas, generators, flags, final operations, topologies and broadcast's topology set-up."""
import collections
import random

import pytest

from gnode_cluster import RPCTimeout

from gnode_cluster.options import resolve
from gnode_cluster.workload import SchemaError, SetupError, check_reply, workload_class
from gnode_cluster.workload.broadcast import topology

NODES = ["n0", "n1", "n2", "n3", "n4"]


def make(name, **options):
    return workload_class(name)(resolve(nodes=NODES, **options), random.Random(7))


def reply(type_, **fields):
    return dict({"type": type_, "in_reply_to": 1}, **fields)


def ops(workload, count=4000, worker=0):
    return [workload.next_op(worker) for _ in range(count)]


# flags: client replacement, error mapping, final phase

@pytest.mark.parametrize("name, reusable, idempotent, with_errors, final_phase", [
    ("unique-ids", True, set(), True, False),
    ("broadcast", False, {"read"}, True, True),
    ("g-set", False, set(), False, True),
    ("g-counter", False, set(), False, True),
    ("pn-counter", False, set(), False, True),
])
def test_flags_are_maelstroms(name, reusable, idempotent, with_errors, final_phase):
    workload = make(name)
    assert workload.name == name
    assert workload.reusable is reusable and set(workload.idempotent) == idempotent
    assert workload.with_errors is with_errors and workload.final_phase is final_phase
    assert workload.timeout() == 5.0
    expected_final = [{"f": "read", "value": None, "final": True}] if final_phase else []
    assert workload.final_ops(0) == expected_final and workload.final_ops(3) == expected_final


# requests, schemas, completion values

def test_unique_ids_request_schema_and_value():
    workload = make("unique-ids")
    op = workload.next_op(0)
    assert op == {"f": "generate", "value": None}
    assert workload.request(op) == {"type": "generate"}
    for value in ("n1-7", 7, [1, 2], None):
        check_reply(workload.reply_schema(op), reply("generate_ok", id=value))
        assert workload.completion_value(op, reply("generate_ok", id=value)) == value
    with pytest.raises(SchemaError, match="missing required key id"):
        check_reply(workload.reply_schema(op), reply("generate_ok"))
    with pytest.raises(SchemaError, match="disallowed key"):
        check_reply(workload.reply_schema(op), reply("generate_ok", id=1, node="n1"))


def test_broadcast_requests_schemas_and_values():
    workload = make("broadcast")
    broadcast, read = {"f": "broadcast", "value": 3}, {"f": "read", "value": None}
    assert workload.request(broadcast) == {"type": "broadcast", "message": 3}
    assert workload.request(read) == {"type": "read"}
    check_reply(workload.reply_schema(broadcast), reply("broadcast_ok"))
    assert workload.completion_value(broadcast, reply("broadcast_ok")) == 3
    with pytest.raises(SchemaError, match="disallowed key"):
        check_reply(workload.reply_schema(broadcast), reply("broadcast_ok", message=3))
    check_reply(workload.reply_schema(read), reply("read_ok", messages=[1, 2]))
    check_reply(workload.reply_schema(read), reply("read_ok", messages=None))  # null is an empty sequence
    assert workload.completion_value(read, reply("read_ok", messages=[1, 2])) == [1, 2]
    with pytest.raises(SchemaError):
        check_reply(workload.reply_schema(read), reply("read_ok", messages={"a": 1}))
    with pytest.raises(SchemaError, match="disallowed key"):
        check_reply(workload.reply_schema(read), reply("read_ok", messages=[], value=[]))


def test_g_set_requests_schemas_and_values():
    workload = make("g-set")
    add, read = {"f": "add", "value": 3}, {"f": "read", "value": None}
    assert workload.request(add) == {"type": "add", "element": 3}
    assert workload.request(read) == {"type": "read"}
    check_reply(workload.reply_schema(add), reply("add_ok"))
    check_reply(workload.reply_schema(read), reply("read_ok", value=None))
    assert workload.completion_value(read, reply("read_ok", value=[3])) == [3]
    assert workload.completion_value(add, reply("add_ok")) == 3
    with pytest.raises(SchemaError, match="disallowed key"):
        check_reply(workload.reply_schema(read), reply("read_ok", elements=[3]))  # the docs' word, not the schema's


@pytest.mark.parametrize("name", ["g-counter", "pn-counter"])
def test_counter_requests_schemas_and_values(name):
    workload = make(name)
    add, read = {"f": "add", "value": 2}, {"f": "read", "value": None}
    assert workload.request(add) == {"type": "add", "delta": 2}
    assert workload.request(read) == {"type": "read"}
    check_reply(workload.reply_schema(add), reply("add_ok"))
    check_reply(workload.reply_schema(read), reply("read_ok", value=-3))
    assert workload.completion_value(read, reply("read_ok", value=-3)) == -3
    for bad in (3.0, "3", True, None, [3]):
        with pytest.raises(SchemaError, match="value is not integer"):
            check_reply(workload.reply_schema(read), reply("read_ok", value=bad))
    with pytest.raises(SchemaError, match="disallowed key"):
        check_reply(workload.reply_schema(add), reply("add_ok", value=2))


# generators

@pytest.mark.parametrize("name, add_f", [("broadcast", "broadcast"), ("g-set", "add")])
def test_set_workloads_add_0_1_2_across_workers_and_read_half_the_time(name, add_f):
    workload = make(name)
    generated = [workload.next_op(worker % 5) for worker in range(4000)]
    assert {op["f"] for op in generated} == {add_f, "read"}
    added = [op["value"] for op in generated if op["f"] == add_f]
    assert added == list(range(len(added)))
    assert 1800 < len(added) < 2200
    assert all(op["value"] is None for op in generated if op["f"] == "read")


def test_each_set_workload_counts_its_own_elements():
    first, second = make("g-set"), make("g-set")
    assert [op["value"] for op in ops(first, 50) if op["f"] == "add"][0] == 0
    assert [op["value"] for op in ops(second, 50) if op["f"] == "add"][0] == 0


def test_pn_counter_deltas_are_uniform_over_minus_5_to_4_half_the_time():
    generated = ops(make("pn-counter"), 20000)
    deltas = collections.Counter(op["value"] for op in generated if op["f"] == "add")
    assert set(deltas) == set(range(-5, 5))
    assert 9000 < sum(deltas.values()) < 11000
    assert all(800 < count < 1200 for count in deltas.values())


def test_g_counter_deltas_are_0_to_4_and_a_third_of_the_ops():
    generated = ops(make("g-counter"), 15000)
    deltas = collections.Counter(op["value"] for op in generated if op["f"] == "add")
    assert set(deltas) == set(range(0, 5))
    # Maelstrom drops pn-counter's negative adds and draws again: adds are 1/3 of the ops
    assert 4500 < sum(deltas.values()) < 5500
    assert all(800 < count < 1200 for count in deltas.values())


def test_generators_use_the_workloads_rng():
    assert ops(make("pn-counter"), 50) == ops(make("pn-counter"), 50)
    assert ops(make("pn-counter"), 50) != ops(workload_class("pn-counter")(resolve(nodes=NODES), random.Random(8)), 50)


# checks: the right checker over the right functions

def entries(*rows):
    return [{"process": p, "type": t, "f": f, "value": v, "time": time} for p, t, f, v, time in rows]


def test_broadcast_checks_set_full_with_broadcast_as_add():
    history = entries((0, "invoke", "broadcast", 4, 0.0), (0, "ok", "broadcast", 4, 0.1),
                      (1, "invoke", "read", None, 1.0), (1, "ok", "read", [], 1.1))
    result = make("broadcast").check(history)
    assert result["valid"] is False and result["lost"] == [4]


def test_g_set_checks_set_full_with_add():
    history = entries((0, "invoke", "add", 4, 0.0), (0, "ok", "add", 4, 0.1),
                      (1, "invoke", "read", None, 1.0), (1, "ok", "read", [4], 1.1))
    result = make("g-set").check(history)
    assert result["valid"] is True and result["stable_latencies"]["1"] == 0


@pytest.mark.parametrize("name", ["g-counter", "pn-counter"])
def test_counters_check_final_reads(name):
    history = entries((0, "invoke", "add", 4, 0.0), (0, "ok", "add", 4, 0.1))
    history += [{"process": 1, "type": "invoke", "f": "read", "value": None, "time": 1.0, "final": True},
                {"process": 1, "type": "ok", "f": "read", "value": 3, "time": 1.1, "final": True}]
    result = make(name).check(history)
    assert result["valid"] is False and result["acceptable"] == [[4, 4]]


def test_unique_ids_checks_duplicates():
    history = entries((0, "invoke", "generate", None, 0.0), (0, "ok", "generate", 1, 0.1),
                      (1, "invoke", "generate", None, 0.0), (1, "ok", "generate", 1, 0.1))
    assert make("unique-ids").check(history)["why"] == "id 1 was returned 2 times"


# topologies, against broadcast.clj's construction

TEN = ["n%d" % i for i in range(10)]


def test_grid_of_the_maelstrom_tutorial():
    # the tutorial's five nodes n1..n5: n1 n2 n3 on the first row, n4 n5 below
    assert topology("grid", ["n1", "n2", "n3", "n4", "n5"]) == {
        "n1": ["n4", "n2"], "n2": ["n5", "n3", "n1"], "n3": ["n2"], "n4": ["n1", "n5"], "n5": ["n2", "n4"]}


def test_grid_neighbours_are_below_above_right_left():
    assert topology("grid", TEN) == {
        "n0": ["n4", "n1"], "n1": ["n5", "n2", "n0"], "n2": ["n6", "n3", "n1"], "n3": ["n7", "n2"],
        "n4": ["n8", "n0", "n5"], "n5": ["n9", "n1", "n6", "n4"], "n6": ["n2", "n7", "n5"], "n7": ["n3", "n6"],
        "n8": ["n4", "n9"], "n9": ["n5", "n8"]}
    assert all(len(neighbours) <= 4 for neighbours in topology("grid", ["n%d" % i for i in range(25)]).values())


def test_line_is_a_chain():
    assert topology("line", ["a", "b", "c", "d"]) == {"a": ["b"], "b": ["a", "c"], "c": ["b", "d"], "d": ["c"]}
    assert topology("line", ["a", "b"]) == {"a": ["b"], "b": ["a"]}
    assert topology("line", ["a"]) == {}  # Maelstrom's line of fewer than two nodes is empty


def test_total_links_every_pair():
    assert topology("total", ["a", "b", "c"]) == {"a": ["b", "c"], "b": ["a", "c"], "c": ["a", "b"]}


def test_binary_tree_fills_tier_by_tier():
    expected = {"n0": ["n1", "n2"], "n1": ["n0", "n3", "n4"], "n2": ["n0", "n5", "n6"],
                "n3": ["n1", "n7", "n8"], "n4": ["n1", "n9"], "n5": ["n2"], "n6": ["n2"], "n7": ["n3"],
                "n8": ["n3"], "n9": ["n4"]}
    assert topology("tree2", TEN) == expected
    assert topology("tree", TEN) == expected


def test_tree3_and_tree4():
    assert topology("tree3", TEN) == {
        "n0": ["n1", "n2", "n3"], "n1": ["n0", "n4", "n5", "n6"], "n2": ["n0", "n7", "n8", "n9"], "n3": ["n0"],
        "n4": ["n1"], "n5": ["n1"], "n6": ["n1"], "n7": ["n2"], "n8": ["n2"], "n9": ["n2"]}
    assert topology("tree4", TEN) == {
        "n0": ["n1", "n2", "n3", "n4"], "n1": ["n0", "n5", "n6", "n7", "n8"], "n2": ["n0", "n9"], "n3": ["n0"],
        "n4": ["n0"], "n5": ["n1"], "n6": ["n1"], "n7": ["n1"], "n8": ["n1"], "n9": ["n2"]}


@pytest.mark.parametrize("kind", ["grid", "total", "tree", "tree2", "tree3", "tree4"])
def test_a_single_node_has_no_neighbours(kind):
    assert topology(kind, ["n0"]) == {"n0": []}


@pytest.mark.parametrize("kind", ["grid", "line", "total", "tree", "tree2", "tree3", "tree4"])
def test_every_topology_is_symmetric_and_connected(kind):
    nodes = ["n%d" % i for i in range(17)]
    links = topology(kind, nodes)
    assert set(links) == set(nodes)
    assert all(node in links[other] for node in nodes for other in links[node])
    reached, frontier = {"n0"}, ["n0"]
    while frontier:
        frontier = [other for node in frontier for other in links[node] if other not in reached]
        reached.update(frontier)
    assert reached == set(nodes)


def test_unknown_topology():
    with pytest.raises(ValueError, match="unknown topology 'ring'"):
        topology("ring", TEN)


# broadcast's set-up: one topology request per node

class FakeCluster:
    """Records requests and answers each with ``answer(node)``."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []

    def request(self, node, body, timeout=5.0):
        self.requests.append((node, body, timeout))
        return self.answer(node)


def test_setup_sends_the_chosen_topology_once_per_node():
    cluster = FakeCluster(lambda node: reply("topology_ok"))
    make("broadcast", topology="line").setup(cluster)
    assert [node for node, _, _ in cluster.requests] == NODES
    for node, body, timeout in cluster.requests:
        assert body == {"type": "topology", "topology": topology("line", NODES)}
        assert timeout == 5.0


def test_setup_defaults_to_grid():
    cluster = FakeCluster(lambda node: reply("topology_ok", msg_id=3))
    make("broadcast").setup(cluster)
    assert cluster.requests[0][1]["topology"] == topology("grid", NODES)


@pytest.mark.parametrize("answer", [reply("topology_ok", extra=1), reply("broadcast_ok"), {"type": "topology_ok"}])
def test_setup_refuses_a_malformed_answer(answer):
    with pytest.raises(SchemaError):
        make("broadcast").setup(FakeCluster(lambda node: answer))


def test_setup_lets_a_timeout_end_the_test_naming_the_node():
    def time_out(node):
        raise RPCTimeout("no answer")
    with pytest.raises(SetupError, match="n0 did not take the topology: error 0: no answer"):
        make("broadcast").setup(FakeCluster(time_out))
