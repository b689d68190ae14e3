/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "nrf5-package.h"

G_BEGIN_DECLS

/* One image of an nRF5 DFU package; its files are named after the type ("application.bin"). */
typedef struct {
	Nrf5ImageType type;
	GBytes *firmware;
	GBytes *init_packet; /* NULL for a dummy unsigned init packet */
} Nrf5WriterImage;

/* An unsigned init packet (protobuf) for @firmware of @type, as nrfutil lays it out. */
GBytes *nrf5_writer_init_packet(Nrf5ImageType type, GBytes *firmware);
/* manifest.json of an nRF5 package */
char *nrf5_writer_manifest(const Nrf5WriterImage *images, gsize n_images);
/* the whole package: manifest.json plus each image's .bin and .dat */
GBytes *nrf5_writer_zip(const Nrf5WriterImage *images, gsize n_images, GError **error);

G_END_DECLS
