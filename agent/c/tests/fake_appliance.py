"""A misbehaving appliance for thostile.sh: HELLO and LOGIN are answered properly, then
  mac64    HMAC and DIGEST answer a 64-byte value whatever the hash
  errctl   every other request fails with a message full of terminal escape sequences
  trickle  PING is answered one byte every 200 ms (3.2 s for its 16 bytes)
  stall    the first request's header is read, then nothing more: a large request fills the socket
  flood    every request gets an endless stream of answers to request ids it never sent
  flaky    connection 1 is closed at its first request, connection 2's HELLO fails UNAVAILABLE,
           later connections answer PING
usage: fake_appliance.py SOCKET MODE"""
import os, socket, struct, sys, time

SOCK, MODE = sys.argv[1], sys.argv[2]
HELLO, LOGIN, PING, DIGEST, HMAC = 0x01, 0x02, 0x05, 0x20, 0x30
UNAVAILABLE = 17


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


def serve(c, number):
    while True:
        _, _, _, op, _, rid, blen = struct.unpack(">2sBBHHII", recv_exact(c, 16))
        if MODE == "stall" and op not in (HELLO, LOGIN):
            time.sleep(3600)  # never reads the body: the client's send must give up by itself
        recv_exact(c, blen)
        if op == HELLO and MODE == "flaky" and number == 2:
            c.sendall(frame(op, UNAVAILABLE, rid, text("the appliance is starting up")))
        elif op == HELLO:
            c.sendall(frame(op, 0, rid, b"\x01" + text("fake") + text("c1") + struct.pack(">I", 1 << 24)))
        elif op == LOGIN:
            c.sendall(frame(op, 0, rid, b""))
        elif MODE == "mac64" and op in (DIGEST, HMAC):
            c.sendall(frame(op, 0, rid, struct.pack(">I", 64) + b"\xee" * 64))
        elif MODE == "trickle" and op == PING:
            for byte in frame(op, 0, rid, b""):
                c.sendall(bytes([byte]))
                time.sleep(0.2)
        elif MODE == "flood":
            others = b"".join(frame(op, 0, (rid + 1000 + i) & 0xFFFFFFFF, b"") for i in range(1024))
            while True:  # ends when the client closes (BrokenPipeError)
                c.sendall(others)
        elif MODE == "flaky" and number == 1:
            return
        elif MODE == "flaky" and op == PING:
            c.sendall(frame(op, 0, rid, b""))
        else:
            c.sendall(frame(op, 5, rid, text("no such key\x1b[31m\r\nvhsm-tool: OK: forged\x1b]0;title\x07")))


if os.path.exists(SOCK):
    os.unlink(SOCK)
srv = socket.socket(socket.AF_UNIX)
srv.bind(SOCK)
srv.listen(8)
print("ready", flush=True)
accepted = 0
while True:
    conn, _ = srv.accept()
    accepted += 1
    try:
        serve(conn, accepted)
    except (EOFError, ConnectionError):
        pass
    conn.close()
