/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-config.h"
#include "dfu-fetch.h"

G_BEGIN_DECLS

/* a fetcher set up from the [http] keys of config; the strings are copied */
DfuFetcher *dfu_fetcher_new_for_config(const DfuConfig *config);
/* the [http] keys of config for the transfers that start from now on */
void dfu_fetcher_apply_config(DfuFetcher *fetcher, const DfuConfig *config);

G_END_DECLS
