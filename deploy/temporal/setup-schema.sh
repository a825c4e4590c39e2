#!/bin/sh
# Create or upgrade Temporal's two PostgreSQL databases: `temporal` (persistence) and
# `temporal_visibility` (visibility: list and search workflows). Idempotent: run it before
# every start of a new Temporal server version (the compose job does), it applies only the
# schema versions the databases lack. Runs in the temporalio/admin-tools image.
set -eu

export SQL_PLUGIN=postgres12
export SQL_HOST="${SQL_HOST:-postgresql}"
export SQL_PORT="${SQL_PORT:-5432}"
export SQL_USER="${SQL_USER:-temporal}"
SQL_PASSWORD=$(cat "${SQL_PASSWORD_FILE:-/run/secrets/temporal_db_password}")
export SQL_PASSWORD

setup() {  # setup DATABASE VERSIONED_SCHEMA_DIR
    # `create` fails when the database exists: that is the usual case after the first run.
    if temporal-sql-tool --db "$1" create 2>/dev/null; then
        echo "created database $1"
    else
        echo "database $1 exists"
    fi
    temporal-sql-tool --db "$1" setup-schema -v 0.0
    temporal-sql-tool --db "$1" update-schema -d "$2"
    echo "database $1 is up to date"
}

setup temporal /etc/temporal/schema/postgresql/v12/temporal/versioned
setup temporal_visibility /etc/temporal/schema/postgresql/v12/visibility/versioned
