#!/usr/bin/env bash
# A MariaDB primary and one replica (GTID binlog replication) on their own ports and data
# directories, from Debian's mariadb-server, for tests and local development. Never touches the
# machine's MariaDB (3306).
#
#   scripts/mysql-replica.sh start   # idempotent; prints only KEY=VALUE lines on stdout (eval-able)
#   scripts/mysql-replica.sh stop    # stops only the two servers this script started (pid files)
#   scripts/mysql-replica.sh purge   # stop, then remove $FILESTORE_REPLICA_DIR
#   scripts/mysql-replica.sh env     # print the KEY=VALUE lines of a running pair
#
# Usage in a test script:
#   env_lines=$(bash scripts/mysql-replica.sh start) || exit 1
#   set -a; eval "$env_lines"; set +a
#
# Printed: TEST_REPLICA_PRIMARY_URL and TEST_REPLICA_URL (server URLs without a database: the tests
# create a scratch database on the primary, which replicates), and REPLICA_PRIMARY_PORT /
# REPLICA_PORT. For an app: DATABASE_URL=$TEST_REPLICA_PRIMARY_URL/<db>,
# DATABASE_REPLICA_URLS=$TEST_REPLICA_URL/<db>.
#
# Knobs: FILESTORE_REPLICA_DIR (/tmp/filestore-replica), FILESTORE_REPLICA_PRIMARY_PORT (3407),
# FILESTORE_REPLICA_PORT (3408), FILESTORE_REPLICA_TIMEOUT (60 s).
set -euo pipefail

DIR=${FILESTORE_REPLICA_DIR:-/tmp/filestore-replica}
PRIMARY_PORT=${FILESTORE_REPLICA_PRIMARY_PORT:-3407}
REPLICA_PORT=${FILESTORE_REPLICA_PORT:-3408}
TIMEOUT=${FILESTORE_REPLICA_TIMEOUT:-60}
MARKER=.mysql-replica

log() { printf 'mysql-replica: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $PRIMARY_PORT =~ ^[0-9]+$ && $REPLICA_PORT =~ ^[0-9]+$ ]] || die "ports must be numbers"
[[ $PRIMARY_PORT != 3306 && $REPLICA_PORT != 3306 ]] || die "3306 is the machine's MariaDB; use other ports"
[[ $PRIMARY_PORT != "$REPLICA_PORT" ]] || die "the primary and the replica need different ports"
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
DIR=${DIR%/}
case "$DIR" in "" | / | /tmp | /var | /var/tmp | /home | /root | /usr | /etc) die "refusing to use $DIR" ;; esac

MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
[[ -x $MARIADBD ]] || die "mariadbd not found: apt-get install mariadb-server"
command -v mariadb-install-db >/dev/null || die "mariadb-install-db not found: apt-get install mariadb-server"
command -v mariadb >/dev/null || die "the mariadb client not found: apt-get install mariadb-client"

# mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
RUN_USER=$(id -un)

# name → server id, port
server_id() { [[ $1 == primary ]] && echo 1 || echo 2; }
port_of() { [[ $1 == primary ]] && echo "$PRIMARY_PORT" || echo "$REPLICA_PORT"; }

cnf() { echo "$DIR/$1/my.cnf"; }
sock() { echo "$DIR/$1/mysqld.sock"; }
pidfile() { echo "$DIR/$1/mysqld.pid"; }

# The recorded pid when that process is alive and is a mariadbd (guards against pid reuse).
live_pid() {
  local f pid comm
  f=$(pidfile "$1")
  [[ -f $f ]] || return 0
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm ]] || return 0
  comm=$(<"/proc/$pid/comm") || return 0
  if [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then return 0; fi
  [[ $comm == mariadbd || $comm == mysqld ]] && echo "$pid"
  return 0
}

sql() { # sql <name> <statement...>: as root over the server's own socket
  mariadb --defaults-file="$(cnf "$1")" --protocol=socket -uroot -N -B -e "$2"
}

write_cnf() {
  local name=$1 extra=""
  mkdir -p "$DIR/$name/data"
  if [[ $name == replica ]]; then
    extra=$'read_only = 1\nrelay_log = relay-bin\nlog_slave_updates = 1'
  fi
  cat >"$(cnf "$name")" <<EOF
[client]
socket = $(sock "$name")
port = $(port_of "$name")

[mariadbd]
user = $RUN_USER
datadir = $DIR/$name/data
socket = $(sock "$name")
pid-file = $(pidfile "$name")
port = $(port_of "$name")
bind-address = 127.0.0.1
server_id = $(server_id "$name")
log_bin = mysql-bin
binlog_format = ROW
gtid_strict_mode = 1
log_error = $DIR/$name/error.log
skip_name_resolve = 1
innodb_buffer_pool_size = 64M
innodb_log_file_size = 48M
innodb_flush_log_at_trx_commit = 2
sync_binlog = 0
max_connections = 300
performance_schema = ON
character_set_server = utf8mb4
collation_server = utf8mb4_unicode_ci
$extra
EOF
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  local name=$1 port waited=0
  port=$(port_of "$name")
  if [[ -n $(live_pid "$name") ]]; then return 0; fi
  port_in_use "$port" && die "port $port is in use by another process (not this script's $name)"
  write_cnf "$name"
  if [[ ! -d $DIR/$name/data/mysql ]]; then
    log "initialising the $name's data directory"
    mariadb-install-db --defaults-file="$(cnf "$name")" --user="$RUN_USER" --auth-root-authentication-method=normal \
      --skip-test-db >"$DIR/$name/install.log" 2>&1 || { cat "$DIR/$name/install.log" >&2; die "mariadb-install-db failed for the $name"; }
  fi
  log "starting the $name on 127.0.0.1:$port"
  # setsid: the server outlives this script and a Ctrl-C of its caller.
  setsid "$MARIADBD" --defaults-file="$(cnf "$name")" >>"$DIR/$name/stdout.log" 2>&1 </dev/null &
  while ! sql "$name" "SELECT 1" >/dev/null 2>&1; do
    ((waited < TIMEOUT * 10)) || { tail -20 "$DIR/$name/error.log" >&2 || true; die "the $name did not answer within ${TIMEOUT}s"; }
    sleep 0.1
    waited=$((waited + 1))
  done
}

