/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-util.h"
#include "dfu-bundle-import.h"
#include "dfu-error.h"

#define ALL_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

typedef struct {
	char *dir;
	char *cache_dir;
	gboolean done;
	char *path;
	GError *error;
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
	f->dir = g_dir_make_tmp("dfud-import-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->cache_dir = g_build_filename(f->dir, "cache", NULL);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
	g_clear_error(&f->error);
	g_free(f->path);
	dfu_test_remove_tree(f->dir);
	g_free(f->cache_dir);
	g_free(f->dir);
}

static void
import_done_cb(GObject *source, GAsyncResult *result, gpointer user_data)
{
	Fixture *f = user_data;

	f->path = dfu_bundle_import_finish(result, &f->error);
	f->done = TRUE;
}

static void
import_and_wait(Fixture *f, int fd, GCancellable *cancellable)
{
	dfu_bundle_import_async(f->cache_dir, fd, cancellable, import_done_cb, f);
	while (!f->done)
		g_main_context_iteration(NULL, TRUE);
}

static int
memfd_with(const char *contents, unsigned int seals)
{
	int fd = memfd_create("bundle", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, contents, strlen(contents)), ==, (ssize_t)strlen(contents));
	g_assert_cmpint(fcntl(fd, F_ADD_SEALS, seals), ==, 0);
	return fd;
}

static int
file_of_size(Fixture *f, const char *name, guint64 size, int flags)
{
	g_autofree char *path = g_build_filename(f->dir, name, NULL);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	g_assert_cmpint(fd, >=, 0);
	/* sparse: no disk space is used */
	g_assert_cmpint(ftruncate(fd, (off_t)size), ==, 0);
	close(fd);
	fd = open(path, flags | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	return fd;
}

/* refused with BUNDLE_UNREADABLE and a message containing what; closes fd */
static void
assert_refused(int fd, const char *what)
{
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(fd, >=, 0);
	g_assert_false(dfu_bundle_import_check_fd(fd, NULL, &error));
	close(fd);
	g_assert_error(error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE);
	if (strstr(error->message, what) == NULL)
		g_error("'%s' does not say '%s'", error->message, what);
}

static void
test_refused_kinds(Fixture *f, gconstpointer data)
{
	int fds[2];

	g_assert_cmpint(pipe2(fds, O_CLOEXEC), ==, 0);
	close(fds[1]);
	assert_refused(fds[0], "is a pipe");
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
	close(fds[1]);
	assert_refused(fds[0], "is a socket");
	assert_refused(eventfd(0, EFD_CLOEXEC), "is an anonymous descriptor");
	assert_refused(open("/dev/zero", O_RDONLY | O_CLOEXEC), "is a character device");
	assert_refused(open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), "is a directory");
	assert_refused(memfd_with("unsealed", 0), "memfd without the write, shrink and grow seals");
	assert_refused(memfd_with("half sealed", F_SEAL_SHRINK | F_SEAL_GROW), "memfd without");
	assert_refused(file_of_size(f, "write-only", 10, O_WRONLY), "not open for reading");
	assert_refused(file_of_size(f, "empty", 0, O_RDONLY), "the bundle is empty");
}

/* the size is known from fstat: nothing is read, nothing is created */
static void
test_too_large(Fixture *f, gconstpointer data)
{
	int fd = file_of_size(f, "huge", G_GUINT64_CONSTANT(10) << 30, O_RDONLY);
	g_autofree char *bundles = dfu_bundle_import_dir(f->cache_dir);

	import_and_wait(f, fd, NULL);
	close(fd);
	g_assert_error(f->error, DFU_ERROR, DFU_STATUS_BUNDLE_UNREADABLE);
	g_assert_nonnull(strstr(f->error->message, "10737418240 bytes, more than the 256 MiB"));
	g_assert_false(g_file_test(bundles, G_FILE_TEST_EXISTS));
}

static void
assert_imported(Fixture *f, const char *contents)
{
	g_autofree char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, contents, -1);
	g_autofree char *expected = dfu_bundle_import_path(f->cache_dir, digest);
	g_autofree char *stored = NULL;

	g_assert_no_error(f->error);
	g_assert_cmpstr(f->path, ==, expected);
	g_assert_true(g_file_get_contents(f->path, &stored, NULL, NULL));
	g_assert_cmpstr(stored, ==, contents);
}

static void
test_sealed_memfd(Fixture *f, gconstpointer data)
{
	int fd = memfd_with("sealed bundle", ALL_SEALS);

	g_assert_true(dfu_bundle_import_check_fd(fd, NULL, NULL));
	import_and_wait(f, fd, NULL);
	close(fd);
	assert_imported(f, "sealed bundle");
}

/* from offset 0 whatever the caller's offset, and no more than the size at submission */
static void
test_regular_file(Fixture *f, gconstpointer data)
{
	g_autofree char *path = g_build_filename(f->dir, "bundle.bin", NULL);
	guint64 size = 0;
	int fd;

	g_assert_true(g_file_set_contents(path, "file bundle", -1, NULL));
	fd = open(path, O_RDWR | O_CLOEXEC);
	g_assert_true(dfu_bundle_import_check_fd(fd, &size, NULL));
	g_assert_cmpuint(size, ==, 11);
	g_assert_cmpint(lseek(fd, 0, SEEK_END), ==, 11);
	import_and_wait(f, fd, NULL);
	close(fd);
	assert_imported(f, "file bundle");
}

static guint
count_entries(const char *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	guint n = 0;

	while (dir != NULL && g_dir_read_name(dir) != NULL)
		n++;
	return n;
}

/* a cancelled import ends its thread, closes its descriptor and leaves no file */
static void
test_cancel(Fixture *f, gconstpointer data)
{
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autofree char *bundles = dfu_bundle_import_dir(f->cache_dir);
	int fd = file_of_size(f, "large", DFU_BUNDLE_IMPORT_MAX_SIZE, O_RDONLY);
	guint open_fds = count_entries("/proc/self/fd");

	dfu_bundle_import_async(f->cache_dir, fd, cancellable, import_done_cb, f);
	close(fd);
	g_cancellable_cancel(cancellable);
	while (!f->done)
		g_main_context_iteration(NULL, TRUE);
	g_assert_error(f->error, DFU_ERROR, DFU_STATUS_CANCELLED);
	g_assert_null(f->path);
	g_assert_cmpuint(count_entries(bundles), ==, 0);
	/* the worker drops its hold on the task, and so the copy of the descriptor, just after */
	for (guint i = 0; i < 5000 && count_entries("/proc/self/fd") != open_fds - 1; i++)
		g_usleep(1000);
	g_assert_cmpuint(count_entries("/proc/self/fd"), ==, open_fds - 1);
}

#define ADD(path, func) g_test_add(path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	ADD("/core/bundle-import/refused-kinds", test_refused_kinds);
	ADD("/core/bundle-import/too-large", test_too_large);
	ADD("/core/bundle-import/sealed-memfd", test_sealed_memfd);
	ADD("/core/bundle-import/regular-file", test_regular_file);
	ADD("/core/bundle-import/cancel", test_cancel);
	return g_test_run();
}
