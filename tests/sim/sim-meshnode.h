/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mesh-package.h"

G_BEGIN_DECLS

/*
 * A mesh of nRF5 SDK for Mesh nodes as a DFU source on the serial port sees
 * it: the serial node (application with mesh serial, or its bootloader) and
 * a number of remote nodes that hear what it relays, each with a firmware ID
 * and the acceptance rules of its device page, the DFU state machine (idle,
 * ready, target or relay, validate, restart with the new firmware), BUSY
 * while the bank is erased, missed segments asked for again, and the faults
 * of the field. Every delay of the mesh is divided by time_scale, so that an
 * hour of mesh runs in seconds. Without I/O: the caller feeds what the host
 * sent and carries the frames it writes.
 */
typedef struct {
	MeshFwid fwid;          /* what every node runs at first */
	gboolean bootloader;    /* the serial node starts in its bootloader */
	gboolean relay_only;    /* the serial node's application relays instead of taking updates */
	guint remote_nodes;     /* nodes beyond the serial node */
	guint remote_loss;      /* percent of DATA packets each remote node misses */
	guint32 seed;           /* of the losses */
	double time_scale;      /* mesh delays are divided by this */
	guint erase_page_ms;    /* bank erase per 4 KiB in real time; 0: the nRF52 one, scaled */
	guint beacon_ms;        /* firmware ID beacons of an idle serial node, real time */
	gboolean no_serial;     /* the application has no mesh serial: silent */
	gboolean wrong_baud;    /* the line runs at another rate: garbage out, nothing understood */
	gboolean stuck_cts;     /* the node talks but never hears the host */
	gboolean echo_mismatch; /* the Echo comes back altered */
	guint byte_loss;        /* every Nth byte from the host is lost; 0 never */
	guint drop_acks;        /* every Nth answer to a DFU packet is lost; 0 never */
	guint reboot_at;        /* the serial node restarts once when segment N reaches it; 0 never */
	guint hangup_at;        /* the USB-UART bridge vanishes once when segment N reaches it; 0 never */
	DfuKeyRing *public_key; /* on every device page: transfers must verify with it; NULL none */
} SimMeshConfig;

typedef struct _SimMesh SimMesh;

/* the bytes it writes (whole frames, length byte included) */
typedef void (*SimMeshOutputFunc)(const guint8 *data, gsize len, gpointer user_data);

SimMesh *sim_mesh_new(const SimMeshConfig *config, SimMeshOutputFunc output, gpointer user_data);
void sim_mesh_free(SimMesh *mesh);
/* powers up: the start event, then beacons */
void sim_mesh_boot(SimMesh *mesh);
void sim_mesh_input(SimMesh *mesh, const guint8 *data, gsize len);
/* TRUE once, when the bridge should vanish (hangup_at): the caller drops the line */
gboolean sim_mesh_take_hangup(SimMesh *mesh);
/* every node's firmware ID and state, the transaction IDs seen, counters: a JSON object */
char *sim_mesh_state_json(SimMesh *mesh);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimMesh, sim_mesh_free)

G_END_DECLS
