/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "smp-errors.h"

#define IMG_ERR_HASH_NOT_FOUND 8
#define IMG_ERR_NO_FREE_SLOT 9
#define IMG_ERR_INVALID_IMAGE_HEADER 22
#define IMG_ERR_INVALID_IMAGE_HEADER_MAGIC 23
#define IMG_ERR_CURRENT_VERSION_IS_NEWER 27
#define IMG_ERR_IMAGE_ALREADY_PENDING 28
#define IMG_ERR_INVALID_IMAGE_TOO_LARGE 30
#define IMG_ERR_CONFIRMATION_DENIED 32
#define IMG_ERR_TEST_TO_ACTIVE_DENIED 33

/* v2 == FALSE rows are SMP-level codes and apply in both styles */
static const struct {
	gboolean v2;
	guint group;
	guint rc;
	DfuStatus status;
} smp_error_map[] = {
        {FALSE, 0, SMP_RC_ENOTSUP, DFU_STATUS_NOT_SUPPORTED},
        {FALSE, 0, SMP_RC_EBUSY, DFU_STATUS_DEVICE_BUSY},
        {FALSE, 0, SMP_RC_EACCESSDENIED, DFU_STATUS_AUTH_REQUIRED},
        {FALSE, 0, SMP_RC_UNSUPPORTED_TOO_OLD, DFU_STATUS_NOT_SUPPORTED},
        {FALSE, 0, SMP_RC_UNSUPPORTED_TOO_NEW, DFU_STATUS_NOT_SUPPORTED},
        {TRUE, 1, IMG_ERR_HASH_NOT_FOUND, DFU_STATUS_IMAGE_REJECTED},
        {TRUE, 1, IMG_ERR_NO_FREE_SLOT, DFU_STATUS_NO_ROOM},
        {TRUE, 1, IMG_ERR_IMAGE_ALREADY_PENDING, DFU_STATUS_NO_ROOM},
        {TRUE, 1, IMG_ERR_INVALID_IMAGE_TOO_LARGE, DFU_STATUS_NO_ROOM},
        {TRUE, 1, IMG_ERR_INVALID_IMAGE_HEADER, DFU_STATUS_UPLOAD_REFUSED},
        {TRUE, 1, IMG_ERR_INVALID_IMAGE_HEADER_MAGIC, DFU_STATUS_UPLOAD_REFUSED},
        {TRUE, 1, IMG_ERR_CURRENT_VERSION_IS_NEWER, DFU_STATUS_DEVICE_REFUSED_DOWNGRADE},
        {TRUE, 1, IMG_ERR_CONFIRMATION_DENIED, DFU_STATUS_CONFIRM_REFUSED},
        {TRUE, 1, IMG_ERR_TEST_TO_ACTIVE_DENIED, DFU_STATUS_TEST_REFUSED},
};

static DfuStatus
map_status(const SmpError *err, DfuStatus fallback)
{
	for (gsize i = 0; i < G_N_ELEMENTS(smp_error_map); i++) {
		if (smp_error_map[i].v2 != err->v2 || smp_error_map[i].rc != err->rc)
			continue;
		if (err->v2 && smp_error_map[i].group != err->group)
			continue;
		return smp_error_map[i].status;
	}
	return fallback;
}

static const char *
error_name(const SmpError *err)
{
	return err->v2 ? smp_group_rc_to_string(err->group, err->rc) : smp_rc_to_string(err->rc);
}

GError *
smp_device_error_to_gerror(const SmpError *err, const char *command, DfuStatus fallback)
{
	g_autoptr(GString) msg = g_string_new(NULL);

	g_string_append_printf(msg, "%s: device answered ", command);
	if (err->v2)
		g_string_append_printf(msg, "group %u error %u (%s)", err->group, err->rc, error_name(err));
	else
		g_string_append_printf(msg, "rc %u (%s)", err->rc, error_name(err));
	if (err->rsn != NULL)
		g_string_append_printf(msg, ": %s", err->rsn);
	return g_error_new_literal(DFU_ERROR, map_status(err, fallback), msg->str);
}

GVariant *
smp_device_error_to_variant(const SmpError *err, const char *command)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "smp-rc", g_variant_new_uint32(err->rc));
	if (err->v2)
		g_variant_builder_add(&b, "{sv}", "smp-group", g_variant_new_uint32(err->group));
	g_variant_builder_add(&b, "{sv}", "smp-error", g_variant_new_string(error_name(err)));
	if (err->rsn != NULL)
		g_variant_builder_add(&b, "{sv}", "smp-reason", g_variant_new_string(err->rsn));
	g_variant_builder_add(&b, "{sv}", "command", g_variant_new_string(command));
	return g_variant_builder_end(&b);
}
