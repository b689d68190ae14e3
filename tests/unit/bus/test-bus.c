/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"
#include "bus-auth.h"
#include "bus-device.h"
#include "bus-glib.h"
#include "bus-job.h"
#include "bus-manager.h"
#include "bus-variant.h"
#include "dfu-error.h"
#include "dfu-manager.h"
#include "dfuctl-bus.h"

#define TARGET "serial:/dev/ttyACM0"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_slot, sd_bus_slot_unref)
/* only a guard against a hung test, never a measurement */
#define WAIT_LIMIT_S 10

/* a runner whose attempts the test drives by hand */
typedef struct {
	DfuRunner parent;
	DfuJob *job;
	DfuRunnerDoneFunc done;
	gpointer done_data;
	guint cancel_source;
} ScriptedRunner;

/* one signal the client saw: its member, path and arguments as a tuple */
typedef struct {
	char *member;
	char *path;
	GVariant *args;
} Seen;

static struct {
	GPid dbus_pid;
	char *tmpdir;
	sd_bus *service;
	sd_bus *client;
	guint service_source;
	guint client_source;
	sd_bus_slot *match;
	GPtrArray *seen;
	ScriptedRunner runner;
	DfuConfig *config;
	DfuManager *manager;
	DfuInventory *inventory;
	DfuBusManager *bus_manager;
} fx;

static void
seen_free(Seen *seen)
{
	g_free(seen->member);
	g_free(seen->path);
	g_variant_unref(seen->args);
	g_free(seen);
}

static gpointer
runner_start(DfuRunner *runner, DfuJob *job, DfuRunnerDoneFunc done, gpointer user_data)
{
	ScriptedRunner *self = (ScriptedRunner *)runner;

	self->job = g_object_ref(job);
	self->done = done;
	self->done_data = user_data;
	/* the manager made the job running just before: both go out together */
	dfu_job_set_phase(job, DFU_JOB_PHASE_CONNECTING);
	return self;
}

static void
runner_finish(guint result_code, const GError *error, GVariant *device_error)
{
	ScriptedRunner *self = &fx.runner;
	g_autoptr(DfuJob) job = g_steal_pointer(&self->job);

	g_assert_nonnull(job);
	self->done(job, result_code, error, device_error, self->done_data);
}

static gboolean
runner_cancelled_cb(gpointer user_data)
{
	g_autoptr(GError) error =
	        g_error_new_literal(DFU_ERROR, DFU_STATUS_CANCELLED, "cancelled by request");

	fx.runner.cancel_source = 0;
	runner_finish(0, error, NULL);
	return G_SOURCE_REMOVE;
}

static void
runner_cancel(DfuRunner *runner, gpointer attempt)
{
	ScriptedRunner *self = (ScriptedRunner *)runner;

	/* done must not run inside cancel */
	if (self->cancel_source == 0)
		self->cancel_source = g_idle_add(runner_cancelled_cb, NULL);
}

static char *
runner_device_key(DfuRunner *runner, DfuJob *job)
{
	return g_strdup(dfu_job_get_target(job));
}

static const DfuRunnerOps scripted_ops = {
        .start = runner_start,
        .cancel = runner_cancel,
        .device_key = runner_device_key,
};

static gboolean
wait_limit_cb(gpointer user_data)
{
	g_error("waited more than %d s for the bus", WAIT_LIMIT_S);
	return G_SOURCE_REMOVE;
}

/* iterates the main loop until done(data) holds */
static void
wait_for(gboolean (*done)(gconstpointer data), gconstpointer data)
{
	guint limit = g_timeout_add_seconds(WAIT_LIMIT_S, wait_limit_cb, NULL);

	while (!done(data))
		g_main_context_iteration(NULL, TRUE);
	g_source_remove(limit);
}

static int
reply_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	sd_bus_message **reply = userdata;

	*reply = sd_bus_message_ref(m);
	return 0;
}

static gboolean
is_set(gconstpointer data)
{
	return *(gpointer const *)data != NULL;
}

/* the service runs in this process, so calls are async and the loop turns meanwhile */
static sd_bus_message *
call(sd_bus_message *m)
{
	g_autoptr(sd_bus_slot) slot = NULL;
	sd_bus_message *reply = NULL;

	g_assert_cmpint(sd_bus_call_async(fx.client, &slot, m, reply_cb, &reply, 0), >=, 0);
	wait_for(is_set, &reply);
	return reply;
}

static sd_bus_message *
new_call(const char *path, const char *interface, const char *member)
{
	sd_bus_message *m = NULL;

	g_assert_cmpint(sd_bus_message_new_method_call(fx.client, &m, DFU_BUS_NAME, path, interface, member),
	                >=, 0);
	return m;
}

