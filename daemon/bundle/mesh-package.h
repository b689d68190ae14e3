/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "dfu-signature.h"
#include "nrf5-package.h"

G_BEGIN_DECLS

/*
 * Packages of `nrfutil dfu genpkg --mesh` for the DFU of Nordic's nRF5 SDK
 * for Mesh: an nRF5-shaped zip (manifest.json with bin_file and dat_file per
 * type) whose manifest says dfu_version 0.8 and carries the mesh keys
 * (company_id, start_addr), and whose .dat is the mesh init packet: type,
 * start address, length in bytes, signature length, signature, then the
 * firmware ID of that type.
 */
typedef enum {
	MESH_DFU_TYPE_SOFTDEVICE = 0x01,
	MESH_DFU_TYPE_BOOTLOADER = 0x02,
	MESH_DFU_TYPE_APPLICATION = 0x04,
} MeshDfuType;

#define MESH_SIGNATURE_SIZE 64
#define MESH_SEGMENT_SIZE 16
#define MESH_INIT_PACKET_MIN 12 /* unsigned, with the smallest firmware ID (2 bytes) */

/* the firmware IDs a node runs (all of them) or a transfer carries (the part of its type) */
typedef struct {
	guint16 sd;
	guint8 bl_id;
	guint8 bl_version;
	guint32 company;
	guint16 app_id;
	guint32 app_version;
} MeshFwid;

typedef struct {
	MeshDfuType type;
	guint32 start_addr;
	guint32 length; /* bytes */
	gboolean is_signed;
	guint8 signature[MESH_SIGNATURE_SIZE]; /* r||s over the unsigned init packet and the firmware */
	MeshFwid fwid;                         /* only the part of type is set */
} MeshInitPacket;

typedef struct {
	MeshInitPacket init;
	Nrf5Image *files; /* the .bin and .dat it came from */
} MeshImage;

typedef struct {
	GPtrArray *images; /* MeshImage*, in send order */
} MeshPackage;

/* TRUE when manifest.json is an nRF5 manifest of a mesh package (dfu_version 0.8 with mesh keys) */
gboolean mesh_manifest_detect(GBytes *manifest);
/*
 * Parses each image's .dat and checks it against its .bin and the manifest's
 * init_packet_data (type, length, IDs, version, hash, signature); takes the
 * images of @nrf5. Errors are DFU_ERROR MALFORMED_IMAGE, MALFORMED_MANIFEST,
 * CHECKSUM_MISMATCH or UNSUPPORTED_BUNDLE and name the file.
 */
MeshPackage *mesh_package_load(Nrf5Package *nrf5, GBytes *manifest, GError **error);
void mesh_package_free(MeshPackage *package);

/* DATA segments of a transfer: 16 firmware bytes each, then 4 of signature when signed */
guint mesh_image_segments(const MeshImage *image);

/* what a mesh signature covers: the unsigned init packet, then the firmware */
GBytes *mesh_signed_message(const MeshInitPacket *init, GBytes *firmware);
/*
 * Checks the image's signature against the P-256 keys of @ring; returns the
 * key file that verified, or NULL with BAD_SIGNATURE (also when unsigned).
 */
const char *mesh_image_verify(const MeshImage *image, DfuKeyRing *ring, GError **error);

gboolean mesh_init_packet_parse(const guint8 *data, gsize len, MeshInitPacket *init, GError **error);
/* the init packet without its signature: what the signature covers, before the firmware */
GBytes *mesh_init_packet_unsigned(const MeshInitPacket *init);
/* the type's part of the firmware ID as the DFU packets carry it: SD 2, BL 2, app 10 bytes */
gsize mesh_fwid_encode(MeshDfuType type, const MeshFwid *fwid, guint8 *out);
gboolean mesh_fwid_decode(MeshDfuType type, const guint8 *data, gsize len, MeshFwid *fwid);
/* "app 0x00000059:0x0001 version 2" and the like; free with g_free */
char *mesh_fwid_to_string(MeshDfuType type, const MeshFwid *fwid);
const char *mesh_dfu_type_to_string(MeshDfuType type);
/* n little-endian bytes, as every field of the mesh DFU is */
guint32 mesh_get_le(const guint8 *p, gsize n);
void mesh_put_le(guint8 *p, guint32 v, gsize n);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeshPackage, mesh_package_free)

G_END_DECLS
