#!/usr/bin/env bash
# The whole test suite of elicense, as the README gives it and CI runs it (.ci/run).
# It installs what the tests need (Chromium, OpenSSL, a PostgreSQL server) when missing, starts a
# throwaway PostgreSQL cluster, runs gofmt/vet checks and every Go test (race detector on the
# packages with concurrency), and fails rather than skips when a required tool is unavailable.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# Third-party checkers the tests use: Chromium (browser tests, ofd.js), OpenSSL 3 (SM2 interop),
# poppler-utils (pdftotext, pdfsig, pdftoppm), qpdf, Node.js + npm (ofd.js), PostgreSQL 15.
need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
for t in pdftotext pdfsig pdftoppm; do
	command -v "$t" >/dev/null 2>&1 || { need_pkgs+=(poppler-utils); break; }
done
command -v qpdf >/dev/null 2>&1 || need_pkgs+=(qpdf)
command -v node >/dev/null 2>&1 || need_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || need_pkgs+=(npm)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
if ((${#need_pkgs[@]})); then
	log "installing ${need_pkgs[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "missing ${need_pkgs[*]}: run as root or install them (apt-get install ${need_pkgs[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	if ! apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; then
		for p in "${need_pkgs[@]}"; do
			apt-get install -y -qq --no-install-recommends "$p" >/dev/null
		done
	fi
fi

log "gofmt"
unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:" >&2
	echo "$unformatted" >&2
	exit 1
fi

log "go vet"
go vet ./...

log "architecture rules"
go test -count=1 -run TestDependencyRules ./internal/archtest

tmp=$(mktemp -d)
pgdir="$tmp/pg"
# Cleaning up never changes the outcome: a cluster slow to stop (a loaded machine) is given a
# moment, and what cannot be removed is reported, not failed on.
cleanup() {
	scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
	rm -rf "$tmp" 2>/dev/null || { sleep 2; rm -rf "$tmp" 2>/dev/null; } || echo "note: could not remove $tmp" >&2
}
trap cleanup EXIT

if [ -z "${ELICENSE_TEST_POSTGRES:-}" ]; then
	log "starting a throwaway PostgreSQL cluster"
	ELICENSE_TEST_POSTGRES=$(scripts/pg.sh start "$pgdir")
	export ELICENSE_TEST_POSTGRES
fi
export ELICENSE_REQUIRE_POSTGRES=1 ELICENSE_REQUIRE_BROWSER=1 ELICENSE_REQUIRE_TOOLS=1
export ELICENSE_ARTIFACTS="${ELICENSE_ARTIFACTS:-$PWD/test-artifacts}"
mkdir -p "$ELICENSE_ARTIFACTS"

# Packages whose code runs concurrently get the race detector; the rest run without it.
race_pkgs=$(go list ./internal/store/... ./internal/audit/... ./internal/keys/... ./internal/license/... ./internal/account/... ./internal/importer/... ./internal/identity/... ./internal/oidc/...)
other_pkgs=$(go list ./... | grep -vxF -f <(printf '%s\n' $race_pkgs))

log "go test -race (concurrent packages)"
go test -race -count=1 -timeout 20m $race_pkgs

log "go test (everything else)"
go test -count=1 -timeout 30m $other_pkgs

log "all tests passed"