/* the reply's body as a tuple, failing the test on an error reply */
static GVariant *
reply_args(sd_bus_message *reply)
{
	g_autoptr(GVariantBuilder) builder = g_variant_builder_new(G_VARIANT_TYPE_TUPLE);
	g_autoptr(GError) error = NULL;

	if (sd_bus_message_is_method_error(reply, NULL))
		g_error("call failed: %s: %s", sd_bus_message_get_error(reply)->name,
		        sd_bus_message_get_error(reply)->message);
	while (sd_bus_message_at_end(reply, FALSE) == 0) {
		g_autoptr(GVariant) value = dfu_bus_read_gvariant(reply, &error);
		g_assert_no_error(error);
		g_variant_builder_add_value(builder, value);
	}
	return g_variant_ref_sink(g_variant_builder_end(builder));
}

static GVariant *
get_all(const char *path, const char *interface)
{
	g_autoptr(sd_bus_message) m = new_call(path, "org.freedesktop.DBus.Properties", "GetAll");
	g_autoptr(sd_bus_message) reply = NULL;
	g_autoptr(GVariant) args = NULL;

	g_assert_cmpint(sd_bus_message_append(m, "s", interface), >=, 0);
	reply = call(m);
	args = reply_args(reply);
	return g_variant_get_child_value(args, 0);
}

static int
signal_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	g_autoptr(GVariantBuilder) builder = g_variant_builder_new(G_VARIANT_TYPE_TUPLE);
	Seen *seen = g_new0(Seen, 1);

	seen->member = g_strdup(sd_bus_message_get_member(m));
	seen->path = g_strdup(sd_bus_message_get_path(m));
	while (sd_bus_message_at_end(m, FALSE) == 0) {
		g_autoptr(GError) error = NULL;
		g_autoptr(GVariant) value = dfu_bus_read_gvariant(m, &error);
		g_assert_no_error(error);
		g_variant_builder_add_value(builder, value);
	}
	seen->args = g_variant_ref_sink(g_variant_builder_end(builder));
	g_ptr_array_add(fx.seen, seen);
	return 0;
}

/* the index of the first signal seen from index from on, -1 when none */
static gint
find_seen(guint from, const char *member, const char *path)
{
	for (guint i = from; i < fx.seen->len; i++) {
		Seen *seen = g_ptr_array_index(fx.seen, i);
		if (g_strcmp0(seen->member, member) == 0 && g_strcmp0(seen->path, path) == 0)
			return (gint)i;
	}
	return -1;
}

/* the changed properties of a PropertiesChanged seen */
static GVariant *
seen_changed(guint index)
{
	Seen *seen = g_ptr_array_index(fx.seen, index);

	return g_variant_get_child_value(seen->args, 1);
}

/* the first PropertiesChanged of path from index from on where key has value */
static gint
find_change(guint from, const char *path, const char *key, GVariant *value)
{
	g_autoptr(GVariant) expected = g_variant_ref_sink(value);

	for (gint i = find_seen(from, "PropertiesChanged", path); i >= 0;
	     i = find_seen((guint)i + 1, "PropertiesChanged", path)) {
		g_autoptr(GVariant) changed = seen_changed((guint)i);
		g_autoptr(GVariant) found = g_variant_lookup_value(changed, key, NULL);
		if (found != NULL && g_variant_equal(found, expected))
			return i;
	}
	return -1;
}

typedef struct {
	const char *member;
	const char *path;
} SeenQuery;

static gboolean
has_seen(gconstpointer data)
{
	const SeenQuery *query = data;

	return find_seen(0, query->member, query->path) >= 0;
}

static void
wait_for_signal(const char *member, const char *path)
{
	SeenQuery query = {member, path};

	wait_for(has_seen, &query);
}

typedef struct {
	const char *path;
	const char *key;
	GVariant *value;
} ChangeQuery;

static gboolean
has_change(gconstpointer data)
{
	const ChangeQuery *query = data;

	return find_change(0, query->path, query->key, g_variant_ref(query->value)) >= 0;
}

/* the index of the first PropertiesChanged of path that sets key to value, once seen */
static gint
wait_for_change(const char *path, const char *key, GVariant *value)
{
	ChangeQuery query = {path, key, g_variant_ref_sink(value)};
	gint index;

	wait_for(has_change, &query);
	index = find_change(0, path, key, g_variant_ref(query.value));
	g_variant_unref(query.value);
	return index;
}

static gboolean
runner_has_job(gconstpointer data)
{
	return fx.runner.job != NULL;
}

static int
bundle_fd(void)
{
	g_autofree char *path = g_build_filename(fx.tmpdir, "bundle.bin", NULL);
	int fd;

	g_assert_true(g_file_set_contents(path, "not really an image", -1, NULL));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	return fd;
}

/* Submit(TARGET, a bundle, options): the reply, which may be an error */
static sd_bus_message *
submit(GVariant *options)
{
	g_autoptr(sd_bus_message) m = new_call(DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE, "Submit");
	g_autoptr(GVariant) owned = g_variant_ref_sink(options);
	int fd = bundle_fd();

	g_assert_cmpint(sd_bus_message_append(m, "sh", TARGET, fd), >=, 0);
	close(fd);
	/* the service's own encoder writes the options */
	g_assert_cmpint(dfu_bus_append_gvariant(m, owned), >=, 0);
	return call(m);
}

