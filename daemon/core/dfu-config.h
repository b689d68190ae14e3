/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	DFU_SIGNATURE_POLICY_OFF,
	DFU_SIGNATURE_POLICY_OPTIONAL, /* checked when present; a missing one is logged */
	DFU_SIGNATURE_POLICY_REQUIRED,
} DfuSignaturePolicy;

/*
 * dfud.conf (GKeyFile). Unknown groups and keys are refused so that a typo
 * never silently does nothing. Every key has a default; see conf/dfud.conf.
 */
typedef struct {
	/* [daemon] */
	guint max_parallel_jobs; /* MaxParallelJobs=4 */
	guint max_attempts;      /* MaxAttempts=3, per job, recoverable errors only */
	guint retry_delay_ms;    /* RetryDelaySec=2 (doubles each attempt, capped at 60 s) */
	guint keep_finished_sec; /* KeepFinishedSec=86400: finished jobs stay visible this long */
	guint max_finished_jobs; /* MaxFinishedJobs=100 */
	guint history_size;      /* HistorySize=1000: finished jobs in the history, which outlives them */
	/* [serial] */
	guint serial_baud; /* DefaultBaud=115200 */
	/* [smp] */
	guint smp_timeout_ms;       /* ResponseTimeoutSec=5 (float accepted: 0.5) */
	guint smp_erase_timeout_ms; /* FirstChunkTimeoutSec=40: first upload chunk may erase the slot */
	guint smp_retries;          /* Retries=4 per request before the link counts as lost */
	guint smp_max_window;       /* MaxWindow=8: requests in flight, also bounded by buf_count-1 */
	guint reset_timeout_ms;     /* ResetTimeoutSec=60: how long a device may take to come back */
	/* [http] */
	char *http_ca_file;            /* CAFile=: PEM CAs to trust instead of the system store */
	char *http_client_cert;        /* ClientCertificate=: PEM, for servers that want mutual TLS */
	char *http_client_key;         /* ClientKey=: its key, unless inside the certificate file */
	char **http_headers;           /* Headers=: extra "Name: value" request headers, ';'-separated */
	char *http_proxy;              /* Proxy=: unset means libcurl's *_proxy variables */
	gboolean http_allow_plain;     /* AllowPlainHttp=false */
	guint http_connect_timeout_ms; /* ConnectTimeoutSec=30 */
	guint http_low_speed_limit;    /* LowSpeedLimit=100 bytes per second, held for... */
	guint http_low_speed_time_ms;  /* LowSpeedTimeSec=60 ...this long, fails the transfer */
	/* [cache] */
	guint64 cache_max_bytes; /* MaxSize=512M: then unused bundles go, least recently used first */
	/* [verify] */
	DfuSignaturePolicy signature_policy; /* Signature=optional: required, optional or off */
	char *key_dir;                       /* KeyDirectory=/etc/dfud/keys */
	/* [ble] */
	char *ble_adapter;              /* DefaultAdapter=hci0 */
	guint ble_max_connections;      /* MaxConnectionsPerAdapter=4 */
	guint ble_connect_timeout_ms;   /* ConnectTimeoutSec=20 */
	guint ble_discovery_timeout_ms; /* DiscoveryTimeoutSec=30: to find a device BlueZ does not know */
	/* [udp] */
	guint udp_max_datagram; /* MaxDatagram=1232: IPv6's minimum MTU less headers, as on Thread */
	/* [atfota] */
	guint atfota_command_timeout_ms; /* CommandTimeoutSec=10: for the answer to one AT command */
	guint atfota_ready_timeout_ms;   /* ReadyTimeoutSec=5: for Ready after opening, then probe with AT */
	guint atfota_probes;             /* Probes=5: unanswered AT probes before the module is silent */
	guint atfota_stall_timeout_ms;   /* StallTimeoutSec=180: a download without news is stalled */
	guint atfota_stall_retries;      /* StallRetries=3: stalls stopped and resumed per attempt */
	guint atfota_reset_timeout_ms;   /* ResetTimeoutSec=120: from AT#XRESET to Ready */
	guint atfota_result_timeout_ms;  /* ResultTimeoutSec=60: from Ready to the update's result */
	/* [meshdfu] */
	guint meshdfu_interval_ms;     /* IntervalSec=0.5: between DATA packets, unless the job says */
	guint meshdfu_ack_timeout_ms;  /* AckTimeoutSec=0.5: for the serial node's answer to a packet */
	guint meshdfu_tries;           /* Tries=10: sends of a packet (and Echo probes) before giving up */
	guint meshdfu_busy_timeout_ms; /* BusyTimeoutSec=30: how long BUSY answers count as waiting */
	guint meshdfu_state_wait_ms;   /* StateWaitSec=2: after each of the two STATE packets */
	guint meshdfu_erase_page_ms;   /* EraseTimePerPageSec=0.143: bank erase wait per 4 KiB after START */
	guint meshdfu_fwid_timeout_ms; /* FirmwareIdTimeoutSec=10: for the node's firmware ID beacon */
	guint meshdfu_tail_quiet_ms;   /* TailQuietSec=20: no data request this long ends the transfer */
	guint meshdfu_end_timeout_ms;  /* EndTimeoutSec=120: for the serial node's end, flash and restart */
	guint meshdfu_node_timeout_ms; /* NodeTimeoutSec=600: nodes drop a transfer without data this long */
	/* the main file, read again on reload; its drop-ins are <path>.d/ *.conf */
	char *path;
	/* paths: from STATE_DIRECTORY / CACHE_DIRECTORY, else the built-in defaults */
	char *state_dir;
	char *cache_dir;
	/* named devices from devices.d/ *.conf: name -> target URI */
	GHashTable *devices;
	/* target URI -> Board= of its devices.d entry, for those that declare one */
	GHashTable *device_boards;
	/* target URI -> the name of the first devices.d entry with that target */
	GHashTable *device_names;
} DfuConfig;

/*
 * path NULL: DFUD_CONFIG env, else /etc/dfud/dfud.conf; a missing file means
 * defaults. The drop-ins in <path>.d/ *.conf follow in the order of their
 * names, each value overriding the one before.
 */
DfuConfig *dfu_config_load(const char *path, GError **error);
/*
 * Reads the same files again and, when they are valid, takes their values in
 * place (the state and cache directories stay). Strings of the old values are
 * freed: holders copy what they keep. On error nothing changes.
 */
gboolean dfu_config_reload(DfuConfig *config, GError **error);
DfuConfig *dfu_config_new_default(void);
void dfu_config_free(DfuConfig *config);
/* a name from devices.d, or the string itself when it looks like a URI */
const char *dfu_config_resolve_target(DfuConfig *config, const char *name_or_uri);
/* the Board= declared for the device with this target URI, or NULL */
const char *dfu_config_get_board(DfuConfig *config, const char *uri);
/* the devices.d name of the device with this target URI, or NULL */
const char *dfu_config_get_device_name(DfuConfig *config, const char *uri);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DfuConfig, dfu_config_free)

G_END_DECLS
