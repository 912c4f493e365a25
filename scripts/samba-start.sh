#!/usr/bin/env bash
# Start a private Samba server on loopback for smbfuse's tests and benchmarks.
#
# usage: scripts/samba-start.sh [DIR]
#        eval "$(scripts/samba-start.sh)"
#
# Everything the server owns lives under DIR (a fresh mktemp dir when DIR is not
# given): smb.conf, every state dir (lock, state, cache, pid, private, ncalrpc,
# binddns, log) and the share data dirs under DIR/shares/. Nothing is written to
# /etc/samba or /var/lib/samba, so several servers can run side by side.
#
# stdout carries only shell assignments, one per line, values quoted with %q:
#   SMB_DIR SMB_PORT SMB_HOST SMB_USER SMB_PASS SMB_SHARE_PATH SMB_TEST_URL
#   SMB_RO_PATH SMB_GUEST_PATH SMB_ENC_PATH SMB_PID
# Everything else goes to stderr. Stop the server with scripts/samba-stop.sh "$SMB_DIR".
#
# Shares (all data dirs under DIR/shares/):
#   [test]      read-write. `force user = <user running smbd>` (root in CI): the
#               tests' setup writes files into SMB_SHARE_PATH directly as root and
#               the SMB user must be able to read *and overwrite* them; with
#               force user every SMB operation runs as root, so no chown dance is
#               needed and files the SMB user creates are plain root-owned files
#               the test can inspect. Price: POSIX permission bits do not deny
#               anything on this share (root bypasses them); permission tests
#               need their own server or share.
#   [ro]        same, `read only = yes`.
#   [perms]     read-write without force user: operations run as the SMB user
#               (smbtest when started as root), so POSIX permissions on its
#               directories do deny what they deny (a directory the user may
#               not create files in, say).
#   [guest]     `guest ok = yes`; an anonymous or unknown user gets a guest
#               session (`map to guest = Bad User`) and works as root.
#   [encrypted] `server smb encrypt = required` (a per-share option): SMB3
#               clients must encrypt on this tree; SMB2 clients are refused.
#   There is no [signed] share: `server signing = mandatory` is global only. A
#   client can still sign on any share (SMB2 signing is always offered); to make
#   the server insist, start a second server with
#   EXTRA_GLOBAL='server signing = mandatory'.
#
# Environment (all optional):
#   EXTRA_GLOBAL   lines appended to [global] (e.g. 'server signing = mandatory')
#   SMB_PORT_BASE  first port to try (default 4455)
#   SMB_FORCE_PORT use exactly this port or fail (restarting a server in its DIR
#                  on the same port, as reconnect tests need)
#   SMB_LOG_LEVEL  smbd log level (default 1)
#
# Port choice: ports from SMB_PORT_BASE upward are probed by binding them on
# 127.0.0.1 and ::1 (a node one-liner, so iproute2 is not needed); a lock file
# serialises concurrent starts until smbd listens, and if smbd still fails to
# bind, the next port is tried.
set -euo pipefail