/* submits, waits until the runner holds the job and clears what was seen before */
static char *
submit_and_start(GVariant *options)
{
	g_autoptr(sd_bus_message) reply = submit(options);
	g_autoptr(GVariant) args = reply_args(reply);
	char *path = NULL;

	g_variant_get(args, "(o)", &path);
	wait_for(runner_has_job, NULL);
	return path;
}

static void
assert_error(sd_bus_message *reply, const char *name, const char *in_message)
{
	const sd_bus_error *error = sd_bus_message_get_error(reply);

	g_assert_nonnull(error);
	g_assert_cmpstr(error->name, ==, name);
	g_assert_nonnull(strstr(error->message, in_message));
}

static void
test_options_refused(void)
{
	g_autoptr(sd_bus_message) unknown = submit(g_variant_new_parsed("{'bogus': <true>}"));
	g_autoptr(sd_bus_message) wrong_type = submit(g_variant_new_parsed("{'force': <'yes'>}"));
	g_autoptr(sd_bus_message) url_call =
	        new_call(DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE, "SubmitUrl");
	g_autoptr(sd_bus_message) url_reply = NULL;

	assert_error(unknown, "org.dfud1.Error.InvalidArgument", "'bogus'");
	assert_error(wrong_type, "org.dfud1.Error.InvalidArgument", "'force'");

	g_assert_cmpint(
	        sd_bus_message_append(url_call, "ssa{sv}", TARGET, "https://example.invalid/app.zip", 0), >=,
	        0);
	url_reply = call(url_call);
	assert_error(url_reply, "org.dfud1.Error.NotSupported", "URL");
}

static void
test_submit_and_finish(void)
{
	g_autofree char *path = NULL;
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) running = NULL;
	g_autoptr(GVariant) phase = NULL;
	g_autoptr(GVariant) finished_args = NULL;
	g_autoptr(sd_bus_message) list_reply = NULL;
	g_autoptr(GVariant) list = NULL;
	g_autoptr(sd_bus_message) list_call = NULL;
	g_autoptr(GVariant) paths = NULL;
	const char *str = NULL;
	guint64 id = 0;
	gint running_index;
	gint progress_index;
	gint done_index;
	gint finished_index;
	guint32 code = 0;

	g_ptr_array_set_size(fx.seen, 0);
	path = submit_and_start(g_variant_new_parsed("{'source-name': <'app.bin'>, 'confirm': <false>}"));
	g_assert_true(dfu_bus_job_path_parse(path, &id));
	g_assert_cmpint(find_seen(0, "InterfacesAdded", DFU_BUS_MANAGER_PATH), >=, 0);

	props = get_all(path, DFU_BUS_JOB_INTERFACE);
	g_assert_true(g_variant_lookup(props, "Id", "t", &id));
	g_assert_cmpuint(id, ==, dfu_job_get_id(fx.runner.job));
	g_assert_true(g_variant_lookup(props, "Source", "&s", &str));
	g_assert_cmpstr(str, ==, "app.bin");
	g_assert_true(g_variant_lookup(props, "Target", "&s", &str));
	g_assert_true(g_str_has_prefix(str, TARGET));

	/* state and phase changed in one iteration: one signal carries both */
	running_index = wait_for_change(path, "State", g_variant_new_string("running"));
	running = seen_changed((guint)running_index);
	phase = g_variant_lookup_value(running, "Phase", G_VARIANT_TYPE_STRING);
	g_assert_nonnull(phase);
	g_assert_cmpstr(g_variant_get_string(phase, NULL), ==, "connecting");

	/* progress set three times in a row reaches the bus once, with the last value */
	dfu_job_set_phase(fx.runner.job, DFU_JOB_PHASE_UPLOADING);
	dfu_job_set_progress(fx.runner.job, 100, 1000);
	dfu_job_set_progress(fx.runner.job, 200, 1000);
	dfu_job_set_progress(fx.runner.job, 300, 1000);
	progress_index = wait_for_change(path, "BytesDone", g_variant_new_uint64(300));
	g_assert_cmpint(progress_index, >, running_index);
	g_assert_cmpint(find_change(0, path, "BytesDone", g_variant_new_uint64(100)), <, 0);
	g_assert_cmpint(find_change(0, path, "BytesDone", g_variant_new_uint64(200)), <, 0);
	/* the last change before a stall reaches the bus without a change after it */
	dfu_job_set_progress(fx.runner.job, 400, 1000);
	g_assert_cmpint(wait_for_change(path, "BytesDone", g_variant_new_uint64(400)), >, progress_index);

	runner_finish(DFU_STATUS_STAGED, NULL, NULL);
	wait_for_signal("JobFinished", DFU_BUS_MANAGER_PATH);
	finished_index = find_seen(0, "JobFinished", DFU_BUS_MANAGER_PATH);
	finished_args = g_variant_ref(((Seen *)g_ptr_array_index(fx.seen, finished_index))->args);
	g_variant_get(finished_args, "(&ou)", &str, &code);
	g_assert_cmpstr(str, ==, path);
	g_assert_cmpuint(code, ==, DFU_STATUS_STAGED);
	/* the final state is on the bus before the signal that says it is final */
	done_index = find_change(0, path, "State", g_variant_new_string("succeeded"));
	g_assert_cmpint(done_index, >=, 0);
	g_assert_cmpint(done_index, <, finished_index);

	list_call = new_call(DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE, "ListJobs");
	list_reply = call(list_call);
	list = reply_args(list_reply);
	paths = g_variant_get_child_value(list, 0);
	g_assert_true(g_variant_n_children(paths) >= 1);
	g_variant_get_child(paths, 0, "&o", &str);
	g_assert_cmpstr(str, ==, path);
}

