/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "sim-faults.h"

G_BEGIN_DECLS

/*
 * An nRF5 SDK 15-17 Secure DFU bootloader without I/O: requests in, responses
 * out. It keeps a command object (the init packet, validated on execute) and
 * data objects with a running CRC-32, answers PRN notifications, and saves its
 * progress to "flash" only when an object is executed
 * (NRF_DFU_SAVE_PROGRESS_IN_FLASH = 0): when the link goes away it reloads
 * the saved settings, so it then reports an older offset than what was sent,
 * and refuses (0x08) an execute without a create, as the SDK does.
 */
typedef struct {
	guint mtu;           /* the SLIP buffer Get MTU reports: 131 for the UART transport */
	guint32 data_max;    /* data object size: one flash page */
	guint32 flash_size;  /* room for an image */
	guint32 hw_version;  /* init packets must name it; 0: not checked */
	guint32 app_version; /* the running application's; lower versions are refused */
	guint32 sd_fwid;     /* the SoftDevice present, 0 for none */
	gboolean gatt;       /* over BLE: only the reduced opcode set, no ping or Get MTU */
	/* flash timing: a create erases the object's page, each write programs its words; the
	 * queue runs behind the link and an execute answers once it is empty */
	guint erase_us;
	guint word_write_us;
	const char *state_file;
} SimNrfDfuConfig;

typedef struct {
	void (*send)(GBytes *response, gpointer user_data);
	/* an image was activated or the target aborted: it resets into the bootloader */
	void (*reset)(gpointer user_data);
	/* the hangup-at fault fired */
	void (*hang_up)(gpointer user_data);
} SimNrfDfuCallbacks;

typedef struct _SimNrfDfu SimNrfDfu;

void sim_nrfdfu_config_init(SimNrfDfuConfig *config);
SimNrfDfu *sim_nrfdfu_new(const SimNrfDfuConfig *config, SimFaultPlan *faults,
                          const SimNrfDfuCallbacks *callbacks, gpointer user_data);
void sim_nrfdfu_free(SimNrfDfu *dev);
void sim_nrfdfu_receive(SimNrfDfu *dev, const guint8 *request, gsize len);
/* the transport went down (cable, USB reset): progress falls back to what flash holds */
void sim_nrfdfu_disconnect(SimNrfDfu *dev);
void sim_nrfdfu_add_bad_frames(SimNrfDfu *dev, guint n);
/* how long the answer just given must wait for the flash queue, in µs; 0 when it need not */
gint64 sim_nrfdfu_take_flash_wait(SimNrfDfu *dev);
/* firmware bytes accepted into data objects over the model's life */
guint64 sim_nrfdfu_get_bytes_written(SimNrfDfu *dev);
/* the installed image of an nrf5 image type name ("application"), NULL when none */
GBytes *sim_nrfdfu_get_installed(SimNrfDfu *dev, const char *type);
gboolean sim_nrfdfu_write_state(SimNrfDfu *dev, GError **error);
/* the image type the last reset activated ("application"), NULL when it came from an abort */
const char *sim_nrfdfu_get_activated(SimNrfDfu *dev);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimNrfDfu, sim_nrfdfu_free)

G_END_DECLS
