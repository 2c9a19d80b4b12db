# Shared helpers for the testenv scripts. Sourced, not executed.
log() { echo "testenv: $*" >&2; }
die() { echo "testenv: error: $*" >&2; exit 1; }

testenv_dir() { cd "$(dirname "${BASH_SOURCE[0]}")" && pwd; }

# Cache root for built binaries; outside the repo so clones share it.
testenv_cache_root() { echo "${FLOTILLA_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flotilla-testenv}"; }

# The bin directory is keyed on everything that determines the binaries.
testenv_bin_dir() {
  local d key
  d="$(testenv_dir)"
  key="$( (cat "$d"/go/*/go.mod "$d"/go/*/go.sum; echo "layout-1"; go version 2>/dev/null || true) | sha256sum | cut -c1-16)"
  echo "$(testenv_cache_root)/bin-$key"
}

# Where running clusters live (kubeconfigs, pids, logs).
testenv_state_dir() { echo "${FLOTILLA_TESTENV_STATE:-/tmp/flotilla-testenv}"; }
