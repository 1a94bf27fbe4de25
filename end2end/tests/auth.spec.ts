// Login, logout and access control of the hydrated dashboard (JavaScript on).
// The same flows without JavaScript live in nojs/auth.spec.ts.
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  DEMO_PASSWORD,
  LOCKOUT_VICTIM_EMAIL,
  OFFICER_EMAIL,
  TASK_CODE,
} from '../e2e-env';
import { expect, login, ON_LOGIN, submitLogin, taskRows, test } from './fixtures';

test('admin logs in and sees the task table with demo tasks', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expect(page.getByRole('heading', { level: 1, name: 'Tareas', exact: true })).toBeVisible();
  await expect(page.getByRole('table')).toBeVisible();
  await expect(taskRows(page).first()).toContainText(TASK_CODE);
});

test.describe('refused login', () => {
  // The server function answers 401, which Chromium reports as a failed resource load.
  test.use({ allowedConsoleErrors: [/status of 401/] });

  test('a wrong password shows an alert and stays on /login', async ({ page }) => {
  await submitLogin(page, LOCKOUT_VICTIM_EMAIL, 'not-the-password');
  await expect(page.getByRole('alert').filter({ hasText: 'Credenciales inválidas' })).toBeVisible();
  await expect(page).toHaveURL(ON_LOGIN);
  });
});

test('an officer sees only their own tasks', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expect(taskRows(page).first()).toBeVisible();
  const adminCount = await taskRows(page).count();

  // A new session on the same page, so the error fixture watches both.
  // Leave the live page first, so nothing it still loads meets the closed session.
  await page.goto('about:blank');
  await page.context().clearCookies();
  await login(page, OFFICER_EMAIL, DEMO_PASSWORD);
  await expect(page.getByText('Mis tareas').first()).toBeVisible();
  // The demo data assigns efectivo1 some, not all, of the tasks an admin sees.
  await expect(taskRows(page).first()).toBeVisible();
  expect(await taskRows(page).count()).toBeLessThan(adminCount);
});

test('logout returns to /login and closes the session', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expect(page.locator('.live-dot.live-on')).toBeVisible();
  const knocks: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/api/v1/events/stream') knocks.push(r.url());
  });
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await expect(page).toHaveURL(ON_LOGIN);
  // The live stream was closed with the session: the login page does not go on reconnecting
  // (refused) once the server ends it (its check every 3 s, the browser's retry after 3 s).
  await page.waitForTimeout(7000);
  expect(knocks).toEqual([]);
  // Signing in again in the same tab (no page load) connects it again.
  await page.getByLabel('Correo electrónico', { exact: true }).fill(ADMIN_EMAIL);
  await page.getByLabel('Contraseña', { exact: true }).fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Ingresar' }).click();
  await expect(page.locator('.live-dot.live-on')).toBeVisible();
  expect(knocks).toHaveLength(1);
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await expect(page).toHaveURL(ON_LOGIN);
  await page.goto('/tareas');
  await expect(page).toHaveURL(ON_LOGIN);
});

test('an anonymous visitor of /tareas is sent to /login', async ({ page }) => {
  await page.goto('/tareas');
  await expect(page).toHaveURL(ON_LOGIN);
  await expect(page.getByRole('button', { name: 'Ingresar' })).toBeVisible();
  await expect(page.getByText(TASK_CODE)).toHaveCount(0);
});
