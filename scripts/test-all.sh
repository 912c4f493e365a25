#!/usr/bin/env bash
# What `npm test` runs: build, start one private Samba for the whole suite, run
# tap over test/unit, test/integration and test/e2e (those that hold tests),
# stop Samba on exit, and end with a line "N passed, N failed".
#
# usage: scripts/test-all.sh [tap args or test files…]
#   With arguments, they replace the default test directories (npm test -- FILE).
# Environment:
#   TAP_REPORTER  tap reporter (default "tap": plain TAP, which this script parses)
#   SMB_KEEP=1    leave the Samba dir in place after the run (for its logs)
#
# The tests see the server through SMB_DIR, SMB_PORT, SMB_HOST, SMB_USER,
# SMB_PASS, SMB_SHARE_PATH, … (test/helpers/samba.ts picks them up instead of
# starting a server per file). Exit status is tap's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

log() { printf 'test-all: %s\n' "$*" >&2; }

# A failed build fails the run, but the tests still run (unit tests load .ts
# sources through tap and need no build), so one broken module does not hide
# every other result.
log "building (npx tsc -p .)"
build_ok=1
if ! npx tsc -p .; then
  build_ok=
  log "BUILD FAILED: tests that need dist/ will fail; the run will fail"
fi
# tap loads tests without type checking, so check the tests' types here.
log "type-checking the tests (npx tsc -p test/tsconfig.json)"
if ! npx tsc -p test/tsconfig.json; then
  build_ok=
  log "TYPE CHECK OF TESTS FAILED: the run will fail"
fi

# --- impacket -------------------------------------------------------------------
# The interop tests run impacket's SMB server as a second implementation
# (samba-start.sh below installs the rest of what the tests need).
if [ ! -e /usr/share/doc/python3-impacket/examples/smbserver.py ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing python3-impacket with apt"
    DEBIAN_FRONTEND=noninteractive apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-impacket >&2
  else
    log "python3-impacket is missing and we are not root: the interop tests will fail (apt-get install python3-impacket)"
  fi
fi

# --- Samba ----------------------------------------------------------------------
SMB_DIR=
cleanup() {
  local rc=$?
  if [ -n "$SMB_DIR" ]; then
    if [ "${SMB_KEEP:-}" = 1 ]; then
      bash "$ROOT/scripts/samba-stop.sh" --keep "$SMB_DIR" || true
      log "Samba dir kept: $SMB_DIR"
    else
      bash "$ROOT/scripts/samba-stop.sh" "$SMB_DIR" || true
    fi
  fi
  [ -n "${TAP_LOG:-}" ] && rm -f "$TAP_LOG"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

env_out=$(bash "$ROOT/scripts/samba-start.sh")
eval "$env_out"
export SMB_DIR SMB_PORT SMB_HOST SMB_USER SMB_PASS SMB_SHARE_PATH SMB_RO_PATH \
  SMB_GUEST_PATH SMB_ENC_PATH SMB_TEST_URL SMB_PID
log "Samba on $SMB_HOST:$SMB_PORT (pid $SMB_PID, dir $SMB_DIR)"

# --- tap ------------------------------------------------------------------------
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for d in test/unit test/integration test/e2e; do
    # tap fails a directory without test files, so pass only those that have some.
    if [ -d "$d" ] && [ -n "$(find "$d" -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.js' -o -name '*.mjs' \) ! -name '*.d.ts' -print -quit)" ]; then
      targets+=("$d")
    fi
  done
fi
if [ ${#targets[@]} -eq 0 ]; then
  log "no tests found"
  echo "0 passed, 0 failed"
  exit 0
fi

TAP_LOG=$(mktemp "${TMPDIR:-/tmp}/smbfuse-tap.XXXXXX")
log "npx tap ${targets[*]}"
set +e
npx tap --reporter="${TAP_REPORTER:-tap}" "${targets[@]}" 2>&1 | tee "$TAP_LOG"
status=${PIPESTATUS[0]}
set -e

# tap's final summary is a comment like "# { total: 7, pass: 6, fail: 1, skip: 0 }"
# (fields it has nothing for are left out). Take the last one; if there is none
# (tap crashed, another reporter), count the top-level test points instead.
summary=$(grep -E '^#? *\{ *total: *[0-9]+' "$TAP_LOG" | tail -n 1 || true)
field() { sed -nE "s/.*[{,] *$1: *([0-9]+).*/\\1/p" <<<"$summary"; }
if [ -n "$summary" ]; then
  pass=$(field pass); fail=$(field fail)
  pass=${pass:-0}; fail=${fail:-0}
else
  pass=$(grep -cE '^ok ' "$TAP_LOG" || true)
  fail=$(grep -cE '^not ok ' "$TAP_LOG" || true)
fi
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
  # tap failed without failing a test point (a file crashed, a timeout): count it.
  fail=1
fi
# CI shows only the tail of the output: repeat every failed test point there,
# with the first lines of its diagnostics, so a failure deep in a long run is
# named where it will be read.
if grep -qE '^ *not ok ' "$TAP_LOG"; then
  echo "--- failed test points (repeated from above) ---"
  awk '
    /^ *not ok / { shown = 0; inblock = 1; print; next }
    inblock && /^ *(ok|not ok|# Subtest:) / { inblock = 0 }
    inblock && shown < 24 { print; shown++ }
  ' "$TAP_LOG"
  echo "--- end of failed test points ---"
fi
if [ -z "$build_ok" ]; then
  fail=$((fail + 1))
  [ "$status" -ne 0 ] || status=1
  echo "$pass passed, $fail failed (including the failed build)"
else
  echo "$pass passed, $fail failed"
fi
exit "$status"
