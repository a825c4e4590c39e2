#!/bin/sh
# Build the image and run the deployment for real on this machine (as root):
#
#   sh deploy/verify.sh
#
# 1. Starts dockerd if no Docker engine answers, and stops on exit only the one it started.
# 2. Builds a local base image when it is not there yet: a minimal Debian bookworm root made
#    by debootstrap from Debian's mirror, with Debian's python3 (3.11) and python3-venv, turned
#    into an image by `docker import`. It stays in the engine's image store for the next run
#    (KHUYENCONG_VERIFY_REBUILD_BASE=1 makes it again). No registry is needed.
# 3. Builds the project's image from deploy/Dockerfile with that base as the build argument
#    PYTHON_IMAGE. The Dockerfile's default base stays the pinned upstream
#    python:3.11-slim-bookworm image (by digest), which needs a registry.
# 4.-6. deploy/verify_stack.py (with the project's .venv): the embedded PostgreSQL and the
#    Temporal dev server on this machine; the image as the migration job, the search-attribute
#    job, the worker and the codec server (--network host); one đề án from registration to
#    closing through the container's worker; non-root user, metrics, graceful SIGTERM; the
#    compose file, the Kubernetes manifests and the systemd unit (as a transient systemd-run
#    unit: on this machine when systemd is its init, otherwise in a container of the image
#    built plus Debian's systemd as PID 1). One line per check.
#
# Needs: root, dockerd (Debian's docker.io), debootstrap, the project's .venv (scripts/test.sh
# makes it). Exit status 0 when every check passed, 1 when one failed, 2 when it could not run.
#
# Settings (environment): KHUYENCONG_VERIFY_IMAGE (khuyencong-flow:verify),
# KHUYENCONG_VERIFY_BASE (khuyencong-base:bookworm-python3.11), DEBIAN_MIRROR
# (http://deb.debian.org/debian), KHUYENCONG_VERIFY_REBUILD_BASE (0),
# KHUYENCONG_VERIFY_SYSTEMD_CONTAINER (1; 0 skips the systemd container).
set -eu
cd "$(dirname "$0")/.."

IMAGE=${KHUYENCONG_VERIFY_IMAGE:-khuyencong-flow:verify}
BASE=${KHUYENCONG_VERIFY_BASE:-khuyencong-base:bookworm-python3.11}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=python3,python3-venv,ca-certificates
PYTHON=.venv/bin/python

