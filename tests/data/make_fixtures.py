#!/usr/bin/python3
"""Generate the small data fixtures under tests/data/ with NumPy (run: /usr/bin/python3 make_fixtures.py).

Every file here is committed; tests/core/test_data.c checks the values written below."""
import gzip
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def save(name, a, version=None):
    with open(path(name), "wb") as f:
        np.lib.format.write_array(f, a, version=version)


def main():
    # one file per dtype, values i * 1.5 - 3 (as the dtype takes them), shape (2, 3)
    base = np.arange(6).reshape(2, 3) * 1.5 - 3
    save("f4.npy", base.astype("<f4"))
    save("f8.npy", base.astype("<f8"))
    save("i4.npy", np.arange(6, dtype="<i4").reshape(2, 3) - 2)
    save("i8.npy", (np.arange(6, dtype="<i8").reshape(2, 3) - 2) * 10**12)
    save("u1.npy", np.array([0, 1, 127, 128, 254, 255], dtype="u1"))
    save("b1.npy", np.array([[True, False], [False, True]]))
    # format 2.0 and 3.0 headers
    save("f8_v2.npy", np.arange(5, dtype="<f8") / 4, version=(2, 0))
    save("i4_v3.npy", np.arange(4, dtype="<i4") * 7, version=(3, 0))
    # big-endian data
    save("f8_be.npy", (np.arange(6).reshape(3, 2) * 0.25).astype(">f8"))
    save("i4_be.npy", np.array([1, -2, 70000], dtype=">i4"))
    # Fortran order: a C-order (2, 3, 4) array 0..23 stored column-major
    save("f4_fortran.npy", np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4)))
    # 0-d and empty
    save("scalar.npy", np.array(3.5, dtype="<f8"))
    save("empty.npy", np.zeros((0, 4), dtype="<f4"))
    # corrupt files
    good = open(path("f4.npy"), "rb").read()
    with open(path("bad_magic.npy"), "wb") as f:
        f.write(b"\x93NUMPX" + good[6:])
    with open(path("bad_truncated.npy"), "wb") as f:
        f.write(good[:-5])
    with open(path("bad_extra.npy"), "wb") as f:
        f.write(good + b"\0" * 8)
    save("bad_dtype.npy", np.array([1 + 2j], dtype="<c8"))
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }"
    header += b" " * (64 - 10 - len(header) - 1) + b"\n"
    with open(path("bad_header.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 24)
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += b" " * (128 - 10 - len(header) - 1) + b"\n"
    with open(path("bad_huge.npy"), "wb") as f:  # a corrupt shape: must not allocate 8 TB
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + b"\0" * 24)
    # IDX: a ubyte image file, an int32 file and a float64 file, gzip and plain
    img = (np.arange(2 * 3 * 4) * 10 % 256).astype(np.uint8).reshape(2, 3, 4)
    idx_bytes = b"\0\0\x08\x03" + struct.pack(">III", 2, 3, 4) + img.tobytes()
    with gzip.GzipFile(path("img-idx3-ubyte.gz"), "wb", mtime=0) as f:
        f.write(idx_bytes)
    with open(path("img-idx3-ubyte"), "wb") as f:
        f.write(idx_bytes)
    ints = np.array([-5, 0, 100000], dtype=">i4")
    with gzip.GzipFile(path("ints-idx1-int.gz"), "wb", mtime=0) as f:
        f.write(b"\0\0\x0c\x01" + struct.pack(">I", 3) + ints.tobytes())
    dbl = np.array([[0.5, -1.25], [3.0, 1e-3]], dtype=">f8")
    with gzip.GzipFile(path("dbl-idx2-double.gz"), "wb", mtime=0) as f:
        f.write(b"\0\0\x0e\x02" + struct.pack(">II", 2, 2) + dbl.tobytes())
    with gzip.GzipFile(path("bad-idx-truncated.gz"), "wb", mtime=0) as f:
        f.write(idx_bytes[:-7])
    with gzip.GzipFile(path("bad-idx-huge.gz"), "wb", mtime=0) as f:  # 10 GB claimed, 4 given
        f.write(b"\0\0\x08\x02" + struct.pack(">II", 100000, 100000) + b"\1\2\3\4")
    with gzip.GzipFile(path("bad-idx-type.gz"), "wb", mtime=0) as f:
        f.write(b"\0\0\x0a\x01" + struct.pack(">I", 1) + b"\0")


if __name__ == "__main__":
    main()
