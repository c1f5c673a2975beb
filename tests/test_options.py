"""Unit tests of gnode_cluster.options: one place for every option's default, parsing and
check, read the same by run_test and the command line."""
import argparse

import pytest

from gnode_cluster import options
from gnode_cluster.options import OPTIONS, resolve


def test_defaults_are_maelstroms():
    resolved = resolve()
    assert resolved["workload"] == "lin-kv" and resolved["time_limit"] == 60 and resolved["rate"] == 5.0
    assert resolved["nodes"] == ["n1", "n2", "n3", "n4", "n5"]
    assert resolved["concurrency"] == 10  # lin-kv's 2n, the fewest its key groups take; 1n for the others
    assert resolve(workload="echo")["concurrency"] == 5 and resolve(concurrency=15)["concurrency"] == 15
    assert resolved["latency"] == 0 and resolved["latency_dist"] == "constant" and resolved["nemesis"] == []
    assert resolved["topology"] == "grid" and resolved["key_count"] == 10 and resolved["max_txn_length"] == 4
    assert set(resolved) == {option.name for option in OPTIONS}


@pytest.mark.parametrize("given, expected", [
    ({"node_count": 3, "concurrency": "2n"}, {"nodes": ["n0", "n1", "n2"], "concurrency": 6}),
    ({"node_count": "2", "concurrency": 3}, {"nodes": ["n0", "n1"], "concurrency": 3}),
    ({"nodes": "a,b", "time_limit": "7", "rate": "0.5"}, {"nodes": ["a", "b"], "time_limit": 7, "rate": 0.5}),
    ({"nemesis": "partition", "availability": "0.5"}, {"nemesis": ["partition"], "availability": 0.5}),
    ({"nemesis": ["partition"], "availability": "total", "seed": "-3"},
     {"nemesis": ["partition"], "availability": "total", "seed": -3}),
    ({"time_limit": 4.0, "rate": None}, {"time_limit": 4, "rate": 5.0}),  # None: the default
])
def test_text_and_python_values_come_to_the_same_options(given, expected):
    resolved = resolve(**given)
    assert {name: resolved[name] for name in expected} == expected


@pytest.mark.parametrize("given, says", [
    ({"time_limit": 1.5}, "--time-limit: a whole number"),
    ({"time_limit": True}, "--time-limit: a whole number"),
    ({"node_count": 0}, "--node-count: at least 1"),
    ({"rate": "fast"}, "--rate: a number"),
    ({"rate": "inf"}, "--rate: at least 0, and finite"),
    ({"latency": -1}, "--latency: at least 0"),
    ({"concurrency": "0n"}, "--concurrency: at least 1"),
    ({"latency_dist": "normal"}, "--latency-dist: one of constant, uniform, exponential"),
    ({"topology": "ring"}, "--topology: one of grid"),
    ({"nemesis": "partition,kill"}, "--nemesis: unknown kill"),
    ({"availability": 1.5}, "--availability: total, or a fraction"),
    ({"workload": "raft"}, "-w: one of echo"),
    ({"no_such_option": 1}, "unknown option(s): no_such_option"),
])
def test_a_bad_value_is_refused_naming_its_flag(given, says):
    with pytest.raises(ValueError) as raised:
        resolve(**given)
    assert says in str(raised.value)


def test_the_command_line_has_every_flagged_option_and_no_default_of_its_own():
    parser = argparse.ArgumentParser()
    options.add_arguments(parser)
    flags = {action.dest: action for action in parser._actions if action.dest != "help"}
    assert set(flags) == {option.name for option in OPTIONS if option.flag is not None}
    assert all(action.default is None for action in flags.values())
    assert flags["workload"].option_strings == ["-w", "--workload"]
    parsed = parser.parse_args(["--bin", "x", "--time-limit", "3", "--log-stderr"])
    assert options.given(parsed) == {"bin": "x", "time_limit": "3", "log_stderr": True}
    assert resolve(**options.given(parsed))["time_limit"] == 3
