// The users page and the officer status form without JavaScript: every form is a plain post
// answered with a redirect back to the page, which shows the outcome once. One-time secrets
// (generated password, Telegram link code, API token) never appear in a URL and are gone on
// reload.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, test } from '../fixtures';
import type { Page } from '@playwright/test';

/** A user made up for one test: unique email and DNI, so tests never collide. */
function someone(tag: string) {
  const n = `${Date.now()}${Math.floor(Math.random() * 100)}`.slice(-8);
  return { first: 'Prueba', last: `Sinjs ${tag}`, dni: `9${n}`, email: `sinjs.${tag}.${n}@gad.local` };
}

function newUserForm(page: Page) {
  return page.locator('section').filter({ has: page.getByRole('heading', { name: 'Nuevo usuario' }) });
}

function manageSection(page: Page) {
  return page.locator('section').filter({ has: page.getByRole('heading', { name: /Gestionar/ }) });
}

async function createUser(page: Page, u: ReturnType<typeof someone>, role = 'officer') {
  const form = newUserForm(page);
  await form.getByLabel('Nombre', { exact: true }).fill(u.first);
  await form.getByLabel('Apellido').fill(u.last);
  await form.getByLabel('DNI').fill(u.dni);
  await form.getByLabel('Correo electrónico').fill(u.email);
  await form.getByLabel('Rol').selectOption(role);
  await form.getByRole('button', { name: 'Crear usuario' }).click();
}

/** Opens the management panel of the user with `email`. */
async function manage(page: Page, email: string) {
  await page.getByRole('row').filter({ hasText: email }).getByRole('link', { name: 'Gestionar' }).click();
  await expect(page).toHaveURL(/\/usuarios\?id=\d+$/);
  await expect(manageSection(page)).toBeVisible();
}

test('an admin creates a user, changes the role and deactivates it without JavaScript', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/usuarios');
  const u = someone('alta');
  await createUser(page, u, 'supervisor');
  await expect(page).toHaveURL(/\/usuarios$/);
  const form = newUserForm(page);
  await expect(form.getByRole('status').first()).toContainText(`Usuario creado: ${u.email}.`);
  const password = form.locator('.one-time').filter({ hasText: 'Contraseña generada' }).locator('code.secret');
  await expect(password).toHaveText(/^\S{20}$/);
  const secret = await password.innerText();
  const row = page.getByRole('row').filter({ hasText: u.email });
  await expect(row).toContainText('Supervisor');
  await expect(row).toContainText('Activo');
  // Shown once: a reload no longer has it.
  await page.reload();
  await expect(page.getByRole('row').filter({ hasText: u.email })).toBeVisible();
  await expect(page.getByText('Contraseña generada')).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);

  await manage(page, u.email);
  await manageSection(page).getByLabel('Rol', { exact: true }).selectOption('officer');
  await page.getByRole('button', { name: 'Cambiar rol' }).click();
  await expect(page).toHaveURL(/\/usuarios\?id=\d+$/);
  await expect(manageSection(page).getByRole('status')).toContainText('es ahora Efectivo');
  await expect(page.getByRole('row').filter({ hasText: u.email })).toContainText('Efectivo');

  await page.getByRole('button', { name: 'Desactivar' }).click();
  await expect(page).toHaveURL(/\/usuarios\?id=\d+$/);
  await expect(manageSection(page).getByRole('status')).toContainText('fue desactivado');
  await expect(page.getByRole('row').filter({ hasText: u.email })).toContainText('Inactivo');
  await expect(page.getByRole('button', { name: 'Reactivar' })).toBeVisible();
});

