-- Runs once, when the PostgreSQL container initialises an empty data volume (as the superuser,
-- in the database POSTGRES_DB). GAD's migrations also ask for these extensions, but creating
-- them needs privileges the application role should not keep.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SELECT postgis_full_version();
