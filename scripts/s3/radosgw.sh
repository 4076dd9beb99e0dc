#!/usr/bin/env bash
# Local, credential-checking S3-compatible server for maskflow's integration
# tests and demo: a throw-away single-node Ceph cluster (1 mon + 1 memstore OSD,
# no mgr, no systemd) with radosgw in front of it, all bound to 127.0.0.1.
#
#   scripts/s3/radosgw.sh start    # idempotent; prints the endpoint
#   scripts/s3/radosgw.sh status   # exit 0 if the gateway answers with our creds
#   scripts/s3/radosgw.sh stop     # kill the daemons and remove S3_TEST_DIR
#   scripts/s3/radosgw.sh gateway-stop    # kill only radosgw (an S3 outage; the stored objects are kept)
#   scripts/s3/radosgw.sh gateway-start   # start radosgw again on a cluster started with `start`
#
# Env (defaults):
#   S3_TEST_PORT=7480                       S3 endpoint http://127.0.0.1:$S3_TEST_PORT
#   S3_TEST_DIR=/tmp/maskflow-s3[-PORT]     cluster state, logs, pid files (-PORT unless the port is 7480)
#   S3_TEST_ACCESS_KEY=maskflow-test-access
#   S3_TEST_SECRET_KEY=maskflow-test-secret-key-0123456789
#   S3_TEST_MON_PORT=6799                   mon (msgr2) port; if unset and busy, the next free one is used
#   S3_TEST_MS_PORT_MIN=6800 S3_TEST_MS_PORT_MAX=6899   range the OSD binds its 4 ports in
#   S3_TEST_MEMSTORE_BYTES=4294967296       capacity of the RAM-backed OSD (RAM is used on demand)
#   S3_TEST_START_TIMEOUT=60                seconds to wait for the endpoint
#   S3_TEST_USER=maskflow                   radosgw uid owning the access key
#
# Requires scripts/s3/install.sh to have run (Debian packages ceph-mon, ceph-osd, radosgw).
set -euo pipefail

PORT="${S3_TEST_PORT:-7480}"
# Each port gets its own state directory, so runs on different ports never share (or stop) a cluster.
if [ "$PORT" = 7480 ]; then DIR="${S3_TEST_DIR:-/tmp/maskflow-s3}"; else DIR="${S3_TEST_DIR:-/tmp/maskflow-s3-$PORT}"; fi
ACCESS_KEY="${S3_TEST_ACCESS_KEY:-maskflow-test-access}"
SECRET_KEY="${S3_TEST_SECRET_KEY:-maskflow-test-secret-key-0123456789}"
MON_PORT_SET="${S3_TEST_MON_PORT:-}"
MON_PORT="${S3_TEST_MON_PORT:-6799}"
MS_PORT_MIN="${S3_TEST_MS_PORT_MIN:-6800}"
MS_PORT_MAX="${S3_TEST_MS_PORT_MAX:-6899}"
MEMSTORE_BYTES="${S3_TEST_MEMSTORE_BYTES:-4294967296}"
START_TIMEOUT="${S3_TEST_START_TIMEOUT:-60}"
S3_USER="${S3_TEST_USER:-maskflow}"
ENDPOINT="http://127.0.0.1:${PORT}"

# Safety: `stop` does rm -rf "$DIR".
case "$DIR" in
  ""|"/"|"/tmp"|"/tmp/"|"$HOME"|"/root"|"/work"|"/work/main") echo "radosgw.sh: refusing S3_TEST_DIR=$DIR" >&2; exit 2 ;;
esac

CONF="$DIR/ceph.conf"
unset CEPH_ARGS CEPH_CONF  # would override our -c / add flags to every ceph tool
STARTING=0                 # set while `start` builds a cluster: fail() then kills its daemons
CEPH_ARGS_COMMON=(-c "$CONF")

log() { echo "radosgw.sh: $*"; }
err() { echo "radosgw.sh: $*" >&2; }

now_ms() { date +%s%3N; }

