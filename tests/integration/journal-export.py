#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reads a file in the journal's export format and prints each entry that has
all the FIELD=VALUE pairs given, as one JSON object a line."""
import json
import struct
import sys


def entries(data):
    entry = {}
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        line = data[pos:end]
        pos = end + 1
        if not line:
            if entry:
                yield entry
            entry = {}
        elif b"=" in line:
            name, value = line.split(b"=", 1)
            entry[name.decode()] = value.decode()
        else:
            (size,) = struct.unpack("<Q", data[pos:pos + 8])
            entry[line.decode()] = data[pos + 8:pos + 8 + size].decode()
            if data[pos + 8 + size:pos + 9 + size] != b"\n":
                sys.exit("%s: a binary field does not end in a newline" % sys.argv[1])
            pos += 9 + size
    if entry:
        sys.exit("%s: the last entry does not end with an empty line" % sys.argv[1])


def main():
    wanted = [arg.split("=", 1) for arg in sys.argv[2:]]
    try:
        with open(sys.argv[1], "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    for entry in entries(data):
        if all(entry.get(name) == value for name, value in wanted):
            print(json.dumps(entry, sort_keys=True))


main()
