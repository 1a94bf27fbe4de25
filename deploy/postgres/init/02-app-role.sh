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
# psql reads the file itself (a backquoted command of its own), so the password never appears
# on a command line, where every process of the host could read it.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\set app_password `cat /run/secrets/database_app_password`
CREATE ROLE gad_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
SQL
