/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "dfu-error.h"
#include "dfu-history.h"

#define HISTORY_FILE "history"

struct _DfuHistory {
	char *path;
	int fd; /* open for appending to path */
	guint max_entries;
	GPtrArray *entries; /* DfuHistoryEntry, oldest first */
	GHashTable *ids;    /* the ids in entries */
	guint file_lines;   /* whole lines in the file, kept or not */
	gboolean damaged;   /* the file ends in a partial line: rewrite before appending */
};

static void
entry_free(DfuHistoryEntry *entry)
{
	g_free(entry->target);
	g_free(entry->device);
	g_free(entry->source);
	g_free(entry->message);
	g_free(entry);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuHistoryEntry, entry_free)

typedef enum {
	FIELD_STRING,
	FIELD_OPTIONAL_STRING, /* left out when NULL */
	FIELD_UINT,
	FIELD_UINT64,
	FIELD_INT64,
} FieldType;

/* the members of a line, besides "state", and where each lives in an entry */
static const struct {
	const char *name;
	FieldType type;
	gsize offset;
} fields[] = {
        {"id", FIELD_UINT64, G_STRUCT_OFFSET(DfuHistoryEntry, id)},
        {"target", FIELD_STRING, G_STRUCT_OFFSET(DfuHistoryEntry, target)},
        {"device", FIELD_OPTIONAL_STRING, G_STRUCT_OFFSET(DfuHistoryEntry, device)},
        {"source", FIELD_STRING, G_STRUCT_OFFSET(DfuHistoryEntry, source)},
        {"status-code", FIELD_UINT, G_STRUCT_OFFSET(DfuHistoryEntry, status_code)},
        {"message", FIELD_STRING, G_STRUCT_OFFSET(DfuHistoryEntry, message)},
        {"attempts", FIELD_UINT, G_STRUCT_OFFSET(DfuHistoryEntry, attempts)},
        {"created", FIELD_INT64, G_STRUCT_OFFSET(DfuHistoryEntry, created)},
        {"started", FIELD_INT64, G_STRUCT_OFFSET(DfuHistoryEntry, started)},
        {"finished", FIELD_INT64, G_STRUCT_OFFSET(DfuHistoryEntry, finished)},
};

static char *
entry_to_json(const DfuHistoryEntry *entry)
{
	g_autoptr(JsonObject) obj = json_object_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);

	for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
		gconstpointer field = G_STRUCT_MEMBER_P(entry, fields[i].offset);
		const char *text = fields[i].type <= FIELD_OPTIONAL_STRING ? *(char *const *)field : NULL;

		if (fields[i].type == FIELD_OPTIONAL_STRING && text == NULL)
			continue;
		if (fields[i].type <= FIELD_OPTIONAL_STRING)
			json_object_set_string_member(obj, fields[i].name, text);
		else if (fields[i].type == FIELD_UINT)
			json_object_set_int_member(obj, fields[i].name, *(const guint *)field);
		else
			json_object_set_int_member(obj, fields[i].name, *(const gint64 *)field);
	}
	json_object_set_string_member(obj, "state", dfu_job_state_to_string(entry->state));
	json_node_set_object(root, obj);
	/* not pretty: one entry, one line */
	return json_to_string(root, FALSE);
}

/* FALSE when the member is missing (and must not be) or of the wrong type */
static gboolean
field_from_json(JsonObject *obj, guint i, DfuHistoryEntry *entry)
{
	JsonNode *node = json_object_get_member(obj, fields[i].name);
	gpointer field = G_STRUCT_MEMBER_P(entry, fields[i].offset);
	gboolean is_string = fields[i].type <= FIELD_OPTIONAL_STRING;
	gint64 number;

	if (node == NULL)
		return fields[i].type == FIELD_OPTIONAL_STRING;
	if (!JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != (is_string ? G_TYPE_STRING : G_TYPE_INT64))
		return FALSE;
	if (is_string) {
		*(char **)field = g_strdup(json_node_get_string(node));
		return TRUE;
	}
	number = json_node_get_int(node);
	if (number < 0 || (fields[i].type == FIELD_UINT && number > G_MAXUINT))
		return FALSE;
	if (fields[i].type == FIELD_UINT)
		*(guint *)field = (guint)number;
	else
		*(gint64 *)field = number;
	return TRUE;
}

