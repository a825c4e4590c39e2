#!/bin/sh
# Create the compose stack's secret files that do not exist yet (never overwrites one).
# Needs openssl. Run from anywhere: files land next to this script.
#
# The folder is closed to other users of the host (0700); the files in it are 0644 because
# compose bind-mounts them as they are, and the containers read them as their own users
# (postgres 999, temporal 1000, khuyencong 10001).
set -eu
cd "$(dirname "$0")"
chmod 0700 .
umask 022

new() {
    if [ -e "$1" ]; then
        echo "kept      $1"
    else
        printf '%s' "$2" > "$1"
        echo "created   $1"
    fi
}

password() { openssl rand -base64 32 | tr -d '/+=\n' | cut -c1-32; }

new postgres_password.txt "$(password)"
new temporal_db_password.txt "$(password)"
new khuyencong_db_password.txt "$(password)"
new codec_keys.txt "k1:$(openssl rand -base64 32)"
new identity_signing_key.txt "id1:$(openssl rand -base64 32)"
new grafana_admin_password.txt "$(password)"
