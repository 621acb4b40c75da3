#!/usr/bin/env bash
# Makes `cargo build -p pulse-ml --features lightgbm` possible on a bare Debian machine and the
# Python reference check runnable:
#   * apt: clang + libclang-dev (bindgen of lightgbm3-sys), g++ and make (the bundled LightGBM C++
#     library), libgomp1 (OpenMP; its link-time libgomp.so comes with gcc's libgcc-*-dev), and
#     python3-pip when the interpreter has no pip. With sudo when not root; packages already
#     installed are skipped, and apt is not run at all then.
#   * CMake >= 3.28 (LightGBM's CMakeLists.txt requires it; Debian 12 has 3.25): the `cmake`
#     found on PATH when new enough, else PyPI's `cmake<4` (a wheel with the binary) via pip.
#   * PyPI `lightgbm` at the version of the C++ library bundled in lightgbm3-sys (LIGHTGBM_PY
#     below; keep it equal to lightgbm3-sys's lightgbm/VERSION.txt when Cargo.lock moves it), for
#     crates/ml/tests/lightgbm_reference.rs.
# Prints one line on stdout: the absolute path of the CMake binary, for `export CMAKE=...` (the
# cmake crate used by lightgbm3-sys's build script reads $CMAKE). Everything else goes to stderr.
#   export CMAKE="$(bash scripts/ensure_lightgbm.sh)"
set -euo pipefail

CMAKE_MIN="3.28"
LIGHTGBM_PY="4.7.0"
PYTHON="${PULSE_PYTHON:-python3}"

log() { echo "$@" >&2; }
apt_install() {
    log "== installing $* (apt)"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}
pip_install() { # Debian's own python3 refuses plain `pip install` (PEP 668): then retry with the override
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "$@" >&2 \
        || "$PYTHON" -m pip install --quiet --disable-pip-version-check --break-system-packages "$@" >&2
}

# -- apt packages -----------------------------------------------------------------------------
missing=()
for pkg in clang libclang-dev g++ make libgomp1; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    missing+=(python3-pip)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# -- CMake >= 3.28 ----------------------------------------------------------------------------
version_ok() { # $1 = a version, true when >= CMAKE_MIN
    [ "$(printf '%s\n%s\n' "$CMAKE_MIN" "$1" | sort -V | head -n1)" = "$CMAKE_MIN" ]
}
cmake_version() { "$1" --version 2>/dev/null | head -n1 | awk '{print $3}'; }

pip_cmake() { # the binary inside PyPI's cmake package, when installed
    "$PYTHON" -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "cmake"))' 2>/dev/null || true
}
# $CMAKE, then PyPI's binary (rather than a pyenv shim of it), then the cmake on PATH.
cmake_bin=""
for candidate in "${CMAKE:-}" "$(pip_cmake)" "$(command -v cmake || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && version_ok "$(cmake_version "$candidate")"; then
        cmake_bin="$candidate"
        break
    fi
done
if [ -z "$cmake_bin" ]; then
    candidate="$(pip_cmake)"
    if [ -z "$candidate" ] || ! version_ok "$(cmake_version "$candidate")"; then
        log "== installing CMake >= $CMAKE_MIN from PyPI (pip install \"cmake<4\"; found: $(command -v cmake >/dev/null && cmake_version cmake || echo none))"
        pip_install "cmake>=$CMAKE_MIN,<4"
        candidate="$(pip_cmake)"
    fi
    if [ -z "$candidate" ] || ! version_ok "$(cmake_version "$candidate")"; then
        log "error: no CMake >= $CMAKE_MIN after pip install (got '${candidate:-nothing}')"
        exit 1
    fi
    cmake_bin="$candidate"
fi
log "== CMake $(cmake_version "$cmake_bin") at $cmake_bin"

# -- Python lightgbm for the reference test ---------------------------------------------------
have="$("$PYTHON" -c 'import lightgbm; print(lightgbm.__version__)' 2>/dev/null || true)"
if [ "$have" != "$LIGHTGBM_PY" ]; then
    log "== installing Python lightgbm==$LIGHTGBM_PY (pip; found: ${have:-none})"
    pip_install "lightgbm==$LIGHTGBM_PY"
fi

echo "$cmake_bin"
