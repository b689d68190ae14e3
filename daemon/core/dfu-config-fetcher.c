/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dfu-config-fetcher.h"

/* libcurl takes whole seconds; a part second must not shorten a limit to none */
static guint
ms_to_seconds(guint ms)
{
	return ms / 1000 + (ms % 1000 != 0);
}

/* borrows the strings of config */
static DfuFetchSettings
settings_for_config(const DfuConfig *config)
{
	return (DfuFetchSettings){
	        .ca_file = config->http_ca_file,
	        .client_cert = config->http_client_cert,
	        .client_key = config->http_client_key,
	        .headers = (const char *const *)config->http_headers,
	        .proxy = config->http_proxy,
	        .allow_http = config->http_allow_plain,
	        .connect_timeout_s = ms_to_seconds(config->http_connect_timeout_ms),
	        .low_speed_limit = config->http_low_speed_limit,
	        .low_speed_time_s = ms_to_seconds(config->http_low_speed_time_ms),
	};
}

DfuFetcher *
dfu_fetcher_new_for_config(const DfuConfig *config)
{
	const DfuFetchSettings settings = settings_for_config(config);

	return dfu_fetcher_new(&settings);
}

void
dfu_fetcher_apply_config(DfuFetcher *fetcher, const DfuConfig *config)
{
	const DfuFetchSettings settings = settings_for_config(config);

	dfu_fetcher_set_settings(fetcher, &settings);
}
