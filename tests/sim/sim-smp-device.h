/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sim-faults.h"
#include "sim-mcuboot.h"
#include "sim-state-file.h"

G_BEGIN_DECLS

typedef struct {
	guint buf_size;  /* largest request the transport hands over */
	guint buf_count; /* requests held at once, answers in the transport included */
	gboolean params;
	gboolean errors_v2;
	guint reset_ms; /* between a reset answer and the reboot */
	const char *state_file;
	const char *log_prefix; /* starts every stderr line */
	gboolean verbose;
} SimSmpDeviceConfig;

typedef struct {
	/* one whole answer for the transport to carry */
	void (*send)(GBytes *msg, gpointer user_data);
	/* the device rebooted: queued requests are gone, the model booted again */
	void (*rebooted)(gpointer user_data);
	/* the device drops its link (hangup-at fault); queued requests stay */
	void (*hang_up)(gpointer user_data);
	/* netbufs the transport still holds for answers on their way out */
	guint (*held)(gpointer user_data);
} SimSmpDeviceCallbacks;

/*
 * An SMP device without a transport: whole request messages in, answers out
 * in order after the flash time the model reports. It holds at most
 * buf_count requests, applies the fault plan (drops, silence, reset-at and
 * hangup-at thresholds), runs the reset timer and the reboot, counts and
 * keeps the state file current.
 */
typedef struct _SimSmpDevice SimSmpDevice;

SimSmpDevice *sim_smp_device_new(const SimSmpDeviceConfig *config, SimMcuboot *model, SimFaultPlan *faults,
                                 const SimSmpDeviceCallbacks *callbacks, gpointer user_data);
void sim_smp_device_free(SimSmpDevice *device);
/* one whole request message; it waits for sim_smp_device_pump() */
void sim_smp_device_receive(SimSmpDevice *device, const guint8 *msg, gsize len);
/* answers what is queued, as far as the flash lets it */
void sim_smp_device_pump(SimSmpDevice *device);
/* requests waiting or in hand plus what the transport holds */
guint sim_smp_device_held(SimSmpDevice *device);
/* requests waiting or in hand only */
guint sim_smp_device_queued(SimSmpDevice *device);
/* the link went: queued requests and the one in hand are lost */
void sim_smp_device_link_lost(SimSmpDevice *device);
/* the transport adds its own bad frames here */
SimCounters *sim_smp_device_get_counters(SimSmpDevice *device);
gboolean sim_smp_device_write_state(SimSmpDevice *device, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SimSmpDevice, sim_smp_device_free)

G_END_DECLS
