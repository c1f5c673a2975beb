"""A user's own project, in a folder of its own outside the checkout, after the README's
set-up: the layout and the commands of the README's "Your own project" section."""
import json
import os
import subprocess
import sys
import sysconfig
import textwrap

from helpers import INIT, INIT_OK, ROOT, line, node_env

ECHO = """\
from gnode import handler


@handler("echo")
def echo(node, msg):
    return {"type": "echo_ok", "echo": msg.body["echo"]}
"""
USER_ECHO = {"src": "c1", "dest": "n1", "body": {"type": "echo", "msg_id": 2, "echo": "mine"}}
USER_ECHO_OK = {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "mine", "in_reply_to": 2, "msg_id": 1}}


def make_project(root):
    """my_project/ as the README lays it out; its echo is told apart from gnode's own by a
    "mine" that only this fixture expects."""
    project = root / "my_project"
    (project / "handlers").mkdir(parents=True)
    (project / "tests" / "fixtures").mkdir(parents=True)
    (project / "handlers" / "echo.py").write_text(ECHO)
    (project / "conftest.py").write_text('pytest_plugins = ["gnode_pytest"]\n')
    (project / "tests" / "fixtures" / "echo.json").write_text(json.dumps({
        "handlers": "../../handlers",
        "cases": [{"name": "my echo answers", "input": [INIT, USER_ECHO], "expected": [INIT_OK, USER_ECHO_OK]}]}))
    return project


def run(command, cwd, stdin=b""):
    return subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, timeout=60, env=node_env())


def test_a_users_project_runs_its_fixtures_from_its_own_folder(tmp_path):
    project = make_project(tmp_path)
    done = run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], project)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert "1 passed" in done.stdout.decode()
    # Without a conftest.py, naming the plugin and the file.
    (project / "conftest.py").unlink()
    done = run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "gnode_pytest",
                "tests/fixtures/echo.json"], project)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert "1 passed" in done.stdout.decode()


def test_a_users_project_runs_its_node_with_the_console_script(tmp_path):
    project = make_project(tmp_path)
    gnode = os.path.join(sysconfig.get_path("scripts"), "gnode")
    done = run([gnode, "--handlers", "handlers"], project, line(INIT) + line(USER_ECHO))
    assert done.returncode == 0, done.stderr.decode()
    assert [json.loads(x) for x in done.stdout.decode().splitlines()] == [INIT_OK, USER_ECHO_OK]


def test_gnode_and_its_fixture_plugin_import_from_any_folder(tmp_path):
    probe = textwrap.dedent("""
        import gnode, gnode_pytest
        print(gnode.handler.__module__, gnode_pytest.run_case.__module__)
    """)
    done = run([sys.executable, "-c", probe], tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["gnode", "gnode_pytest"]


def test_a_users_project_runs_under_gnode_cluster_as_the_readme_prints_it(tmp_path):
    project = make_project(tmp_path)
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme[readme.index("### Your own project"):].splitlines()
                   if line.startswith("gnode-cluster test"))
    scripts = sysconfig.get_path("scripts")
    env = dict(node_env(), PATH=scripts + os.pathsep + os.environ["PATH"])  # gnode and gnode-cluster, installed
    done = subprocess.run(["bash", "-c", command], cwd=project, capture_output=True, timeout=60, env=env)
    assert done.returncode == 0 and "echo: valid" in done.stdout.decode(), done.stdout.decode() + done.stderr.decode()
    results = json.loads((project / "store" / "latest" / "results.json").read_text())
    assert results["operations"]["echo"]["ok"] > 10
