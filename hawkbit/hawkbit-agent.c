/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>

#include "dfu-error.h"
#include "hawkbit-agent.h"
#include "hawkbit-node.h"

static HbNode *
agent_node_of_job(HbAgent *self, const char *path)
{
	return g_hash_table_lookup(self->jobs, path);
}

static void
job_changed(const char *path, GVariant *changed, gpointer user_data)
{
	HbNode *node = agent_node_of_job(user_data, path);

	if (node != NULL)
		hb_node_job_changed(node, changed);
}

static void devices_cb(GVariant *objects, const GError *error, gpointer user_data);

static gboolean
refresh_devices_cb(gpointer user_data)
{
	HbAgent *self = user_data;

	self->refresh_id = 0;
	hb_dfud_get_objects(self->dfud, devices_cb, self);
	return G_SOURCE_REMOVE;
}

static void
job_finished(const char *path, guint code, gpointer user_data)
{
	HbAgent *self = user_data;
	HbNode *node = agent_node_of_job(self, path);

	if (node != NULL)
		hb_node_check_job(node);
	/* a finished job (also one from dfuctl) may have changed a node's images: its facts follow */
	if (self->refresh_id == 0)
		self->refresh_id = g_timeout_add_seconds(1, refresh_devices_cb, self);
}

/* keeps the org.dfud1.Device objects by name and by target URI (the name of a device that
 * devices.d does not name), for the nodes' configData */
static void
agent_keep_devices(HbAgent *self, GVariant *objects)
{
	GVariantIter iter;
	const char *path;
	GVariant *interfaces;

	g_hash_table_remove_all(self->devices);
	g_variant_iter_init(&iter, objects);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
		g_autoptr(GVariant) owned = interfaces;
		GVariant *props =
		        g_variant_lookup_value(interfaces, "org.dfud1.Device", G_VARIANT_TYPE_VARDICT);
		const char *name = NULL;
		const char *target = NULL;

		if (props == NULL)
			continue;
		if (g_variant_lookup(props, "Name", "&s", &name))
			g_hash_table_insert(self->devices, g_strdup(name), g_variant_ref(props));
		if (g_variant_lookup(props, "Target", "&s", &target))
			g_hash_table_insert(self->devices, g_strdup(target), g_variant_ref(props));
		g_variant_unref(props);
	}
}

static void
start_objects_cb(GVariant *objects, const GError *error, gpointer user_data)
{
	HbAgent *self = user_data;
	double jitter = self->config->start_jitter_s;

	if (error != NULL)
		g_message("dfud's jobs and devices are not readable yet: %s", error->message);
	else
		agent_keep_devices(self, objects);
	/* spread over the jitter: a thousand nodes do not poll in the same second after a restart */
	for (guint i = 0; i < self->nodes->len; i++)
		hb_node_start(g_ptr_array_index(self->nodes, i), g_random_double_range(0, MAX(jitter, 0.001)),
		              objects);
	self->started = TRUE;
}

static void
devices_cb(GVariant *objects, const GError *error, gpointer user_data)
{
	if (error == NULL)
		agent_keep_devices(user_data, objects);
}

static void
refresh_objects_cb(GVariant *objects, const GError *error, gpointer user_data)
{
	HbAgent *self = user_data;

	if (error == NULL)
		agent_keep_devices(self, objects);
	for (guint i = 0; i < self->nodes->len; i++)
		hb_node_check_job(g_ptr_array_index(self->nodes, i));
}

static void
daemon_appeared(gpointer user_data)
{
	HbAgent *self = user_data;

	g_message("dfud appeared on the bus");
	if (self->started)
		hb_dfud_get_objects(self->dfud, refresh_objects_cb, self);
}

static void
bus_closed(gpointer user_data)
{
	HbAgent *self = user_data;

	g_warning("lost the connection to the bus");
	g_main_loop_quit(self->loop);
}

void
hb_agent_track_job(HbAgent *self, const char *path, HbNode *node)
{
	g_hash_table_replace(self->jobs, g_strdup(path), node);
}

void
hb_agent_start(HbAgent *self)
{
	hb_dfud_get_objects(self->dfud, start_objects_cb, self);
}

HbAgent *
hb_agent_new(HbConfig *config, const char *state_dir, GMainLoop *loop, GError **error)
{
	static const HbDfudEvents events = {
	        .job_changed = job_changed,
	        .job_finished = job_finished,
	        .daemon_appeared = daemon_appeared,
	        .bus_closed = bus_closed,
	};
	g_autoptr(HbAgent) self = g_new0(HbAgent, 1);
	HbHttpSettings http = {
	        .ca_file = config->ca_file,
	        .client_cert = config->client_cert,
	        .client_key = config->client_key,
	        .proxy = config->proxy,
	        .allow_http = config->allow_http,
	        .max_rate = config->max_rate,
	        .max_active = config->max_connections,
	        .timeout_s = config->timeout_s,
	};
	g_autoptr(GHashTable) ids = g_hash_table_new(g_str_hash, g_str_equal);

	self->config = config;
	self->loop = loop;
	self->state_dir = g_strdup(state_dir);
	self->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)hb_node_free);
	self->jobs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->devices =
	        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_variant_unref);
	if (g_mkdir_with_parents(state_dir, 0750) != 0) {
		g_set_error(error, DFU_ERROR, DFU_STATUS_STORAGE_ERROR, "cannot create %s: %s", state_dir,
		            g_strerror(errno));
		return NULL;
	}
	for (guint i = 0; i < config->nodes->len; i++) {
		const HbNodeConfig *nc = g_ptr_array_index(config->nodes, i);
		HbNode *node;

		if (!g_hash_table_add(ids, nc->controller_id)) {
			g_set_error(error, DFU_ERROR, DFU_STATUS_INVALID_ARGUMENT,
			            "two nodes have the controller id '%s'", nc->controller_id);
			return NULL;
		}
		node = hb_node_new(self, nc, error);
		if (node == NULL)
			return NULL;
		g_ptr_array_add(self->nodes, node);
	}
	self->http = hb_http_new(&http);
	self->dfud = hb_dfud_new(&events, self, error);
	if (self->dfud == NULL)
		return NULL;
	return g_steal_pointer(&self);
}

void
hb_agent_free(HbAgent *self)
{
	if (self == NULL)
		return;
	/* no callback may reach a node once they go */
	hb_http_free(self->http);
	hb_dfud_free(self->dfud);
	g_clear_handle_id(&self->refresh_id, g_source_remove);
	g_ptr_array_unref(self->nodes);
	g_hash_table_destroy(self->jobs);
	g_hash_table_destroy(self->devices);
	g_free(self->state_dir);
	g_free(self);
}
