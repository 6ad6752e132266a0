#!/usr/bin/env bash
# pg.sh — a throwaway PostgreSQL cluster for tests and benchmarks.
#
#   scripts/pg.sh start DIR   create (first time) and start a cluster in DIR; print its DSN on stdout
#   scripts/pg.sh stop DIR    stop it (DIR stays; remove it to throw the cluster away)
#   scripts/pg.sh dsn DIR     print the DSN of the running cluster
#
# The server listens on 127.0.0.1 only, on a free port, with trust authentication, no Unix socket
# and fsync off: fast, and for tests only. It uses the newest server under /usr/lib/postgresql; when
# there is none and we are root, it installs Debian's postgresql package. initdb refuses to run as
# root, so as root the cluster belongs to the unprivileged user elicense-pg (created if missing).
# Everything but the DSN goes to stderr; the server log is DIR/postgres.log.
set -euo pipefail

PG_USER=elicense-pg

die() { echo "pg.sh: $*" >&2; exit 1; }
log() { echo "pg.sh: $*" >&2; }

usage() { die "usage: $0 start|stop|dsn DIR"; }

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

find_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		echo "$d"
	fi
}

install_server() {
	[ "$(id -u)" -eq 0 ] || die "no PostgreSQL server found under /usr/lib/postgresql; install it (apt-get install postgresql) or run as root"
	log "installing PostgreSQL (apt-get install postgresql)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	# The package's own cluster is not used; policy-rc.d keeps it from starting where that applies.
	apt-get install -y -qq postgresql >&2
}

# as_pg runs a command as the cluster's owner: ourselves, or elicense-pg when we are root.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		if command -v runuser >/dev/null 2>&1; then
			runuser -u "$PG_USER" -- "$@"
		else
			su -s /bin/sh "$PG_USER" -c "$(printf '%q ' "$@")"
		fi
	else
		"$@"
	fi
}

ensure_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	if ! id -u "$PG_USER" >/dev/null 2>&1; then
		log "creating user $PG_USER"
		useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER" >&2
	fi
}

# port_free reports whether nothing accepts connections on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

dsn() { echo "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable"; }

# cluster_dir prints where the cluster lives: DIR/data, or (when elicense-pg cannot reach DIR, as
# under /root) a directory under /tmp recorded in DIR/cluster.
cluster_dir() {
	if [ -f "$dir/cluster" ]; then
		cat "$dir/cluster"
	else
		echo "$dir/pg"
	fi
}

start() {
	local bin
	bin=$(find_bin)
	if [ -z "$bin" ]; then
		install_server
		bin=$(find_bin)
		[ -n "$bin" ] || die "PostgreSQL server binaries still missing after installation"
	fi
	ensure_user
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)

	local base
	base=$(cluster_dir)
	if [ ! -f "$base/data/PG_VERSION" ]; then
		if [ "$(id -u)" -eq 0 ]; then
			mkdir -p "$base"
			chown "$PG_USER:" "$base"
			if ! as_pg test -w "$base"; then
				# A parent of DIR is closed to elicense-pg: keep the cluster under /tmp.
				rmdir "$base" 2>/dev/null || true
				base=$(mktemp -d /tmp/elicense-pg.XXXXXX)
				chown "$PG_USER:" "$base"
				chmod 0700 "$base"
				echo "$base" >"$dir/cluster"
			fi
		else
			mkdir -p "$base"
		fi
		log "initdb in $base/data ($bin)"
		as_pg "$bin/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$base/initdb.log" 2>&1 ||
			{ cat "$base/initdb.log" >&2; die "initdb failed"; }
		cat >>"$base/data/postgresql.conf" <<-'EOF'

			# scripts/pg.sh: a throwaway test cluster
			listen_addresses = '127.0.0.1'
			unix_socket_directories = ''
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			max_connections = 200
			shared_buffers = 256MB
			max_wal_size = 4GB
			checkpoint_timeout = 30min
			log_min_messages = warning
		EOF
	fi

	if [ -f "$base/port" ] && as_pg "$bin/pg_ctl" -D "$base/data" status >/dev/null 2>&1; then
		dsn "$(cat "$base/port")"
		return
	fi

	local port tries=0
	while :; do
		tries=$((tries + 1))
		port=$((20000 + RANDOM % 20000))
		if ! port_free "$port"; then
			continue
		fi
		if as_pg "$bin/pg_ctl" -D "$base/data" -l "$base/postgres.log" -o "-p $port" -w -t 60 start >&2; then
			break
		fi
		[ "$tries" -lt 10 ] || { tail -n 20 "$base/postgres.log" >&2 || true; die "could not start PostgreSQL"; }
		log "start on port $port failed; trying another port"
	done
	echo "$port" >"$base/port.tmp" && mv "$base/port.tmp" "$base/port"
	ln -sf "$base/postgres.log" "$dir/postgres.log" 2>/dev/null || true
	dsn "$port"
}

stop() {
	local bin base
	bin=$(find_bin)
	[ -n "$bin" ] || die "no PostgreSQL server found under /usr/lib/postgresql"
	[ -d "$dir" ] || die "$dir does not exist"
	base=$(cluster_dir)
	[ -f "$base/data/PG_VERSION" ] || die "no cluster in $dir"
	if as_pg "$bin/pg_ctl" -D "$base/data" status >/dev/null 2>&1; then
		as_pg "$bin/pg_ctl" -D "$base/data" -m fast -w stop >&2
	else
		log "not running"
	fi
	rm -f "$base/port"
}

print_dsn() {
	local base
	base=$(cluster_dir)
	[ -f "$base/port" ] || die "no running cluster in $dir"
	dsn "$(cat "$base/port")"
}

case $cmd in
start) start ;;
stop) stop ;;
dsn) print_dsn ;;
*) usage ;;
esac
