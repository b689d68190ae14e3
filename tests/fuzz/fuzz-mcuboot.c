/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "fuzz-target.h"
#include "mcuboot-image.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	McubootImageInfo info;
	McubootVersion version;
	g_autoptr(GError) error = NULL;
	g_autofree char *text = g_strndup((const char *)data, MIN(size, 64));

	memset(&info, 0, sizeof(info));
	if (mcuboot_image_parse(data, size, &info, &error)) {
		/* everything the parser accepted lies inside the buffer */
		if (error != NULL || info.total_size > size || info.hash_len > MCUBOOT_HASH_MAX ||
		    (info.sig_tlv_type != 0 &&
		     (info.sig_offset > size || info.sig_len > size - info.sig_offset)))
			__builtin_trap();
		g_free(mcuboot_version_to_string(&info.version));
		/* what follows the image: padding and a trailer, or refused with a reason */
		if (!mcuboot_image_check_padding(data, size, &info, &error) && error == NULL)
			__builtin_trap();
	} else if (error == NULL) {
		__builtin_trap();
	}
	/* the version parser takes text from manifests and from devices */
	if (mcuboot_version_parse(text, &version)) {
		g_autofree char *back = mcuboot_version_to_string(&version);
		McubootVersion again;

		if (!mcuboot_version_parse(back, &again) || mcuboot_version_compare(&version, &again) != 0)
			__builtin_trap();
	}
	return 0;
}
