/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfuctl-commands.h"

G_BEGIN_DECLS

/* the device inventory: each returns the process exit code and prints its own errors */
int dfuctl_cmd_devices(const DfuctlArgs *args);
int dfuctl_cmd_info(const DfuctlArgs *args);
int dfuctl_cmd_confirm(const DfuctlArgs *args);
int dfuctl_cmd_reset(const DfuctlArgs *args);

G_END_DECLS
