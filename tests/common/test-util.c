/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>

#include "test-util.h"

void
dfu_test_remove_tree(const char *path)
{
	g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *child = g_build_filename(path, name, NULL);
		if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			dfu_test_remove_tree(child);
		else
			g_unlink(child);
	}
	g_rmdir(path);
}

void
dfu_test_openssl(const char *dir, const char *args)
{
	g_autofree char *cmd = g_strdup_printf("openssl %s", args);
	g_auto(GStrv) argv = NULL;
	g_autofree char *err = NULL;
	int status = -1;

	g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
	g_assert_true(g_spawn_sync(dir, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
	                           NULL, NULL, &err, &status, NULL));
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("openssl %s: %s", args, err);
}

GBytes *
dfu_test_repeat(const char *unit, gsize unit_len, gsize times)
{
	GByteArray *buf = g_byte_array_sized_new(unit_len * times);

	for (gsize i = 0; i < times; i++)
		g_byte_array_append(buf, (const guint8 *)unit, unit_len);
	return g_byte_array_free_to_bytes(buf);
}

static GLogWriterOutput
capture_writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
	GPtrArray *into = user_data;

	if ((level & G_LOG_LEVEL_WARNING) == 0)
		return g_log_writer_default(level, fields, n_fields, NULL);
	for (gsize i = 0; i < n_fields; i++) {
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			g_ptr_array_add(into, g_strdup(fields[i].value));
	}
	return G_LOG_WRITER_HANDLED;
}

void
dfu_test_capture_warnings(GPtrArray *into)
{
	g_log_set_writer_func(capture_writer, into, NULL);
}

void
dfu_test_collect_frame(const guint8 *msg, gsize len, gpointer user_data)
{
	g_ptr_array_add(user_data, g_bytes_new(msg, len));
}

void
dfu_test_assert_frame(GPtrArray *frames, guint index, const guint8 *msg, gsize len)
{
	g_assert_cmpuint(index, <, frames->len);
	g_assert_cmpmem(g_bytes_get_data(frames->pdata[index], NULL), g_bytes_get_size(frames->pdata[index]),
	                msg, len);
}
