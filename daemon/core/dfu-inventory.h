/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "dfu-config.h"
#include "dfu-job.h"

G_BEGIN_DECLS

/* where the inventory learnt of a device; a device stays while one of them holds */
typedef enum {
	DFU_DEVICE_FROM_CONFIG = 1 << 0, /* a [Device NAME] of devices.d */
	DFU_DEVICE_FROM_JOBS = 1 << 1,   /* the daemon ran a job for it */
	DFU_DEVICE_FROM_BLE = 1 << 2,    /* BlueZ saw it advertise an update service */
} DfuDeviceOrigin;

/* One device as the inventory knows it; owned by the inventory, read-only elsewhere. */
typedef struct {
	char *name;     /* the devices.d name, else the target URI; unique */
	char *target;   /* URI in normal form */
	char *key;      /* what tells devices apart: serial node, BLE address, UDP host:port */
	char *protocol; /* smp, nrfdfu, atfota */
	char *board;    /* Board= of devices.d, "" when not given */
	char *bootloader;
	char *bootloader_mode;
	GVariant *images; /* aa{sv} as org.dfud1.Device's Images, never NULL */
	gint64 last_seen; /* µs since the epoch when the device last answered or advertised, 0 never */
	guint64 last_job; /* id of the device's latest job, 0 none */
	guint last_status;
	guint origins; /* DfuDeviceOrigin bits */
} DfuDevice;

/*
 * an update waits for a reset or a confirmation: the last job ended staged,
 * an image is pending, or one runs without being confirmed
 */
gboolean dfu_device_is_staged(const DfuDevice *device);

/*
 * The devices the daemon knows, kept in <state_dir>/devices.json (written
 * atomically) across restarts. Knows nothing of D-Bus.
 *
 * Signals (the DfuDevice* stays valid during the emission):
 *   "device-added"   (gpointer device)
 *   "device-removed" (gpointer device)
 *   "device-changed" (gpointer device)
 */
#define DFU_TYPE_INVENTORY (dfu_inventory_get_type())
G_DECLARE_FINAL_TYPE(DfuInventory, dfu_inventory, DFU, INVENTORY, GObject)

/* state_dir is copied */
DfuInventory *dfu_inventory_new(const char *state_dir);
/*
 * Reads the devices saved by the previous run (but for those BlueZ alone
 * knew: they come back when it lists them again), then the named devices of
 * config. A file that cannot be read is kept as devices.json.corrupt and
 * logged; the inventory then starts from config and the jobs alone.
 */
gboolean dfu_inventory_load(DfuInventory *self, DfuConfig *config, GError **error);
/* the named devices of config: new ones are added, changed ones retargeted, gone ones dropped */
void dfu_inventory_sync_config(DfuInventory *self, DfuConfig *config);

/* a job for the device at its target (a URI in normal form): it becomes the device's last job */
void dfu_inventory_job_added(DfuInventory *self, DfuJob *job);
/* a finished job: its result, and what its engines read of the device */
void dfu_inventory_job_finished(DfuInventory *self, DfuJob *job);
/* BlueZ lists a device with an update service at target (ble:ADDRESS...), or no longer does */
void dfu_inventory_ble_seen(DfuInventory *self, const char *target, gint64 when);
void dfu_inventory_ble_gone(DfuInventory *self, const char *target);

DfuDevice *dfu_inventory_lookup(DfuInventory *self, const char *name);
/* every device, sorted by name; the array does not own them */
GPtrArray *dfu_inventory_list(DfuInventory *self);
/* writes a pending change now, e.g. before the daemon exits */
void dfu_inventory_flush(DfuInventory *self);

G_END_DECLS
