// Helpers of the two-step verification tests (two-factor.spec.ts, nojs/two-factor.spec.ts):
// the codes an authenticator app shows, computed here as the server checks them (RFC 6238:
// HMAC-SHA1, 6 digits, 30-second steps), and a fresh user per test, so the tests never share
// an account (enrolment, recovery codes and used time steps are per user).
import { createHmac } from 'node:crypto';
import type { APIRequestContext, Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../e2e-env';
import { expect, submitLogin } from './fixtures';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (what the page shows, in groups of four; spaces and padding ignored). */
function base32Decode(text: string): Buffer {
  const bytes: number[] = [];
  let value = 0;
  let bits = 0;
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const digit = BASE32.indexOf(c);
    if (digit < 0) throw new Error(`not base32: ${JSON.stringify(c)}`);
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The 30-second time step of now (or of `ms`, milliseconds since the epoch). */
export function timeStep(ms = Date.now()): number {
  return Math.floor(ms / 1000 / 30);
}

/** The 6-digit code of `secret` (base32) for time step `step` (RFC 4226 over RFC 6238 steps). */
export function totp(secret: string, step: number): string {
  const key = base32Decode(secret);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(number % 1_000_000).padStart(6, '0');
}

// RFC 6238, appendix B (SHA-1, key "12345678901234567890" in base32, T = 59 s → 94287082, of
// which an app shows the last 6 digits): a broken helper fails every test here at once
// instead of looking like a server bug.
if (totp('GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ', timeStep(59_000)) !== '287082') {
  throw new Error('the TOTP helper does not match RFC 6238');
}

/**
 * A code for sign-in after `lastStep` was used: the server accepts the current step and one
 * either side, but never a step at or before the last one it accepted (no replay), so within
 * the step it used this takes the next one.
 */
export function nextCode(secret: string, lastStep: number): { code: string; step: number } {
  const step = Math.max(timeStep(), lastStep + 1);
  return { code: totp(secret, step), step };
}

/** Six digits that are none of the codes the server would accept now. */
export function wrongCode(secret: string): string {
  const now = timeStep();
  const valid = new Set([now - 1, now, now + 1, now + 2].map((s) => totp(secret, s)));
  return ['000000', '111111', '222222', '333333', '444444'].find((c) => !valid.has(c))!;
}

export type TestUser = { email: string; password: string };

/**
 * A user for one test, created by the admin through the REST API with `request` (its own
 * cookies, not the page's): unique email and DNI, a password of its own, no two-factor yet.
 */
export async function freshUser(request: APIRequestContext, tag: string): Promise<TestUser> {
  const n = `${Date.now()}${Math.floor(Math.random() * 1000)}`.slice(-9);
  const user = { email: `dospasos.${tag}.${n}@gad.local`, password: `e2e-Dos-Pasos-${n}` };
  const login = await request.post('/api/fn/login', {
    form: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    maxRedirects: 0,
  });
  expect(login.status(), 'admin login for a fresh user').toBeLessThan(400);
  const created = await request.post('/api/v1/users', {
    data: {
      dni: `8${n}`,
      first_name: 'Prueba',
      last_name: `Dos Pasos ${tag}`,
      email: user.email,
      role: 'officer',
      password: user.password,
    },
  });
  expect(created.status(), `POST /api/v1/users ${user.email}`).toBe(201);
  return user;
}

/** The account's two-factor page. */
export async function openTwoFactorPage(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Seguridad' }).click();
  await expect(page).toHaveURL(/\/cuenta\/2fa$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Verificación en dos pasos' })).toBeVisible();
}

/**
 * Enrols the signed-in `user` on /cuenta/2fa: starts, reads the key under the QR code,
 * confirms with a current code and the password. Returns the key, the time step of the code
 * it used, and the ten recovery codes as the page shows them (once).
 */
export async function enrol(page: Page, user: TestUser): Promise<{ secret: string; step: number; recovery: string[] }> {
  await openTwoFactorPage(page);
  await page.getByRole('button', { name: 'Configurar la verificación en dos pasos' }).click();
  await expect(page.getByRole('img', { name: 'Código QR para la aplicación de autenticación' })).toBeVisible();
  const key = page.locator('code.secret');
  await expect(key).toHaveText(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
  const secret = (await key.innerText()).replace(/\s/g, '');

  const step = timeStep();
  await page.getByLabel('Código de 6 dígitos que muestra la aplicación').fill(totp(secret, step));
  await page.getByLabel('Contraseña actual', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Activar' }).click();

  const shown = page.locator('.one-time').filter({ hasText: 'Códigos de recuperación' });
  await expect(shown).toContainText('se muestran una sola vez');
  const codes = shown.locator('ol.recovery-codes code.secret');
  await expect(codes).toHaveCount(10);
  const recovery = await codes.allInnerTexts();
  for (const code of recovery) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
  expect(new Set(recovery).size).toBe(10);
  await expect(page.getByText(/^Activa desde el /)).toBeVisible();
  return { secret, step, recovery };
}

/** Signs out from the top bar; lands on /login. */
export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await expect(page).toHaveURL(/\/login(\?.*)?$/);
}

/** The password step of a user with two-factor: it does not sign in, it asks for the code. */
export async function passwordStep(page: Page, user: TestUser): Promise<void> {
  await submitLogin(page, user.email, user.password);
  await expect(page).toHaveURL(/\/login\/2fa(\?.*)?$/);
  await expect(page.getByLabel('Código de verificación')).toBeVisible();
}

/** Sends `code` on /login/2fa. */
export async function sendCode(page: Page, code: string): Promise<void> {
  await page.getByLabel('Código de verificación').fill(code);
  await page.getByRole('button', { name: 'Verificar' }).click();
}

/** The Spanish refusal of a wrong or used code. */
export const CODE_REFUSED = 'Código incorrecto o ya utilizado.';
