#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what dfud needs to build and test on Debian 12.
set -euo pipefail

packages=(
	build-essential meson ninja-build pkg-config
	libglib2.0-dev libsystemd-dev libcbor-dev libssl-dev libjson-glib-dev libzip-dev libcurl4-openssl-dev libbluetooth-dev
	dbus-daemon jq clang-format groff-base
	lighttpd lighttpd-mod-openssl openssl python3 python3-dbus python3-gi curl swupdate
)
# test-nrfdfu-js and bench-nrfdfu run Nordic's pc-nrf-dfu-js: Debian's node and npm unless
# a node of another origin (whose package carries npm itself) is there already
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "Installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
