#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Usage: test-policy.py POLICY BUS-AUTH-HEADER
The policy declares exactly the actions the daemon asks polkit about, each
with a description, a message and its three defaults."""
import re
import sys
import xml.etree.ElementTree as ET

policy, header = sys.argv[1], sys.argv[2]
asked = set(re.findall(r'#define DFU_BUS_ACTION_\w+ "([^"]+)"', open(header).read()))
declared = {}
for action in ET.parse(policy).getroot().iter("action"):
    declared[action.get("id")] = action
status = 0
for missing in sorted(asked - declared.keys()):
    print("%s: action %s is asked for but not declared" % (policy, missing))
    status = 1
for extra in sorted(declared.keys() - asked):
    print("%s: action %s is declared but never asked for" % (policy, extra))
    status = 1
for name, action in sorted(declared.items()):
    for path in ("description", "message", "defaults/allow_any", "defaults/allow_inactive",
                 "defaults/allow_active"):
        element = action.find(path)
        if element is None or not (element.text or "").strip():
            print("%s: action %s has no %s" % (policy, name, path))
            status = 1
print("%d actions" % len(declared))
sys.exit(status)
