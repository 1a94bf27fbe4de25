// The track replay without JavaScript: a plain GET form, and the answer as tables (the
// player, which needs JavaScript, stays hidden).
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, test } from '../fixtures';
import { local, reportPath } from '../replay-helpers';

// Refusals answer 400 (a wrong code, an overlapping shift): the browser logs them.
test.use({ allowedConsoleErrors: [/status of 400/] });

test('the replay form answers with the summary, the stop and no player', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const { id, base } = await reportPath(page, 'EF-002', 5);
  await page.goto('/mapa/recorrido');
  await page.getByLabel('Efectivo', { exact: true }).selectOption({ value: String(id) });
  await page.getByLabel(/^Desde/).fill(local(new Date(base.getTime() - 60_000)));
  await page.getByLabel('Hasta').fill(local(new Date(base.getTime() + 30 * 60_000)));
  await page.getByRole('button', { name: 'Ver recorrido' }).click();
  await expect(page).toHaveURL(new RegExp(`efectivo=${id}&`));
  const summary = page.locator('#replay-summary tbody tr');
  await expect(summary).toHaveCount(1);
  await expect(summary).toContainText('EF-002');
  await expect(summary.locator('td').nth(1)).toHaveText('7');
  await expect(page.getByRole('table', { name: /Paradas/ }).locator('tbody tr')).toHaveCount(1);
  await expect(page.locator('#replay-player')).toBeHidden();
  // The window shown is the one asked for.
  await expect(page.getByLabel(/^Desde/)).toHaveValue(local(new Date(base.getTime() - 60_000)));
});
