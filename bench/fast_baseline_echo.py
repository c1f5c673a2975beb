#!/usr/bin/env python3
"""The fastest plain CPython echo loop: baseline_echo.py with the stdlib's C JSON codec
called directly.

baseline_echo.py line for line (keep the two the same): one blocking ``os.read`` of
whatever stdin holds, the reply built as gnode builds it (``in_reply_to`` the request's
``msg_id``, a ``msg_id`` of our own from one counter), all the replies of one read in
one ``os.write``; it answers ``init``, ``echo`` and ``proxy`` (forwarding ``inner`` to
``target`` and handing the answer back in ``proxy_ok``), anything else gets error 10.

What differs is only how JSON is read and written. ``json.loads``/``json.dumps`` are thin
Python layers over C: ``loads`` checks the argument's type, detects the encoding of bytes,
decodes, skips whitespace and calls the decoder's ``raw_decode``, which calls the C
scanner; ``dumps`` checks its keyword arguments, and ``JSONEncoder.encode`` and
``iterencode`` build a new C encoder for every call. Here the C scanner
(``json.scanner.c_make_scanner``) and the C encoder (``json.encoder.c_make_encoder``)
are built once, with exactly the arguments ``json.loads`` and ``json.dumps`` use by
default, and called directly: each read is decoded from UTF-8 once, the scanner is run
on each line's ``str``, and each reply is the encoder's output, so every byte written is
the byte ``json.dumps`` would have written. Nothing else in the loop is left to cut
without leaving plain CPython and the stdlib (a C extension, a hand-written serializer,
a reply format other than json.dumps's): so a framework's echo throughput is best
compared with this.

A line the scanner cannot take whole (leading or trailing whitespace, not JSON) goes to
``json.loads`` as bytes, as in the baseline, which accepts it or raises the same error; so
does every line of a read that is not UTF-8 (Maelstrom always writes UTF-8).
"""
import json
import json.decoder
import json.encoder
import json.scanner
import os
import sys


def codec():
    """(scan_once, encode): the stdlib's C scanner and encoder, configured as json.loads and
    json.dumps configure them by default."""
    if json.scanner.c_make_scanner is None or json.encoder.c_make_encoder is None:
        sys.exit("fast_baseline_echo.py: this Python has no C accelerator for json (_json)")
    scan_once = json.scanner.c_make_scanner(json.decoder.JSONDecoder())
    enc = json.encoder.JSONEncoder()  # the defaults, as json.dumps's _default_encoder
    # JSONEncoder.iterencode(o, _one_shot=True), which json.dumps runs for a dict:
    encode = json.encoder.c_make_encoder(
        {} if enc.check_circular else None, enc.default,
        json.encoder.encode_basestring_ascii if enc.ensure_ascii else json.encoder.encode_basestring,
        enc.indent, enc.key_separator, enc.item_separator, enc.sort_keys, enc.skipkeys, enc.allow_nan)
    return scan_once, encode


def main():
    scan_once, encode = codec()
    loads = json.loads
    node_id = None
    next_id = 0
    forwarded = {}  # msg_id of a forward -> (client, msg_id of its proxy request)
    partial = b""
    while True:
        data = os.read(0, 65536)
        if not data:
            return
        data = partial + data
        end = data.rfind(b"\n") + 1  # a newline byte is never inside a UTF-8 sequence
        partial = data[end:]
        if not end:
            continue
        try:
            lines = data[:end].decode("utf-8", "surrogatepass").split("\n")
        except UnicodeDecodeError:  # not UTF-8: bytes lines, each for json.loads as in the baseline
            lines = data[:end].split(b"\n")
        lines.pop()
        replies = []
        for line in lines:
            try:
                msg, stop = scan_once(line, 0)
            except (StopIteration, TypeError):  # TypeError: a bytes line
                stop = -1
            if stop != len(line):  # not one JSON value filling the line: json.loads accepts or raises
                msg = loads(line if type(line) is bytes else line.encode("utf-8", "surrogatepass"))
            body = msg["body"]
            kind = body["type"]
            dest, request_id = msg["src"], body.get("msg_id")
            if kind == "echo":
                reply = {"type": "echo_ok", "echo": body["echo"]}
            elif "in_reply_to" in body:  # the answer to a forward: hand it back to the client
                dest, request_id = forwarded.pop(body["in_reply_to"])
                reply = {"type": "proxy_ok", "result": body}
            elif kind == "proxy":  # forward the inner message; its answer comes in a later read
                forwarded[next_id] = (dest, request_id)
                forward = dict(body["inner"], msg_id=next_id)
                next_id += 1
                replies += encode({"src": node_id, "dest": body["target"], "body": forward}, 0)
                replies.append("\n")
                continue
            elif kind == "init":
                node_id = body["node_id"]
                reply = {"type": "init_ok"}
            else:
                reply = {"type": "error", "code": 10, "text": "unsupported type %r" % kind}
            if request_id is None:
                continue
            reply["in_reply_to"] = request_id
            reply["msg_id"] = next_id
            next_id += 1
            replies += encode({"src": node_id, "dest": dest, "body": reply}, 0)
            replies.append("\n")
        if replies:
            out = "".join(replies).encode()
            while out:
                out = out[os.write(1, out):]


if __name__ == "__main__":
    main()