log() { printf 'samba-start: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SMB_USER_NAME=smbtest
SMB_PASSWORD=smbtest-pass-1
PORT_BASE=${SMB_PORT_BASE:-4455}
LOG_LEVEL=${SMB_LOG_LEVEL:-1}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# --- packages -----------------------------------------------------------------
# Runs apt only when a tool is missing, so the usual case costs nothing.
ensure_packages() {
  local need=()
  command -v smbd >/dev/null 2>&1 || [ -x /usr/sbin/smbd ] || need+=(samba)
  command -v smbclient >/dev/null 2>&1 || need+=(smbclient)
  # Mounting needs fusermount (to unmount); the tests drive the mount with rsync and setfattr/getfattr.
  command -v fusermount >/dev/null 2>&1 || need+=(fuse)
  command -v rsync >/dev/null 2>&1 || need+=(rsync)
  command -v setfattr >/dev/null 2>&1 || need+=(attr)
  # test/e2e/direct-read submits asynchronous direct reads with fio (libaio).
  command -v fio >/dev/null 2>&1 || need+=(fio)
  # The man page test renders man/smbfuse.1.
  command -v man >/dev/null 2>&1 || need+=(man-db)
  command -v groff >/dev/null 2>&1 || need+=(groff-base)
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing ${need[*]} and not root: apt-get install -y ${need[*]}"
  log "installing ${need[*]} with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${need[@]}" >&2
  # Debian's package starts the system smbd/nmbd on :445; we do not need them.
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now smbd nmbd samba-ad-dc >/dev/null 2>&1 || true
  fi
}
ensure_packages
export PATH="$PATH:/usr/sbin:/sbin"
command -v node >/dev/null 2>&1 || die "node is needed to probe ports"

# --- directories ----------------------------------------------------------------
if [ $# -ge 1 ] && [ -n "$1" ]; then
  DIR=$1
  mkdir -p "$DIR"
else
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/smbfuse-samba.XXXXXX")
fi
DIR=$(cd "$DIR" && pwd)
[ -e "$DIR/smbd.pid" ] && kill -0 "$(cat "$DIR/smbd.pid")" 2>/dev/null &&
  die "$DIR already has a running smbd (pid $(cat "$DIR/smbd.pid"))"
# The guest account (nobody) must be able to traverse to the share dirs.
chmod 0755 "$DIR"
for d in lock state cache pid private ncalrpc binddns log \
         shares/test shares/ro shares/guest shares/encrypted shares/perms; do
  mkdir -p "$DIR/$d"
done
chmod 0700 "$DIR/private"
chmod 0777 "$DIR/shares/test" "$DIR/shares/guest" "$DIR/shares/encrypted" "$DIR/shares/perms"
[ -e "$DIR/shares/ro/README.txt" ] || echo "read-only share of smbfuse tests" > "$DIR/shares/ro/README.txt"

# --- user -----------------------------------------------------------------------
# As root: a Unix account smbtest without home or shell backs the SMB user.
# Not as root: the SMB user is the calling user (smbd cannot switch users).
RUN_AS=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  if ! id "$SMB_USER_NAME" >/dev/null 2>&1; then
    log "creating Unix user $SMB_USER_NAME"
    useradd -M -s /usr/sbin/nologin "$SMB_USER_NAME" 2>/dev/null ||
      id "$SMB_USER_NAME" >/dev/null 2>&1 || die "useradd $SMB_USER_NAME failed"
  fi
else
  SMB_USER_NAME=$RUN_AS
  log "not root: SMB user is $SMB_USER_NAME, shares force user $RUN_AS"
fi

# --- configuration --------------------------------------------------------------
# write_conf PORT: writes DIR/smb.conf for that port.
write_conf() {
  local port=$1
  cat > "$DIR/smb.conf" <<EOF
# smbfuse test server, generated by scripts/samba-start.sh
[global]
  server role = standalone server
  workgroup = WORKGROUP
  netbios name = SMBFUSETEST
  smb ports = $port
  interfaces = lo
  bind interfaces only = yes
  disable netbios = yes
  server min protocol = SMB2_02
  server max protocol = SMB3_11
  # Without these three Samba silently grants no durable handles.
  kernel share modes = no
  kernel oplocks = no
  posix locking = no
  map to guest = Bad User
  guest account = nobody
  restrict anonymous = 0
  passdb backend = tdbsam:$DIR/private/passdb.tdb
  smb passwd file = $DIR/private/smbpasswd
  lock directory = $DIR/lock
  state directory = $DIR/state
  cache directory = $DIR/cache
  pid directory = $DIR/pid
  private dir = $DIR/private
  ncalrpc dir = $DIR/ncalrpc
  binddns dir = $DIR/binddns
  usershare path =
  registry shares = no
  log file = $DIR/log/log.%m
  max log size = 10000
  logging = file
  log level = $LOG_LEVEL
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  dns proxy = no
  obey pam restrictions = no
  unix password sync = no
${EXTRA_GLOBAL:-}

[test]
  path = $DIR/shares/test
  read only = no
  force user = $RUN_AS
  create mask = 0666
  directory mask = 0777

[ro]
  path = $DIR/shares/ro
  read only = yes
  force user = $RUN_AS

[perms]
  path = $DIR/shares/perms
  read only = no
  create mask = 0644
  directory mask = 0755

[guest]
  path = $DIR/shares/guest
  read only = no
  guest ok = yes
  force user = $RUN_AS
  create mask = 0666
  directory mask = 0777

[encrypted]
  path = $DIR/shares/encrypted
  read only = no
  force user = $RUN_AS
  server smb encrypt = required
  create mask = 0666
  directory mask = 0777
EOF
}

# port_free PORT: true when PORT can be bound on 127.0.0.1 and on ::1 (if the
# machine has IPv6 loopback); smbd with `interfaces = lo` binds both.
port_free() {
  node -e '
    const net = require("node:net");
    const port = Number(process.argv[1]);
    const hosts = ["127.0.0.1", "::1"];
    let left = hosts.length, ok = true;
    const done = () => { if (--left === 0) process.exit(ok ? 0 : 1); };
    for (const host of hosts) {
      const s = net.createServer();
      s.once("error", (e) => { if (e.code !== "EADDRNOTAVAIL" && e.code !== "EAFNOSUPPORT") ok = false; done(); });
      s.listen({ port, host, exclusive: true }, () => s.close(done));
    }' "$1"
}

# listening PORT: true when something accepts TCP on 127.0.0.1:PORT.
listening() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

write_conf "$PORT_BASE"    # smbpasswd needs a loadable conf; the port is fixed later
log "creating SMB user $SMB_USER_NAME in $DIR/private/passdb.tdb"
if [ "$(id -u)" -eq 0 ]; then
  printf '%s\n%s\n' "$SMB_PASSWORD" "$SMB_PASSWORD" |
    smbpasswd -c "$DIR/smb.conf" -a -s "$SMB_USER_NAME" >&2 || die "smbpasswd failed"
else
  # smbpasswd -a needs root; pdbedit writes the private passdb file directly.
  printf '%s\n%s\n' "$SMB_PASSWORD" "$SMB_PASSWORD" |
    pdbedit -s "$DIR/smb.conf" -a -u "$SMB_USER_NAME" -t >/dev/null || die "pdbedit failed"
fi

# --- start ----------------------------------------------------------------------
LOCK=${TMPDIR:-/tmp}/smbfuse-samba-port.$(id -u).lock
exec 9>"$LOCK"
flock -w 60 9 || die "could not take $LOCK"

PORT=$PORT_BASE
PID=
for attempt in 1 2 3 4 5; do
  if [ -n "${SMB_FORCE_PORT:-}" ]; then
    PORT=$SMB_FORCE_PORT
    # The old smbd's sockets may linger for a moment after it exits.
    for _ in $(seq 50); do port_free "$PORT" && break; sleep 0.1; done
    port_free "$PORT" || die "forced port $PORT is busy"
  fi
  while ! port_free "$PORT"; do
    PORT=$((PORT + 1))
    [ "$PORT" -lt $((PORT_BASE + 200)) ] || die "no free port in $PORT_BASE..$PORT"
  done
  write_conf "$PORT"
  log "starting smbd on 127.0.0.1:$PORT (dir $DIR, attempt $attempt)"
  # stdout/stderr must not be our stdout: `$(samba-start.sh)` would wait for smbd.
  # fd 9 (the port lock) must not leak into smbd either.
  # setsid: with --no-process-group smbd stays in its caller's process group,
  # and on SIGTERM it signals its whole process group (measured: it killed the
  # tap runner and the shell that called samba-stop.sh). In a session of its own
  # that group is smbd and its children only. A background job of a
  # non-interactive shell is not a group leader, so setsid does not fork and $!
  # is smbd itself; the pid file smbd writes confirms it below.
  setsid smbd --foreground --no-process-group --configfile="$DIR/smb.conf" \
    </dev/null >>"$DIR/log/smbd.out" 2>&1 9>&- &
  PID=$!
  echo "$PID" > "$DIR/smbd.pid"
  echo "$PORT" > "$DIR/port"
  up=
  for _ in $(seq 150); do            # 150 × 0.1 s = 15 s
    if ! kill -0 "$PID" 2>/dev/null; then break; fi
    if listening "$PORT"; then up=1; break; fi
    sleep 0.1
  done
  [ -n "$up" ] && break
  if kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    rm -f "$DIR/smbd.pid"
    die "smbd did not listen on port $PORT within 15 s; see $DIR/log/"
  fi
  wait "$PID" 2>/dev/null || true
  rm -f "$DIR/smbd.pid"
  log "smbd exited early on port $PORT; last output:"
  tail -n 5 "$DIR/log/smbd.out" >&2 || true
  PID=
  [ -z "${SMB_FORCE_PORT:-}" ] || break
  PORT=$((PORT + 1))
done
flock -u 9
exec 9>&-
[ -n "$PID" ] || die "smbd would not start; see $DIR/log/"
if [ -f "$DIR/pid/smbd.pid" ]; then
  own=$(tr -dc '0-9' < "$DIR/pid/smbd.pid")
  [ "$own" = "$PID" ] || log "warning: smbd's pid file says $own, we started $PID"
fi

# --- verify ---------------------------------------------------------------------
if ! out=$(timeout 20 smbclient -p "$PORT" "//127.0.0.1/test" \
             -U "$SMB_USER_NAME%$SMB_PASSWORD" -c ls 2>&1); then
  printf '%s\n' "$out" >&2
  "$SCRIPT_DIR/samba-stop.sh" --keep "$DIR" >&2 || true
  die "smbclient could not list //127.0.0.1/test on port $PORT; see $DIR/log/"
fi
log "smbd pid $PID ready on 127.0.0.1:$PORT"

q() { printf '%s=%q\n' "$1" "$2"; }
q SMB_DIR "$DIR"
q SMB_PORT "$PORT"
q SMB_HOST 127.0.0.1
q SMB_USER "$SMB_USER_NAME"
q SMB_PASS "$SMB_PASSWORD"
q SMB_SHARE_PATH "$DIR/shares/test"
q SMB_RO_PATH "$DIR/shares/ro"
q SMB_GUEST_PATH "$DIR/shares/guest"
q SMB_ENC_PATH "$DIR/shares/encrypted"
q SMB_PERMS_PATH "$DIR/shares/perms"
q SMB_TEST_URL "smb://$SMB_USER_NAME:$SMB_PASSWORD@127.0.0.1:$PORT/test"
q SMB_PID "$PID"
