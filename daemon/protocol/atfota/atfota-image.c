/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "atfota-image.h"

#include "dfu-error.h"
#include "dfu-job.h"
#include "mcuboot-image.h"

/*
 * An application and a second-stage bootloader update are MCUboot images
 * and start with its header magic. Nordic documents no marker for modem
 * delta images nor for full modem images, so the two cannot be told apart
 * from each other or from other data: the check is whether an image is an
 * MCUboot image, which the application and bootloader ops need and the
 * modem ops must not get. The module checks the rest itself.
 */
static const struct {
	guint op;
	gboolean mcuboot;
	const char *what;
} kinds[] = {
        {DFU_FOTA_OP_APPLICATION, TRUE, "an application update"},
        {DFU_FOTA_OP_BOOTLOADER, TRUE, "a bootloader update"},
        {DFU_FOTA_OP_MODEM_DELTA, FALSE, "a modem delta update"},
        {DFU_FOTA_OP_MODEM_FULL, FALSE, "a full modem update"},
};

static gboolean
is_mcuboot(const guint8 *head, gsize len)
{
	return len >= 4 &&
	       (head[0] | head[1] << 8 | head[2] << 16 | (guint32)head[3] << 24) == MCUBOOT_IMAGE_MAGIC;
}

gboolean
atfota_image_check(guint op, const guint8 *head, gsize len, const char *source, GError **error)
{
	gboolean mcuboot = is_mcuboot(head, len);

	for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (kinds[i].op != op || kinds[i].mcuboot == mcuboot)
			continue;
		g_set_error(
		        error, DFU_ERROR, DFU_STATUS_IMAGE_KIND_MISMATCH,
		        mcuboot ? "%s is an MCUboot application image, not %s: give fota-op=1 (or 5 for "
		                  "a bootloader image)"
		                : "%s is no MCUboot image, as %s needs: it may be a modem image (fota-op=2 "
		                  "or 3) or another file",
		        source, kinds[i].what);
		return FALSE;
	}
	return TRUE;
}
