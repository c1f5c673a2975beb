"""The partition nemesis's cuts and schedule, as Jepsen's combined partition package makes
them: pure logic on a seeded random source."""
import random

import pytest

from gnode_cluster.nemesis import KINDS, Schedule, complete_grudge, grudge, majorities_ring

NODES = ["n%d" % i for i in range(5)]


def sides(cut):
    """The groups of a complete grudge: nodes that drop exactly the same senders."""
    return sorted(sorted(node for node in cut if cut[node] == cut[first]) for first in cut)


def test_one_isolates_a_single_node_from_all_the_others():
    cut = grudge("one", NODES, random.Random(1))
    alone = [node for node, senders in cut.items() if len(senders) == 4]
    assert len(alone) == 1 and all(cut[node] == {alone[0]} for node in NODES if node != alone[0])


def test_majority_splits_into_a_clean_minority_and_majority():
    cut = grudge("majority", NODES, random.Random(2))
    groups = {frozenset(set(NODES) - senders) for senders in cut.values()}
    assert sorted(len(group) for group in groups) == [2, 3] and frozenset().union(*groups) == set(NODES)


def test_minority_third_cuts_off_fewer_than_a_third():
    for seed in range(20):
        cut = grudge("minority-third", ["n%d" % i for i in range(7)], random.Random(seed))
        cut_off = [node for node, senders in cut.items() if len(senders) > 3]
        assert 1 <= len(cut_off) < 7 / 3
    assert all(not senders for senders in grudge("minority-third", NODES[:3], random.Random(0)).values())


def test_majorities_ring_gives_every_node_a_majority_and_no_two_the_same():
    cut = majorities_ring(NODES)
    seen = {node: frozenset(set(NODES) - senders) for node, senders in cut.items()}
    assert all(node in group and len(group) == 3 for node, group in seen.items())
    assert len(set(seen.values())) == 5


def test_complete_grudge_drops_across_groups_only():
    assert complete_grudge([["a"], ["b", "c"]]) == {"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}


def test_the_schedule_alternates_start_and_stop_with_gaps_averaging_the_interval():
    schedule = Schedule(10, NODES, random.Random(3))
    ops = [schedule.next_op() for _ in range(8)]
    assert [f for f, _, _ in ops] == ["start-partition", "stop-partition"] * 4
    assert {kind for f, kind, _ in ops if f == "start-partition"} <= set(KINDS)
    gaps = [schedule.next_gap() for _ in range(5000)]
    assert 0 <= min(gaps) and max(gaps) <= 20 and abs(sum(gaps) / len(gaps) - 10) < 0.3


def test_an_unknown_partition_kind_is_refused():
    with pytest.raises(ValueError, match="unknown partition 'two'"):
        grudge("two", NODES, random.Random(0))