static void
test_cancel(void)
{
	g_autofree char *path = submit_and_start(g_variant_new_parsed("@a{sv} {}"));
	g_autoptr(sd_bus_message) m = new_call(path, DFU_BUS_JOB_INTERFACE, "Cancel");
	g_autoptr(sd_bus_message) reply = NULL;
	g_autoptr(GVariant) props = NULL;
	const char *state = NULL;
	guint32 code = 0;

	g_ptr_array_set_size(fx.seen, 0);
	reply = call(m);
	g_variant_unref(reply_args(reply));
	wait_for_signal("JobFinished", DFU_BUS_MANAGER_PATH);

	props = get_all(path, DFU_BUS_JOB_INTERFACE);
	g_assert_true(g_variant_lookup(props, "State", "&s", &state));
	g_assert_cmpstr(state, ==, "cancelled");
	g_assert_true(g_variant_lookup(props, "StatusCode", "u", &code));
	g_assert_cmpuint(code, ==, DFU_STATUS_CANCELLED);
}

static void
test_device_error(void)
{
	g_autofree char *path = submit_and_start(g_variant_new_parsed("@a{sv} {}"));
	g_autoptr(GError) error = g_error_new_literal(DFU_ERROR, DFU_STATUS_DEVICE_ERROR, "rc 3 on upload");
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) device_error = NULL;
	const char *name = NULL;
	guint32 rc = 0;

	g_ptr_array_set_size(fx.seen, 0);
	runner_finish(0, error, g_variant_new_parsed("{'rc': <@u 3>, 'group': <@u 1>}"));
	wait_for_signal("JobFinished", DFU_BUS_MANAGER_PATH);

	props = get_all(path, DFU_BUS_JOB_INTERFACE);
	g_assert_true(g_variant_lookup(props, "StatusName", "&s", &name));
	g_assert_cmpstr(name, ==, "device-error");
	device_error = g_variant_lookup_value(props, "DeviceError", G_VARIANT_TYPE_VARDICT);
	g_assert_nonnull(device_error);
	g_assert_true(g_variant_lookup(device_error, "rc", "u", &rc));
	g_assert_cmpuint(rc, ==, 3);
}

