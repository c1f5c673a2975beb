"""The benchmark tools that tests can afford to run: small sizes, real nodes."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
def test_instructions_counts_a_real_node_per_proxy_and_per_echo():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), "--proxies", "40", "--echoes", "40"],
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
