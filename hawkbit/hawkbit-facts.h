/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "hawkbit-config.h"
#include "hawkbit-record.h"

G_BEGIN_DECLS

/* What a node's hawkBit target is told about the node. */

/*
 * configData (merge mode): gateway, node, target and transport from the
 * configuration, the last action's outcome, and when dfud has an
 * org.dfud1.Device object for the node (device, an a{sv}; NULL for none) its
 * protocol, board, bootloader and each image slot's version and hash
 */
char *hb_facts_config_data(const HbNodeConfig *node, const char *gateway_id, GVariant *device,
                           const HbRecord *record);
/* the version a device runs: image 0 in its active slot; NULL when unknown */
const char *hb_facts_running_version(GVariant *device);
/* a string of an a{sv}, NULL when absent or of another type */
const char *hb_facts_lookup(GVariant *dict, const char *key);

G_END_DECLS