static void
test_managed_objects_and_history(void)
{
	g_autoptr(sd_bus_message) m =
	        new_call(DFU_BUS_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
	g_autoptr(sd_bus_message) reply = call(m);
	g_autoptr(GVariant) args = reply_args(reply);
	g_autoptr(GVariant) objects = g_variant_get_child_value(args, 0);
	g_autoptr(sd_bus_message) history_call =
	        new_call(DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE, "GetHistory");
	g_autoptr(sd_bus_message) history_reply = call(history_call);
	g_autoptr(GVariant) history_args = reply_args(history_reply);
	g_autoptr(GVariant) history = g_variant_get_child_value(history_args, 0);
	g_autoptr(GVariant) first = NULL;
	g_autoptr(GVariant) interfaces = NULL;
	g_autoptr(GVariant) manager = NULL;
	const char *name = NULL;
	guint32 queued = 99;

	interfaces = g_variant_lookup_value(objects, DFU_BUS_JOB_PATH_PREFIX "/1", NULL);
	g_assert_nonnull(interfaces);
	g_assert_true(g_variant_lookup(interfaces, DFU_BUS_JOB_INTERFACE, "@a{sv}", NULL));

	/* three jobs finished in the tests before */
	g_assert_cmpuint(g_variant_n_children(history), ==, 3);
	first = g_variant_get_child_value(history, 0);
	g_assert_true(g_variant_lookup(first, "StatusName", "&s", &name));
	g_assert_cmpstr(name, ==, "staged");

	manager = get_all(DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE);
	g_assert_true(g_variant_lookup(manager, "QueueLength", "u", &queued));
	g_assert_cmpuint(queued, ==, 0);
}

/* the reply of QueryJobs: an array of rows and the next page's start */
static GVariant *
query_jobs(const char *const *states, guint64 after, guint32 limit, guint64 *next)
{
	g_autoptr(sd_bus_message) m = new_call(DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE, "QueryJobs");
	g_autoptr(sd_bus_message) reply = NULL;
	g_autoptr(GVariant) args = NULL;

	g_assert_cmpint(sd_bus_message_append_strv(m, (char **)states), >=, 0);
	g_assert_cmpint(sd_bus_message_append(m, "stu", "", after, limit), >=, 0);
	reply = call(m);
	args = reply_args(reply);
	g_variant_get_child(args, 1, "t", next);
	return g_variant_get_child_value(args, 0);
}

static void
test_query_jobs(void)
{
	/* the fields of a row, in the order of the Job interface */
	const char *const fields[] = {"Id",         "Kind",           "Target",      "Source",
	                              "State",      "Phase",          "Percentage",  "BytesDone",
	                              "BytesTotal", "BytesPerSecond", "StatusCode",  "StatusName",
	                              "Message",    "DeviceError",    "Attempt",     "Created",
	                              "Started",    "Finished",       "MaxAttempts", "RetryAt"};
	const char *const any[] = {NULL};
	const char *const cancelled[] = {"cancelled", NULL};
	const char *const bogus[] = {"nope", NULL};
	g_autoptr(sd_bus_message) bad =
	        new_call(DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE, "QueryJobs");
	g_autoptr(sd_bus_message) bad_reply = NULL;
	g_autoptr(GVariant) rows = NULL;
	g_autoptr(GVariant) some = NULL;
	guint64 next = 1;
	guint64 after = 0;
	gsize n_paged = 0;

	rows = query_jobs(any, 0, 0, &next);
	g_assert_cmpuint(next, ==, 0);
	/* three jobs finished in the tests before */
	g_assert_cmpuint(g_variant_n_children(rows), >=, 3);
	for (gsize i = 0; i < g_variant_n_children(rows); i++) {
		g_autoptr(GVariant) row = g_variant_get_child_value(rows, i);
		g_autoptr(GVariant) id = g_variant_get_child_value(row, 0);
		g_autofree char *path = g_strdup_printf(DFU_BUS_JOB_PATH_PREFIX "/%" G_GUINT64_FORMAT,
		                                        g_variant_get_uint64(id));
		g_autoptr(GVariant) props = get_all(path, DFU_BUS_JOB_INTERFACE);

		g_assert_cmpuint(g_variant_n_children(row), ==, G_N_ELEMENTS(fields) + 1);
		for (gsize f = 0; f < G_N_ELEMENTS(fields); f++) {
			g_autoptr(GVariant) listed = g_variant_get_child_value(row, f);
			g_autoptr(GVariant) shown = g_variant_lookup_value(props, fields[f], NULL);

			g_assert_nonnull(shown);
			g_assert_true(g_variant_equal(listed, shown));
		}
	}

	some = query_jobs(cancelled, 0, 0, &next);
	g_assert_cmpuint(g_variant_n_children(some), >=, 1);
	for (gsize i = 0; i < g_variant_n_children(some); i++) {
		const char *state = NULL;

		g_variant_get_child(some, i, "(tsss&ssutttussa{sv}uxxxuxs)", NULL, NULL, NULL, NULL, &state,
		                    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		                    NULL, NULL, NULL, NULL);
		g_assert_cmpstr(state, ==, "cancelled");
	}

	/* pages of one: the same jobs in the same order, each page saying where the next starts */
	do {
		g_autoptr(GVariant) page = query_jobs(any, after, 1, &next);
		g_autoptr(GVariant) expected = g_variant_get_child_value(rows, n_paged);
		g_autoptr(GVariant) got = g_variant_get_child_value(page, 0);

		g_assert_cmpuint(g_variant_n_children(page), ==, 1);
		g_assert_true(g_variant_equal(got, expected));
		n_paged++;
		after = next;
	} while (next != 0);
	g_assert_cmpuint(n_paged, ==, g_variant_n_children(rows));

	g_assert_cmpint(sd_bus_message_append_strv(bad, (char **)bogus), >=, 0);
	g_assert_cmpint(sd_bus_message_append(bad, "stu", "", (guint64)0, (guint32)0), >=, 0);
	bad_reply = call(bad);
	assert_error(bad_reply, "org.dfud1.Error.InvalidArgument", "\"nope\"");
}

static void
test_job_log(void)
{
	g_autoptr(sd_bus_message) m = new_call(DFU_BUS_JOB_PATH_PREFIX "/1", DFU_BUS_JOB_INTERFACE, "GetLog");
	g_autoptr(sd_bus_message) reply = call(m);
	g_autoptr(GVariant) args = reply_args(reply);
	g_autoptr(GVariant) entries = g_variant_get_child_value(args, 0);
	const char *message = NULL;
	gint64 when = 0;

	g_assert_cmpuint(g_variant_n_children(entries), >, 0);
	g_variant_get_child(entries, 0, "(x&s)", &when, &message);
	g_assert_cmpint(when, >, 0);
	g_assert_cmpstr(message, ==, "submitted");
}

static void
test_unknown_job(void)
{
	g_autoptr(sd_bus_message) m =
	        new_call(DFU_BUS_JOB_PATH_PREFIX "/4242", "org.freedesktop.DBus.Properties", "GetAll");
	g_autoptr(sd_bus_message) reply = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(sd_bus_message_append(m, "s", DFU_BUS_JOB_INTERFACE), >=, 0);
	reply = call(m);
	g_assert_true(sd_bus_message_is_method_error(reply, NULL));
	g_assert_false(dfuctl_bus_check(-ENOENT, sd_bus_message_get_error(reply), &error));
	g_assert_error(error, DFU_ERROR, DFU_STATUS_NOT_FOUND);
}

/* the InterfacesRemoved seen for path, NULL when none */
static GVariant *
seen_removed(const char *path)
{
	for (gint i = find_seen(0, "InterfacesRemoved", DFU_BUS_MANAGER_PATH); i >= 0;
	     i = find_seen((guint)i + 1, "InterfacesRemoved", DFU_BUS_MANAGER_PATH)) {
		GVariant *args = ((Seen *)g_ptr_array_index(fx.seen, i))->args;
		const char *removed = NULL;

		g_variant_get_child(args, 0, "&o", &removed);
		if (g_strcmp0(removed, path) == 0)
			return g_variant_get_child_value(args, 1);
	}
	return NULL;
}

static gboolean
has_seen_removed(gconstpointer data)
{
	g_autoptr(GVariant) interfaces = seen_removed(data);

	return interfaces != NULL;
}

static void
test_expired_job_removed(void)
{
	const char *path = DFU_BUS_JOB_PATH_PREFIX "/1";
	g_autoptr(GVariant) interfaces = NULL;
	g_autoptr(sd_bus_message) m = new_call(path, "org.freedesktop.DBus.Properties", "GetAll");
	g_autoptr(sd_bus_message) reply = NULL;
	g_autofree char *last = NULL;
	g_autofree const char **names = NULL;

	/* no finished job is kept: the next to finish takes all of them away */
	fx.config->max_finished_jobs = 0;
	g_ptr_array_set_size(fx.seen, 0);
	last = submit_and_start(g_variant_new_parsed("@a{sv} {}"));
	runner_finish(DFU_STATUS_STAGED, NULL, NULL);
	wait_for(has_seen_removed, last);

	/* the removal names the interface of the job that is gone */
	interfaces = seen_removed(path);
	g_assert_nonnull(interfaces);
	names = g_variant_get_strv(interfaces, NULL);
	g_assert_true(g_strv_contains(names, DFU_BUS_JOB_INTERFACE));
	g_assert_cmpint(sd_bus_message_append(m, "s", DFU_BUS_JOB_INTERFACE), >=, 0);
	reply = call(m);
	g_assert_true(sd_bus_message_is_method_error(reply, NULL));
}

/* name -> signature of the methods, signals and properties of an interface */
static GHashTable *
interface_members(GDBusInterfaceInfo *info)
{
	GHashTable *members = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	for (guint i = 0; info->methods != NULL && info->methods[i] != NULL; i++) {
		GDBusMethodInfo *method = info->methods[i];
		g_autoptr(GString) sig = g_string_new("(");
		for (guint j = 0; method->in_args != NULL && method->in_args[j] != NULL; j++)
			g_string_append(sig, method->in_args[j]->signature);
		g_string_append(sig, ")->(");
		for (guint j = 0; method->out_args != NULL && method->out_args[j] != NULL; j++)
			g_string_append(sig, method->out_args[j]->signature);
		g_string_append(sig, ")");
		g_hash_table_insert(members, g_strconcat("method ", method->name, NULL),
		                    g_string_free(g_steal_pointer(&sig), FALSE));
	}
	for (guint i = 0; info->signals != NULL && info->signals[i] != NULL; i++) {
		GDBusSignalInfo *signal = info->signals[i];
		g_autoptr(GString) sig = g_string_new(NULL);
		for (guint j = 0; signal->args != NULL && signal->args[j] != NULL; j++)
			g_string_append(sig, signal->args[j]->signature);
		g_hash_table_insert(members, g_strconcat("signal ", signal->name, NULL),
		                    g_string_free(g_steal_pointer(&sig), FALSE));
	}
	for (guint i = 0; info->properties != NULL && info->properties[i] != NULL; i++) {
		GDBusPropertyInfo *prop = info->properties[i];
		g_hash_table_insert(members, g_strconcat("property ", prop->name, NULL),
		                    g_strdup_printf("%s %d", prop->signature, prop->flags));
	}
	return members;
}

static void
assert_same_members(GHashTable *expected, GHashTable *actual)
{
	GHashTableIter iter;
	gpointer key;
	gpointer value;

	g_hash_table_iter_init(&iter, expected);
	while (g_hash_table_iter_next(&iter, &key, &value))
		g_assert_cmpstr(g_hash_table_lookup(actual, key), ==, value);
	g_assert_cmpuint(g_hash_table_size(expected), ==, g_hash_table_size(actual));
}

static void
assert_xml_matches(const char *path, const char *interface, const char *file)
{
	g_autoptr(sd_bus_message) m = new_call(path, "org.freedesktop.DBus.Introspectable", "Introspect");
	g_autoptr(sd_bus_message) reply = call(m);
	g_autoptr(GVariant) args = reply_args(reply);
	g_autofree char *xml_path = g_build_filename(g_getenv("DFUD_SOURCE_ROOT"), "dbus", file, NULL);
	g_autofree char *xml = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusNodeInfo) live = NULL;
	g_autoptr(GDBusNodeInfo) documented = NULL;
	g_autoptr(GHashTable) live_members = NULL;
	g_autoptr(GHashTable) documented_members = NULL;
	const char *live_xml = NULL;

	g_variant_get(args, "(&s)", &live_xml);
	live = g_dbus_node_info_new_for_xml(live_xml, &error);
	g_assert_no_error(error);
	g_assert_true(g_file_get_contents(xml_path, &xml, NULL, &error));
	documented = g_dbus_node_info_new_for_xml(xml, &error);
	g_assert_no_error(error);

	g_assert_nonnull(g_dbus_node_info_lookup_interface(live, interface));
	g_assert_nonnull(g_dbus_node_info_lookup_interface(documented, interface));
	live_members = interface_members(g_dbus_node_info_lookup_interface(live, interface));
	documented_members = interface_members(g_dbus_node_info_lookup_interface(documented, interface));
	assert_same_members(documented_members, live_members);
}

