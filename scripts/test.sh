#!/usr/bin/env bash
# `npm test`: the whole suite from a fresh clone. Installs what the tests need (Debian packages for
# Chromium, Ceph and MariaDB, npm ci), starts a real Ceph RGW and a MariaDB primary/replica pair,
# builds the app, runs every test, and prints
# one closing line "N passed, N failed".
# MariaDB, Redis and RabbitMQ must be reachable (defaults: 127.0.0.1, see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

say() { printf '\n▸ %s\n' "$*" >&2; }

# 1. System packages --------------------------------------------------------------------------
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v radosgw >/dev/null 2>&1 || missing+=(ceph-mon ceph-osd radosgw ceph-common)
# A CJK font, so the browser tests' screenshots show Chinese names instead of empty boxes.
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 1b. nginx, for the tests that run the deploy config (deploy/nginx/filestore.conf.template) in
#     front of the web instances: scale-out and X-Accel downloads. Debian's package; its service is
#     not started (the tests run their own nginx processes on free ports).
if ! [ -x /usr/sbin/nginx ]; then
  say "installing nginx (Debian package) for the load-balancer tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nginx-light
fi

# 2. Node dependencies (npm ci when package-lock.json changed since the last install) ----------
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.filestore-lock-sha256 2>/dev/null)" != "$lock_sha" ]; then
  say "installing dependencies (npm ci)"
  # The registry connection sometimes stalls (EIDLETIMEOUT seen here): try up to three times.
  for attempt in 1 2 3; do
    if npm ci --no-audit --no-fund; then break; fi
    [ "$attempt" -lt 3 ] || { echo "npm ci failed three times; is the npm registry reachable?" >&2; exit 1; }
    say "npm ci failed (attempt $attempt of 3); trying again in 10 s"
    sleep 10
  done
  printf '%s' "$lock_sha" > node_modules/.filestore-lock-sha256
fi
[ -f src/server/db/generated/client.ts ] || node scripts/prisma-generate.mjs

# 2b. Lint (eslint.config.mjs: typescript-eslint and the layer boundaries of src/); an error fails the run
say "linting src/ (eslint)"
npx --no-install eslint src

# 3. Services ----------------------------------------------------------------------------------
node scripts/lib/services.mjs

# 4. A real Ceph RGW for the S3 and OSS tests --------------------------------------------------
say "starting Ceph (mon, osd, radosgw)"
ceph_env=$(bash scripts/ceph-dev.sh start)
set -a; eval "$ceph_env"; set +a
if [ "${CI:-}" = "true" ]; then trap 'bash scripts/ceph-dev.sh stop >&2 || true' EXIT; fi

# 4b. A MariaDB primary/replica pair (GTID replication) for the read-replica tests; their own
#     ports and data directory, never the machine's MariaDB. Needs Debian's mariadb-server.
if ! command -v mariadb-install-db >/dev/null 2>&1; then
  say "installing mariadb-server (Debian package) for the replica tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends mariadb-server
fi
say "starting the MariaDB primary/replica pair"
replica_env=$(bash scripts/mysql-replica.sh start)
set -a; eval "$replica_env"; set +a
if [ "${CI:-}" = "true" ]; then trap 'bash scripts/mysql-replica.sh stop >&2 || true; bash scripts/ceph-dev.sh stop >&2 || true' EXIT; fi

# 5. Build (the browser tests run the production server; the standalone test assembles the
#    image's server folder from .next/standalone) ----------------------------------------------
say "building the web app"
npx --no-install next build >&2

# 6. Tests -------------------------------------------------------------------------------------
say "running the test suite"
report=$(mktemp)
set +e
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$report" || status=1
rm -f "$report"
exit $status
