/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "dfu-error.h"
#include "dfu-store.h"

#define JOB_FILE_SUFFIX ".json"
#define CORRUPT_SUFFIX ".corrupt"

struct _DfuStore {
	char *jobs_dir;
	char *next_id_path;
};

static gboolean
store_error_errno(GError **error, const char *what, const char *path, int errsv)
{
	g_set_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, "cannot %s %s: %s", what, path,
	            g_strerror(errsv));
	return FALSE;
}

/* GLib's file errors already carry the path and the errno text */
static gboolean
store_error_from_gerror(GError **error, const GError *cause)
{
	g_set_error_literal(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, cause->message);
	return FALSE;
}

DfuStore *
dfu_store_new(const char *state_dir, GError **error)
{
	g_autoptr(DfuStore) store = g_new0(DfuStore, 1);

	g_return_val_if_fail(state_dir != NULL, NULL);
	store->jobs_dir = g_build_filename(state_dir, "jobs", NULL);
	store->next_id_path = g_build_filename(state_dir, "next-id", NULL);
	if (g_mkdir_with_parents(store->jobs_dir, 0750) != 0) {
		store_error_errno(error, "create", store->jobs_dir, errno);
		return NULL;
	}
	return g_steal_pointer(&store);
}

void
dfu_store_free(DfuStore *store)
{
	if (store == NULL)
		return;
	g_free(store->jobs_dir);
	g_free(store->next_id_path);
	g_free(store);
}

static char *
store_job_path(DfuStore *store, guint64 id)
{
	g_autofree char *name = g_strdup_printf("%" G_GUINT64_FORMAT JOB_FILE_SUFFIX, id);
	return g_build_filename(store->jobs_dir, name, NULL);
}

gboolean
dfu_store_write_file(const char *path, const char *contents, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	if (!g_file_set_contents_full(path, contents, -1,
	                              G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0640,
	                              &error_local))
		return store_error_from_gerror(error, error_local);
	return TRUE;
}

gboolean
dfu_store_save_job(DfuStore *store, DfuJob *job, GError **error)
{
	g_autofree char *path = store_job_path(store, dfu_job_get_id(job));
	g_autofree char *json = dfu_job_to_json(job);

	return dfu_store_write_file(path, json, error);
}

gboolean
dfu_store_delete_job(DfuStore *store, guint64 id, GError **error)
{
	g_autofree char *path = store_job_path(store, id);

	if (g_unlink(path) != 0 && errno != ENOENT)
		return store_error_errno(error, "delete", path, errno);
	return TRUE;
}

static void
store_set_aside(const char *path, const char *reason)
{
	g_autofree char *aside = g_strconcat(path, CORRUPT_SUFFIX, NULL);

	if (g_rename(path, aside) != 0) {
		g_warning("job file %s is unusable (%s) and could not be renamed: %s", path, reason,
		          g_strerror(errno));
		return;
	}
	g_warning("job file %s is unusable (%s); kept as %s", path, reason, aside);
}

/* the name must be exactly <id>.json, so that stray files are not read as jobs */
static gboolean
store_parse_job_name(const char *name, guint64 *id)
{
	g_autofree char *stem = NULL;

	if (!g_str_has_suffix(name, JOB_FILE_SUFFIX))
		return FALSE;
	stem = g_strndup(name, strlen(name) - strlen(JOB_FILE_SUFFIX));
	return g_ascii_string_to_unsigned(stem, 10, 1, G_MAXINT64, id, NULL);
}

static gint
compare_id(gconstpointer a, gconstpointer b)
{
	guint64 ia = *(const guint64 *)a;
	guint64 ib = *(const guint64 *)b;
	return ia < ib ? -1 : ia > ib;
}

GArray *
dfu_store_list_jobs(DfuStore *store, GError **error)
{
	g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(guint64));
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GError) error_local = NULL;
	const char *name;

	dir = g_dir_open(store->jobs_dir, 0, &error_local);
	if (dir == NULL) {
		store_error_from_gerror(error, error_local);
		return NULL;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		guint64 id = 0;

		if (store_parse_job_name(name, &id))
			g_array_append_val(ids, id);
	}
	g_array_sort(ids, compare_id);
	return g_steal_pointer(&ids);
}

DfuJob *
dfu_store_load_job(DfuStore *store, guint64 id)
{
	g_autofree char *path = store_job_path(store, id);
	g_autofree char *contents = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(DfuJob) job = NULL;

	if (!g_file_get_contents(path, &contents, NULL, &error)) {
		store_set_aside(path, error->message);
		return NULL;
	}
	job = dfu_job_new_from_json(contents, &error);
	if (job == NULL) {
		store_set_aside(path, error->message);
		return NULL;
	}
	if (dfu_job_get_id(job) != id) {
		store_set_aside(path, "the id inside does not match the file name");
		return NULL;
	}
	return g_steal_pointer(&job);
}

guint64
dfu_store_load_next_id(DfuStore *store, GError **error)
{
	g_autofree char *contents = NULL;
	g_autoptr(GError) error_local = NULL;
	guint64 next_id = 0;

	if (!g_file_get_contents(store->next_id_path, &contents, NULL, &error_local)) {
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return 1;
		store_error_from_gerror(error, error_local);
		return 0;
	}
	/* the job files still give a lower bound, so a damaged counter is not fatal */
	if (!g_ascii_string_to_unsigned(g_strstrip(contents), 10, 1, G_MAXINT64, &next_id, NULL)) {
		g_warning("%s is damaged; the next job id is taken from the job files", store->next_id_path);
		return 1;
	}
	return next_id;
}

gboolean
dfu_store_save_next_id(DfuStore *store, guint64 next_id, GError **error)
{
	g_autofree char *contents = g_strdup_printf("%" G_GUINT64_FORMAT "\n", next_id);
	return dfu_store_write_file(store->next_id_path, contents, error);
}
