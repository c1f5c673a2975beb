"""What the node says on stderr, and what a user controls of it: --help, the log level, the
trace of messages, and the words for an answer that nothing waits for."""
import json
import subprocess
import sys

from helpers import GNODE, INIT, INIT_OK, echo, line, node_env, output, run_node

GOSSIP = """
import logging
from gnode import handler

mine = logging.getLogger("my_plugin")

@handler("gossip")
def gossip(node, msg):
    mine.debug("plugin debug line")
    mine.info("plugin info line")
    mine.warning("plugin warning line")
    node.send("n2", {"type": "gossip", "value": msg.body["value"]})
    return {"type": "gossip_started"}
"""
GOSSIP_REQUEST = {"src": "c1", "dest": "n1", "body": {"type": "gossip", "msg_id": 2, "value": 7}}
GOSSIP_ACK = {"src": "n2", "dest": "n1", "body": {"type": "gossip_ok", "in_reply_to": 1}}
SEND_ANSWER_WORDS = "an answer to a send that no handler takes: gossip_ok from n2 in reply to msg_id 1"


def gossip_then_ack(folder, *args, env=None):
    """Ask for a gossip, wait until it is sent, then acknowledge it, as a peer would (the
    acknowledgement can only come after the send); return the node's stderr."""
    node = subprocess.Popen([sys.executable, str(GNODE), "--handlers", str(folder), *args], cwd="/tmp",
                            env=node_env(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    node.stdin.write(line(INIT) + line(GOSSIP_REQUEST))
    node.stdin.flush()
    sent = [json.loads(node.stdout.readline()) for _ in range(3)]
    assert {"src": "n1", "dest": "n2", "body": {"type": "gossip", "value": 7, "msg_id": 1}} in sent
    _, err = node.communicate(line(GOSSIP_ACK), timeout=10)
    assert node.returncode == 0, err.decode()
    return err.decode()


def test_help_goes_to_stdout_and_exits_0():
    done = subprocess.run([sys.executable, str(GNODE), "--help"], capture_output=True, timeout=10)
    assert done.returncode == 0 and done.stderr == b""
    out = done.stdout.decode()
    assert out.startswith("usage: gnode") and "--log-level LEVEL" in out and "--trace" in out


def test_an_answer_to_a_send_that_no_handler_takes_is_a_debug_line(plugin_dir):
    folder = plugin_dir({"gossip.py": GOSSIP})
    assert SEND_ANSWER_WORDS not in gossip_then_ack(folder)  # info, the default
    assert "DEBUG gnode: " + SEND_ANSWER_WORDS in gossip_then_ack(folder, "--log-level", "debug")


def test_the_log_level_applies_to_gnode_and_to_plugins_and_the_flag_wins(plugin_dir):
    folder = plugin_dir({"gossip.py": GOSSIP})
    quiet = gossip_then_ack(folder, "--log-level", "WARNING", env={"GNODE_LOG_LEVEL": "debug"})
    assert "plugin warning line" in quiet
    assert "plugin info line" not in quiet and " INFO " not in quiet and " DEBUG " not in quiet
    chatty = gossip_then_ack(folder, env={"GNODE_LOG_LEVEL": "debug"})
    assert "DEBUG my_plugin: plugin debug line" in chatty and SEND_ANSWER_WORDS in chatty
    default = gossip_then_ack(folder)
    assert "INFO my_plugin: plugin info line" in default and "plugin debug line" not in default


def test_a_log_level_that_does_not_exist_stops_the_start():
    by_flag = run_node(line(INIT), "--log-level", "loud")
    assert by_flag.returncode == 2 and by_flag.stdout == b""
    assert "--log-level: invalid choice: 'loud'" in by_flag.stderr.decode()
    by_env = run_node(line(INIT), env={"GNODE_LOG_LEVEL": "loud"})
    assert by_env.returncode == 1 and by_env.stdout == b""
    assert "GNODE_LOG_LEVEL must be one of debug, info, warning, error, not 'loud'" in by_env.stderr.decode()


def test_trace_logs_every_message_in_and_out_only_when_asked():
    conversation = line(INIT) + line(echo(2, "traced"))
    answer = {"src": "n1", "dest": "c1", "body": {"type": "echo_ok", "echo": "traced", "in_reply_to": 2, "msg_id": 1}}
    for args, env in ((["--trace"], None), ([], {"GNODE_TRACE": "1"}), (["--trace", "--log-level", "error"], None)):
        done = run_node(conversation, *args, env=env)
        assert output(done) == [INIT_OK, answer]
        traced = [x.split("gnode.trace: ", 1)[1] for x in done.stderr.decode().splitlines() if "gnode.trace: " in x]
        assert traced == ["in  " + json.dumps(INIT), "in  " + json.dumps(echo(2, "traced")),
                          "out " + json.dumps(INIT_OK), "out " + json.dumps(answer)], (args, env)
    for env in (None, {"GNODE_TRACE": "0"}):
        assert "gnode.trace" not in run_node(conversation, env=env).stderr.decode()
