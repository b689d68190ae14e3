/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * The images the job option allow-downgrade names: a comma list of image
 * numbers (0 to 15, as MCUboot numbers them), "app" and "net" for images 0
 * and 1, or the file names of images in a bundle (ending in .bin).
 */

/* FALSE (INVALID_ARGUMENT) when a name is none of those: checked when the job is submitted */
gboolean dfu_downgrade_names_check(const char *list, GError **error);
/* whether list names the image of this number or file name */
gboolean dfu_downgrade_names_match(const char *list, guint image_index, const char *file_name);
/* a file name in list that matches none of file_names (NULL-terminated), else NULL; free it */
char *dfu_downgrade_names_unknown_file(const char *list, const char *const *file_names);

G_END_DECLS
