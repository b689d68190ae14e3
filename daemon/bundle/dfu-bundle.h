/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "dfu-image-data.h"
#include "mcuboot-image.h"
#include "mesh-package.h"
#include "nrf5-package.h"

G_BEGIN_DECLS

typedef enum {
	DFU_BUNDLE_MCUBOOT_IMAGE, /* a bare signed MCUboot .bin */
	DFU_BUNDLE_ZEPHYR_ZIP,    /* dfu_application.zip with manifest.json */
	DFU_BUNDLE_NRF5_ZIP,      /* nRF5 SDK DFU package: .bin/.dat pairs */
	DFU_BUNDLE_MESH_ZIP,      /* nRF5 SDK for Mesh DFU package: .bin/.dat pairs, mesh init packets */
} DfuBundleKind;

/* One image of a plan: what goes where, and how to recognise it on the device. */
typedef struct {
	guint image_index;      /* MCUboot image number (0 = app core) */
	char *name;             /* file name inside the bundle, or the bundle's own */
	GBytes *data;           /* the bytes to upload, exactly as sent: the image without padding;
	                         * NULL once dfu_plan_stream_from_file() took them out of memory */
	DfuImageData *stream;   /* the same bytes as engines read them, in memory or from a file */
	gsize padding;          /* bytes of imgtool padding and trailer dropped from the file */
	guint8 file_sha256[32]; /* SHA-256 of data: the upload `sha` */
	McubootImageInfo info;  /* header, version and the MCUboot image hash */
	char *version;          /* as the device lists it */
	char *board;            /* from the manifest, NULL if not given */
	char *soc;              /* from the manifest, NULL if not given */
	int slot;               /* the slot a direct-XIP build is linked for (manifest `slot`), -1 any */
} DfuPlanImage;

/* A verified plan: every image parsed and its hash checked. */
typedef struct {
	DfuBundleKind kind;
	guint8 bundle_sha256[32];
	/* DfuPlanImage*, ordered by image_index, then slot: an image may come as one build per
	 * slot; empty for nRF5 and mesh */
	GPtrArray *images;
	Nrf5Package *nrf5; /* only for DFU_BUNDLE_NRF5_ZIP */
	MeshPackage *mesh; /* only for DFU_BUNDLE_MESH_ZIP */
} DfuPlan;

/*
 * Reads a bundle (bare MCUboot image, Zephyr dfu_application.zip, nRF5 DFU
 * package or nRF5 SDK for Mesh package, told apart by content, not by name) and verifies every image in it.
 * Failures are 150-range DFU_ERROR codes with a message naming the file and what is wrong.
 */
DfuPlan *dfu_plan_load_bytes(GBytes *bundle, const char *name, GError **error);
/* name: what messages call the bundle, NULL for the file's base name */
DfuPlan *dfu_plan_load_file(const char *path, const char *name, GError **error);
void dfu_plan_free(DfuPlan *plan);
/*
 * Once a plan is checked: its images are read from files as they are sent
 * instead of held in memory. A bare image is read from the bundle at path; the
 * images of an archive are written to unnamed files beside it (kept where the
 * file system has none). Failures are STORAGE_ERROR or BUNDLE_UNREADABLE.
 */
gboolean dfu_plan_stream_from_file(DfuPlan *plan, const char *path, GError **error);
/* a plan without images, for work on what a device already holds */
DfuPlan *dfu_plan_new_empty(void);
/* an image a device holds, known by its number, hash and version only: no bytes to send */
DfuPlanImage *dfu_plan_image_new_held(guint image_index, const guint8 *hash, gsize hash_len,
                                      const char *version);
const char *dfu_bundle_kind_to_string(DfuBundleKind kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuPlan, dfu_plan_free)

G_END_DECLS
