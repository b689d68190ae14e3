/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-auth.h"
#include "dfu-inventory.h"
#include "dfu-manager.h"

G_BEGIN_DECLS

#define DFU_BUS_DEVICE_INTERFACE "org.dfud1.Device"
#define DFU_BUS_DEVICE_PATH_PREFIX "/org/dfud1/device"

/*
 * The org.dfud1.Device objects, one per device of the inventory, under
 * DFU_BUS_DEVICE_PATH_PREFIX, announced through the ObjectManager as they
 * come and go.
 */
typedef struct _DfuBusDevices DfuBusDevices;

/* auth is copied; every device the inventory holds now is exported at once */
DfuBusDevices *dfu_bus_devices_new(sd_bus *bus, DfuInventory *inventory, DfuManager *manager,
                                   const DfuBusAuth *auth, GError **error);
void dfu_bus_devices_free(DfuBusDevices *self);

/* Manager.RefreshDevices: a refresh job for every device that can be refreshed, replied as ao */
int dfu_bus_devices_refresh_all(DfuBusDevices *self, sd_bus_message *m, sd_bus_error *ret_error);

/* the object path of a device: its name with every byte but [A-Za-z0-9_] as _XX */
char *dfu_bus_device_path(const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuBusDevices, dfu_bus_devices_free)

G_END_DECLS
