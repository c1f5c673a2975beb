"""The mutation tool (tests/tools/mutate.py, run by hand: it is slow) on a toy module: it
finds mutants, leaves alone what it must, applies one, and tells killed from survived."""
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("mutate", Path(__file__).parent / "tools" / "mutate.py")
mutate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutate)

TOY = '''"""A toy: its docstring is never mutated."""
import logging

log = logging.getLogger("toy")


def clamp(value, limit):
    """Never mutated either."""
    if value > limit:
        log.info("clamped %d to %d", value, 100)
        return limit
    return value
'''

# Kills "return limit -> return None"; says nothing about clamp(3, 3), so "> -> >=" survives.
TOY_TEST = '''from toy import clamp


def test_clamp():
    assert clamp(5, 3) == 3
    assert clamp(2, 3) == 2
'''


def test_mutants_of_a_toy_module_are_found_applied_and_judged(tmp_path):
    source = TOY.encode()
    mutants = {m.description: m for m in mutate.find_mutants("toy.py", source)}
    assert "value > limit  ->  (value >= limit)" in mutants
    assert "return limit  ->  return None" in mutants
    assert 'log.info("clamped %d to %d", value, 100)  ->  pass' in mutants  # the call may go...
    assert not any("100" in m.replacement or "toy" in m.replacement or '"""' in m.original
                   for m in mutants.values())  # ...but not its arguments, nor any docstring

    survivor, killed = mutants["value > limit  ->  (value >= limit)"], mutants["return limit  ->  return None"]
    assert b"    if (value >= limit):\n" in survivor.apply(source)

    base = tmp_path / "base"
    base.mkdir()
    (base / "toy.py").write_text(TOY)
    (base / "test_toy.py").write_text(TOY_TEST)
    (base / "pytest.ini").write_text("[pytest]\n")  # the toy's own rootdir: no config from above applies
    plan = mutate.Plan(["test_toy.py"], None, 60, {})
    assert mutate.run_mutant(killed, base, plan, tmp_path)["status"] == "killed"
    assert mutate.run_mutant(survivor, base, plan, tmp_path)["status"] == "survived"
    assert (base / "toy.py").read_text() == TOY  # mutants are made in copies
