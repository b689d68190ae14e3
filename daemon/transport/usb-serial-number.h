/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A USB serial port found again by its device's serial number: a
 * bootloader that resets re-enumerates, and its port may come back under
 * another name (ttyACM0, then ttyACM1). sysfs links each tty to its device
 * (class/tty/NAME/device, a '!' in NAME standing for a '/' below /dev); the
 * USB device above it holds the serial number.
 */

/* /sys, or in test builds the tree DFUD_TEST_SYSFS names */
const char *usb_sysfs_root(void);
/* the serial number of the USB device behind a tty node (/dev/ttyACM0), NULL when it has none */
char *usb_serial_number_of_tty(const char *sysfs, const char *dev_node);
/* the node (/dev/ttyACM1) of a tty whose USB device has that serial number, NULL when none */
char *usb_tty_with_serial_number(const char *sysfs, const char *serial);

G_END_DECLS
