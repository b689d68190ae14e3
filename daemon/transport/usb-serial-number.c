/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "usb-serial-number.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"

/* tty (CDC ACM), its interface, the USB device: a USB-serial adapter's port adds one */
#define MAX_LEVELS 4
#define SERIAL_MAX 256

const char *
usb_sysfs_root(void)
{
#if DFUD_TEST_HOOKS
	const char *root = g_getenv("DFUD_TEST_SYSFS");
	if (root != NULL)
		return root;
#endif
	return "/sys";
}

/* the first "serial" in the device's own directory or above it, where a USB device has one */
static char *
serial_above(const char *device_dir)
{
	g_autofree char *dir = realpath(device_dir, NULL);

	for (guint i = 0; dir != NULL && i < MAX_LEVELS; i++) {
		g_autofree char *serial_file = g_build_filename(dir, "serial", NULL);
		g_autofree char *vendor_file = g_build_filename(dir, "idVendor", NULL);
		g_autofree char *text = NULL;
		gsize len = 0;
		char *parent;

		/* the USB device: its serial number, or none */
		if (g_file_test(vendor_file, G_FILE_TEST_EXISTS)) {
			if (!g_file_get_contents(serial_file, &text, &len, NULL) || len >= SERIAL_MAX)
				return NULL;
			g_strstrip(text);
			return text[0] != '\0' ? g_steal_pointer(&text) : NULL;
		}
		parent = g_path_get_dirname(dir);
		g_free(dir);
		dir = parent;
	}
	return NULL;
}

char *
usb_serial_number_of_tty(const char *sysfs, const char *dev_node)
{
	g_autofree char *name = NULL;
	g_autofree char *device = NULL;

	if (!g_str_has_prefix(dev_node, "/dev/"))
		return NULL;
	name = g_strdup(dev_node + strlen("/dev/"));
	g_strdelimit(name, "/", '!');
	device = g_build_filename(sysfs, "class", "tty", name, "device", NULL);
	return serial_above(device);
}

char *
usb_tty_with_serial_number(const char *sysfs, const char *serial)
{
	g_autofree char *class_dir = g_build_filename(sysfs, "class", "tty", NULL);
	g_autoptr(GDir) dir = g_dir_open(class_dir, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *device = g_build_filename(class_dir, name, "device", NULL);
		g_autofree char *found = serial_above(device);

		if (g_strcmp0(found, serial) == 0) {
			g_autofree char *node = g_strconcat("/dev/", name, NULL);
			return g_strdelimit(g_steal_pointer(&node), "!", '/');
		}
	}
	return NULL;
}
