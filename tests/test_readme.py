"""Every plugin file the README and the docs/ chapters show (a ```python block whose first
line is ``# handlers/NAME.py``) is loaded into one node, and each is run through a
conversation, so that no example can rot."""
import re

import pytest

from helpers import ROOT, LiveNode

EXAMPLE = re.compile(r"```python\n# handlers/(\w+\.py)\n(.*?)```", re.S)


@pytest.fixture
def readme_node(tmp_path):
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    examples = [found for doc in docs for found in EXAMPLE.findall(doc.read_text())]
    names = [name for name, _ in examples]
    assert len(names) == len(set(names)), "two README examples share a file name: %s" % names
    for name, source in examples:
        (tmp_path / name).write_text(source)
    node = LiveNode("--handlers", str(tmp_path))
    yield node, set(names)
    assert node.finish() == 0, node.stderr()


def test_the_readme_examples_are_the_ones_this_test_runs(readme_node):
    _, names = readme_node
    assert names == {"echo.py", "proxy.py", "majority.py", "gossip.py", "counter.py", "registry.py",
                     "stats.py"}


def ask(node, body, msg_id):
    node.send({"src": "c1", "dest": "n1", "body": {**body, "msg_id": msg_id}})


def answer(node, to, body):
    node.send({"src": to["dest"], "dest": "n1", "body": {**body, "in_reply_to": to["body"]["msg_id"]}})


def test_every_readme_example_does_what_the_readme_says(readme_node):
    node, _ = readme_node
    ask(node, {"type": "echo", "echo": "hi"}, 2)
    assert node.receive()["body"]["echo"] == "hi"

    ask(node, {"type": "proxy", "target": "n2", "inner": {"type": "echo", "echo": "x"}}, 10)
    forward = node.receive()
    assert forward["dest"] == "n2" and forward["body"]["echo"] == "x"
    answer(node, forward, {"type": "echo_ok", "echo": "x"})
    assert node.receive()["body"]["result"]["echo"] == "x"

    ask(node, {"type": "majority_write", "value": 1}, 3)
    stores = node.receive_all(2)
    assert sorted(s["dest"] for s in stores) == ["n2", "n3"]
    answer(node, stores[1], {"type": "store_ok"})  # with n1 itself, 2 of 3
    assert node.receive()["body"]["acked"] == [stores[1]["dest"]]

    ask(node, {"type": "add", "delta": 2}, 4)
    read = node.receive()
    answer(node, read, {"type": "error", "code": 20, "text": "no key"})
    cas = node.receive()
    assert cas["body"]["from"] == 0 and cas["body"]["to"] == 2 and cas["body"]["create_if_not_exists"] is True
    answer(node, cas, {"type": "cas_ok"})
    assert node.receive()["body"]["type"] == "add_ok"
    ask(node, {"type": "read"}, 5)
    read = node.receive()
    answer(node, read, {"type": "read_ok", "value": 2})
    assert node.receive()["body"]["value"] == 2

    ask(node, {"type": "register", "name": "x"}, 6)
    assert node.receive()["body"]["type"] == "register_ok"
    ask(node, {"type": "register", "name": "x"}, 7)
    error = node.receive()["body"]
    assert (error["type"], error["code"], error["text"]) == ("error", 21, "x is taken")

    ask(node, {"type": "stats"}, 8)
    stats = node.receive()["body"]
    assert stats["type"] == "stats_ok" and stats["received"]["register"] == 2 and stats["calls"]["made"] == 6

    ask(node, {"type": "broadcast", "message": 5}, 9)  # last: from now on, gossip goes out
    assert node.receive()["body"]["type"] == "broadcast_ok"
    gossip = node.receive(timeout=2)
    assert gossip["dest"] in ("n2", "n3") and gossip["body"]["messages"] == [5]


# The other examples, each run as printed by the test named beside its first line.
RUN_ELSEWHERE = {
    "# tests/test_my_broadcast.py": "tests/test_cluster.py",
    "from gnode_cluster import run_test": "tests/test_run_test.py",
    '"handlers": ["../../handlers", "../handlers"],': "tests/test_fixture_plugin.py (cases on one node)",
    '"handlers": "../cluster_handlers",': "tests/test_fixture_plugin.py (cases on several nodes)",
}


def test_every_python_and_json_example_in_the_docs_is_run_by_a_test():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```(?:python|json)\n(.*?)```", doc.read_text(), re.S):
            lines = block.splitlines()
            first = lines[1].strip() if lines[0] == "{" else lines[0]
            assert first.startswith("# handlers/") or any(first.startswith(known) for known in RUN_ELSEWHERE), \
                "%s has an example no test runs, beginning %r" % (doc.name, first)
