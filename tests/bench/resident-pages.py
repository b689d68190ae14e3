#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""KiB of physical memory the given processes have resident, each page counted once
(the shared libraries two processes map are one set of pages). Reads the frame
numbers in /proc/PID/pagemap, which only root sees."""
import struct
import sys

frames = set()
for pid in sys.argv[1:]:
    with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/pagemap" % pid, "rb") as pagemap:
        for line in maps:
            if line.rstrip().endswith("[vsyscall]"):
                continue
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            pagemap.seek(start // 4096 * 8)
            for (entry,) in struct.iter_unpack("<Q", pagemap.read((end - start) // 4096 * 8)):
                frame = entry & ((1 << 55) - 1)
                if entry >> 63 and frame:
                    frames.add(frame)
if not frames:
    sys.exit("no frame numbers: run as root")
print(len(frames) * 4)
