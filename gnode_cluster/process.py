"""One node as a process, started as Maelstrom starts it (what Maelstrom checks of the lines
it writes is in protocol.py). The cluster's loop thread owns its pipes: it calls ``write`` to queue
input, ``flush`` when stdin is writable, and ``read_stdout``/``read_stderr`` when they
are readable."""
import os
import signal
import subprocess
import tempfile

STDERR_KEPT = 32  # lines of a node's stderr kept for a failure report, as Maelstrom keeps


class ClusterNode:
    """The node ``name``: ``command`` run directly (no shell), working directory /tmp,
    stdin, stdout and stderr pipes, the caller's environment plus ``env``; its stderr is
    appended, line by line, to ``log_path``."""

    def __init__(self, name, command, env, log_path):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(command, cwd=tempfile.gettempdir(), env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True)  # so its own children can be ended too
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            os.set_blocking(stream.fileno(), False)
        self._pending = bytearray()  # input the pipe would not take yet
        self._stdout_partial = b""
        self._stderr_partial = b""
        self.stderr_tail = []

    @property
    def stdin(self):
        return self.process.stdin.fileno()

    @property
    def stdout(self):
        return self.process.stdout.fileno()

    @property
    def stderr(self):
        return self.process.stderr.fileno()

    def write(self, line):
        """Queue one line (text, with its newline) for the node's stdin, until ``flush``."""
        self._pending += line.encode()

    def flush(self):
        """Hand the pipe what it takes now; True while some is left. A node that is gone
        takes nothing, and that is said by its exit, not here (Maelstrom, too, swallows it)."""
        try:
            while self._pending:
                written = os.write(self.stdin, self._pending)
                del self._pending[:written]
        except BlockingIOError:
            return True
        except OSError:
            self._pending.clear()
        return False

    def read_stdout(self):
        """The complete lines the node has written since last asked (bytes, without the
        newline), or None once its stdout has closed."""
        lines, self._stdout_partial, ended = _read_lines(self.stdout, self._stdout_partial)
        return None if ended and not lines else lines

    def read_stderr(self):
        """Copy what the node wrote on stderr to its log; return those lines (text), or None
        once stderr has closed."""
        lines, self._stderr_partial, ended = _read_lines(self.stderr, self._stderr_partial)
        text = [line.decode("utf-8", "replace") for line in lines]
        for line in lines:
            self._log.write(line + b"\n")
        self._log.flush()
        self.stderr_tail += text
        del self.stderr_tail[:-STDERR_KEPT]
        return None if ended else text

    def kill(self):
        """End the node, and whatever it started, at once (SIGKILL, as Maelstrom ends a node)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()

    def close(self):
        self.kill()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass
        self._log.close()


def _read_lines(fd, partial):
    """Read what ``fd`` has; return (complete lines, the unfinished rest, whether it ended)."""
    chunks = []
    ended = False
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        except OSError:
            ended = True
            break
        if not chunk:
            ended = True
            break
        chunks.append(chunk)
    data = partial + b"".join(chunks)
    *lines, rest = data.split(b"\n")
    if ended and rest:  # a last line without its newline: Maelstrom never sees it
        rest = b""
    return lines, rest, ended
