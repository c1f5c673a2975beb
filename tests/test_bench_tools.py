"""The benchmark tools that tests can afford to run: small sizes, real nodes."""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
def test_instructions_counts_a_real_node_per_proxy_and_per_echo():
    # 200 each, not fewer: a garbage collection, which falls within a short run or not as the
    # hash seed moves the allocations, costs a few million instructions (40 echoes once
    # measured 136,000 each, above the proxy's 133,000); start-up, not the count, takes the time
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), "--proxies", "200", "--echoes", "200"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = dict(re.findall(r"^\| (instructions [^|]+) \| ([\d,]+) \|$", done.stdout, re.M))
    per_proxy = int(figures["instructions per proxy round trip"].replace(",", ""))
    per_echo = int(figures["instructions per echo, 1 outstanding"].replace(",", ""))
    start = int(figures["instructions to start and answer init"].replace(",", ""))
    # a proxy round trip is two messages in and two out, an echo one of each; start-up
    # (the interpreter, gevent, the plugins) dwarfs both
    assert 10_000 < per_echo < per_proxy < 1_000_000 < 100_000_000 < start, figures


def test_the_checker_bench_reads_knossos_shaped_data_and_checks_its_synthetic_history(tmp_path):
    for verdict, last_read in (("good", 2), ("bad", 1)):
        folder = tmp_path / "data" / "cas-register" / verdict
        folder.mkdir(parents=True)
        (folder / "h.edn").write_text(  # Knossos's shape: one vector, no times; the register starts at 0
            "[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value 0}\n"
            " {:process 1, :type :invoke, :f :cas, :value [0 2]}\n {:process 1, :type :ok, :f :cas, :value [0 2]}\n"
            " {:process 0, :type :invoke, :f :read, :value nil}\n {:process 0, :type :ok, :f :read, :value %d}]\n"
            % last_read)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "checkers.py"), "--knossos", str(tmp_path),
                           "--skip-test", "--runs", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(1 good, 1 bad); verdicts as Knossos's: 2 of 2" in done.stdout
    assert re.search(r"synthetic lin-kv history, 20000 entries on 10 keys: True in [\d.]+ s \(target < 10 s\) ok",
                     done.stdout), done.stdout


# ---------------------------------------------------------------- the fast baseline and peers

BENCH = ROOT / "bench"


def _run_yardstick(name, data):
    return subprocess.run([str(BENCH / name)], input=data, capture_output=True, timeout=60, cwd="/tmp")


def test_the_fast_baseline_writes_byte_for_byte_what_the_json_dumps_baseline_writes():
    lines = [b'{"id":0,"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"node_id":"n1","node_ids":["n1","n2"]}}']
    # enough echoes for many 64 KiB reads, so reads end in the middle of lines (and of UTF-8 sequences)
    for k in range(1, 6001):
        lines.append(b'{"id":%d,"src":"c1","dest":"n1","body":{"type":"echo","msg_id":%d,'
                     b'"echo":"Please echo %d \xc3\xa9\xf0\x9f\x98\x80 \\u00e9 <&> \\"q\\""}}' % (k, k, k))
    lines += [
        b'{"src":"c2","dest":"n1","body":{"type":"proxy","msg_id":7,"target":"n2",'
        b'"inner":{"type":"echo","echo":[1,-0.0,2.5e300,1e400,null,true,{"z":1,"a":{}}]}}}',
        b'{"src":"n2","dest":"n1","body":{"type":"echo_ok","echo":"x","in_reply_to":6001}}',  # the forward's answer
        b'  {"src":"c3","dest":"n1","body":{"type":"echo","msg_id":9,"echo":"spaces"}}  \r',
        b'{"src":"c3","dest":"n1","body":{"type":"read","msg_id":10}}',  # error 10
        b'{"src":"c3","dest":"n1","body":{"type":"echo","echo":"no msg_id: no reply"}}',
        b'\xef\xbb\xbf{"src":"c3","dest":"n1","body":{"type":"echo","msg_id":11,"echo":"BOM"}}',
        b'{"src":"c3","dest":"n1","body":{"type":"echo","msg_id":12,"echo":"lone surrogate \xed\xa0\x80"}}',
    ]
    data = b"\n".join(lines) + b'\n{"src":"c3","dest":"n1","bo'  # ends with half a line
    plain, fast = _run_yardstick("baseline_echo.py", data), _run_yardstick("fast_baseline_echo.py", data)
    assert plain.returncode == fast.returncode == 0, plain.stderr + fast.stderr
    assert plain.stdout.count(b"\n") == 1 + 6000 + 1 + 1 + 1 + 1 + 1 + 1  # init_ok, echoes, forward, ...
    assert fast.stdout == plain.stdout
    # a line that is not JSON, or JSON and more: both fail the same way, before writing that read's replies
    for junk in (b"{oops", lines[2] + b" x"):
        bad = b"\n".join(lines[:3]) + b"\n" + junk + b"\n"
        plain, fast = _run_yardstick("baseline_echo.py", bad), _run_yardstick("fast_baseline_echo.py", bad)
        assert plain.returncode == fast.returncode == 1, (junk, fast.stdout)
        assert plain.stdout == fast.stdout == b""
        assert plain.stderr.splitlines()[-1] == fast.stderr.splitlines()[-1]
        assert b"JSONDecodeError" in fast.stderr.splitlines()[-1]


