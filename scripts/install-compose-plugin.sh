#!/usr/bin/env bash
# install-compose-plugin.sh - build the Docker Compose v2 CLI plugin from source
# (Go module github.com/docker/compose/v2) through the Go module proxy and
# install it as ~/.docker/cli-plugins/docker-compose.
#
# Needs: docker CLI, Go >= 1.24 (tested with Go 1.26), access to the Go proxy.
# No Docker engine needed: `docker compose config` works without a daemon.
#
# Environment overrides:
#   COMPOSE_VERSIONS  space-separated versions to try, in order
#                     (default: "v2.40.3 v2.39.4 v2.36.2 v2.35.1 v2.32.4 v2.29.7")
#   DOCKER_CONFIG     docker config dir (default: ~/.docker)
#   FORCE=1           rebuild even if `docker compose version` already works
#   KEEP_WORKDIR=1    keep the temporary source copy for inspection
set -euo pipefail

COMPOSE_MODULE="github.com/docker/compose/v2"
COMPOSE_VERSIONS="${COMPOSE_VERSIONS:-v2.40.3 v2.39.4 v2.36.2 v2.35.1 v2.32.4 v2.29.7}"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
PLUGIN="$PLUGIN_DIR/docker-compose"

log()  { printf '[compose-install] %s\n' "$*" >&2; }
die()  { printf '[compose-install] ERROR: %s\n' "$*" >&2; exit 1; }

# --- 0. preconditions ---------------------------------------------------------
command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed (docker compose is only a plugin for it)"

if [ "${FORCE:-0}" != 1 ] && docker compose version >/dev/null 2>&1; then
    log "already installed: $(docker compose version 2>&1 | head -n1) -- nothing to do (FORCE=1 to rebuild)"
    exit 0
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || die "Go is not installed (expected 'go' in PATH or /usr/local/go/bin/go)"
GO_VER="$(go env GOVERSION)"          # e.g. go1.26.8
log "using $GO_VER ($(command -v go)), GOPROXY=$(go env GOPROXY)"

# Never let Go try to download another toolchain; use the one installed here.
export GOTOOLCHAIN=local
export CGO_ENABLED=0

GOMODCACHE_DIR="$(go env GOMODCACHE)"
GOCACHE_DIR="$(go env GOCACHE)"
mkdir -p "$GOMODCACHE_DIR" "$GOCACHE_DIR"
avail_kb="$(df -Pk "$GOMODCACHE_DIR" | awk 'NR==2 {print $4}')"
if [ -n "$avail_kb" ] && [ "$avail_kb" -lt $((3 * 1024 * 1024)) ]; then
    log "WARNING: only $((avail_kb / 1024)) MiB free near $GOMODCACHE_DIR; the build needs ~0.5 GiB modules + ~1 GiB build cache"
fi

WORK="$(mktemp -d /tmp/compose-build.XXXXXX)"
cleanup() {
    if [ "${KEEP_WORKDIR:-0}" = 1 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# go version >= required? (compares "go 1.x[.y]" from go.mod with the local toolchain)
version_ge() {  # version_ge HAVE NEED  (both like 1.26.8 / 1.24.9)
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# --- 1. try versions in order -------------------------------------------------
try_version() {
    local ver="$1" json dir need src="$WORK/src-$1"
    log "[$ver] downloading module $COMPOSE_MODULE@$ver through the Go proxy"
    # Run from an empty dir so no surrounding go.mod interferes; `go mod download
    # MODULE@VERSION` avoids the @v/list / deprecation lookups that `go install` does.
    if ! json="$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "$COMPOSE_MODULE@$ver" 2>&1)"; then
        log "[$ver] download failed: $(printf '%s' "$json" | grep -m1 '"Error"' || printf '%s' "$json" | tail -n1)"
        return 1
    fi
    dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
    [ -n "$dir" ] && [ -f "$dir/go.mod" ] || { log "[$ver] no module Dir in 'go mod download' output"; return 1; }

    need="$(awk '$1 == "go" {print $2; exit}' "$dir/go.mod")"
    if [ -n "$need" ] && ! version_ge "${GO_VER#go}" "$need"; then
        log "[$ver] go.mod requires go $need but local toolchain is $GO_VER -- skipping"
        return 1
    fi

    log "[$ver] copying sources to $src (module cache is read-only)"
    cp -r "$dir" "$src"
    chmod -R u+w "$src"

    log "[$ver] downloading dependencies (~400 modules, ~0.5 GiB in $GOMODCACHE_DIR)"
    if ! (cd "$src" && go mod download) >"$WORK/deps-$ver.log" 2>&1; then
        log "[$ver] dependency download failed:"; tail -n 15 "$WORK/deps-$ver.log" >&2
        return 1
    fi

    log "[$ver] building ./cmd (cold build takes ~2 min on 2 cores; build cache: $GOCACHE_DIR)"
    local t0=$SECONDS
    if ! (cd "$src" && go build -trimpath \
            -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$ver" \
            -o "$WORK/docker-compose" ./cmd) >"$WORK/build-$ver.log" 2>&1; then
        log "[$ver] build failed:"; tail -n 30 "$WORK/build-$ver.log" >&2
        return 1
    fi
    log "[$ver] build finished in $((SECONDS - t0))s"
    return 0
}

BUILT=""
for v in $COMPOSE_VERSIONS; do
    if try_version "$v"; then BUILT="$v"; break; fi
done
[ -n "$BUILT" ] || die "could not build docker compose from any of: $COMPOSE_VERSIONS (see messages above)"

# --- 2. install ---------------------------------------------------------------
mkdir -p "$PLUGIN_DIR"
if [ -e "$PLUGIN" ]; then
    # Keep the backup OUTSIDE cli-plugins: any extra docker-* file there shows
    # up as an "Invalid Plugin" in `docker --help`.
    backup="${DOCKER_CONFIG:-$HOME/.docker}/docker-compose.bak"
    log "replacing existing $PLUGIN (old copy kept as $backup)"
    mv -f "$PLUGIN" "$backup"
fi
# install to a temp name in the same dir, then rename atomically
install -m 0755 "$WORK/docker-compose" "$PLUGIN_DIR/.docker-compose.tmp"
mv -f "$PLUGIN_DIR/.docker-compose.tmp" "$PLUGIN"
log "installed $PLUGIN ($(du -h "$PLUGIN" | cut -f1))"

# --- 3. verify ----------------------------------------------------------------
docker compose version >/dev/null 2>&1 \
    || die "installed $PLUGIN but 'docker compose version' still fails (is DOCKER_CONFIG / cliPluginsExtraDirs pointing elsewhere?)"
log "$(docker compose version)"

cat >"$WORK/compose-check.yml" <<'EOF'
services:
  web:
    image: nginx:alpine
    deploy:
      replicas: 2
EOF
docker compose -f "$WORK/compose-check.yml" config --quiet \
    || die "'docker compose config' failed on a trivial valid file"
log "self-test OK: 'docker compose -f FILE config --quiet' validates compose files"