/* NULL for a line that is not a whole entry */
static DfuHistoryEntry *
entry_from_json(const char *line)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(DfuHistoryEntry) entry = g_new0(DfuHistoryEntry, 1);
	JsonObject *obj;

	if (!json_parser_load_from_data(parser, line, -1, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
		return NULL;
	obj = json_node_get_object(json_parser_get_root(parser));
	for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
		if (!field_from_json(obj, i, entry))
			return NULL;
	}
	if (!dfu_job_state_from_string(json_object_get_string_member_with_default(obj, "state", ""),
	                               &entry->state))
		return NULL;
	return entry->id != 0 ? g_steal_pointer(&entry) : NULL;
}

static DfuHistoryEntry *
entry_from_job(DfuJob *job, const char *device)
{
	DfuHistoryEntry *entry = g_new0(DfuHistoryEntry, 1);

	entry->id = dfu_job_get_id(job);
	entry->target = g_strdup(dfu_job_get_target(job));
	entry->device = g_strdup(device);
	entry->source = g_strdup(dfu_job_get_source(job) != NULL ? dfu_job_get_source(job) : "");
	entry->state = dfu_job_get_state(job);
	entry->status_code = dfu_job_get_status_code(job);
	entry->message = g_strdup(dfu_job_get_message(job) != NULL ? dfu_job_get_message(job) : "");
	entry->attempts = dfu_job_get_attempt(job);
	entry->created = dfu_job_get_created(job);
	entry->started = dfu_job_get_started(job);
	entry->finished = dfu_job_get_finished(job);
	return entry;
}

/* keeps the newest max_entries */
static void
history_trim(DfuHistory *self)
{
	guint excess = self->entries->len > self->max_entries ? self->entries->len - self->max_entries : 0;

	for (guint i = 0; i < excess; i++) {
		DfuHistoryEntry *entry = g_ptr_array_index(self->entries, i);
		g_hash_table_remove(self->ids, &entry->id);
	}
	g_ptr_array_remove_range(self->entries, 0, excess);
}

static void
history_push(DfuHistory *self, DfuHistoryEntry *entry)
{
	/* a job recorded twice (a crash between the two writes) keeps its last record */
	for (guint i = 0; g_hash_table_contains(self->ids, &entry->id) && i < self->entries->len; i++) {
		DfuHistoryEntry *old = g_ptr_array_index(self->entries, i);

		if (old->id == entry->id) {
			g_hash_table_remove(self->ids, &old->id);
			g_ptr_array_remove_index(self->entries, i);
			break;
		}
	}
	g_ptr_array_add(self->entries, entry);
	g_hash_table_add(self->ids, &entry->id);
	history_trim(self);
}

static gboolean
history_error(GError **error, const char *what, const char *path, int errsv)
{
	g_set_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, "cannot %s %s: %s", what, path,
	            g_strerror(errsv));
	return FALSE;
}

static gboolean
history_reopen(DfuHistory *self, GError **error)
{
	if (self->fd >= 0)
		close(self->fd);
	self->fd = open(self->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (self->fd < 0)
		return history_error(error, "open", self->path, errno);
	return TRUE;
}

/* writes the kept entries as a new file in place of the old one */
static gboolean
history_rewrite(DfuHistory *self, GError **error)
{
	g_autoptr(GString) text = g_string_new(NULL);
	g_autoptr(GError) error_local = NULL;

	for (guint i = 0; i < self->entries->len; i++) {
		g_autofree char *line = entry_to_json(g_ptr_array_index(self->entries, i));
		g_string_append_printf(text, "%s\n", line);
	}
	if (!g_file_set_contents_full(self->path, text->str, (gssize)text->len,
	                              G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0640,
	                              &error_local)) {
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, error_local->message);
		return FALSE;
	}
	self->file_lines = self->entries->len;
	self->damaged = FALSE;
	return history_reopen(self, error);
}