port_busy() { # port -> 0 if something listens on 127.0.0.1/0.0.0.0:port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

http_code() { # path -> HTTP status of an anonymous request, 000 if no answer
  curl -s -o /dev/null -m 2 -w '%{http_code}' "$ENDPOINT$1" 2>/dev/null || true
}

EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
creds_work() { # 0 if a SigV4-signed ListBuckets with our keys returns 200
  # (radosgw requires x-amz-content-sha256, which curl's --aws-sigv4 does not add by itself)
  local code
  code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' \
    -H "x-amz-content-sha256: $EMPTY_SHA256" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "${ACCESS_KEY}:${SECRET_KEY}" \
    "$ENDPOINT/" 2>/dev/null || true)
  [ "$code" = 200 ]
}

pid_alive() { # running and not a zombie
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$st" ] && [ "$st" != Z ]
}

daemon_pids() { # pids of processes started with our ceph.conf (pid files + cmdline scan)
  local f p pids=()
  for f in "$DIR"/run/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f" 2>/dev/null || true)
    pid_alive "$p" && pids+=("$p")
  done
  # Fallback: exact match on our own conf path (covers a daemon that died before writing its pid file).
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF -- "-c $CONF "; then
      pids+=("$p")
    fi
  done
  [ ${#pids[@]} -gt 0 ] && printf '%s\n' "${pids[@]}" | sort -u
  return 0
}

tail_log() {
  local f="$DIR/$1.log"
  if [ -f "$f" ]; then
    err "---- last lines of $f ----"
    # After a crash, ceph appends a dump of recent events followed by ~100 lines of
    # log levels / thread names: cut that tail so the useful lines are shown.
    sed '/^--- logging levels ---$/,$d' "$f" | tail -n "${2:-40}" >&2
    err "----"
  else
    err "(no log at $f)"
  fi
}

fail() { # message [log-name...]
  err "ERROR: $1"
  shift
  local l
  for l in "$@"; do tail_log "$l"; done
  if [ "$STARTING" = 1 ]; then
    local pids; pids=$(daemon_pids)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    err "killed the half-started daemons; logs kept in $DIR (next start or stop removes it)"
  fi
  exit 1
}

do_stop() {
  local pids p
  pids=$(daemon_pids)
  if [ -n "$pids" ]; then
    # All state (memstore OSD, mon store) is thrown away, so there is nothing to
    # flush: SIGKILL right away (on SIGTERM the daemons take 2-7 s to exit).
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    local i
    for p in $pids; do
      for i in $(seq 1 100); do pid_alive "$p" || break; sleep 0.05; done
    done
  fi
  rm -rf "$DIR"
  log "stopped${pids:+ (pids $(echo $pids | tr '\n' ' '))}; removed $DIR"
}

ensure_user() {
  local out
  if out=$(radosgw-admin "${CEPH_ARGS_COMMON[@]}" user info --uid="$S3_USER" 2>/dev/null); then
    if ! grep -qF "\"access_key\": \"$ACCESS_KEY\"" <<<"$out"; then
      radosgw-admin "${CEPH_ARGS_COMMON[@]}" key create --uid="$S3_USER" --key-type=s3 \
        --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null \
        || fail "radosgw-admin key create failed" client.admin
    else
      # Same access key: make sure the secret matches too (no-op if it already does).
      radosgw-admin "${CEPH_ARGS_COMMON[@]}" key create --uid="$S3_USER" --key-type=s3 \
        --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>&1 || true
    fi
  else
    radosgw-admin "${CEPH_ARGS_COMMON[@]}" user create --uid="$S3_USER" --display-name="maskflow tests" \
      --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null \
      || fail "radosgw-admin user create failed" client.admin
  fi
}

print_env() {
  local envp=""
  [ "$DIR" != /tmp/maskflow-s3 ] && envp="S3_TEST_DIR=$DIR "
  cat <<EOF
S3 endpoint : $ENDPOINT   (path-style, region us-east-1)
access key  : $ACCESS_KEY
secret key  : $SECRET_KEY
state / logs: $DIR  (stop with: ${envp}scripts/s3/radosgw.sh stop)
EOF
}

write_conf() {
  local fsid="$1"
  cat >"$CONF" <<EOF
# Generated by scripts/s3/radosgw.sh -- throw-away single-node test cluster.
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$MON_PORT]
public_addr = 127.0.0.1
public_network = 127.0.0.0/8
ms_bind_msgr1 = false
ms_bind_msgr2 = true
ms_bind_port_min = $MS_PORT_MIN
ms_bind_port_max = $MS_PORT_MAX

auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $DIR/keyring

run_dir = $DIR/run
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/\$name.log
log_to_stderr = false
err_to_stderr = true
crash_dir = $DIR/crash
mon_cluster_log_file = $DIR/cluster.log

# single OSD, no replication, few PGs, no mgr (so no autoscaler)
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000

# fast start: commit paxos proposals right away instead of batching for 1 s
paxos_propose_interval = 0.01
paxos_min_wait = 0.01
mon_osd_prime_pg_temp = false

# small footprint
ms_async_op_threads = 2
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = $DIR/mon/\$cluster-\$id

[osd]
osd_data = $DIR/osd/\$cluster-\$id
osd_objectstore = memstore
memstore_device_bytes = $MEMSTORE_BYTES
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
osd_max_object_name_len = 460
osd_max_object_namespace_len = 64

[client]
# radosgw and radosgw-admin must agree on the control objects used for cache
# invalidation, or key changes made while the gateway runs are not seen by it.
rgw_num_control_oids = 1
rgw_dynamic_resharding = false
rgw_enable_usage_log = false

[client.rgw.gw]
# tcp_nodelay: without it small responses wait ~40 ms for delayed ACKs.
rgw_frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw_data = $DIR/rgw
rgw_thread_pool_size = 32
rgw_init_timeout = 300

[client.admin]
log_file = $DIR/client.admin.log
EOF
}

do_start() {
  local t0 t_mon t_osd t_rgw
  t0=$(now_ms)

  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool ceph curl; do
    command -v "$b" >/dev/null 2>&1 || fail "$b not found: run scripts/s3/install.sh first"
  done

  # 1. Already running? (maybe ours, maybe someone else's on the same port)
  if [ "$(http_code /)" != 000 ]; then
    if creds_work; then
      log "gateway already running on $ENDPOINT and credentials work"
      print_env
      return 0
    fi
    if [ -f "$CONF" ] && [ -n "$(daemon_pids)" ]; then
      log "gateway from $DIR is running; (re)installing the configured S3 key"
      ensure_user
      local i
      for i in $(seq 1 50); do creds_work && break; sleep 0.1; done
      creds_work || fail "credentials still rejected by $ENDPOINT" client.rgw.gw
      print_env
      return 0
    fi
    fail "something else answers on $ENDPOINT and rejects the configured credentials (set S3_TEST_PORT)"
  fi
  if port_busy "$PORT"; then
    fail "port $PORT is in use by a non-HTTP service (set S3_TEST_PORT)"
  fi

  # 2. Stale state (daemons of a half-started or crashed cluster): wipe it.
  if [ -e "$DIR" ]; then
    log "removing stale state in $DIR"
    do_stop >/dev/null
  fi

  # 3. Pick the mon port.
  if port_busy "$MON_PORT"; then
    [ -n "$MON_PORT_SET" ] && fail "S3_TEST_MON_PORT=$MON_PORT is in use"
    local p
    for p in $(seq 6790 6798) $(seq 16790 16799); do
      if ! port_busy "$p"; then MON_PORT=$p; break; fi
    done
    port_busy "$MON_PORT" && fail "no free mon port found (set S3_TEST_MON_PORT)"
  fi

  # 4. Fresh cluster: conf, keys, monmap.
  STARTING=1
  mkdir -p "$DIR"/run "$DIR"/crash "$DIR"/rgw "$DIR"/mon/ceph-a "$DIR"/osd/ceph-0
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"

  local kr="$DIR/keyring"
  {
    ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *'
    ceph-authtool "$kr" --gen-key -n client.admin \
      --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *'
    ceph-authtool "$kr" --gen-key -n osd.0 \
      --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *'
    ceph-authtool "$kr" --gen-key -n client.rgw.gw \
      --cap mon 'allow rw' --cap mgr 'allow rw' --cap osd 'allow rwx'
  } >"$DIR/setup.log" 2>&1 || fail "ceph-authtool failed" setup
  chmod 600 "$kr"

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" \
    >>"$DIR/setup.log" 2>&1 || fail "monmaptool failed" setup

  # 5. Monitor.
  ceph-mon "${CEPH_ARGS_COMMON[@]}" -i a --mkfs --monmap "$DIR/monmap" --keyring "$kr" \
    >>"$DIR/setup.log" 2>&1 || fail "ceph-mon --mkfs failed" setup mon.a
  # 9>&-: daemons must not inherit the lock fd (they would hold the lock forever).
  ceph-mon "${CEPH_ARGS_COMMON[@]}" -i a >>"$DIR/setup.log" 2>&1 9>&- || fail "ceph-mon failed to start" setup mon.a
  t_mon=$(now_ms)

  # 6. OSD (memstore): register it with the mon, mkfs, start.
  ceph "${CEPH_ARGS_COMMON[@]}" --connect-timeout 20 osd new "$osd_uuid" 0 \
    >>"$DIR/setup.log" 2>&1 || fail "ceph osd new failed" setup mon.a
  ceph-osd "${CEPH_ARGS_COMMON[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" \
    >>"$DIR/setup.log" 2>&1 || fail "ceph-osd --mkfs failed" setup osd.0
  ceph-osd "${CEPH_ARGS_COMMON[@]}" -i 0 >>"$DIR/setup.log" 2>&1 9>&- || fail "ceph-osd failed to start" setup osd.0
  t_osd=$(now_ms)

  # 7. Gateway. It creates its pools itself once the OSD is up.
  radosgw "${CEPH_ARGS_COMMON[@]}" -n client.rgw.gw >>"$DIR/setup.log" 2>&1 9>&- \
    || fail "radosgw failed to start" setup client.rgw.gw

  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until [ "$(http_code /)" != 000 ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail "S3 endpoint $ENDPOINT did not answer within ${START_TIMEOUT}s" setup mon.a osd.0 client.rgw.gw
    fi
    local d
    for d in mon.a osd.0 client.rgw.gw; do
      if [ -f "$DIR/run/$d.pid" ] && ! pid_alive "$(cat "$DIR/run/$d.pid" 2>/dev/null)"; then
        fail "$d exited during startup" setup "$d"
      fi
    done
    sleep 0.1
  done
  t_rgw=$(now_ms)

  # 8. S3 user with exactly the configured key pair.
  ensure_user
  creds_work || fail "gateway rejects the configured credentials" client.admin client.rgw.gw
  local t_end; t_end=$(now_ms)
  STARTING=0

  log "started in $(( (t_end - t0) / 1000 )).$(printf '%03d' $(( (t_end - t0) % 1000 )))s" \
    "(mon $(( t_mon - t0 ))ms, osd +$(( t_osd - t_mon ))ms, rgw +$(( t_rgw - t_osd ))ms, user +$(( t_end - t_rgw ))ms)"
  print_env
}

do_status() {
  local rc=0 pids
  pids=$(daemon_pids)
  if [ -n "$pids" ]; then log "daemons from $DIR: $(echo $pids | tr '\n' ' ')"; else log "no daemons from $DIR"; fi
  if [ "$(http_code /)" = 000 ]; then
    log "$ENDPOINT: not answering"; rc=1
  elif creds_work; then
    log "$ENDPOINT: up, credentials work"
  else
    log "$ENDPOINT: answering, but credentials are rejected"; rc=1
  fi
  return $rc
}

do_gateway_stop() {
  local p i
  p=$(cat "$DIR/run/client.rgw.gw.pid" 2>/dev/null || true)
  if pid_alive "$p"; then
    kill -KILL "$p" 2>/dev/null || true
    for i in $(seq 1 100); do pid_alive "$p" || break; sleep 0.05; done
  fi
  log "gateway stopped${p:+ (pid $p)}; the cluster and its objects are kept"
}

do_gateway_start() {
  [ -f "$CONF" ] || fail "no cluster in $DIR: run start first"
  if [ "$(http_code /)" != 000 ]; then log "gateway already answering on $ENDPOINT"; return 0; fi
  radosgw "${CEPH_ARGS_COMMON[@]}" -n client.rgw.gw >>"$DIR/setup.log" 2>&1 9>&- || fail "radosgw failed to start" setup client.rgw.gw
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  until [ "$(http_code /)" != 000 ]; do
    [ "$(date +%s)" -ge "$deadline" ] && fail "S3 endpoint $ENDPOINT did not answer within ${START_TIMEOUT}s" client.rgw.gw
    sleep 0.05
  done
  log "gateway started on $ENDPOINT"
}

# Serialize start/stop on the same S3_TEST_DIR (e.g. parallel test runners).
# The lock file lives next to the dir, which stop removes.
lock() {
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock -w 120 9 || fail "timed out waiting for $DIR.lock"
}

case "${1:-}" in
  start|stop|restart|gateway-stop|gateway-start) lock ;;
esac
case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  restart) do_stop; do_start ;;
  gateway-stop) do_gateway_stop ;;
  gateway-start) do_gateway_start ;;
  *) echo "usage: $0 start|stop|status|restart|gateway-stop|gateway-start" >&2; exit 2 ;;
esac
