/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-bundle.h"
#include "dfu-engine.h"
#include "dfu-transport.h"

G_BEGIN_DECLS

/*
 * The DFU of Nordic's nRF5 SDK for Mesh with the gateway as source, through
 * one node on a UART (what `nrfutil dfu serial --mesh` does): Echo probe with
 * a diagnosis of silence, the node's firmware ID against the package, STATE
 * twice, START, DATA segments at a fixed interval with the nodes' requests
 * for missed segments served first, a tail until the mesh is quiet, then the
 * serial node's end and restart with the new firmware ID. The mesh itself
 * never acknowledges: progress counts the segments the serial node took.
 * A package of several images goes image by image (SoftDevice, bootloader,
 * application), each its own transaction after the node restarted with the
 * one before. With node_key, every image must carry a signature that key
 * verifies, or nothing is sent.
 */
typedef struct {
	guint interval_ms;     /* between DATA packets, after the answer */
	guint ack_timeout_ms;  /* for the answer to one packet */
	guint tries;           /* sends of a packet and Echo probes */
	guint busy_timeout_ms; /* BUSY answers count as waiting this long */
	guint state_wait_ms;   /* after each STATE */
	guint erase_page_ms;   /* after START, per 4 KiB of firmware */
	guint fwid_timeout_ms; /* for the node's firmware ID */
	guint tail_quiet_ms;   /* no data request this long ends the tail */
	guint end_timeout_ms;  /* for the serial node's end event and restart */
	guint node_timeout_ms; /* nodes drop a transfer without data this long */
	GVariant *identity;    /* a{sv} kept by the job: the transaction to resume, or NULL */
	guint baud;            /* of the link, for messages */
	gboolean rtscts;
	DfuKeyRing *node_key; /* the public key of the serial node's device page, or NULL; taken */
} MeshDfuOptions;

/* takes the transport (mesh serial framing) and the plan (a DFU_BUNDLE_MESH_ZIP) */
DfuEngine *meshdfu_engine_new(DfuTransport *transport, DfuPlan *plan, const MeshDfuOptions *options,
                              const DfuEngineCallbacks *callbacks, gpointer user_data);

G_END_DECLS
