// Live updates: a change made in another browser session, or through the REST API, shows up
// on an open overview without a reload.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { createTask, kpi, session, uniqueTitle, waitLive } from './live-helpers';

/** Marks the page so that a reload (which would drop the mark) is detected. */
async function markNoReload(page: import('@playwright/test').Page) {
  await page.evaluate(() => ((window as any).__gadNoReload = true));
}
async function expectNoReload(page: import('@playwright/test').Page) {
  expect(await page.evaluate(() => (window as any).__gadNoReload)).toBe(true);
}

test('a task started in another session appears on the overview without reload', async ({ page, browser }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/');
  await waitLive(page);
  await markNoReload(page);
  const inProgress = Number(await kpi(page, 'in_progress').textContent());

  // The supervisor, in another browser session, starts a scheduled task from its page.
  const other = await session(browser, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const title = uniqueTitle('Recorrida en vivo');
  const id = await createTask(other.page, title);
  await expect(page.locator('.feed-list li').filter({ hasText: title })).toContainText('creada');
  await other.page.goto(`/tareas/${id}`);
  await other.page.getByRole('button', { name: 'Iniciar' }).click();
  await expect(other.page.getByRole('button', { name: 'Pausar' })).toBeVisible();

  // Other tests add entries meanwhile: find this task's newest one.
  const newest = page.locator('.feed-list li').filter({ hasText: title }).first();
  await expect(newest).toContainText('iniciada por Laura Gómez');
  await expect(kpi(page, 'in_progress')).not.toHaveText(String(inProgress));
  await expectNoReload(page);
  await other.context.close();
});

test('a status change made through the REST API appears without reload', async ({ page, browser }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/');
  await waitLive(page);
  // The supervisor's own task (they are its delegado), and nothing unread yet.
  const title = uniqueTitle('Control por API');
  const id = await createTask(page, title);
  const bell = page.locator('details.bell > summary');
  await bell.click();
  const mark = page.getByRole('button', { name: 'Marcar como leídas' });
  if (await mark.isEnabled()) await mark.click();
  await expect(bell).toHaveAccessibleName('Notificaciones: ninguna sin leer');
  await markNoReload(page);

  // An integrator's call: the admin's session on /api/v1 (another cookie jar).
  const admin = await session(browser, ADMIN_EMAIL, ADMIN_PASSWORD);
  const response = await admin.context.request.post(`/api/v1/tasks/${id}/transitions`, { data: { to: 'in_progress' } });
  expect(response.status()).toBe(200);

  const newest = page.locator('.feed-list li').filter({ hasText: title }).first();
  await expect(newest).toContainText('iniciada por Administrador GAD');
  // The bell counts it as news for the supervisor (made by someone else, on their task).
  await expect(bell).not.toHaveAccessibleName('Notificaciones: ninguna sin leer');
  await expectNoReload(page);
  await admin.context.close();
});

test('the task detail page follows a change made elsewhere', async ({ page, browser }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  const id = await createTask(page, uniqueTitle('Detalle en vivo'));
  await page.goto(`/tareas/${id}`);
  await waitLive(page);
  await markNoReload(page);
  await expect(page.getByRole('button', { name: 'Iniciar' })).toBeVisible();

  const other = await session(browser, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const response = await other.context.request.post(`/api/v1/tasks/${id}/transitions`, { data: { to: 'in_progress' } });
  expect(response.status()).toBe(200);

  await expect(page.getByRole('button', { name: 'Pausar' })).toBeVisible();
  await expect(page.locator('.timeline li').last()).toContainText('En curso');
  await expectNoReload(page);
  await other.context.close();
});
