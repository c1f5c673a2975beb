"""gnode_cluster's network on its own: latency, deadline order, partitions dropping at
delivery, the journal and Maelstrom's message counts. Pure logic on a clock the test sets."""
import json
import random

import pytest

from gnode_cluster.net import Latency, Network

NODES = ["n1", "n2", "n3"]


def network(latency_ms=100, dist="constant", journal=None):
    return Network(NODES, {"lin-kv"}, Latency(latency_ms, dist, random.Random(1)), journal)


def delivered(net, now):
    return [(e.src, e.dest, e.body["type"]) for e in net.due(now)]


def test_latency_applies_between_servers_and_services_and_never_when_a_client_is_an_end():
    net = network()
    net.open_client("c1")
    net.send(0.0, "c1", "n1", {"type": "from_client"})
    net.send(0.0, "n1", "c1", {"type": "to_client"})
    net.send(0.0, "n1", "n2", {"type": "between_nodes"})
    net.send(0.0, "n1", "lin-kv", {"type": "to_service"})
    assert delivered(net, 0.0) == [("c1", "n1", "from_client"), ("n1", "c1", "to_client")]
    assert delivered(net, 0.099) == []
    assert delivered(net, 0.1) == [("n1", "n2", "between_nodes"), ("n1", "lin-kv", "to_service")]


def test_deliveries_come_in_deadline_order_not_send_order():
    net = network(100, "uniform")
    for i in range(200):
        net.send(i * 0.001, "n1", "n2", {"type": "m%d" % i})
    deadlines = [e[0] for e in sorted(net._queue)]
    out = net.due(10.0)
    assert len(out) == 200 and net.lateness == sorted(net.lateness, reverse=True)  # earliest deadline first
    assert [e.id for e in out] != list(range(200))  # uniform latency reorders
    assert deadlines == sorted(deadlines)


@pytest.mark.parametrize("dist,mean", [("constant", 100), ("uniform", 100), ("exponential", 100)])
def test_latency_distributions_have_maelstroms_mean_and_range(dist, mean):
    latency = Latency(mean, dist, random.Random(3))
    draws = [latency.draw() * 1000 for _ in range(20_000)]
    assert abs(sum(draws) / len(draws) - mean) < 3
    if dist == "constant":
        assert set(draws) == {100.0}
    elif dist == "uniform":
        assert min(draws) == 0 and max(draws) == 199 and all(d == int(d) for d in draws)
    else:
        assert min(draws) >= 0 and max(draws) > 5 * mean


def test_an_exponential_latency_of_zero_and_an_unknown_distribution_are_refused():
    with pytest.raises(ValueError, match="exponential latency needs a mean above 0"):
        Latency(0, "exponential")
    with pytest.raises(ValueError, match="one of constant, uniform, exponential"):
        Latency(10, "normal")


def test_a_partition_drops_at_delivery_what_was_sent_before_it():
    journal = []
    net = network(journal=lambda time, event, envelope: journal.append((event, envelope.body["type"])))
    net.send(0.0, "n1", "n2", {"type": "sent_before"})
    net.partition([["n1"], ["n2", "n3"]])
    assert delivered(net, 0.2) == []
    assert journal == [("send", "sent_before"), ("dropped", "sent_before")]


def test_a_message_sent_during_a_partition_and_due_after_the_heal_arrives():
    net = network()
    net.partition([["n1"], ["n2", "n3"]])
    net.send(0.0, "n1", "n2", {"type": "sent_during"})
    net.send(0.0, "n2", "n3", {"type": "same_side"})
    net.heal()
    assert delivered(net, 0.1) == [("n1", "n2", "sent_during"), ("n2", "n3", "same_side")]


def test_clients_and_services_are_never_partitioned_and_isolate_cuts_one_node_off():
    net = network()
    net.open_client("c1")
    net.isolate("n1")
    for src, dest in (("n1", "lin-kv"), ("lin-kv", "n1"), ("c1", "n1"), ("n1", "c1"), ("n1", "n2"), ("n2", "n1"),
                      ("n2", "n3")):
        net.send(0.0, src, dest, {"type": "x"})
    assert sorted((s, d) for s, d, _ in delivered(net, 1.0)) == [
        ("c1", "n1"), ("lin-kv", "n1"), ("n1", "c1"), ("n1", "lin-kv"), ("n2", "n3")]
    assert net.blocked() == {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}


def test_partition_groups_must_name_nodes_and_a_node_in_no_group_is_cut_off():
    net = network()
    with pytest.raises(ValueError, match="not nodes of this test: lin-kv"):
        net.partition([["n1", "lin-kv"]])
    net.partition([["n1", "n2"]])
    assert net.blocked() == {"n1": ["n3"], "n2": ["n3"], "n3": ["n1", "n2"]}


def test_members_are_nodes_services_and_open_clients():
    net = network()
    net.open_client("c4")
    assert all(net.is_member(name) for name in ("n1", "lin-kv", "c4"))
    net.close_client("c4")
    assert not net.is_member("c4") and not net.is_member("n9")


def test_stats_count_as_maelstrom_all_clients_and_servers_with_msgs_per_op():
    net = network()
    net.open_client("c1")
    net.send(0.0, "c1", "n1", {"type": "op"})
    net.send(0.0, "n1", "n2", {"type": "gossip"})
    net.send(0.0, "n1", "n3", {"type": "gossip"})
    net.send(0.0, "n1", "c1", {"type": "op_ok"})
    net.partition([["n1", "n2"], ["n3"]])
    net.due(1.0)
    stats = net.stats(operations=1)
    assert stats["all"] == {"send_count": 4, "recv_count": 3, "msg_count": 4, "msgs_per_op": 4.0}
    assert stats["clients"] == {"send_count": 2, "recv_count": 2, "msg_count": 2, "msgs_per_op": 2.0}
    assert stats["servers"] == {"send_count": 2, "recv_count": 1, "msg_count": 2, "msgs_per_op": 2.0}
    assert net.stats(operations=0)["all"]["msgs_per_op"] is None


def test_envelopes_carry_a_per_test_id_as_maelstrom_delivers_them():
    net = network(0)
    first = net.send(0.0, "n1", "n2", {"type": "a"})
    second = net.send(0.0, "n2", "n1", {"type": "b"})
    assert (first.id, second.id) == (0, 1)
    assert json.loads(first.line()) == {"id": 0, "src": "n1", "dest": "n2", "body": {"type": "a"}}
