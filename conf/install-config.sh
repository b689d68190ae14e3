#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: install-config.sh SOURCE DIR
# Installs SOURCE into DIR (below $DESTDIR) unless a file of that name is already there.
set -eu
src=$1
dest="${DESTDIR:-}$2/$(basename "$src")"
if [ -e "$dest" ]; then
	echo "Keeping existing $dest"
	exit 0
fi
install -D -m 0644 "$src" "$dest"
echo "Installing $src to $dest"
