#!/bin/sh
# First start of the PostgreSQL container only (/docker-entrypoint-initdb.d): the roles of
# Temporal and of the project, their passwords read from the secret files, and the project's
# database. Temporal's own databases (temporal, temporal_visibility) are created by the
# temporal-schema job, which can also upgrade them.
set -eu

temporal_password=$(cat /run/secrets/temporal_db_password)
khuyencong_password=$(cat /run/secrets/khuyencong_db_password)

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v temporal_password="$temporal_password" \
    -v khuyencong_password="$khuyencong_password" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE khuyencong LOGIN PASSWORD :'khuyencong_password';
CREATE DATABASE khuyencong OWNER khuyencong ENCODING 'UTF8' TEMPLATE template0;
SQL
