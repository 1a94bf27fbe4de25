// The login and logout flows with JavaScript off (project `nojs`): plain form posts and
// server redirects must be enough.
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  DEMO_PASSWORD,
  LOCKOUT_VICTIM_EMAIL,
  OFFICER_EMAIL,
  TASK_CODE,
} from '../../e2e-env';
import { expect, login, ON_LOGIN, submitLogin, taskRows, test } from '../fixtures';

test('admin logs in without JavaScript and sees demo tasks', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expect(page.getByRole('heading', { level: 1, name: 'Tareas', exact: true })).toBeVisible();
  await expect(taskRows(page).first()).toContainText(TASK_CODE);
});

test('a wrong password without JavaScript shows the alert on /login', async ({ page }) => {
  await submitLogin(page, LOCKOUT_VICTIM_EMAIL, 'not-the-password');
  await expect(page.getByRole('alert').filter({ hasText: 'Credenciales inválidas' })).toBeVisible();
  await expect(page).toHaveURL(ON_LOGIN);
});

test('an officer without JavaScript sees "Mis tareas"', async ({ page }) => {
  await login(page, OFFICER_EMAIL, DEMO_PASSWORD);
  await expect(page.getByText('Mis tareas').first()).toBeVisible();
  await expect(taskRows(page).first()).toBeVisible();
});

test('logout without JavaScript returns to /login and closes the session', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await expect(page).toHaveURL(ON_LOGIN);
  await page.goto('/tareas');
  await expect(page).toHaveURL(ON_LOGIN);
});

test('an anonymous visitor of /tareas is sent to /login without JavaScript', async ({ page }) => {
  await page.goto('/tareas');
  await expect(page).toHaveURL(ON_LOGIN);
  await expect(page.getByText(TASK_CODE)).toHaveCount(0);
});
