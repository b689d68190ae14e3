/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-auth.h"
#include "dfu-inventory.h"
#include "dfu-manager.h"

G_BEGIN_DECLS

#define DFU_BUS_NAME "org.dfud1"
#define DFU_BUS_MANAGER_PATH "/org/dfud1"
#define DFU_BUS_MANAGER_INTERFACE "org.dfud1.Manager"

/*
 * org.dfud1.Manager and the ObjectManager at DFU_BUS_MANAGER_PATH, plus the
 * job objects of every job the manager holds and the device objects of every
 * device of the inventory. Requesting the bus name is left to the caller.
 */
typedef struct _DfuBusManager DfuBusManager;

/* auth is copied */
DfuBusManager *dfu_bus_manager_new(sd_bus *bus, DfuManager *manager, DfuInventory *inventory,
                                   const DfuBusAuth *auth, GError **error);
void dfu_bus_manager_free(DfuBusManager *self);
/* sends every batched job change now, e.g. before the daemon exits */
void dfu_bus_manager_flush(DfuBusManager *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuBusManager, dfu_bus_manager_free)

G_END_DECLS
