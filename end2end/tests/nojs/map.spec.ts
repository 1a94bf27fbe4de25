// The map page without JavaScript: the same data as tables, and the nearest-officer search as
// a plain GET form.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, test } from '../fixtures';

test('officers and tasks are listed with coordinates and the nearest search works', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/mapa');
  await expect(page.getByRole('table', { name: 'Efectivos con posición' }).locator('tbody tr')).toHaveCount(6);
  await expect(page.getByRole('table', { name: /Tareas abiertas con ubicación/ }).locator('tbody tr').first()).toContainText(/-34\.\d{5}/);
  await page.getByLabel('Latitud').fill('-34.6037');
  await page.getByLabel('Longitud').fill('-58.3816');
  await page.getByRole('button', { name: 'Efectivos más cercanos' }).click();
  await expect(page).toHaveURL(/\/mapa\?lat=-34\.6037&lon=-58\.3816/);
  await expect(page.getByRole('list', { name: 'Efectivos más cercanos' }).getByRole('listitem').first()).toContainText('EF-001');
  await expect(page.getByRole('link', { name: 'Crear emergencia aquí' })).toHaveAttribute('href', '/emergencia?lat=-34.603700&lon=-58.381600');
});
