#!/usr/bin/env bash
# Install the Debian packages whose programs a make target needs, when they are missing, so that a
# bare machine needs nothing but `make test` / `make run`. One line per package installed; nothing
# when all are there. sudo is used only when not root.
#
# Usage: scripts/system_packages.sh COMMAND=PACKAGE...   e.g. nginx=nginx chromedriver=chromium-driver
#   COMMAND is looked up in PATH and in /usr/sbin and /sbin (nginx lives there, outside a user's PATH);
#   a COMMAND of the form python:MODULE means "PYTHON (env, default python3) can import MODULE", and
#   header:PATH "the C header PATH is installed" (under /usr/include, or its multiarch folder).
set -euo pipefail

missing=()
for pair in "$@"; do
    command=${pair%%=*}
    package=${pair#*=}
    case "$command" in
        python:*)
            "${PYTHON:-python3}" -c "import ${command#python:}" 2>/dev/null && continue ;;
        header:*)
            compgen -G "/usr/include/${command#header:}" >/dev/null && continue
            compgen -G "/usr/include/*-linux-gnu/${command#header:}" >/dev/null && continue ;;
        *)
            command -v "$command" >/dev/null 2>&1 && continue
            [ -x "/usr/sbin/$command" ] || [ -x "/sbin/$command" ] && continue ;;
    esac
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system packages: missing ${missing[*]}, and this is not a Debian-like system (no apt-get): install them by hand" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "system packages: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
# One apt at a time: CI builds the free-threaded Python (its headers) while the test programs install.
if command -v flock >/dev/null 2>&1; then
    exec 9>"${TMPDIR:-/tmp}/turboapi-system-packages.lock"
    flock 9
fi
# apt's own output (debconf notes and the like) is shown only when a step fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "system packages: failed: $*" >&2; exit 1; }; }
# The package lists of a fresh machine are empty, and stale ones name versions no longer served.
quiet "${sudo[@]}" apt-get update -qq
for package in "${missing[@]}"; do
    echo "system packages: installing $package"
    quiet "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package"
done
