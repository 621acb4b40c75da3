#!/usr/bin/env bash
# Makes `cargo build -p pulse-ml --features lightgbm` possible on a bare Debian machine and the
# Python reference check runnable:
#   * apt: clang + libclang-dev (bindgen of lightgbm3-sys), g++ and make (the bundled LightGBM C++
#     library), libgomp1 (OpenMP; its link-time libgomp.so comes with gcc's libgcc-*-dev). With
#     sudo when not root; packages already installed are skipped, and apt is not run at all then.
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

# -- apt packages -----------------------------------------------------------------------------
missing=()
for pkg in clang libclang-dev g++ make libgomp1; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "== installing ${missing[*]} (apt)"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# -- CMake >= 3.28 ----------------------------------------------------------------------------
version_ok() { # $1 = a version, true when >= CMAKE_MIN
    [ "$(printf '%s\n%s\n' "$CMAKE_MIN" "$1" | sort -V | head -n1)" = "$CMAKE_MIN" ]
}
cmake_version() { "$1" --version 2>/dev/null | head -n1 | awk '{print $3}'; }

cmake_bin=""
for candidate in "${CMAKE:-}" "$(command -v cmake || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && version_ok "$(cmake_version "$candidate")"; then
        cmake_bin="$candidate"
        break
    fi
done
pip_cmake() { # the binary inside PyPI's cmake package, when installed and new enough
    "$PYTHON" -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "cmake"))' 2>/dev/null || true
}
if [ -z "$cmake_bin" ]; then
    candidate="$(pip_cmake)"
    if [ -z "$candidate" ] || ! version_ok "$(cmake_version "$candidate")"; then
        log "== installing CMake >= $CMAKE_MIN from PyPI (pip install \"cmake<4\"; found: $(command -v cmake >/dev/null && cmake_version cmake || echo none))"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check "cmake>=$CMAKE_MIN,<4" >&2
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
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "lightgbm==$LIGHTGBM_PY" >&2
fi

echo "$cmake_bin"
