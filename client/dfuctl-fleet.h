/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include <glib.h>

G_BEGIN_DECLS

/*
 * The devices the daemon knows (its org.dfud1.Device objects), as far as
 * dfuctl needs them: names to update with start --all, and the name to show
 * for a job's target.
 */
typedef struct {
	char *name;
	char *target;
	char *board;
} DfuctlFleetDevice;

typedef struct _DfuctlFleet DfuctlFleet;

/* an empty fleet, to fill with dfuctl_fleet_add */
DfuctlFleet *dfuctl_fleet_new(void);
/* the devices of a GetManagedObjects reply (a{oa{sa{sv}}}) */
DfuctlFleet *dfuctl_fleet_new_from_objects(GVariant *objects);
DfuctlFleet *dfuctl_fleet_read(sd_bus *bus, GError **error);
void dfuctl_fleet_free(DfuctlFleet *fleet);
/* adds or replaces the device at path from the properties of its org.dfud1.Device (a{sv}) */
void dfuctl_fleet_add(DfuctlFleet *fleet, const char *path, GVariant *properties);
void dfuctl_fleet_remove(DfuctlFleet *fleet, const char *path);
/* the names of the devices whose name matches the shell pattern glob and whose board is board
 * (each NULL: any), sorted */
GStrv dfuctl_fleet_select(const DfuctlFleet *fleet, const char *glob, const char *board);
/* the name of the device with this target URI, NULL when none */
const char *dfuctl_fleet_name_for_target(const DfuctlFleet *fleet, const char *target);
/* TRUE when a device of this name exists */
gboolean dfuctl_fleet_has_name(const DfuctlFleet *fleet, const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuctlFleet, dfuctl_fleet_free)

G_END_DECLS
