/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * An nRF91 module running Nordic's Serial LTE Modem (SLM) or Serial Modem
 * (SM) firmware, as far as a host updating it sees: AT commands in, lines
 * out, an #XFOTA download that progresses on timers (nothing is fetched),
 * or on Serial Modem an image the host pushes with AT#XDFU* commands,
 * installation at AT#XRESET and the result after Ready. Without I/O: the
 * caller feeds the bytes the host sent and carries the bytes it writes.
 */
typedef struct {
	gboolean serial_modem;   /* SM: AT#XSMVER and op 5; else SLM: AT#XSLMVER */
	const char *terminator;  /* the command terminator it was built with: "\r", "\n" or "\r\n" */
	const char *version;     /* reported before the update */
	const char *new_version; /* reported once an update took */
	guint boot_ms;           /* from reset to Ready */
	guint step_ms;           /* between progress notifications */
	guint step_percent;      /* download progress per step */
	guint stall_at;          /* the download stops sending news once at this percent; 0 never */
	guint download_error;    /* #XFOTA: 1,1,<cause> half way through; 0 never */
	gint64 activation_error; /* #XFOTA: 5,1,<info> after the reset (voltage low: 4,1); 0 none */
	gboolean revert;         /* #XFOTA: 5,3 after the reset, as early SLM reports a revert */
	gboolean init_error;     /* boots into INIT ERROR instead of Ready */
	gint64 confirm_error;    /* the new version runs, but #XFOTA: 5,1,<info>: confirming it failed */
	gboolean no_modem_reset; /* early SLM: no AT#XMODEMRESET */
	/* Serial Modem powers its UART only while DTR is active: deaf and mute until this long after
	 * start (the host's GPIO or a button activates it); G_MAXUINT never, 0 at once */
	guint dtr_active_ms;
	/* fetch the URL for real (else progress runs on timers): a failed transfer is #XFOTA: 1,1,1,
	 * an image of the wrong kind for the op 1,1,3, an application image's own version runs after
	 * the update; ca_file: what https servers are checked against */
	gboolean http;
	const char *ca_file;
	/* Serial Modem's host-pushed DFU (AT#XDFUINIT/WRITE/APPLY; Serial LTE Modem has none): each
	 * written chunk is reported this long after its last byte; the write_error-th write fails once
	 * (#XDFU: <type>,1,-1); a chunk whose bytes stop coming for datamode_timeout_ms is dropped */
	guint dfu_write_ms;
	guint dfu_write_error;
	guint datamode_timeout_ms;
	gboolean no_dfu;      /* a Serial Modem build from before the host-pushed DFU */
	guint64 dfu_max_size; /* AT#XDFUINIT answers ERROR to a larger image; 0: 4 MiB */
} SimAtModemConfig;

typedef struct _SimAtModem SimAtModem;

/* the bytes it writes, and a change of the state worth saving */
typedef void (*SimAtModemOutputFunc)(const guint8 *data, gsize len, gpointer user_data);

SimAtModem *sim_atmodem_new(const SimAtModemConfig *config, SimAtModemOutputFunc output, gpointer user_data);
void sim_atmodem_free(SimAtModem *modem);
/* powers up: Ready after boot_ms */
void sim_atmodem_boot(SimAtModem *modem);
void sim_atmodem_input(SimAtModem *modem, const guint8 *data, gsize len);
/* version, lineage, download progress and counters as a JSON object */
char *sim_atmodem_state_json(SimAtModem *modem);
const char *sim_atmodem_get_version(SimAtModem *modem);
guint sim_atmodem_get_starts(SimAtModem *modem);
guint sim_atmodem_get_stops(SimAtModem *modem);
/* AT#XRESET and AT#XMODEMRESET received */
guint sim_atmodem_get_resets(SimAtModem *modem);
guint sim_atmodem_get_modem_resets(SimAtModem *modem);
/* left in CFUN=0 by a modem reset and not switched on again */
gboolean sim_atmodem_get_modem_off(SimAtModem *modem);
/* AT#XDFUINIT and AT#XDFUAPPLY received */
guint sim_atmodem_get_dfu_inits(SimAtModem *modem);
guint sim_atmodem_get_dfu_applies(SimAtModem *modem);
/* the last start command, as sent */
const char *sim_atmodem_get_last_start(SimAtModem *modem);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimAtModem, sim_atmodem_free)

G_END_DECLS