static void
test_introspection_matches_xml(void)
{
	assert_xml_matches(DFU_BUS_MANAGER_PATH, DFU_BUS_MANAGER_INTERFACE, "org.dfud1.Manager.xml");
	assert_xml_matches(DFU_BUS_JOB_PATH_PREFIX "/1", DFU_BUS_JOB_INTERFACE, "org.dfud1.Job.xml");
}

static void
test_device_introspection_matches_xml(void)
{
	g_autoptr(GError) error = NULL;

	g_hash_table_insert(fx.config->devices, g_strdup("node-1"), g_strdup("serial:/dev/ttyACM0"));
	g_assert_true(dfu_inventory_load(fx.inventory, fx.config, &error));
	g_assert_no_error(error);
	assert_xml_matches(DFU_BUS_DEVICE_PATH_PREFIX "/node_2d1", DFU_BUS_DEVICE_INTERFACE,
	                   "org.dfud1.Device.xml");
}

static void
test_auth_decision(void)
{
	const DfuBusAuth system_bus = {.session_bus = FALSE, .own_uid = 1000};
	const DfuBusAuth session_bus = {.session_bus = TRUE, .own_uid = 1000};
	const gid_t gids[] = {20, 44, 990};

	g_assert_true(dfu_bus_auth_allowed(&system_bus, 0, 0, NULL, 0, (gid_t)-1));
	g_assert_false(dfu_bus_auth_allowed(&system_bus, 1000, 1000, NULL, 0, (gid_t)-1));
	g_assert_true(dfu_bus_auth_allowed(&session_bus, 1000, 1000, NULL, 0, (gid_t)-1));
	g_assert_false(dfu_bus_auth_allowed(&session_bus, 1001, 1001, NULL, 0, (gid_t)-1));
	/* the dfu group, as supplementary or as primary group */
	g_assert_true(dfu_bus_auth_allowed(&system_bus, 1001, 1001, gids, G_N_ELEMENTS(gids), 990));
	g_assert_true(dfu_bus_auth_allowed(&system_bus, 1001, 990, NULL, 0, 990));
	g_assert_false(dfu_bus_auth_allowed(&system_bus, 1001, 1001, gids, G_N_ELEMENTS(gids), 991));
}