test('a Telegram link code and an API token are shown once without JavaScript', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/usuarios');
  const u = someone('secretos');
  await createUser(page, u);
  await expect(page.getByRole('row').filter({ hasText: u.email })).toBeVisible();
  await manage(page, u.email);

  await page.getByRole('button', { name: 'Generar vínculo de Telegram' }).click();
  await expect(page).toHaveURL(/\/usuarios\?id=\d+$/);
  // The e2e server has no bot username: the page gives the /start command.
  await expect(page.getByText('no está configurado')).toBeVisible();
  const command = page.locator('code.secret').filter({ hasText: /^\/start \S+$/ });
  await expect(command).toBeVisible();
  const code = (await command.innerText()).replace('/start ', '');
  expect(page.url()).not.toContain(code);
  await page.reload();
  await expect(manageSection(page)).toBeVisible();
  await expect(page.locator('code.secret')).toHaveCount(0);
  expect(await page.content()).not.toContain(code);

  await page.getByLabel('Nombre del token').fill('integración sin js');
  await page.getByRole('button', { name: 'Crear token de API' }).click();
  await expect(page).toHaveURL(/\/usuarios\?id=\d+$/);
  const token = page.locator('.one-time').filter({ hasText: 'Token de API' }).locator('code.secret');
  await expect(token).toHaveText(/^gad_\S{20,}$/);
  const secret = await token.innerText();
  expect(page.url()).not.toContain(secret);
  // The token works against the REST API (read-only by default).
  const res = await page.request.get('/api/v1/tasks?limit=1', { headers: { Authorization: `Bearer ${secret}` } });
  expect(res.status()).toBe(200);
  await page.reload();
  await expect(manageSection(page)).toBeVisible();
  await expect(page.locator('.one-time')).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
});

test('a refused new user shows the Spanish error and keeps what was typed', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/usuarios');
  const u = someone('duplicado');
  await createUser(page, u);
  await expect(page.getByRole('row').filter({ hasText: u.email })).toBeVisible();

  // Same email again.
  const again = { ...someone('duplicado'), email: u.email, first: 'Repetida' };
  await createUser(page, again);
  await expect(page).toHaveURL(/\/usuarios$/);
  const form = newUserForm(page);
  await expect(form.getByRole('alert')).toContainText('Ya existe un registro con esos datos');
  await expect(form.getByLabel('Nombre', { exact: true })).toHaveValue('Repetida');
  await expect(form.getByLabel('DNI')).toHaveValue(again.dni);

  // A DNI the service refuses (the browser lets it through).
  await form.getByLabel('DNI').fill('12');
  await form.getByLabel('Correo electrónico').fill(someone('dni').email);
  await form.getByRole('button', { name: 'Crear usuario' }).click();
  await expect(newUserForm(page).getByRole('alert')).toContainText('Revise los datos ingresados');
  await expect(newUserForm(page).locator('.field-errors')).toContainText('El DNI debe tener entre 7 y 12 caracteres');
  // Errors are shown once too.
  await page.reload();
  await expect(newUserForm(page).getByRole('alert')).toHaveCount(0);
});

test('a supervisor changes an officer status without JavaScript', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/efectivos?q=Ferreyra');
  await page.getByRole('table').getByRole('row').nth(1).getByRole('link', { name: /^EF-/ }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Diego Ferreyra');
  const badge = page.locator('.badge').first();
  const before = (await badge.innerText()).trim();
  const target = before === 'No disponible' ? 'off_duty' : 'unavailable';
  const label = target === 'off_duty' ? 'Fuera de servicio' : 'No disponible';

  await page.getByLabel('Nuevo estado').selectOption(target);
  await page.getByRole('button', { name: 'Guardar estado' }).click();
  await expect(page).toHaveURL(/\/efectivos\/\d+$/);
  await expect(badge).toHaveText(label);
  await expect(page.getByRole('status')).toContainText(`Estado guardado: ${label}.`);
  await page.reload();
  await expect(page.getByRole('status')).toHaveCount(0);

  // Back to where it was, so other tests find the officer as they expect.
  await page.getByLabel('Nuevo estado').selectOption({ label: before });
  await page.getByRole('button', { name: 'Guardar estado' }).click();
  await expect(badge).toHaveText(before);
});
