#!/usr/bin/python3 -I
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for polkitd on a private bus: org.freedesktop.PolicyKit1's
CheckAuthorization answers from a file of "ACTION-ID yes|no|challenge" lines,
read again at each call (an action not listed is refused), and logs each call
as one JSON line: the action, the subject's kind and name, the caller's user,
the details and the flags."""
import argparse
import json

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

IFACE = "org.freedesktop.PolicyKit1.Authority"


def answers(path):
    table = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                table[parts[0]] = parts[1]
    return table


class Authority(dbus.service.Object):
    def __init__(self, bus, args):
        super().__init__(bus, "/org/freedesktop/PolicyKit1/Authority")
        self.bus = bus
        self.args = args

    @dbus.service.method(IFACE, in_signature="(sa{sv})sa{ss}us", out_signature="(bba{ss})")
    def CheckAuthorization(self, subject, action_id, details, flags, cancellation_id):
        kind, props = subject
        name = str(props.get("name", ""))
        record = {
            "action": str(action_id),
            "subject": str(kind),
            "name": name,
            "uid": int(self.bus.get_unix_user(name)) if name else -1,
            "details": {str(k): str(v) for k, v in details.items()},
            "flags": int(flags),
        }
        with open(self.args.log, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        answer = answers(self.args.answers).get(str(action_id), "no")
        return (answer == "yes", answer == "challenge", dbus.Dictionary({}, signature="ss"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--answers", required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    authority = Authority(bus, args)
    name = dbus.service.BusName("org.freedesktop.PolicyKit1", bus, do_not_queue=True)
    print("READY", flush=True)
    GLib.MainLoop().run()
    del authority, name


main()
