#!/bin/sh
# Entrypoint of the khuyencong-flow image.
#
# 1. Secrets from files: for each variable NAME_FILE whose NAME starts with KHUYENCONG_ or PG
#    (e.g. PGPASSWORD_FILE=/run/secrets/khuyencong_db_password), NAME is set to the file's
#    content (trailing newlines dropped) and NAME_FILE removed. Setting both is an error.
# 2. The arguments: a khuyencong command (`worker`, `migrate`, `search-attributes register`,
#    ...) runs as `khuyencong ARGS`; a program found on PATH (`sh`, `python`) runs as is.
#    No arguments: `khuyencong worker`.
# 3. `worker` and `migrate` need KHUYENCONG_DATABASE_URL: the embedded PostgreSQL of
#    `khuyencong dev` is not in this image.
#
# A problem is one line on stderr and exit status 2, like the application's own start-up
# errors.
set -eu

fail() {
    echo "khuyencong-entrypoint: $*" >&2
    exit 2
}

for var in $(env | sed -n 's/^\(\(KHUYENCONG_\|PG\)[A-Z0-9_]*_FILE\)=.*$/\1/p'); do
    name=${var%_FILE}
    file=$(printenv "$var")
    if [ -n "$(printenv "$name" || true)" ]; then
        fail "$name and $var are both set: keep one"
    fi
    [ -f "$file" ] && [ -r "$file" ] || fail "$var: cannot read the file $file"
    value=$(cat "$file")
    [ -n "$value" ] || fail "$var: the file $file is empty"
    export "$name=$value"
    unset "$var"
done

if [ "$#" -eq 0 ]; then
    set -- worker
fi
case "$1" in
    -*) set -- khuyencong "$@" ;;
    *) command -v "$1" >/dev/null 2>&1 || set -- khuyencong "$@" ;;
esac

if [ "$1" = khuyencong ] && { [ "${2:-}" = worker ] || [ "${2:-}" = migrate ]; } \
    && [ -z "${KHUYENCONG_DATABASE_URL:-}" ]; then
    fail "KHUYENCONG_DATABASE_URL is required (postgresql://user@host:5432/db; the password" \
        "in PGPASSWORD or PGPASSWORD_FILE): this image has no embedded PostgreSQL"
fi

exec "$@"