# Root may connect over TCP without a password (like the machine's test MariaDB); a user for
# replication. Both before the replica connects, so they replicate (binlog is on from the start).
setup_primary() {
  sql primary "
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;
    CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'repl';
    GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';"
}

setup_replica() {
  local configured
  configured=$(sql replica "SELECT COUNT(*) FROM mysql.user WHERE user = 'root' AND host = '127.0.0.1'")
  # The replica's own root over TCP (tests read Com_select and run STOP/START SLAVE on it).
  if [[ $configured == 0 ]]; then
    sql replica "
      SET sql_log_bin = 0;
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
      ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;"
  fi
  local status
  status=$(sql replica "SHOW SLAVE STATUS" || true)
  if [[ -z $status ]]; then
    log "pointing the replica at the primary (GTID, slave_pos)"
    # The replica starts from GTID 0-?-0 on an empty primary binlog; users created on the primary
    # after this script's setup replicate. The replica's own users (above) are kept out of its binlog.
    sql replica "
      SET GLOBAL gtid_slave_pos = '';
      CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $PRIMARY_PORT, MASTER_USER = 'repl',
        MASTER_PASSWORD = 'repl', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1;
      START SLAVE;"
  else
    # An earlier test may have left a thread stopped; start is a no-op for running threads.
    sql replica "START SLAVE" || true
  fi
}

print_env() {
  echo "TEST_REPLICA_PRIMARY_URL=mysql://root@127.0.0.1:$PRIMARY_PORT"
  echo "TEST_REPLICA_URL=mysql://root@127.0.0.1:$REPLICA_PORT"
  echo "REPLICA_PRIMARY_PORT=$PRIMARY_PORT"
  echo "REPLICA_PORT=$REPLICA_PORT"
}

slave_field() {
  mariadb --defaults-file="$(cnf replica)" --protocol=socket -uroot -e "SHOW SLAVE STATUS\G" | awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ /, ""); print }'
}

wait_replicating() {
  local waited=0 io sql_thread
  while :; do
    io=$(slave_field Slave_IO_Running)
    sql_thread=$(slave_field Slave_SQL_Running)
    [[ $io == Yes && $sql_thread == Yes ]] && return 0
    # A replica whose SQL thread stopped on an error has diverged (someone wrote to it): signal it.
    if [[ $sql_thread == No && $(slave_field Last_SQL_Errno) != 0 ]]; then return 2; fi
    ((waited < TIMEOUT * 10)) || { slave_field Last_IO_Error >&2 || true; die "the replica is not replicating (IO=$io SQL=$sql_thread)"; }
    sleep 0.1
    waited=$((waited + 1))
  done
}

cmd_start() {
  mkdir -p "$DIR"
  touch "$DIR/$MARKER"
  start_server primary
  setup_primary
  start_server replica
  setup_replica
  if ! wait_replicating; then
    # The pair only ever holds scratch databases, and the primary keeps its whole binlog: a diverged
    # replica is rebuilt from nothing and replays it.
    log "the replica diverged ($(slave_field Last_SQL_Error | cut -c1-160)); rebuilding it"
    stop_server replica
    rm -rf "${DIR:?}/replica"
    start_server replica
    setup_replica
    wait_replicating || die "the rebuilt replica does not replicate: $(slave_field Last_SQL_Error)"
  fi
  log "primary 127.0.0.1:$PRIMARY_PORT, replica 127.0.0.1:$REPLICA_PORT (GTID replication running)"
  print_env
}

stop_server() {
  local name=$1 pid waited=0
  pid=$(live_pid "$name")
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while [[ -n $(live_pid "$name") ]] && ((waited < 300)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if [[ -n $(live_pid "$name") ]]; then
    log "the $name (pid $pid) ignored TERM for 30s, killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

cmd_stop() {
  [[ -d $DIR ]] || return 0
  stop_server replica
  stop_server primary
}

cmd_purge() {
  cmd_stop
  [[ -d $DIR ]] || return 0
  [[ -f $DIR/$MARKER ]] || die "$DIR was not made by mysql-replica.sh; refusing to remove it"
  rm -rf "$DIR"
}

cmd_env() {
  [[ -n $(live_pid primary) && -n $(live_pid replica) ]] || die "the pair is not running (scripts/mysql-replica.sh start)"
  print_env
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  purge) cmd_purge ;;
  env) cmd_env ;;
  *) echo "usage: $0 start|stop|purge|env" >&2; exit 2 ;;
esac
