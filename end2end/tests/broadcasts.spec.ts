// The Telegram broadcast composer: a protocol template fills the message, sending stores it as
// pending (the bot is off in the browser tests), and the history shows it with its delivery.
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../e2e-env';
import { expect, login, test } from './fixtures';

// The refused chat id is a 400 answer, which Chromium logs as a failed resource load.
test.use({ allowedConsoleErrors: [/status of 400/] });

test('an admin sends a protocol template to a group and sees it pending in the history', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  const group = `guardia-js-${Date.now()}`;
  await page.goto('/difusion');
  // The admin registers the group on the page; a malformed chat id is refused in Spanish.
  await page.getByText('Registrar un grupo de Telegram').click();
  await page.getByLabel('Nombre del grupo').fill(group);
  await page.getByLabel('Identificador de chat').fill('grupo-central');
  await page.getByRole('button', { name: 'Registrar grupo' }).click();
  await expect(page.locator('details.group-admin').getByRole('alert')).toContainText('debe ser un número');
  await page.getByLabel('Identificador de chat').fill('-1001234500001');
  await page.getByRole('button', { name: 'Registrar grupo' }).click();
  await expect(page.getByLabel('Grupo', { exact: true }).locator('option', { hasText: group })).toHaveCount(1);
  await expect(page.getByRole('heading', { level: 1, name: 'Difusión por Telegram' })).toBeVisible();
  await page.getByRole('link', { name: 'Evacuación' }).click();
  await expect(page.getByLabel('Mensaje')).toHaveValue(/^EVACUACIÓN\./);
  await expect(page.getByLabel('Tipo')).toHaveValue('alert');
  await page.getByLabel('Grupo', { exact: true }).selectOption({ label: group });
  await page.getByRole('button', { name: 'Enviar difusión' }).click();
  await expect(page.getByRole('status')).toContainText('Difusión registrada');
  const row = page.getByRole('row').filter({ hasText: group });
  await expect(row).toContainText('EVACUACIÓN');
  await expect(row).toContainText('Alerta');
  await expect(row).toContainText('Pendiente');
});
