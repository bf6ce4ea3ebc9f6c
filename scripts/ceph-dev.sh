#!/usr/bin/env bash
# A throwaway single-node Ceph cluster (one mon, one OSD, one RGW) that serves the S3 API on loopback,
# for tests and local development. Facts and measurements: /work/shared/notes/ceph-rgw.md.
#
#   scripts/ceph-dev.sh start   # idempotent; prints only KEY=VALUE lines on stdout (eval-able)
#   scripts/ceph-dev.sh stop    # stops only the daemons this script started (RGW first)
#   scripts/ceph-dev.sh purge   # stop, then remove $CEPH_DEV_DIR
#   scripts/ceph-dev.sh env     # print the KEY=VALUE lines of a running cluster
#
# Usage in a test script:
#   env_lines=$(bash scripts/ceph-dev.sh start) || exit 1
#   set -a; eval "$env_lines"; set +a
#   trap 'bash scripts/ceph-dev.sh stop' EXIT
#
# Knobs: CEPH_DEV_DIR (/tmp/ceph-dev), CEPH_DEV_RGW_PORT (7480), CEPH_DEV_MON_PORT (3300),
# CEPH_DEV_ACCESS_KEY, CEPH_DEV_SECRET_KEY, CEPH_DEV_OBJECTSTORE (memstore|bluestore),
# CEPH_DEV_STORE_BYTES (8 GiB), CEPH_DEV_TIMEOUT (120 s).
# memstore keeps every object in the OSD's RAM (RSS grows to 2-3x the bytes written and is not given
# back); for runs that write more than 1-2 GB use CEPH_DEV_OBJECTSTORE=bluestore (a sparse file, ~5 s
# slower to start).
set -euo pipefail

CEPH_DEV_DIR=${CEPH_DEV_DIR:-/tmp/ceph-dev}
RGW_PORT=${CEPH_DEV_RGW_PORT:-7480}
MON_PORT=${CEPH_DEV_MON_PORT:-3300}
ACCESS_KEY=${CEPH_DEV_ACCESS_KEY:-cephdevaccesskey0001}
SECRET_KEY=${CEPH_DEV_SECRET_KEY:-cephdevsecretkey00000000000000000000001}
OBJECTSTORE=${CEPH_DEV_OBJECTSTORE:-memstore}
STORE_BYTES=${CEPH_DEV_STORE_BYTES:-$((8 * 1024 * 1024 * 1024))}
TIMEOUT=${CEPH_DEV_TIMEOUT:-120}
REGION=us-east-1

log() { printf 'ceph-dev: %s\n' "$*" >&2; }
START_TIME=${EPOCHREALTIME:-$SECONDS}
elapsed() { awk -v a="$START_TIME" -v b="${EPOCHREALTIME:-$SECONDS}" 'BEGIN { printf "%.1fs", b - a }'; }
die() { log "error: $*"; exit 1; }

case "$OBJECTSTORE" in memstore | bluestore) ;; *) die "CEPH_DEV_OBJECTSTORE must be memstore or bluestore" ;; esac
[[ $RGW_PORT =~ ^[0-9]+$ && $MON_PORT =~ ^[0-9]+$ ]] || die "ports must be numbers"
[[ $STORE_BYTES =~ ^[0-9]+$ ]] || die "CEPH_DEV_STORE_BYTES must be a number of bytes"