say() { printf -- '--    %s\n' "$*"; }
fail() { printf 'verify.sh: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || fail "run as root (dockerd, debootstrap and docker need it)"
command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is missing: apt-get install -y debootstrap"
command -v dockerd >/dev/null 2>&1 || fail "dockerd is missing: apt-get install -y docker.io"
[ -x "$PYTHON" ] || fail "$PYTHON is missing: python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'"

# One run at a time on a machine: a second run would share (and might stop) the first's dockerd.
if command -v flock >/dev/null 2>&1; then
    exec 9>/run/lock/khuyencong-verify.lock
    flock -w 900 9 || fail "another deploy/verify.sh still runs after 15 minutes"
fi

WORK=$(mktemp -d /tmp/kc-verify.XXXXXX)
DOCKERD_PID=

cleanup() {
    status=$?
    if [ -n "$DOCKERD_PID" ]; then
        say "stopping the dockerd this script started (pid $DOCKERD_PID)"
        kill -TERM "$DOCKERD_PID" 2>/dev/null || true
        i=0
        while kill -0 "$DOCKERD_PID" 2>/dev/null && [ "$i" -lt 60 ]; do
            sleep 0.5
            i=$((i + 1))
        done
        wait "$DOCKERD_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. the Docker engine ----------------------------------------------------------------------
# The client: `docker buildx` when installed; otherwise Debian's docker.io client (20.10),
# whose `docker build` runs BuildKit itself with DOCKER_BUILDKIT=1. A newer client without
# buildx cannot use BuildKit, and the legacy builder ignores Dockerfile.dockerignore and
# COPY --chmod.
DOCKER=docker
command -v docker >/dev/null 2>&1 || DOCKER=/usr/bin/docker
BUILD=
if "$DOCKER" buildx version >/dev/null 2>&1; then
    BUILD="$DOCKER buildx build --load"
else
    for client in "$DOCKER" /usr/bin/docker; do
        if [ -x "$(command -v "$client")" ] && DOCKER_BUILDKIT=1 "$client" build --help >/dev/null 2>&1; then
            BUILD="$client build"
            DOCKER=$client
            break
        fi
    done
fi
[ -n "$BUILD" ] || fail "no Docker client here builds with BuildKit: install docker-buildx or Debian's docker.io client"

if "$DOCKER" info >/dev/null 2>&1; then
    say "a Docker engine already runs: using it (and leaving it running)"
else
    say "starting dockerd (log in $WORK/dockerd.log)"
    dockerd >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    i=0
    until "$DOCKER" info >/dev/null 2>&1; do
        kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -20 "$WORK/dockerd.log" >&2; DOCKERD_PID=; fail "dockerd exited"; }
        [ "$i" -lt 120 ] || { tail -20 "$WORK/dockerd.log" >&2; fail "dockerd did not answer within 60 s"; }
        sleep 0.5
        i=$((i + 1))
    done
fi
say "engine: $("$DOCKER" version --format 'server {{.Server.Version}}, client {{.Client.Version}}'), builder: $BUILD"

# --- 2. the base image ---------------------------------------------------------------------------
if [ "${KHUYENCONG_VERIFY_REBUILD_BASE:-0}" != 1 ] && "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
    say "base image $BASE: reused (KHUYENCONG_VERIFY_REBUILD_BASE=1 makes it again)"
else
    say "base image $BASE: debootstrap --variant=minbase bookworm with $PACKAGES from $MIRROR"
    started=$(date +%s)
    if ! debootstrap --variant=minbase --include="$PACKAGES" bookworm "$WORK/rootfs" "$MIRROR" \
        >"$WORK/debootstrap.log" 2>&1; then
        tail -20 "$WORK/debootstrap.log" >&2
        fail "debootstrap failed"
    fi
    # What an image needs no more: downloaded packages, package lists, documentation.
    rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/* \
        "$WORK"/rootfs/usr/share/doc/* "$WORK"/rootfs/usr/share/man/* \
        "$WORK"/rootfs/usr/share/locale/* "$WORK"/rootfs/var/log/*.log
    tar --numeric-owner -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
    previous=$("$DOCKER" image inspect "$BASE" --format '{{.Id}}' 2>/dev/null || true)
    "$DOCKER" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --message "debootstrap --variant=minbase --include=$PACKAGES bookworm" \
        "$WORK/rootfs.tar" "$BASE" >/dev/null
    rm -rf "$WORK/rootfs" "$WORK/rootfs.tar"
    if [ -n "$previous" ]; then "$DOCKER" image rm "$previous" >/dev/null 2>&1 || true; fi
    say "base image $BASE made in $(($(date +%s) - started)) s"
fi
say "base image Python: $("$DOCKER" run --rm --network none "$BASE" python3 -c 'import sys; print(sys.version.split()[0])')"

# --- 3. the project's image ------------------------------------------------------------------------
say "building $IMAGE from deploy/Dockerfile with --build-arg PYTHON_IMAGE=$BASE"
say "(without the argument the Dockerfile builds on its pinned upstream python:3.11-slim-bookworm)"
# pip in the build reaches PyPI through the same proxy as this machine's pip: hand it this
# machine's CA bundle (a build secret, not a layer) when one is configured.
CA_BUNDLE=${PIP_CERT:-$("$PYTHON" -m pip config get global.cert 2>/dev/null || true)}
CA_BUNDLE=${CA_BUNDLE:-${SSL_CERT_FILE:-}}
set --
if [ -n "$CA_BUNDLE" ] && [ -f "$CA_BUNDLE" ]; then
    say "pip's CA bundle in the build: $CA_BUNDLE (build secret pip_cert)"
    set -- --secret "id=pip_cert,src=$CA_BUNDLE"
fi
started=$(date +%s)
if ! DOCKER_BUILDKIT=1 $BUILD --progress=plain -f deploy/Dockerfile "$@" \
    --build-arg PYTHON_IMAGE="$BASE" -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
    tail -40 "$WORK/build.log" >&2
    fail "docker build failed"
fi
say "image $IMAGE built in $(($(date +%s) - started)) s, $("$DOCKER" image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%d MB", $1 / 1000000}')"

# --- 4.-6. run it ---------------------------------------------------------------------------------------
status=0
"$PYTHON" deploy/verify_stack.py --image "$IMAGE" --docker "$DOCKER" --work "$WORK/stack" || status=$?
exit "$status"
