// The emergency form with JavaScript: the outcome (who was dispatched) appears in place, and
// every other open dashboard shows the alert banner.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { session, waitLive } from './live-helpers';

test('a supervisor raises an emergency; the nearest officer is dispatched and others are alerted', async ({ page, browser }) => {
  // Someone else watching the dashboard (any page).
  const watcher = await session(browser, ADMIN_EMAIL, ADMIN_PASSWORD);
  await waitLive(watcher.page);

  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Emergencia' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Emergencia' })).toBeVisible();
  // The page settled (hydrated, its data loaded) before typing: once in CI the outcome never
  // appeared after a click made while the page was still loading.
  await page.waitForLoadState('networkidle');
  // Plaza de Mayo: Carla Benítez (EF-002) was seen there.
  await page.getByLabel('Latitud').fill('-34,6083');
  await page.getByLabel('Longitud').fill('-58.3712');
  await page.getByLabel('Descripción').fill('Persona herida en la plaza');
  await page.getByRole('button', { name: 'Reportar emergencia' }).click();

  const outcome = page.getByRole('status');
  await expect(outcome.getByRole('heading', { name: 'Emergencia registrada' })).toBeVisible();
  await expect(outcome.getByRole('link', { name: /EMER-\d{4}-\d{4}/ })).toBeVisible();
  await expect(outcome.locator('.dispatched li')).toHaveCount(1);
  await expect(page.getByRole('table', { name: 'Efectivos disponibles más cercanos' })).toContainText('m');
  const code = (await outcome.getByRole('link', { name: /EMER-/ }).textContent())!.trim();

  // The other session's banner, with a link to the task.
  const banner = watcher.page.locator('.emergency-banner');
  await expect(banner).toContainText('¡Emergencia!');
  await expect(banner).toContainText(code);
  await expect(banner.getByRole('link', { name: 'Ver tarea' })).toHaveAttribute('href', /^\/tareas\/\d+$/);
  await banner.getByRole('button', { name: 'Cerrar aviso' }).click();
  await expect(banner).toHaveCount(0);
  await watcher.context.close();
});

test.describe('validation', () => {
  // The server function answers 400 with the field errors, which Chromium logs.
  test.use({ allowedConsoleErrors: [/status of 400/] });

  test('invalid coordinates get a Spanish message and create nothing', async ({ page }) => {
    await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
    await page.goto('/emergencia');
    await page.getByLabel('Latitud').fill('-134');
    await page.getByLabel('Longitud').fill('-58.38');
    await page.getByRole('button', { name: 'Reportar emergencia' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'latitud' })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Emergencia registrada' })).toHaveCount(0);
  });
});
