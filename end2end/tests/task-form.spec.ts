// Creating and editing a task with JavaScript: the server's validation errors appear under
// their fields without a page load; a valid form lands on the new task's page.
import { DEMO_PASSWORD, OFFICER_EMAIL, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';

test.describe('with validation errors', () => {
  // The refused server function answers 400, which Chromium logs as a failed resource load.
  test.use({ allowedConsoleErrors: [/status of 400/] });

  test('a supervisor creates a task after fixing the fields the server refused', async ({ page }) => {
    await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
    await page.locator('#contenido').getByRole('link', { name: 'Nueva tarea' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Nueva tarea' })).toBeVisible();

    await page.getByLabel('Tipo').selectOption('patrol');
    await page.getByLabel('Latitud').fill('-134.5');
    await page.getByLabel('Longitud').fill('abc');
    await page.getByRole('button', { name: 'Crear tarea' }).click();
    await expect(page.locator('#tf-lon-error')).toContainText('Escriba un número');
    await expect(page).toHaveURL(/\/tareas\/nueva$/);

    await page.getByLabel('Longitud').fill('-58.3816');
    await page.getByRole('button', { name: 'Crear tarea' }).click();
    await expect(page.locator('#tf-title-error')).not.toBeEmpty();
    await expect(page.locator('#tf-lat-error')).not.toBeEmpty();
    await expect(page.locator('#tf-lon-error')).toBeEmpty();

    await page.getByLabel('Título').fill('Control vehicular Obelisco (e2e)');
    await page.getByLabel('Latitud').fill('-34.6037');
    await page.getByLabel('Prioridad').selectOption('urgent');
    await page.getByRole('button', { name: 'Crear tarea' }).click();
    await expect(page).toHaveURL(/\/tareas\/\d+$/);
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Control vehicular Obelisco (e2e)');
    await expect(page.getByText('-34.60370, -58.38160')).toBeVisible();
    await expect(page.getByRole('link', { name: 'Ver en el mapa' })).toHaveAttribute('href', /\/mapa\?lat=-34\.603700&lon=-58\.381600/);

    // Edit it.
    await page.getByRole('link', { name: 'Editar' }).click();
    await expect(page.getByLabel('Título')).toHaveValue('Control vehicular Obelisco (e2e)');
    await expect(page.getByLabel('Prioridad')).toHaveValue('urgent');
    await page.getByLabel('Título').fill('Control vehicular Obelisco (editada e2e)');
    await page.getByRole('button', { name: 'Guardar cambios' }).click();
    await expect(page).toHaveURL(/\/tareas\/\d+$/);
    await expect(page.getByRole('heading', { level: 1 })).toContainText('(editada e2e)');
  });
});

test.describe('as an officer', () => {
  // The page answers 403, which Chromium logs as a failed resource load.
  test.use({ allowedConsoleErrors: [/status of 403/] });

  test('an officer is not offered the form', async ({ page }) => {
    await login(page, OFFICER_EMAIL, DEMO_PASSWORD);
    await expect(page.getByRole('heading', { level: 1, name: 'Tareas' })).toBeVisible();
    await expect(page.getByRole('link', { name: 'Nueva tarea' })).toHaveCount(0);
    const answer = await page.goto('/tareas/nueva');
    expect(answer?.status()).toBe(403);
    await expect(page.getByRole('alert')).toContainText('No tiene permiso');
    await expect(page.getByRole('button', { name: 'Crear tarea' })).toHaveCount(0);
    // Refused, still signed in: the navigation stays, and nobody offers "Ingresar".
    await expect(page.getByRole('navigation', { name: 'Principal' })).toBeVisible();
    await expect(page.getByRole('link', { name: 'Ingresar' })).toHaveCount(0);
  });
});
