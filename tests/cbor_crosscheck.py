#!/usr/bin/python3
"""Cross-check shade's CBOR codec against an independent implementation.

Driven by tests/test_cbor.c over stdin/stdout.  Frames are a 4-byte
big-endian length followed by that many bytes of CBOR.

  cbor_crosscheck.py echo
      For each frame read: decode it with cbor2, re-encode it with
      cbor2 (canonical=True) and write the result as a frame.

  cbor_crosscheck.py generate SEED COUNT
      Write COUNT frames, each a pseudo-random value (from SEED) encoded
      by cbor2 with canonical=True, in shade's value mapping: tuples are
      arrays, list snapshots are tag 203 around an array, exceptions tag
      202 around [name, message, args, chain].

Exit status 3 (with a message on stderr) when cbor2 is missing.
"""
import math
import random
import struct
import sys

try:
    import cbor2
except ImportError:
    sys.stderr.write("cbor_crosscheck.py: the cbor2 module is missing for "
                     + sys.executable + " (Debian: apt-get install "
                     "python3-cbor2)\n")
    sys.exit(3)

TAG_EXCEPTION = 202
TAG_LIST = 203


def read_exact(stream, n):
    """Read exactly n bytes, or None at a clean end of input."""
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            if data:
                raise EOFError("input ends inside a frame")
            return None
        data += chunk
    return data


def write_frame(stream, payload):
    stream.write(struct.pack(">I", len(payload)) + payload)
    stream.flush()


def echo():
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = read_exact(inp, 4)
        if head is None:
            return 0
        (n,) = struct.unpack(">I", head)
        payload = read_exact(inp, n)
        if payload is None:
            raise EOFError("input ends inside a frame")
        value = cbor2.loads(payload)
        write_frame(out, cbor2.dumps(value, canonical=True))


class Gen:
    """Pseudo-random values in shade's data model.

    Floats that are exact halves with magnitude 32768..65504 are left
    out: cbor2 5.4.6's C encoder writes them as singles although the
    half is exact (RFC 8949 Appendix A: 65504.0 is f97bff, which
    test_cbor checks on its own).
    """

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def text(self, allow_nul=True):
        r = self.rng
        pools = [(0x20, 0x7e), (0xa0, 0x7ff), (0x800, 0xd7ff),
                 (0xe000, 0xfffd), (0x10000, 0x10ffff)]
        out = []
        for _ in range(r.randrange(0, 12)):
            lo, hi = r.choice(pools)
            out.append(chr(r.randint(lo, hi)))
        if allow_nul and r.random() < 0.05:
            out.append("\0")
        return "".join(out)

    def integer(self):
        r = self.rng
        bits = r.choice([4, 8, 16, 32, 63])
        v = r.randrange(0, 1 << bits)
        if r.random() < 0.05:
            v = (1 << 63) - 1
        return -v - 1 if r.random() < 0.5 else v

    def real(self):
        r = self.rng
        c = r.randrange(7)
        if c == 0:
            return r.choice([0.0, -0.0, 1.5, 1e300, -4.1, 6.1e-5,
                             math.inf, -math.inf, math.nan, 5.960464477539063e-8,
                             100000.0, 3.4028234663852886e+38])
        if c == 1:                       # exactly a half (see below)
            return struct.unpack(">e", struct.pack(">H", r.randrange(0x7800)))[0]
        if c == 2:                       # exactly a single
            return struct.unpack(">f", struct.pack(">I", r.randrange(0x7f800000)))[0]
        return struct.unpack(">d", struct.pack(">Q", r.randrange(0x7ff0000000000000)))[0] * r.choice([1, -1])

    def key(self, depth):
        r = self.rng
        c = r.randrange(5 if depth < 3 else 4)
        if c == 0:
            return self.integer()
        if c == 1:
            return self.text()
        if c == 2:
            return bytes(r.randrange(256) for _ in range(r.randrange(6)))
        if c == 3:
            return None
        return tuple(self.key(depth + 1) for _ in range(r.randrange(3)))

    def value(self, depth=0):
        r = self.rng
        c = r.randrange(11 if depth < 4 else 6)
        if c == 0:
            return None
        if c == 1:
            return r.random() < 0.5
        if c == 2:
            return self.integer()
        if c == 3:
            return self.real()
        if c == 4:
            return self.text()
        if c == 5:
            return bytes(r.randrange(256) for _ in range(r.randrange(10)))
        if c == 6:
            return [self.value(depth + 1) for _ in range(r.randrange(5))]
        if c == 7:
            return cbor2.CBORTag(TAG_LIST, [self.value(depth + 1)
                                            for _ in range(r.randrange(5))])
        if c == 8 or c == 9:
            d = {}
            for _ in range(r.randrange(5)):
                d[self.key(depth + 1)] = self.value(depth + 1)
            return d
        chain = [[self.text(False), self.text(False), self.text(False)]
                 for _ in range(r.randrange(3))]
        args = [self.value(depth + 1) for _ in range(r.randrange(3))]
        name = r.choice(["KeyError", "ValueError", "bank.Overdrawn",
                         self.text(False)])
        return cbor2.CBORTag(TAG_EXCEPTION,
                             [name, self.text(False), args, chain])


def generate(seed, count):
    out = sys.stdout.buffer
    g = Gen(seed)
    for _ in range(count):
        write_frame(out, cbor2.dumps(g.value(), canonical=True))
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "echo":
        return echo()
    if len(argv) == 4 and argv[1] == "generate":
        return generate(int(argv[2]), int(argv[3]))
    sys.stderr.write("usage: cbor_crosscheck.py echo | generate SEED COUNT\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
