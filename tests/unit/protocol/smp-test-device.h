/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dfu-transport.h"
#include "sim-faults.h"
#include "sim-mcuboot.h"

G_BEGIN_DECLS

/*
 * A device for protocol tests: the simulator's MCUboot model and SMP handlers
 * on the far end of an in-memory transport pair. It answers from the main
 * loop, all requests that arrived together at once, so a window of requests
 * is really held at the same time. Its fault plan takes the simulator's
 * specs (request and response numbers count from 1); the other misbehaviour
 * is set in the config or on the fields below.
 */
typedef struct {
	guint images;
	McubootVersion running;
	gboolean params;
	guint buf_size;
	guint buf_count;
	gboolean errors_v2;
	gboolean image_check;
	gboolean boot_rejects;
	gboolean refuse_test;
	SimBootMode mode;
	gboolean no_bootloader_info;
	gboolean v1_only;       /* answers every v2 request with rc 13 in a v1 header */
	gboolean reverse;       /* answers each batch last request first */
	gboolean reset_hangup;  /* the link drops while the device reboots */
	guint boot_ms;          /* time from reset to answering again */
	gboolean never_back;    /* stays down after a reset */
	guint reopen_refuse_ms; /* after a planned hang-up, the link cannot be opened this long */
} TestDeviceConfig;

typedef struct {
	const char *kind; /* params, state, test, confirm, upload, reset, other */
	guint version;
	gsize size;
	guint image;
	guint64 off;
	gsize data_len;
	guint64 total; /* the upload's len, on its first chunk only */
} TestDeviceRequest;

typedef struct {
	SimMcuboot *model;
	SimFaultPlan *faults;
	GArray *requests;     /* TestDeviceRequest, every request received while up */
	guint max_in_flight;  /* most requests held at once */
	guint dropped;        /* dropped for want of buffers */
	guint64 upload_bytes; /* upload data bytes received */
	guint resets;
	gint64 corrupt_at; /* flips the upload byte at this file offset once, -1 = never */
} TestDevice;

/* *host is the end for the engine; the device keeps a borrowed pointer to it */
TestDevice *test_device_new(const TestDeviceConfig *config, DfuTransport **host);
void test_device_free(TestDevice *dev);
void test_device_add_fault(TestDevice *dev, const char *spec);
guint test_device_count(TestDevice *dev, const char *kind);
/* the kinds of all requests, repeats in a row shown once: "params,state,upload,..." */
char *test_device_summary(TestDevice *dev);
/* TRUE when slot 1 of image starts with data */
gboolean test_device_secondary_holds(TestDevice *dev, guint image, GBytes *data);

/* a valid unsigned MCUboot image */
GBytes *test_image_new(guint8 major, guint8 minor, gsize payload_size, guint32 seed);
/* with header flags and load address: ROM_FIXED or RAM_LOAD images */
GBytes *test_image_new_at(guint8 major, guint8 minor, gsize payload_size, guint32 seed, guint32 flags,
                          guint32 load_addr);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestDevice, test_device_free)

G_END_DECLS
