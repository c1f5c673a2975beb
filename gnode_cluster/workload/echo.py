"""echo: each request's payload must come back unchanged (Maelstrom's workload/echo.clj)."""
from ..checker import implicated
from . import Workload, anything


class Echo(Workload):
    name = "echo"

    def next_op(self, worker):
        return {"f": "echo", "value": "Please echo %d" % self.rng.randrange(128)}

    def request(self, op):
        return {"type": "echo", "echo": op["value"]}

    def reply_schema(self, op):
        return {"echo": anything}

    def completion_value(self, op, reply):
        return reply["echo"]

    def check(self, history):
        """Every invocation's completion must be ok and echo its value: a failed or timed-out
        echo counts as a mismatch, as under Maelstrom."""
        invoked, errors, wrong = {}, [], []
        for entry in history:
            if entry["f"] != "echo":
                continue
            if entry["type"] == "invoke":
                invoked[entry["process"]] = entry
            else:
                request = invoked.pop(entry["process"], None)
                expected = request["value"] if request else None
                if entry["type"] != "ok" or entry["value"] != expected:
                    wrong.append(entry)
                    errors.append({"expected": expected, "received": entry.get("value") if entry["type"] == "ok"
                                   else None, "type": entry["type"], "error": entry.get("error")})
        result = {"valid": not errors, "errors": errors[:20], "error_count": len(errors)}
        if errors:
            result["implicated"] = implicated(wrong)
            first = errors[0]
            result["why"] = "%d echo(s) did not come back as sent; the first: expected %r, got %s" % (
                len(errors), first["expected"], "%r" % first["received"] if first["type"] == "ok"
                else "%s (%s)" % (first["type"], first["error"]))
        return result


WORKLOAD = Echo
