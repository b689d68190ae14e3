/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test-util.h"
#include "dfu-error.h"
#include "serial-transport.h"

static void
assert_refused(const char *path, gint code, const char *words)
{
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(dfu_serial_open_device(path, &error), ==, -1);
	g_assert_error(error, DFU_ERROR, code);
	if (strstr(error->message, words) == NULL)
		g_error("'%s' does not say '%s'", error->message, words);
}

static void
test_not_serial(void)
{
	g_autofree char *dir = g_dir_make_tmp("dfud-serial-XXXXXX", NULL);
	g_autofree char *missing = g_build_filename(dir, "ttyACM9", NULL);

	assert_refused("/etc/passwd", DFU_STATUS_INVALID_ARGUMENT,
	               "/etc/passwd is not a serial device (/etc/passwd is outside /dev)");
	assert_refused("/proc/self/mem", DFU_STATUS_INVALID_ARGUMENT, "is outside /dev");
	assert_refused("/dev/null", DFU_STATUS_INVALID_ARGUMENT,
	               "/dev/null is not a serial device (not a terminal)");
	assert_refused("/dev/pts", DFU_STATUS_INVALID_ARGUMENT, "not a character device");
	assert_refused("/dev/ttyDFUD-missing", DFU_STATUS_LINK_NOT_FOUND, "No such file");
	assert_refused(missing, DFU_STATUS_LINK_NOT_FOUND, "No such file");
	dfu_test_remove_tree(dir);
}

/* a pty stands in for a serial port, also behind a link as in /dev/serial/by-id */
static void
test_pty(void)
{
	g_autofree char *dir = g_dir_make_tmp("dfud-serial-XXXXXX", NULL);
	g_autofree char *link = g_build_filename(dir, "by-id-link", NULL);
	g_autoptr(GError) error = NULL;
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	int fd;

	g_assert_cmpint(master, >=, 0);
	g_assert_cmpint(grantpt(master), ==, 0);
	g_assert_cmpint(unlockpt(master), ==, 0);
	fd = dfu_serial_open_device(ptsname(master), &error);
	g_assert_no_error(error);
	g_assert_true(isatty(fd));
	g_assert_cmpint(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), ==, O_RDWR | O_NONBLOCK);
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);
	close(fd);
	g_assert_cmpint(symlink(ptsname(master), link), ==, 0);
	fd = dfu_serial_open_device(link, &error);
	g_assert_no_error(error);
	close(fd);
	close(master);
	dfu_test_remove_tree(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/transport/serial-open/not-serial", test_not_serial);
	g_test_add_func("/transport/serial-open/pty", test_pty);
	return g_test_run();
}