static gboolean
history_load(DfuHistory *self, GError **error)
{
	g_autofree char *contents = NULL;
	g_autoptr(GError) error_local = NULL;
	gsize len = 0;
	guint bad = 0;
	char *line;

	if (!g_file_get_contents(self->path, &contents, &len, &error_local)) {
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_set_error_literal(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, error_local->message);
		return FALSE;
	}
	line = contents;
	while (line < contents + len) {
		char *nl = memchr(line, '\n', contents + len - line);
		DfuHistoryEntry *entry;

		if (nl == NULL) {
			self->damaged = TRUE;
			break;
		}
		*nl = '\0';
		self->file_lines++;
		entry = entry_from_json(line);
		if (entry != NULL)
			history_push(self, entry);
		else
			bad++;
		line = nl + 1;
	}
	if (bad > 0 || self->damaged)
		g_warning("%s: dropped %u damaged entries%s", self->path, bad,
		          self->damaged ? " and a partial last line" : "");
	self->damaged = self->damaged || bad > 0;
	return TRUE;
}

DfuHistory *
dfu_history_open(const char *state_dir, guint max_entries, GError **error)
{
	g_autoptr(DfuHistory) self = g_new0(DfuHistory, 1);

	g_return_val_if_fail(state_dir != NULL, NULL);
	self->path = g_build_filename(state_dir, HISTORY_FILE, NULL);
	self->fd = -1;
	self->max_entries = max_entries;
	self->entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
	self->ids = g_hash_table_new(g_int64_hash, g_int64_equal);
	if (!history_load(self, error))
		return NULL;
	if (self->damaged || self->file_lines > self->entries->len) {
		if (!history_rewrite(self, error))
			return NULL;
	} else if (!history_reopen(self, error)) {
		return NULL;
	}
	return g_steal_pointer(&self);
}

void
dfu_history_free(DfuHistory *self)
{
	if (self == NULL)
		return;
	if (self->fd >= 0)
		close(self->fd);
	g_ptr_array_unref(self->entries);
	g_hash_table_unref(self->ids);
	g_free(self->path);
	g_free(self);
}

static gboolean
history_append(DfuHistory *self, const DfuHistoryEntry *entry, GError **error)
{
	g_autofree char *json = entry_to_json(entry);
	g_autofree char *line = g_strconcat(json, "\n", NULL);
	gsize len = strlen(line);
	gsize done = 0;

	while (done < len) {
		ssize_t n = write(self->fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* a partial line must not stay the last: the next entry rewrites the file */
			self->damaged = done > 0;
			return history_error(error, "append to", self->path, n < 0 ? errno : ENOSPC);
		}
		done += (gsize)n;
	}
	if (fdatasync(self->fd) != 0)
		return history_error(error, "sync", self->path, errno);
	self->file_lines++;
	return TRUE;
}

gboolean
dfu_history_add_job(DfuHistory *self, DfuJob *job, const char *device, GError **error)
{
	DfuHistoryEntry *entry;

	g_return_val_if_fail(self != NULL, FALSE);
	g_return_val_if_fail(DFU_IS_JOB(job), FALSE);
	entry = entry_from_job(job, device);
	history_push(self, entry);
	/* a history of no entries keeps none */
	if (self->max_entries == 0)
		return TRUE;
	/* rewriting once the file holds twice the kept lines costs each job a constant share */
	if (self->damaged || self->file_lines + 1 >= 2 * self->max_entries)
		return history_rewrite(self, error);
	return history_append(self, entry, error);
}

gboolean
dfu_history_contains(DfuHistory *self, guint64 id)
{
	g_return_val_if_fail(self != NULL, FALSE);
	return g_hash_table_contains(self->ids, &id);
}

gint64
dfu_history_get_horizon(DfuHistory *self)
{
	g_return_val_if_fail(self != NULL, 0);
	if (self->entries->len < self->max_entries || self->entries->len == 0)
		return 0;
	return ((DfuHistoryEntry *)g_ptr_array_index(self->entries, 0))->finished;
}

void
dfu_history_set_max_entries(DfuHistory *self, guint max_entries)
{
	g_return_if_fail(self != NULL);
	self->max_entries = max_entries;
	history_trim(self);
}

GPtrArray *
dfu_history_get_entries(DfuHistory *self)
{
	g_return_val_if_fail(self != NULL, NULL);
	return self->entries;
}
