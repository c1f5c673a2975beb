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
