/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "mesh-package.h"

G_BEGIN_DECLS

/* One image of a mesh DFU package, as `nrfutil dfu genpkg --mesh` writes it. */
typedef struct {
	MeshDfuType type;
	GBytes *firmware;
	MeshFwid fwid; /* the part of type */
} MeshWriterImage;

/* the .dat of an image; signed with key (EC P-256) unless key is NULL */
GBytes *mesh_writer_init_packet(const MeshWriterImage *image, EVP_PKEY *key, GError **error);
/* manifest.json for the images and their .dat files */
char *mesh_writer_manifest(const MeshWriterImage *images, GBytes *const *dats, gsize n_images);
/* manifest.json plus each image's .bin and .dat, files named after the type */
GBytes *mesh_writer_zip(const MeshWriterImage *images, gsize n_images, EVP_PKEY *key, GError **error);

G_END_DECLS
