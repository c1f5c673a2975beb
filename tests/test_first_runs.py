"""A new user's first runs of gnode-cluster test, each a mistake that once went wrong:
the tool must end with a summary that explains it, results.json, and the right exit status,
with nothing but that summary on the terminal."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

from gnode_cluster import run_test, store
from helpers import GNODE, ROOT, node_env
from test_run_test import cli

ECHO_ONLY = ROOT / "examples" / "echo"


def results(tmp_path):
    return json.loads((tmp_path / "store" / "latest" / "results.json").read_text())


def test_a_node_that_refuses_the_topology_crashes_the_test_naming_the_node_and_its_answer(tmp_path):
    # as when `-- --handlers DIR` is forgotten: the node has no topology handler
    done = cli("test", "-w", "broadcast", "--bin", str(GNODE), "--node-count", "2", "--time-limit", "2",
               "--", "--handlers", str(ECHO_ONLY), cwd=tmp_path)
    out = done.stdout.decode()
    assert done.returncode == 255 and done.stderr == b"", out + done.stderr.decode()
    assert "broadcast: CRASHED" in out
    assert "n0 did not take the topology: error 10: no handler for type 'topology'" in out
    assert "go after --" in out  # the hint at the node's own arguments
    assert "no operation was run" not in out  # the crash says why, not a hint at --rate
    assert "n0 did not take the topology" in results(tmp_path)["crashed"]


def test_a_node_that_exits_at_start_shows_the_end_of_its_stderr(tmp_path):
    done = cli("test", "-w", "echo", "--bin", str(GNODE), "--node-count", "1", "--time-limit", "2",
               "--", "--handlers", str(tmp_path / "no-such-folder"), cwd=tmp_path)
    out = done.stdout.decode()
    assert done.returncode == 255 and done.stderr == b"", out + done.stderr.decode()
    assert "node n0 exited with status 1" in out and "no-such-folder does not exist" in out


def test_a_rejected_line_is_shown_whole_and_no_thread_traceback_reaches_the_terminal(tmp_path):
    node = tmp_path / "chatty.py"
    node.write_text("#!%s\nimport json, sys\nline = json.loads(sys.stdin.readline())\n"
                    "print(json.dumps({'src': line['body']['node_id'], 'dest': line['src'], 'body': "
                    "{'type': 'init_ok', 'in_reply_to': 1}}), flush=True)\n"
                    "print('debug: ' + 'x' * 700 + ' the end', flush=True)\nsys.stdin.read()\n" % sys.executable)
    node.chmod(0o755)
    done = cli("test", "-w", "echo", "--bin", str(node), "--node-count", "1", "--time-limit", "2", cwd=tmp_path)
    out = done.stdout.decode()
    assert done.returncode == 255 and done.stderr == b"", done.stderr.decode()
    assert "debug: " + "x" * 700 + " the end" in out


def test_bad_numbers_are_refused_naming_their_flag(tmp_path):
    for flag, value in (("--rate", "-5"), ("--time-limit", "-1"), ("--latency", "-3"), ("--node-count", "0")):
        done = cli("test", "-w", "echo", "--bin", str(GNODE), flag, value, cwd=tmp_path)
        assert done.returncode == 254 and done.stderr.decode().startswith("gnode-cluster: %s:" % flag), flag
    assert not (tmp_path / "store").exists()  # refused before anything ran


def test_a_test_that_runs_no_operation_is_not_valid(tmp_path):
    done = cli("test", "-w", "echo", "--bin", str(GNODE), "--node-count", "1", "--rate", "0", "--time-limit", "1",
               cwd=tmp_path)
    assert done.returncode == 1 and "echo: INVALID" in done.stdout.decode()
    assert results(tmp_path)["why"] == ["no operation was run (are --rate and --time-limit above 0?)"]


def test_no_workload_runs_maelstroms_default_lin_kv_with_the_default_options(tmp_path):
    done = cli("test", "--bin", str(ROOT / "tests" / "broken_nodes" / "lin_kv.py"), "--time-limit", "2",
               "--rate", "20", "--", "dict-per-node", cwd=tmp_path)
    out = done.stdout.decode()
    assert done.returncode in (0, 1) and out.startswith("\nlin-kv: "), out + done.stderr.decode()
    assert results(tmp_path)["options"]["concurrency"] == 10  # 2n of Maelstrom's five nodes


def test_the_summary_names_the_partitions_and_labels_its_figures(tmp_path):
    done = cli("test", "-w", "broadcast", "--bin", str(GNODE), "--node-count", "3", "--time-limit", "3",
               "--rate", "20", "--nemesis", "partition", "--nemesis-interval", "0.5", "--final-wait", "1",
               "--seed", "3", "--", "--handlers", str(ROOT / "examples" / "broadcast"), cwd=tmp_path)
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    partitions = results(tmp_path)["nemesis"]["partitions"]
    assert partitions and all(p["start"] < (p["stop"] or 1e9) for p in partitions)
    assert re.search(r"\n  partitions: %d: [\d.]+ s to ([\d.]+ s|the end) \([a-z-]+\)" % len(partitions), out), out
    assert "  stable latency ms (from an add until every read sees it): min " in out and " median " in out
    assert "None" not in out


def test_prune_keeps_the_newest_tests_and_the_latest(tmp_path):
    made = []
    for workload in ("echo", "broadcast", "echo", "kafka"):
        made.append(store.new_folder(str(tmp_path / "store"), workload))
        time.sleep(0.002)  # folder names are times to the millisecond
    strays = [tmp_path / "store" / "echo" / "notes", tmp_path / "store" / "src" / "pkg"]  # no test made these
    for stray in strays:
        stray.mkdir(parents=True)
    done = cli("prune", "--keep", "2", cwd=tmp_path)
    assert done.returncode == 0 and "removed 2 test folders from store, kept 2" in done.stdout.decode()
    assert [os.path.exists(path) for path in made] == [False, False, True, True]
    assert os.path.realpath(tmp_path / "store" / "latest") == os.path.realpath(made[-1])
    done = cli("prune", "--keep", "0", cwd=tmp_path)  # all but latest, which stays
    assert done.returncode == 0 and "removed 1 test folder from store, kept 1" in done.stdout.decode()
    assert all(stray.is_dir() for stray in strays)
    assert cli("prune", "--keep", "-1", cwd=tmp_path).returncode == 254
    assert cli("prune", "--keep", "1", "--store", str(tmp_path / "elsewhere"), cwd=tmp_path).returncode == 254


def test_serve_lists_the_tests_newest_first_and_serves_their_files_on_localhost(tmp_path):
    kept = str(tmp_path / "store")
    valid = run_test("echo", str(GNODE), node_count=1, time_limit=1, rate=20, store=kept)
    time.sleep(0.002)
    idle = run_test("echo", str(GNODE), node_count=1, time_limit=1, rate=0, store=kept)
    server = subprocess.Popen([sys.executable, "-m", "gnode_cluster", "serve", "--store", kept, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=node_env())
    try:
        banner = server.stdout.readline().decode()
        assert banner.startswith("serving %s on http://127.0.0.1:" % kept), banner + server.stderr.read().decode()
        address = banner.split()[3]
        page = urllib.request.urlopen(address, timeout=10).read().decode()
        newest, older = (page.index(os.path.basename(path)) for path in (idle.path, valid.path))
        assert newest < older  # newest first
        assert page.count(">valid<") == 1 and page.count(">INVALID<") == 1 and ">echo<" in page
        assert "node_count 1" in page and "rate 20.0" in page
        served = json.loads(urllib.request.urlopen(address + "echo/%s/results.json" % os.path.basename(valid.path),
                                                   timeout=10).read())
        assert served["valid"] is True and served["options"]["rate"] == 20.0
        # a test's link opens its report, and the report's script is served beside it
        folder = address + "echo/%s/" % os.path.basename(valid.path)
        assert 'href="echo/%s/"' % os.path.basename(valid.path) in page
        report = urllib.request.urlopen(folder, timeout=10).read().decode()
        assert "<title>echo: valid</title>" in report
        script = re.search(r'<script src="([^"]+)"', report).group(1)
        assert b"plotly" in urllib.request.urlopen(folder + script, timeout=10).read(2000)
    finally:
        server.terminate()
        server.wait(10)
