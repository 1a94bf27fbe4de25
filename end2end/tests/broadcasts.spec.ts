// The Telegram broadcast composer: a protocol template fills the message, sending stores it as
// pending (the bot is off in the browser tests), and the history shows it with its delivery.
import type { Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../e2e-env';
import { expect, login, test } from './fixtures';

/** A Telegram group made through the admin's server function (the session is the page's). */
export async function createGroup(page: Page, name: string): Promise<void> {
  const res = await page.request.post('/api/fn/create_telegram_group', {
    form: { name, chat_id: String(-1000000000000 - Math.floor(Math.random() * 1e9)) },
    headers: { Accept: 'application/json' },
  });
  expect(res.ok(), await res.text()).toBeTruthy();
}

test('an admin sends a protocol template to a group and sees it pending in the history', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  const group = `guardia-js-${Date.now()}`;
  await createGroup(page, group);
  await page.goto('/difusion');
  await expect(page.getByRole('heading', { level: 1, name: 'Difusión por Telegram' })).toBeVisible();
  await page.getByRole('link', { name: 'Evacuación' }).click();
  await expect(page.getByLabel('Mensaje')).toHaveValue(/^EVACUACIÓN\./);
  await expect(page.getByLabel('Tipo')).toHaveValue('alert');
  await page.getByLabel('Grupo').selectOption({ label: group });
  await page.getByRole('button', { name: 'Enviar difusión' }).click();
  await expect(page.getByRole('status')).toContainText('Difusión registrada');
  const row = page.getByRole('row').filter({ hasText: group });
  await expect(row).toContainText('EVACUACIÓN');
  await expect(row).toContainText('Alerta');
  await expect(row).toContainText('Pendiente');
});
