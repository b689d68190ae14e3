#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every C file of the tree is formatted as .clang-format says.
set -euo pipefail
command -v clang-format >/dev/null || exit 77
cd "$DFUD_SOURCE_ROOT"
mapfile -t files < <(find daemon client hawkbit tests man -name '*.[ch]' | sort)
clang-format --dry-run -Werror "${files[@]}"
echo "${#files[@]} files formatted"