def _load_run():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_accepts_the_echo_replies_maelstrom_accepts_and_rejects_the_others():
    run = _load_run()

    class Node:
        label = "peer"

    def check(*replies):
        data = b"".join(r + b"\n" for r in replies)
        return run.echo_latencies(Node(), [(10, data)], [0] * len(replies), "c1", "check")

    ok = [b'{"src":"n1","dest":"c1","body":{"type":"echo_ok","echo":"Please echo 1","in_reply_to":1}}',  # JS, Python
          b'{"src":"n1","dest":"c1","body":{"echo":"Please echo 2","in_reply_to":2,"msg_id":2,"type":"echo_ok"}}',  # Go
          b'{"body":{"type":"echo_ok","msg_id":9,"echo":"Please echo 3","in_reply_to":3},"dest":"c1","src":"n1"}',
          b'{"src":"n1","dest":"c1","id":5,"body":{"type":"echo_ok","echo":"Please echo 4","in_reply_to":4}}']
    assert check(*ok) == [10] * 4
    for wrong in (b'{"type":"echo_ok","echo":"Please echo 1","in_reply_to":1,"msg_id":"7"}',  # msg_id not an Int
                  b'{"type":"echo_ok","echo":"Please echo 1","in_reply_to":1,"extra":0}',  # closed schema
                  b'{"type":"echo_ok","in_reply_to":1}',  # no echo
                  b'{"type":"echo_ok","echo":"Please echo 1","in_reply_to":"1"}'):
        with pytest.raises(run.BenchFailure):
            check(b'{"src":"n1","dest":"c1","body":%s}' % wrong)
    with pytest.raises(run.BenchFailure):  # Maelstrom's envelope: id, if any, is an integer
        check(b'{"src":"n1","dest":"c1","id":"x","body":{"type":"echo_ok","echo":"Please echo 1","in_reply_to":1}}')


def test_peers_run_beside_gnode_in_the_echo_scenarios_only(tmp_path):
    fast = str(BENCH / "fast_baseline_echo.py")
    (tmp_path / "peers.json").write_text(json.dumps({"peers": [{"name": "y", "label": "y", "argv": [fast]}]}))
    done = subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--only", "echo-closed,proxy",
                           "--proxy-n", "300", "--closed-n", "500", "--warm", "20", "--no-save",
                           "--peer", "x=" + fast, "--peers", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header == ["scenario", "metric", "baseline", "fast baseline", "gevent floor", "gnode", "x", "y",
                      "gnode / baseline", "gnode / fast baseline", "target"], header
    rows = {}
    for line in table[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[(cells[0], cells[1])] = dict(zip(header, cells))
    closed = rows[("echo, closed loop, 64 outstanding", "msgs/s")]
    assert re.fullmatch(r"[\d,]+", closed["x"]) and re.fullmatch(r"[\d,]+", closed["y"]), closed
    assert re.fullmatch(r"[\d.]+x", closed["gnode / fast baseline"]), closed
    proxied = rows[("proxy round trip, 64 outstanding", "proxy ops/s, each its own")]
    assert proxied["x"] == proxied["y"] == "—", proxied  # a peer only echoes: not run in the proxy scenario
    assert re.fullmatch(r"[\d,]+", proxied["fast baseline"]), proxied
    assert "  round 1/1  echo-closed x " in done.stdout and "  round 1/1  proxy       x " not in done.stdout


def test_peers_prepare_extracts_checks_and_lists_the_demos_outside_the_repository(tmp_path):
    demo = tmp_path / "maelstrom" / "demo" / "python"
    demo.mkdir(parents=True)
    (demo / "echo.py").write_text((BENCH / "fast_baseline_echo.py").read_text())  # a stand-in echo demo
    (demo / "echo.py").chmod(0o644)  # prepare makes it executable, as Maelstrom needs
    into = tmp_path / "peers"
    done = subprocess.run([sys.executable, str(BENCH / "peers.py"), "prepare", "--maelstrom",
                           str(tmp_path / "maelstrom"), "--into", str(into), "--only", "python,ruby"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((into / "peers.json").read_text())
    exe = str(into / "demo" / "python" / "echo.py")
    assert manifest["peers"] == [{"name": "python", "label": "python demo", "argv": [exe]}]
    assert "has no demo/ruby" in manifest["skipped"]["ruby"]
    assert os.access(exe, os.X_OK)
    assert "--peer 'python demo=%s'" % exe in done.stdout
    refused = subprocess.run([sys.executable, str(BENCH / "peers.py"), "prepare", "--maelstrom",
                              str(tmp_path / "maelstrom"), "--into", str(ROOT / "build" / "peers")],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "inside this repository" in refused.stderr
