"""A misbehaving appliance for thostile.sh: HELLO and LOGIN are answered properly, then
  mac64   HMAC and DIGEST answer a 64-byte value whatever the hash
  errctl  every other request fails with a message full of terminal escape sequences
usage: fake_appliance.py SOCKET MODE"""
import os, socket, struct, sys

SOCK, MODE = sys.argv[1], sys.argv[2]
HELLO, LOGIN, DIGEST, HMAC = 0x01, 0x02, 0x20, 0x30


def frame(op, status, rid, body):
    return b"VH" + struct.pack(">BBHHII", 1, 1, op, status, rid, len(body)) + body


def text(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return b


def serve(c):
    while True:
        _, _, _, op, _, rid, blen = struct.unpack(">2sBBHHII", recv_exact(c, 16))
        recv_exact(c, blen)
        if op == HELLO:
            c.sendall(frame(op, 0, rid, b"\x01" + text("fake") + text("c1") + struct.pack(">I", 1 << 24)))
        elif op == LOGIN:
            c.sendall(frame(op, 0, rid, b""))
        elif MODE == "mac64" and op in (DIGEST, HMAC):
            c.sendall(frame(op, 0, rid, struct.pack(">I", 64) + b"\xee" * 64))
        else:
            c.sendall(frame(op, 5, rid, text("no such key\x1b[31m\r\nvhsm-tool: OK: forged\x1b]0;title\x07")))


if os.path.exists(SOCK):
    os.unlink(SOCK)
srv = socket.socket(socket.AF_UNIX)
srv.bind(SOCK)
srv.listen(8)
print("ready", flush=True)
while True:
    conn, _ = srv.accept()
    try:
        serve(conn)
    except (EOFError, ConnectionError):
        pass
    conn.close()
