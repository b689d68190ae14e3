/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fnmatch.h>

#include "dfuctl-bus.h"
#include "dfuctl-fleet.h"

struct _DfuctlFleet {
	GHashTable *devices; /* object path -> DfuctlFleetDevice */
};

static void
device_free(DfuctlFleetDevice *device)
{
	g_free(device->name);
	g_free(device->target);
	g_free(device->board);
	g_free(device);
}

static char *
lookup_string(GVariant *properties, const char *key)
{
	const char *value = NULL;

	if (!g_variant_lookup(properties, key, "&s", &value) || value[0] == '\0')
		return NULL;
	return g_strdup(value);
}

DfuctlFleet *
dfuctl_fleet_new(void)
{
	DfuctlFleet *fleet = g_new0(DfuctlFleet, 1);

	fleet->devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)device_free);
	return fleet;
}

void
dfuctl_fleet_free(DfuctlFleet *fleet)
{
	if (fleet == NULL)
		return;
	g_hash_table_unref(fleet->devices);
	g_free(fleet);
}

void
dfuctl_fleet_add(DfuctlFleet *fleet, const char *path, GVariant *properties)
{
	DfuctlFleetDevice *device = g_new0(DfuctlFleetDevice, 1);

	device->name = lookup_string(properties, "Name");
	device->target = lookup_string(properties, "Target");
	device->board = lookup_string(properties, "Board");
	if (device->name == NULL) {
		device_free(device);
		return;
	}
	g_hash_table_replace(fleet->devices, g_strdup(path), device);
}

void
dfuctl_fleet_remove(DfuctlFleet *fleet, const char *path)
{
	g_hash_table_remove(fleet->devices, path);
}

static void
add_device(const char *path, GVariant *properties, gpointer data)
{
	dfuctl_fleet_add(data, path, properties);
}

DfuctlFleet *
dfuctl_fleet_new_from_objects(GVariant *objects)
{
	DfuctlFleet *fleet = dfuctl_fleet_new();

	dfuctl_bus_for_each_object(objects, DFUCTL_DEVICE_INTERFACE, add_device, fleet);
	return fleet;
}

DfuctlFleet *
dfuctl_fleet_read(sd_bus *bus, GError **error)
{
	g_autoptr(GVariant) objects = dfuctl_bus_get_objects(bus, NULL, error);

	return objects != NULL ? dfuctl_fleet_new_from_objects(objects) : NULL;
}

static gint
compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

GStrv
dfuctl_fleet_select(const DfuctlFleet *fleet, const char *glob, const char *board)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	GHashTableIter iter;
	DfuctlFleetDevice *device;

	g_hash_table_iter_init(&iter, fleet->devices);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&device)) {
		if (glob != NULL && fnmatch(glob, device->name, 0) != 0)
			continue;
		if (board != NULL && g_strcmp0(board, device->board) != 0)
			continue;
		g_ptr_array_add(names, g_strdup(device->name));
	}
	g_ptr_array_sort(names, compare_names);
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_steal(names, NULL);
}

static const DfuctlFleetDevice *
fleet_find(const DfuctlFleet *fleet, const char *target, const char *name)
{
	GHashTableIter iter;
	DfuctlFleetDevice *device;

	g_hash_table_iter_init(&iter, fleet->devices);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&device)) {
		if ((target != NULL && g_strcmp0(device->target, target) == 0) ||
		    (name != NULL && g_strcmp0(device->name, name) == 0))
			return device;
	}
	return NULL;
}

const char *
dfuctl_fleet_name_for_target(const DfuctlFleet *fleet, const char *target)
{
	const DfuctlFleetDevice *device = fleet_find(fleet, target, NULL);

	return device != NULL ? device->name : NULL;
}

gboolean
dfuctl_fleet_has_name(const DfuctlFleet *fleet, const char *name)
{
	return fleet_find(fleet, NULL, name) != NULL;
}
