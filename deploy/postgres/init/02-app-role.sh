#!/bin/sh
# Runs once, when the PostgreSQL container initialises an empty data volume: creates
# `gad_app`, the role `gad serve` and `gad bot` connect as. It owns nothing; `gad migrate
# --app-role gad_app` (the compose `migrate` job) grants it read/write on the tables and only
# read/append on the audit log, so a compromised app cannot rewrite history.
# Without the password file (development), the app keeps connecting as the owner.
set -eu
file=/run/secrets/database_app_password
if [ ! -f "$file" ]; then
  echo "02-app-role: no $file; no separate app role" >&2
  exit 0
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="$(cat "$file")" <<'SQL'
CREATE ROLE gad_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
SQL
