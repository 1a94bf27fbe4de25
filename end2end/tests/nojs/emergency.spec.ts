// The emergency form without JavaScript: a plain post that lands on the outcome.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, test } from '../fixtures';

test('an emergency is raised with a plain form and shows who was dispatched', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/emergencia?lat=-34.5875&lon=-58.3974');
  // Opened from a map point: the coordinates are already there.
  await expect(page.getByLabel('Latitud')).toHaveValue('-34.5875');
  await page.getByLabel('Descripción').fill('Incendio en un comercio');
  await page.getByRole('button', { name: 'Reportar emergencia' }).click();
  await expect(page).toHaveURL(/\/emergencia\?tarea=\d+$/);
  await expect(page.getByRole('heading', { name: 'Emergencia registrada' })).toBeVisible();
  await expect(page.getByText('Emergencia: Incendio en un comercio')).toBeVisible();
  await expect(page.locator('.dispatched li')).toHaveCount(1);
});

test('bad coordinates without JavaScript return to the form with a message', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/emergencia');
  await page.getByLabel('Latitud').fill('norte');
  await page.getByLabel('Longitud').fill('-58.38');
  await page.getByRole('button', { name: 'Reportar emergencia' }).click();
  await expect(page).toHaveURL(/\/emergencia\?error=validation&campo=lat/);
  await expect(page.getByRole('alert').filter({ hasText: 'Ingrese una latitud válida' })).toBeVisible();
  await expect(page.getByLabel('Longitud')).toHaveValue('-58.38');
});