static void
test_job_paths(void)
{
	g_autofree char *path = dfu_bus_job_path(17);
	guint64 id = 0;

	g_assert_cmpstr(path, ==, "/org/dfud1/job/17");
	g_assert_true(dfu_bus_job_path_parse(path, &id));
	g_assert_cmpuint(id, ==, 17);
	g_assert_false(dfu_bus_job_path_parse("/org/dfud1/job/", &id));
	g_assert_false(dfu_bus_job_path_parse("/org/dfud1/job/+1", &id));
	g_assert_false(dfu_bus_job_path_parse("/org/dfud1/job/1/2", &id));
	g_assert_false(dfu_bus_job_path_parse("/org/dfud1/job/99999999999999999999", &id));
	g_assert_false(dfu_bus_job_path_parse("/org/dfud1/jobs/1", &id));
}

/* the bus goes away with the test, even when an assertion aborts it */
static void
die_with_parent(gpointer user_data)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static void
start_dbus_daemon(char **address)
{
	g_autofree char *config_path = g_build_filename(fx.tmpdir, "bus.conf", NULL);
	g_autofree char *config_arg = g_strconcat("--config-file=", config_path, NULL);
	g_autofree char *config = g_strdup_printf(
	        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	        "<busconfig><type>session</type><listen>unix:dir=%s</listen>"
	        "<policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>"
	        "<allow eavesdrop=\"true\"/><allow own=\"*\"/></policy>"
	        "</busconfig>\n",
	        fx.tmpdir);
	const char *argv[] = {"dbus-daemon", config_arg, "--nofork", "--print-address", NULL};
	g_autoptr(GError) error = NULL;
	char line[1024];
	FILE *out;
	int out_fd = -1;

	g_assert_true(g_file_set_contents(config_path, config, -1, NULL));
	g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
	                         G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
	                         die_with_parent, NULL, &fx.dbus_pid, NULL, &out_fd, NULL, &error);
	g_assert_no_error(error);
	out = fdopen(out_fd, "r");
	g_assert_nonnull(out);
	g_assert_nonnull(fgets(line, sizeof(line), out));
	fclose(out);
	*address = g_strdup(g_strstrip(line));
}

