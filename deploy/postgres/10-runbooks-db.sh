#!/bin/sh
# Creates the application database next to Temporal's on the same PostgreSQL server.
#
# Run by the postgres image (/docker-entrypoint-initdb.d) once, when the data volume is empty; on an
# existing volume do the same by hand (docker compose exec postgresql psql -U temporal).
# Temporal's own databases (temporal, temporal_visibility) are created by temporalio/auto-setup.
#
#   role     RUNBOOKS_DB_USER (default runbooks), password RUNBOOKS_DB_PASSWORD, LOGIN only
#   database RUNBOOKS_DB_NAME (default runbooks), owned by that role: the app migrates its own schema
#            (Alembic at start, AUTO_MIGRATE) and cannot touch Temporal's databases.
set -eu

: "${RUNBOOKS_DB_USER:=runbooks}"
: "${RUNBOOKS_DB_NAME:=runbooks}"
if [ -z "${RUNBOOKS_DB_PASSWORD:-}" ]; then
  echo "RUNBOOKS_DB_PASSWORD is not set: cannot create the ${RUNBOOKS_DB_NAME} database" >&2
  exit 1
fi

# psql variables (:"name" quotes an identifier, :'name' a literal), so no value is pasted into SQL.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  -v app_user="$RUNBOOKS_DB_USER" -v app_password="$RUNBOOKS_DB_PASSWORD" -v app_db="$RUNBOOKS_DB_NAME" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user";
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL
echo "created database ${RUNBOOKS_DB_NAME} owned by ${RUNBOOKS_DB_USER}"
