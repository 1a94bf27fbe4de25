// The task detail page without JavaScript: each transition is a plain form post answered
// with a redirect back to the page; cancelling asks for confirmation and a reason.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, test } from '../fixtures';

test('a supervisor starts a task and cancels another without JavaScript', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByRole('row').filter({ hasText: 'Recorrida Bosques de Palermo' }).getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Recorrida Bosques de Palermo');
  await page.getByRole('button', { name: 'Iniciar' }).click();
  await expect(page).toHaveURL(/\/tareas\/\d+$/);
  await expect(page.getByRole('button', { name: 'Pausar' })).toBeVisible();
  await expect(page.locator('.timeline li').last()).toContainText('En curso');

  await page.goto('/tareas');
  await page.getByRole('row').filter({ hasText: 'Actualización de legajos' }).getByRole('link').click();
  // Cancelling cannot be undone: the button asks first, on a page of its own.
  await page.getByRole('button', { name: 'Cancelar tarea' }).click();
  await expect(page).toHaveURL(/\?confirmar=cancelled$/);
  await expect(page.getByText(/¿Cancelar la tarea .*\? No se puede deshacer\./)).toBeVisible();
  await page.getByLabel('Motivo').fill('Reprogramada por falta de personal');
  await page.getByRole('button', { name: 'Sí, cancelar la tarea' }).click();
  await expect(page.locator('.timeline li').last()).toContainText('Cancelada');
  await expect(page.getByText('No hay acciones disponibles')).toBeVisible();
});
