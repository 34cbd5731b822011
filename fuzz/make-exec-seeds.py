#!/usr/bin/env python3
"""Writes seed inputs for fuzz-exec: for each op in fuzz-exec.c's `ops[]`
list, at a few opsets, an encoding that selects that op as the first node
with float inputs of typical CNN shapes, followed by deterministic pseudo-
random bytes (which decide arity, attributes and data). The byte layout is
the Reader order of LLVMFuzzerTestOneInput in fuzz-exec.c.

usage: make-exec-seeds.py fuzz/fuzz-exec.c OUTDIR
"""
import os
import random
import re
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    text = open(src).read()
    body = re.search(r"static const char \*const ops\[\] = \{(.*?)\};", text, re.S).group(1)
    ops = re.findall(r'"([A-Za-z]+)"', body)
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1234)
    # dims encoded as bytes: 0->0, 1->1, 3->2, 5->3, 7->4
    shapes = [
        [4, 1, 3, 5, 5],  # rank 4: 1x2x3x3
        [4, 1, 5, 5, 5],  # 1x3x3x3
        [2, 3, 7],        # 2x4
        [1, 5],           # 3
    ]
    for idx, op in enumerate(ops):
        for k, opset in enumerate((7, 13, 18)):
            b = bytearray([opset - 1, 1])  # opset, 2 graph inputs
            for inp in range(2):
                shape = shapes[(k + inp) % len(shapes)]
                b += bytes([0, shape[0], 0]) + bytes(shape[1:])  # float32, rank, no symbolic dims
            b += bytes([0, 0, idx])  # no initializers, one node, the op
            b += bytes(rng.randrange(256) for _ in range(96))
            with open(os.path.join(out, "%s_%d" % (op, opset)), "wb") as f:
                f.write(b)


if __name__ == "__main__":
    main()
