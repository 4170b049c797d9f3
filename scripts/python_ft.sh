#!/usr/bin/env bash
# Free-threaded CPython 3.13 (PEP 703, `--disable-gil`) built from Debian's source package, into a
# cache folder kept between runs: nothing is rebuilt while PREFIX/bin/python3.13t runs.
#
# Usage: scripts/python_ft.sh PREFIX
#
# The source is Debian 13's python3.13 (3.13.5), fetched with apt-get source through a deb-src list
# of its own (the machine's apt configuration is not touched); apt checks it against the signed
# index. Upstream's tarball from the package is built as it is (Debian's patches are for its own
# packaging), without PGO, which would triple the build time, and with a shared libpython, as
# pyenv builds its interpreters (the GIL build the benchmarks compare it with).
set -euo pipefail

prefix=${1:?usage: scripts/python_ft.sh PREFIX}
python="$prefix/bin/python3.13t"
# What a usable build has: the optional modules, the GIL off, and libpython as a shared library
# (`cargo test` links it into a test binary, which a static, non-PIC libpython cannot be).
check='import sys, sysconfig, ssl, ctypes, sqlite3, lzma, bz2, zlib
assert not sys._is_gil_enabled() and sysconfig.get_config_var("Py_ENABLE_SHARED")'
if "$python" -c "$check" 2>/dev/null; then
    exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
# What CPython's optional modules need (ssl for pip, ctypes, sqlite3, lzma, bz2, zlib, readline).
"$here"/system_packages.sh gcc=gcc make=make dpkg-source=dpkg-dev \
    header:openssl/ssl.h=libssl-dev header:zlib.h=zlib1g-dev header:ffi.h=libffi-dev \
    header:bzlib.h=libbz2-dev header:lzma.h=liblzma-dev header:sqlite3.h=libsqlite3-dev \
    header:readline/readline.h=libreadline-dev header:uuid/uuid.h=uuid-dev

work="$prefix.build"
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/src"
cat > "$work/trixie-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_options=(-o "Dir::Etc::SourceList=$work/trixie-src.sources" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root)
echo "python-ft: fetching Debian's python3.13 source (trixie)"
apt-get "${apt_options[@]}" -qq update
(cd "$work/src" && apt-get "${apt_options[@]}" -qq source --download-only python3.13)
tarball=$(ls "$work"/src/python3.13_*.orig.tar.xz)
tar -xJf "$tarball" -C "$work"
source_dir=$(ls -d "$work"/Python-3.13.*/)

echo "python-ft: building $(basename "$source_dir") with --disable-gil into $prefix (a few minutes)"
(
    cd "$source_dir"
    ./configure --disable-gil --enable-shared LDFLAGS="-Wl,-rpath,$prefix/lib" --prefix="$prefix" \
        --with-ensurepip=install >"$work/configure.log" 2>&1 \
        || { tail -n 30 "$work/configure.log"; exit 1; }
    make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -n 40 "$work/make.log"; exit 1; }
    make install >"$work/install.log" 2>&1 || { tail -n 30 "$work/install.log"; exit 1; }
)
"$python" -c "$check"
rm -rf "$work"
echo "python-ft: $("$python" -VV)"
