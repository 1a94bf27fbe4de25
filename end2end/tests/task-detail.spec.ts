// The task detail page with JavaScript: the viewer's transitions as buttons, applied in place.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';

test('a supervisor starts and pauses a scheduled task from its page', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByRole('row').filter({ hasText: 'Vigilancia Plaza de Mayo' }).getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Vigilancia Plaza de Mayo');
  await expect(page.getByRole('heading', { name: 'Historial' })).toBeVisible();

  await page.getByRole('button', { name: 'Iniciar' }).click();
  await expect(page.getByRole('button', { name: 'Pausar' })).toBeVisible();
  await expect(page.locator('.timeline li').last()).toContainText('En curso');

  await page.getByRole('button', { name: 'Pausar' }).click();
  await expect(page.getByRole('button', { name: 'Reanudar' })).toBeVisible();
});

test('finishing a task asks first, and "No, volver" leaves it as it was', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByRole('row').filter({ hasText: 'Capacitación en primeros auxilios' }).getByRole('link').click();
  await expect(page.getByRole('heading', { name: 'Historial' })).toBeVisible();
  await page.getByRole('button', { name: 'Iniciar' }).click();
  await expect(page.getByRole('button', { name: 'Pausar' })).toBeVisible();

  await page.getByRole('button', { name: 'Finalizar' }).click();
  await expect(page.getByText(/¿Finalizar la tarea .*\? No se puede deshacer\./)).toBeVisible();
  await page.getByRole('link', { name: 'No, volver' }).click();
  await expect(page.getByRole('button', { name: 'Finalizar' })).toBeVisible();
  await expect(page.locator('.timeline li').last()).toContainText('En curso');

  await page.getByRole('button', { name: 'Finalizar' }).click();
  await page.getByRole('button', { name: 'Sí, finalizar' }).click();
  await expect(page.locator('.timeline li').last()).toContainText('Finalizada');
  await expect(page.getByText('No hay acciones disponibles')).toBeVisible();
});
