import { defineConfig, devices } from '@playwright/test';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  BASE_URL,
  DATA_DIR,
  DEMO_PASSWORD,
  E2E_PORT,
  OIDC_ISSUER,
  OIDC_PORT,
} from './e2e-env';

// Three projects over one server:
//   js     every tests/*.spec.ts, hydrated app (JavaScript on)
//   phone  every tests/phone/*.spec.ts, on a 390×844 touch screen
//   nojs   every tests/nojs/*.spec.ts, JavaScript off: proves the core forms work as plain HTML
// The server is the debug build made by `cargo leptos build` (scripts/test.sh does that first).

// Chromium is Debian's (`apt-get install chromium`): Playwright cannot download browsers here.
// Without the background-networking flags Chromium keeps dialling Google on a closed network.
const chromium = {
  ...devices['Desktop Chrome'],
  launchOptions: {
    executablePath: process.env.GAD_E2E_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-gpu',
    ],
  },
};

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    baseURL: BASE_URL,
    locale: 'es-AR',
    timezoneId: 'America/Argentina/Buenos_Aires',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'js',
      testIgnore: ['nojs/**', 'phone/**'],
      use: { ...chromium, javaScriptEnabled: true },
    },
    {
      // A phone's screen (390×844, touch): tests/phone/*.spec.ts.
      name: 'phone',
      testMatch: 'phone/**/*.spec.ts',
      use: {
        ...chromium,
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 3,
        isMobile: true,
        hasTouch: true,
        javaScriptEnabled: true,
      },
    },
    {
      name: 'nojs',
      testMatch: 'nojs/**/*.spec.ts',
      use: { ...chromium, javaScriptEnabled: false },
    },
  ],
  webServer: [
    {
      // The local OpenID Connect provider the single sign-on tests sign in through.
      command: `exec node ../tools/oidc-provider.mjs ${OIDC_PORT}`,
      url: `${OIDC_ISSUER}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      env: { OIDC_DEFAULT_USER: 'sso.supervisora@gad.local|supervisor' },
    },
    {
    // A fresh SQLite database on every run. The wipe lives in the command, not at the top of
    // this file, because Playwright evaluates the config again in every worker process.
    // GAD_E2E_BIN picks another build (the benchmarks use the release one).
    command: `rm -rf '${DATA_DIR}' && mkdir -p '${DATA_DIR}' && exec ${process.env.GAD_E2E_BIN ?? '../target/debug/gad'} serve`,
    url: `${BASE_URL}/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      GAD_LISTEN_ADDR: `127.0.0.1:${E2E_PORT}`,
      DATABASE_URL: `sqlite://${DATA_DIR}/gad.db?mode=rwc`,
      LEPTOS_SITE_ROOT: '../target/site',
      LEPTOS_SITE_PKG_DIR: 'pkg',
      LEPTOS_OUTPUT_NAME: 'gad',
      GAD_ADMIN_EMAIL: ADMIN_EMAIL,
      GAD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      GAD_SEED_DEMO: 'true',
      // The suites sign in as the seeded admin with a password alone; two-factor.spec.ts
      // enrols a user of its own.
      GAD_2FA_REQUIRED_ROLES: 'none',
      // Every test signs in from 127.0.0.1: the default of 20 logins a minute per IP would
      // refuse the later tests of a full run.
      GAD_LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      GAD_DEMO_PASSWORD: DEMO_PASSWORD,
      // No base-map tiles: the machine is offline, and the map must work without them.
      GAD_MAP_TILE_URL: 'none',
      // Single sign-on through the provider above (local accounts still sign in as before).
      GAD_OIDC_ISSUER: OIDC_ISSUER,
      GAD_OIDC_CLIENT_ID: 'gad-e2e',
      GAD_OIDC_REDIRECT_URL: `${BASE_URL}/auth/oidc/callback`,
      LOG_FORMAT: 'pretty',
      RUST_LOG: process.env.RUST_LOG ?? 'info',
    },
    },
  ],
});
