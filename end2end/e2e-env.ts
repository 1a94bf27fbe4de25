// Shared settings of the browser tests: read by playwright.config.ts (to start the server)
// and by the tests (to log in). Override with the environment variables of the same names.
import os from 'node:os';
import path from 'node:path';

export const E2E_PORT = Number(process.env.GAD_E2E_PORT ?? 3100);
export const BASE_URL = `http://127.0.0.1:${E2E_PORT}`;

/** The local OpenID Connect provider of the single sign-on tests (tools/oidc-provider.mjs). */
export const OIDC_PORT = Number(process.env.GAD_E2E_OIDC_PORT ?? E2E_PORT + 90);
export const OIDC_ISSUER = `http://127.0.0.1:${OIDC_PORT}`;

/** Per-port temp dir holding the throwaway SQLite database; wiped before the server starts. */
export const DATA_DIR = process.env.GAD_E2E_DATA_DIR ?? path.join(os.tmpdir(), `gad-e2e-${E2E_PORT}`);

export const ADMIN_EMAIL = 'admin@gad.local';
export const ADMIN_PASSWORD = process.env.GAD_E2E_ADMIN_PASSWORD ?? 'e2e-Admin-Passw0rd-2026';

/** Password of every demo user seeded with GAD_SEED_DEMO=true. */
export const DEMO_PASSWORD = process.env.GAD_E2E_DEMO_PASSWORD ?? 'e2e-Demo-Passw0rd-2026';
export const SUPERVISOR_EMAIL = 'supervisor@gad.local';
export const OFFICER_EMAIL = 'efectivo1@gad.local';
/**
 * Used only by the wrong-password tests, so that their failed attempts can never lock out an
 * account another test logs in with.
 */
export const LOCKOUT_VICTIM_EMAIL = 'efectivo6@gad.local';

/** Demo task codes look like PAT-2026-0001. */
export const TASK_CODE = /[A-Z]+-\d{4}-\d{4}/;
