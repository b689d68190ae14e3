/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* the entry point libFuzzer and fuzz-replay call with each input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* drops all log output from here on, so that messages about bad input do not flood the fuzzer's */
void fuzz_quiet_logs(void);

G_END_DECLS
