/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * An image list (SmpImageSlot*) as the engine reports it (see
 * DfuEngineCallbacks.report): aa{sv} with image u, slot u, version s, hash s
 * and flags as, from active, confirmed, pending, permanent and bootable.
 */
GVariant *smp_report_images(GPtrArray *slots);

G_END_DECLS
