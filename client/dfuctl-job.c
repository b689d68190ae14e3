/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "dfuctl-job.h"

typedef struct {
	const char *name;
	const char *type;
	size_t offset;
} DfuctlJobField;

static const DfuctlJobField job_fields[] = {
        {"Id", "t", offsetof(DfuctlJob, id)},
        {"Kind", "s", offsetof(DfuctlJob, kind)},
        {"Target", "s", offsetof(DfuctlJob, target)},
        {"Source", "s", offsetof(DfuctlJob, source)},
        {"State", "s", offsetof(DfuctlJob, state)},
        {"Phase", "s", offsetof(DfuctlJob, phase)},
        {"Percentage", "u", offsetof(DfuctlJob, percentage)},
        {"BytesDone", "t", offsetof(DfuctlJob, bytes_done)},
        {"BytesTotal", "t", offsetof(DfuctlJob, bytes_total)},
        {"BytesPerSecond", "t", offsetof(DfuctlJob, bytes_per_second)},
        {"StatusCode", "u", offsetof(DfuctlJob, status_code)},
        {"StatusName", "s", offsetof(DfuctlJob, status_name)},
        {"Message", "s", offsetof(DfuctlJob, message)},
        {"DeviceError", "a{sv}", offsetof(DfuctlJob, device_error)},
        {"Attempt", "u", offsetof(DfuctlJob, attempt)},
        {"Created", "x", offsetof(DfuctlJob, created)},
        {"Started", "x", offsetof(DfuctlJob, started)},
        {"Finished", "x", offsetof(DfuctlJob, finished)},
        {"MaxAttempts", "u", offsetof(DfuctlJob, max_attempts)},
        {"RetryAt", "x", offsetof(DfuctlJob, retry_at)},
};

DfuctlJob *
dfuctl_job_new(const char *path)
{
	DfuctlJob *job = g_new0(DfuctlJob, 1);

	job->path = g_strdup(path);
	job->kind = g_strdup("update");
	job->target = g_strdup("");
	job->source = g_strdup("");
	job->state = g_strdup("");
	job->phase = g_strdup("");
	job->status_name = g_strdup("");
	job->message = g_strdup("");
	job->device_error = g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0));
	return job;
}

void
dfuctl_job_free(DfuctlJob *job)
{
	if (job == NULL)
		return;
	g_free(job->path);
	g_free(job->kind);
	g_free(job->target);
	g_free(job->source);
	g_free(job->state);
	g_free(job->phase);
	g_free(job->status_name);
	g_free(job->message);
	g_free(job->device);
	g_variant_unref(job->device_error);
	g_free(job);
}

static void
job_field_set(DfuctlJob *job, const DfuctlJobField *field, GVariant *value)
{
	gpointer ptr = (guint8 *)job + field->offset;

	if (!g_variant_is_of_type(value, G_VARIANT_TYPE(field->type)))
		return;
	switch (field->type[0]) {
	case 's':
		g_free(*(char **)ptr);
		*(char **)ptr = g_variant_dup_string(value, NULL);
		break;
	case 'u':
		*(guint32 *)ptr = g_variant_get_uint32(value);
		break;
	case 't':
		*(guint64 *)ptr = g_variant_get_uint64(value);
		break;
	case 'x':
		*(gint64 *)ptr = g_variant_get_int64(value);
		break;
	default:
		g_variant_unref(*(GVariant **)ptr);
		*(GVariant **)ptr = g_variant_ref(value);
		break;
	}
}

void
dfuctl_job_update(DfuctlJob *job, GVariant *properties)
{
	GVariantIter iter;
	const char *name;
	GVariant *value;

	g_variant_iter_init(&iter, properties);
	while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
		for (gsize i = 0; i < G_N_ELEMENTS(job_fields); i++) {
			if (g_strcmp0(job_fields[i].name, name) == 0)
				job_field_set(job, &job_fields[i], value);
		}
		g_variant_unref(value);
	}
}

gboolean
dfuctl_job_is_finished(const DfuctlJob *job)
{
	return g_strcmp0(job->state, "succeeded") == 0 || g_strcmp0(job->state, "failed") == 0 ||
	       g_strcmp0(job->state, "cancelled") == 0;
}

const char *
dfuctl_job_device(const DfuctlJob *job)
{
	return job->device != NULL ? job->device : job->target;
}

void
dfuctl_job_set_device(DfuctlJob *job, const char *device)
{
	g_free(job->device);
	job->device = g_strdup(device);
}

static GVariant *
job_field_get(const DfuctlJob *job, const DfuctlJobField *field)
{
	gconstpointer ptr = (const guint8 *)job + field->offset;

	switch (field->type[0]) {
	case 's':
		return g_variant_new_string(*(char *const *)ptr);
	case 'u':
		return g_variant_new_uint32(*(const guint32 *)ptr);
	case 't':
		return g_variant_new_uint64(*(const guint64 *)ptr);
	case 'x':
		return g_variant_new_int64(*(const gint64 *)ptr);
	default:
		return *(GVariant *const *)ptr;
	}
}

GVariant *
dfuctl_job_to_variant(const DfuctlJob *job)
{
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&builder, "{sv}", "Path", g_variant_new_object_path(job->path));
	for (gsize i = 0; i < G_N_ELEMENTS(job_fields); i++)
		g_variant_builder_add(&builder, "{sv}", job_fields[i].name,
		                      job_field_get(job, &job_fields[i]));
	g_variant_builder_add(&builder, "{sv}", "Device", g_variant_new_string(dfuctl_job_device(job)));
	return g_variant_builder_end(&builder);
}