# Absolute path without requiring it to exist.
case "$CEPH_DEV_DIR" in /*) ;; *) CEPH_DEV_DIR="$PWD/$CEPH_DEV_DIR" ;; esac
CEPH_DEV_DIR=${CEPH_DEV_DIR%/}
CONF="$CEPH_DEV_DIR/ceph.conf"
RUN="$CEPH_DEV_DIR/run"
ENV_FILE="$CEPH_DEV_DIR/env"
DAEMONS=(rgw osd mon)
MARKER=.ceph-dev

ceph_cli() { timeout 30 ceph -c "$CONF" --connect-timeout 15 "$@"; }

expected_comm() {
  case "$1" in mon) echo ceph-mon ;; osd) echo ceph-osd ;; rgw) echo radosgw ;; esac
}

# Prints the recorded pid of a daemon if that pid is alive and really is that daemon (guards against
# pid reuse); prints nothing otherwise.
live_pid() {
  local name=$1 pidfile="$RUN/$1.pid" pid comm
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  [[ -r /proc/$pid/comm ]] || return 0
  comm=$(<"/proc/$pid/comm") || return 0
  # Zombies still have a comm; a dead daemon is not a live one.
  if [[ -r /proc/$pid/stat ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then return 0; fi
  [[ $comm == "$(expected_comm "$name")" ]] && echo "$pid"
  return 0
}

# First line of an HTTP answer from the RGW (no curl needed).
rgw_status() {
  local line=""
  {
    exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT" || return 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t 5 line <&3 || true
    exec 3>&-
  } 2>/dev/null
  [[ $line == *" 200 "* || $line == *" 200"$'\r' ]]
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

stop_daemon() {
  local name=$1 grace=$2 pid waited=0
  pid=$(live_pid "$name")
  if [[ -z $pid ]]; then rm -f "$RUN/$name.pid"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  while [[ -n $(live_pid "$name") ]] && ((waited < grace * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if [[ -n $(live_pid "$name") ]]; then
    log "$name (pid $pid) ignored TERM for ${grace}s, killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$name.pid"
}

cmd_stop() {
  [[ -d $RUN ]] || return 0
  # RGW first: stopped after mon/osd it hangs for rgw_exit_timeout_secs (120 s) in shutdown.
  stop_daemon rgw 10
  stop_daemon osd 5 &
  stop_daemon mon 5 &
  wait
}

refuse_to_wipe() {
  local dir=$1
  case "$dir" in
    "" | / | /tmp | /var | /var/tmp | /home | /root | /usr | /etc | "$HOME") die "refusing to use $dir as CEPH_DEV_DIR" ;;
  esac
  if [[ -d $dir && ! -f $dir/ceph.conf && ! -f $dir/$MARKER ]] && [[ -n $(ls -A "$dir" 2>/dev/null) ]]; then
    die "$dir is not empty and was not made by ceph-dev.sh (no ceph.conf); refusing to wipe it"
  fi
}

cmd_purge() {
  refuse_to_wipe "$CEPH_DEV_DIR"
  cmd_stop
  rm -rf "$CEPH_DEV_DIR"
}

all_running() {
  local d
  for d in "${DAEMONS[@]}"; do [[ -n $(live_pid "$d") ]] || return 1; done
  [[ -f $ENV_FILE ]] && rgw_status
}

# Starts a daemon in the foreground of its own session, detached from our stdout (so `$(...)` callers
# do not wait for it), and records its pid.
spawn() {
  local name=$1
  shift
  local pid tries=0
  # Non-interactive bash does not make background jobs group leaders, so setsid execs in place and
  # $! is the daemon itself; wait for that exec so the /proc/PID/comm guard sees the daemon's name.
  setsid "$@" </dev/null >>"$CEPH_DEV_DIR/log/$name.out" 2>&1 &
  pid=$!
  echo "$pid" >"$RUN/$name.pid"
  while [[ -z $(live_pid "$name") ]] && [[ -d /proc/$pid ]] && ((tries < 100)); do
    sleep 0.02
    tries=$((tries + 1))
  done
}

fail_if_dead() {
  local name=$1
  if [[ -z $(live_pid "$name") ]]; then
    log "$name died during startup; last log lines:"
    tail -n 25 "$CEPH_DEV_DIR/log/$name.out" "$CEPH_DEV_DIR"/log/ceph-*"$name"*.log 2>/dev/null | sed 's/^/  /' >&2 || true
    exit 1
  fi
}

wait_for() {
  local what=$1 daemon=$2
  shift 2
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    fail_if_dead "$daemon"
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what"
    sleep 0.1
  done
}

write_conf() {
  local fsid=$1 store_conf
  if [[ $OBJECTSTORE == memstore ]]; then
    store_conf="osd objectstore = memstore
memstore device bytes = $STORE_BYTES"
  else
    store_conf="osd objectstore = bluestore
bluestore block path = $CEPH_DEV_DIR/osd/block
bluestore block create = true
bluestore block size = $STORE_BYTES
bluestore fsck on mkfs = false
bluestore fsck on mount = false"
  fi
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $CEPH_DEV_DIR/keyring/\$name.keyring
run dir = $RUN
admin socket = $RUN/\$name.asok
log file = $CEPH_DEV_DIR/log/ceph-\$name.log
log to stderr = false
err to stderr = true
mon cluster log file = $CEPH_DEV_DIR/log/cluster.log
crash dir = $CEPH_DEV_DIR/crash

# One OSD is enough for HEALTH_OK.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
# RGW makes 7 pools; 32 PGs each would sit near the per-OSD PG cap.
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# RGW's first start makes ~8 mon changes; the default 1 s propose interval made cold start 13 s.
paxos propose interval = 0.05
paxos min wait = 0.01
mon data avail warn = 1
mon data avail crit = 0

[mon]
mon data = $CEPH_DEV_DIR/mon/\$cluster-\$id

[osd]
osd data = $CEPH_DEV_DIR/osd/\$cluster-\$id
$store_conf
osd fast shutdown notify mon = false

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $CEPH_DEV_DIR/rgw
# Deleted objects are freed after ~1 min instead of 2 h (memstore keeps them in RAM).
rgw gc obj min wait = 60
rgw gc processor period = 60
EOF
}

osd_up_and_in() {
  local stat
  stat=$(ceph_cli osd stat -f json 2>/dev/null) || return 1
  [[ $stat == *'"num_up_osds":1'* && $stat == *'"num_in_osds":1'* ]]
}

mon_answers() { ceph_cli mon stat >/dev/null 2>&1; }

bootstrap() {
  local fsid osd_uuid osd_secret osd_id
  refuse_to_wipe "$CEPH_DEV_DIR"
  cmd_stop
  if port_in_use "$MON_PORT"; then die "port $MON_PORT (mon) is already in use by something else"; fi
  if port_in_use "$RGW_PORT"; then die "port $RGW_PORT (rgw) is already in use by something else"; fi

  rm -rf "$CEPH_DEV_DIR"
  mkdir -p "$RUN" "$CEPH_DEV_DIR"/{log,keyring,mon,osd,rgw,crash}
  # Marks the directory as ours, so a later start may wipe it even if this one dies early.
  : >"$CEPH_DEV_DIR/$MARKER"
  started=1
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  local k="$CEPH_DEV_DIR/keyring"

  log "mon: creating keyrings and monmap"
  ceph-authtool --create-keyring "$k/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >&2
  ceph-authtool --create-keyring "$k/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >&2
  ceph-authtool "$k/mon.keyring" --import-keyring "$k/client.admin.keyring" >&2
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$CEPH_DEV_DIR/monmap" >&2
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DEV_DIR/monmap" --keyring "$k/mon.keyring" >&2
  spawn mon ceph-mon -c "$CONF" -i a -f
  wait_for "the mon" mon mon_answers
  log "mon: up after $(elapsed)"

  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_secret=$(ceph-authtool --gen-print-key)
  printf '{"cephx_secret": "%s"}\n' "$osd_secret" >"$CEPH_DEV_DIR/osd-new.json"
  osd_id=$(ceph_cli osd new "$osd_uuid" -i "$CEPH_DEV_DIR/osd-new.json")
  rm -f "$CEPH_DEV_DIR/osd-new.json"
  [[ $osd_id == 0 ]] || die "expected osd id 0, got '$osd_id'"
  mkdir -p "$CEPH_DEV_DIR/osd/ceph-0"
  ceph-authtool --create-keyring "$k/osd.0.keyring" --name osd.0 --add-key "$osd_secret" >&2
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$CEPH_DEV_DIR/log/osd.out" 2>&1 ||
    { tail -n 25 "$CEPH_DEV_DIR/log/osd.out" >&2; die "ceph-osd --mkfs failed"; }
  spawn osd ceph-osd -c "$CONF" -i 0 -f
  wait_for "the OSD to be up and in" osd osd_up_and_in
  log "osd: up and in after $(elapsed) ($OBJECTSTORE)"

  ceph_cli auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$k/client.rgw.a.keyring" >&2
  spawn rgw radosgw -c "$CONF" -n client.rgw.a -f
  wait_for "RGW to answer on 127.0.0.1:$RGW_PORT" rgw rgw_status
  log "rgw: answering after $(elapsed)"

  timeout 60 radosgw-admin -c "$CONF" user create --uid=test --display-name="filestore tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null

  cat >"$ENV_FILE" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_REGION=$REGION
S3_ACCESS_KEY_ID=$ACCESS_KEY
S3_SECRET_ACCESS_KEY=$SECRET_KEY
S3_FORCE_PATH_STYLE=true
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_REGION=$REGION
CEPH_CONF=$CONF
EOF
  log "ready in $(elapsed)"
}

on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ ${started:-0} == 1 ]]; then
    log "start failed; stopping what was started"
    cmd_stop || true
  fi
  exit "$rc"
}

cmd_start() {
  command -v radosgw >/dev/null || die "radosgw is not installed (run scripts/install-ceph.sh)"
  if all_running; then
    cat "$ENV_FILE"
    return 0
  fi
  started=0
  trap on_exit EXIT
  bootstrap
  trap - EXIT
  cat "$ENV_FILE"
}

cmd_env() {
  all_running || die "no running cluster in $CEPH_DEV_DIR"
  cat "$ENV_FILE"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  purge) cmd_purge ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 start|stop|purge|env" >&2
    exit 2
    ;;
esac
