/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <unistd.h>

#include "test-util.h"
#include "usb-serial-number.h"

/* a USB device dir with its serial number (NULL: none), and a tty NAME whose device is PORT below it */
static void
add_tty(const char *root, const char *usb, const char *serial, const char *port, const char *name)
{
	g_autofree char *usb_dir = g_build_filename(root, "devices", usb, NULL);
	g_autofree char *port_dir = g_build_filename(usb_dir, port, NULL);
	g_autofree char *vendor = g_build_filename(usb_dir, "idVendor", NULL);
	g_autofree char *tty_dir = g_build_filename(root, "class", "tty", name, NULL);
	g_autofree char *device = g_build_filename(tty_dir, "device", NULL);

	g_assert_cmpint(g_mkdir_with_parents(port_dir, 0755), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(tty_dir, 0755), ==, 0);
	g_assert_true(g_file_set_contents(vendor, "1915\n", -1, NULL));
	if (serial != NULL) {
		g_autofree char *file = g_build_filename(usb_dir, "serial", NULL);
		g_assert_true(g_file_set_contents(file, serial, -1, NULL));
	}
	g_assert_cmpint(symlink(port_dir, device), ==, 0);
}

static void
test_lookup(void)
{
	g_autofree char *root = g_dir_make_tmp("dfud-sysfs-XXXXXX", NULL);
	g_autofree char *acm = NULL;
	g_autofree char *ftdi = NULL;
	g_autofree char *pts = NULL;
	g_autofree char *found = NULL;
	g_autofree char *found_pts = NULL;

	/* CDC ACM: the interface is the tty's device; an FTDI adapter adds a port below it */
	add_tty(root, "usb1/1-1", "E1A2B3\n", "1-1:1.0", "ttyACM1");
	add_tty(root, "usb1/1-2", "FT123", "1-2:1.0/ttyUSB0", "ttyUSB0");
	add_tty(root, "usb1/1-3", NULL, "1-3:1.0", "ttyACM2");
	add_tty(root, "usb2/2-1", "PTS9", "2-1:1.0", "pts!4");

	acm = usb_serial_number_of_tty(root, "/dev/ttyACM1");
	ftdi = usb_serial_number_of_tty(root, "/dev/ttyUSB0");
	pts = usb_serial_number_of_tty(root, "/dev/pts/4");
	g_assert_cmpstr(acm, ==, "E1A2B3");
	g_assert_cmpstr(ftdi, ==, "FT123");
	g_assert_cmpstr(pts, ==, "PTS9");
	/* no serial number, no such tty, not below /dev */
	g_assert_null(usb_serial_number_of_tty(root, "/dev/ttyACM2"));
	g_assert_null(usb_serial_number_of_tty(root, "/dev/ttyACM7"));
	g_assert_null(usb_serial_number_of_tty(root, "/tmp/ttyACM1"));

	found = usb_tty_with_serial_number(root, "E1A2B3");
	found_pts = usb_tty_with_serial_number(root, "PTS9");
	g_assert_cmpstr(found, ==, "/dev/ttyACM1");
	g_assert_cmpstr(found_pts, ==, "/dev/pts/4");
	g_assert_null(usb_tty_with_serial_number(root, "NOPE"));

	dfu_test_remove_tree(root);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/usb-serial-number/lookup", test_lookup);
	return g_test_run();
}
