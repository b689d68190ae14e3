/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "dfu-image-data.h"
#include "dfu-zip-reader.h"
#include "nrf5-init-packet.h"

G_BEGIN_DECLS

/* The bootloader's command object is 512 bytes in SDK 15 and later. */
#define NRF5_INIT_PACKET_MAX 512

/* In the order a package is sent: SoftDevice and bootloader before the application. */
typedef enum {
	NRF5_IMAGE_SOFTDEVICE_BOOTLOADER,
	NRF5_IMAGE_SOFTDEVICE,
	NRF5_IMAGE_BOOTLOADER,
	NRF5_IMAGE_APPLICATION,
} Nrf5ImageType;

typedef struct {
	Nrf5ImageType type;
	char *bin_file;
	char *dat_file;
	GBytes *firmware;     /* the .bin, sent as data objects; NULL once streamed from a file */
	DfuImageData *stream; /* the .bin as the engine reads it, in memory or from a file */
	GBytes *init_packet;  /* the .dat, sent verbatim as the command object */
	guint8 firmware_sha256[32];
	guint32 sd_size; /* SoftDevice+bootloader split, 0 when not given */
	guint32 bl_size;
	Nrf5InitPacket *init; /* what the init packet says; NULL when it cannot be read */
} Nrf5Image;

void nrf5_image_free(Nrf5Image *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Nrf5Image, nrf5_image_free)

typedef struct {
	GPtrArray *images; /* Nrf5Image*, in send order */
} Nrf5Package;

/* the top-level "manifest" object of a parsed manifest.json, NULL when there is none */
JsonObject *nrf5_manifest_object(JsonParser *parser);
/* the member key of object when it is an object; NULL otherwise (also for a NULL object) */
JsonObject *nrf5_json_member_object(JsonObject *object, const char *key);

/* TRUE when manifest.json has the nRF5 shape (a top-level "manifest" object). */
gboolean nrf5_manifest_detect(GBytes *manifest);
/*
 * Reads every image the manifest lists from @reader and checks that both
 * files are present and sized sensibly, and that a readable init packet
 * names the image's type and size. Errors are DFU_ERROR MALFORMED_MANIFEST
 * or MALFORMED_IMAGE and name the manifest entry; a legacy package
 * (dfu_version 0.5, for the nRF51 bootloaders of SDK 11 and older) is
 * UNSUPPORTED_BUNDLE.
 */
Nrf5Package *nrf5_package_load(DfuZipReader *reader, GBytes *manifest, GError **error);
/* the same files of any nRF5-shaped package, whatever its dfu_version: mesh packages say 0.8 */
Nrf5Package *nrf5_package_load_files(DfuZipReader *reader, GBytes *manifest, GError **error);
void nrf5_package_free(Nrf5Package *package);
const char *nrf5_image_type_to_string(Nrf5ImageType type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Nrf5Package, nrf5_package_free)

G_END_DECLS
