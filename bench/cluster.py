#!/usr/bin/env python3
"""gnode_cluster's benchmark: 25 gnode nodes exchanging gossip at the volume of Maelstrom's
broadcast test (--rate 100 --latency 100, grid topology): the cluster's CPU per routed
message, how late it delivers against the latency asked, and the time to start 25 nodes.

    python3 bench/cluster.py              # 3 rounds of 10 s, medians
    python3 bench/cluster.py --quick      # 1 round of 3 s
"""
import argparse
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from gnode_cluster import Cluster  # noqa: E402 (after the path is set)

GNODE = os.path.join(os.path.dirname(HERE), "gnode.py")
HANDLERS = os.path.join(HERE, "cluster_handlers")
TARGETS = {"lateness p99 ms": 10.0, "start 25 nodes s": 3.0}


def grid(nodes):
    """Maelstrom's grid topology: the nodes in rows of the square root, linked to the nodes
    above, below, left and right."""
    side = max(1, round(len(nodes) ** 0.5))
    topology = {}
    for index, node in enumerate(nodes):
        row, column = divmod(index, side)
        near = []
        for r, c in ((row - 1, column), (row + 1, column), (row, column - 1), (row, column + 1)):
            other = r * side + c
            if 0 <= c < side and 0 <= other < len(nodes) and r >= 0:
                near.append(nodes[other])
        topology[node] = near
    return topology


def one_round(nodes, seconds, rate, latency, rng):
    started = time.monotonic()
    cluster = Cluster(GNODE, node_count=nodes, handlers=HANDLERS, latency=latency, seed=rng.random())
    cluster.start()
    start_seconds = time.monotonic() - started
    try:
        topology = grid(cluster.nodes)
        for node in cluster.nodes:
            cluster.request(node, {"type": "topology", "topology": topology})
        clients = {node: cluster.client() for node in cluster.nodes}
        cpu_before, routed_before = time.process_time(), cluster.net_stats()["all"]["recv_count"]
        lateness_from = len(cluster.network.lateness)
        answers, value, deadline = [], 0, time.monotonic() + seconds
        next_op = time.monotonic()
        while next_op < deadline:  # Maelstrom's pacing: a uniform gap of 0 to 2/rate between ops
            time.sleep(max(0.0, next_op - time.monotonic()))
            node = rng.choice(cluster.nodes)
            if rng.random() < 0.5:
                value += 1
                answers.append(clients[node].send(node, {"type": "broadcast", "message": value}))
            else:
                answers.append(clients[node].send(node, {"type": "read"}))
            next_op += rng.uniform(0, 2 / rate)
        for answer in answers:
            cluster.wait(answer, 5)
        time.sleep(latency / 1000 * 8)  # the last gossip crosses the grid
        cpu = time.process_time() - cpu_before
        routed = cluster.net_stats()["all"]["recv_count"] - routed_before
        lateness = sorted(cluster.network.lateness[lateness_from:])
        cluster.check()
    finally:
        cluster.stop()
    return {"start 25 nodes s": start_seconds, "routed msgs/s": routed / seconds,
            "cluster CPU µs per routed msg": cpu / routed * 1e6,
            "lateness p50 ms": lateness[len(lateness) // 2] * 1000,
            "lateness p99 ms": lateness[int(len(lateness) * 0.99)] * 1000,
            "lateness max ms": lateness[-1] * 1000}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each round's load")
    parser.add_argument("--nodes", type=int, default=25)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--latency", type=float, default=100.0)
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s")
    options = parser.parse_args()
    if options.quick:
        options.rounds, options.seconds = 1, 3.0
    rng = random.Random(1)
    rounds = [one_round(options.nodes, options.seconds, options.rate, options.latency, rng)
              for _ in range(options.rounds)]
    print("%d nodes, --rate %g --latency %g, grid; %d round(s) of %g s; medians (min-max)\n"
          % (options.nodes, options.rate, options.latency, options.rounds, options.seconds))
    print("| figure | median | min | max | target |\n|---|---:|---:|---:|---|")
    for figure in rounds[0]:
        values = [r[figure] for r in rounds]
        target = TARGETS.get(figure)
        verdict = "" if target is None else "< %g: %s" % (target, "met" if statistics.median(values) < target
                                                             else "**MISSED**")
        print("| %s | %.2f | %.2f | %.2f | %s |" % (figure, statistics.median(values), min(values), max(values),
                                                     verdict))


if __name__ == "__main__":
    main()