static sd_bus *
connect_to(const char *address)
{
	sd_bus *bus = NULL;

	g_assert_cmpint(sd_bus_new(&bus), >=, 0);
	g_assert_cmpint(sd_bus_set_address(bus, address), >=, 0);
	g_assert_cmpint(sd_bus_set_bus_client(bus, 1), >=, 0);
	g_assert_cmpint(sd_bus_start(bus), >=, 0);
	return bus;
}

static void
fixture_setup(void)
{
	g_autofree char *address = NULL;
	g_autofree char *state = NULL;
	g_autofree char *cache = NULL;
	g_autoptr(GError) error = NULL;
	const DfuBusAuth auth = {.session_bus = TRUE, .own_uid = geteuid()};

	fx.tmpdir = g_dir_make_tmp(NULL, &error);
	g_assert_no_error(error);
	state = g_build_filename(fx.tmpdir, "state", NULL);
	cache = g_build_filename(fx.tmpdir, "cache", NULL);
	g_setenv("STATE_DIRECTORY", state, TRUE);
	g_setenv("CACHE_DIRECTORY", cache, TRUE);
	start_dbus_daemon(&address);

	fx.service = connect_to(address);
	fx.client = connect_to(address);
	g_assert_cmpint(sd_bus_request_name(fx.service, DFU_BUS_NAME, 0), >=, 0);
	fx.seen = g_ptr_array_new_with_free_func((GDestroyNotify)seen_free);
	g_assert_cmpint(sd_bus_add_match(fx.client, &fx.match, "type='signal',sender='" DFU_BUS_NAME "'",
	                                 signal_cb, NULL),
	                >=, 0);

	fx.runner.parent.ops = &scripted_ops;
	fx.config = dfu_config_new_default();
	fx.manager = dfu_manager_new(fx.config, &fx.runner.parent);
	fx.inventory = dfu_inventory_new(state);
	fx.bus_manager = dfu_bus_manager_new(fx.service, fx.manager, fx.inventory, &auth, &error);
	g_assert_no_error(error);
	g_assert_true(dfu_manager_start(fx.manager, &error));
	g_assert_no_error(error);
	/* the stored jobs load from the loop */
	while (dfu_manager_is_loading(fx.manager))
		g_main_context_iteration(NULL, TRUE);

	fx.service_source = dfu_bus_attach_glib(fx.service, NULL, NULL, NULL);
	fx.client_source = dfu_bus_attach_glib(fx.client, NULL, NULL, NULL);
}

static void
fixture_teardown(void)
{
	dfu_manager_shutdown(fx.manager);
	g_clear_handle_id(&fx.runner.cancel_source, g_source_remove);
	g_clear_object(&fx.runner.job);
	g_clear_pointer(&fx.bus_manager, dfu_bus_manager_free);
	g_clear_object(&fx.inventory);
	g_clear_object(&fx.manager);
	g_clear_pointer(&fx.config, dfu_config_free);
	g_clear_handle_id(&fx.service_source, g_source_remove);
	g_clear_handle_id(&fx.client_source, g_source_remove);
	g_clear_pointer(&fx.match, sd_bus_slot_unref);
	g_clear_pointer(&fx.service, sd_bus_flush_close_unref);
	g_clear_pointer(&fx.client, sd_bus_flush_close_unref);
	g_clear_pointer(&fx.seen, g_ptr_array_unref);
	kill(fx.dbus_pid, SIGTERM);
	waitpid(fx.dbus_pid, NULL, 0);
	g_spawn_close_pid(fx.dbus_pid);
	dfu_test_remove_tree(fx.tmpdir);
	g_free(fx.tmpdir);
}

int
main(int argc, char **argv)
{
	int result;

	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bus/auth-decision", test_auth_decision);
	g_test_add_func("/bus/job-paths", test_job_paths);
	g_test_add_func("/bus/options-refused", test_options_refused);
	g_test_add_func("/bus/submit-and-finish", test_submit_and_finish);
	g_test_add_func("/bus/cancel", test_cancel);
	g_test_add_func("/bus/device-error", test_device_error);
	g_test_add_func("/bus/managed-objects-and-history", test_managed_objects_and_history);
	g_test_add_func("/bus/query-jobs", test_query_jobs);
	g_test_add_func("/bus/job-log", test_job_log);
	g_test_add_func("/bus/unknown-job", test_unknown_job);
	g_test_add_func("/bus/introspection-matches-xml", test_introspection_matches_xml);
	g_test_add_func("/bus/device-introspection-matches-xml", test_device_introspection_matches_xml);
	/* last: it takes the finished jobs the tests before look at away */
	g_test_add_func("/bus/expired-job-removed", test_expired_job_removed);

	fixture_setup();
	result = g_test_run();
	fixture_teardown();
	return result;
}
