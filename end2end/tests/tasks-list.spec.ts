// The task list with JavaScript: filters live in the URL (the back button restores them),
// and the CSV link carries the same filters to the REST export.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, taskRows, test } from './fixtures';

test('a supervisor filters by priority and text, goes back, and exports the same filter', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await expect(taskRows(page).first()).toBeVisible();
  const all = await taskRows(page).count();
  expect(all).toBeGreaterThan(2);

  await page.getByLabel('Prioridad').selectOption('high');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page).toHaveURL(/[?&]priority=high/);
  await expect(taskRows(page).first()).toBeVisible();
  const high = await taskRows(page).count();
  expect(high).toBeLessThan(all);
  for (const row of await taskRows(page).all()) await expect(row).toContainText('Alta');

  // The CSV link exports exactly this filter.
  const csvHref = await page.getByRole('link', { name: 'Exportar CSV' }).getAttribute('href');
  expect(csvHref).toMatch(/^\/api\/v1\/tasks\.csv\?.*priority=high/);
  const csv = await page.request.get(csvHref!);
  expect(csv.status()).toBe(200);
  const lines = (await csv.text()).trim().split('\n');
  expect(lines[0]).toContain('Código');
  expect(lines.length - 1).toBe(high);

  await page.getByLabel('Buscar').fill('Plaza de Mayo');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page).toHaveURL(/q=Plaza/);
  await expect(taskRows(page)).toHaveCount(1);
  await expect(taskRows(page).first()).toContainText('Vigilancia Plaza de Mayo');

  // Back: the previous filter, and its form values, come back.
  await page.goBack();
  await expect(page).not.toHaveURL(/q=Plaza/);
  await expect(taskRows(page)).toHaveCount(high);
  await expect(page.getByLabel('Prioridad')).toHaveValue('high');

  // A shared link opens with the same filter.
  await page.goto('/tareas?status=in_progress');
  for (const row of await taskRows(page).all()) await expect(row).toContainText('En curso');
  await expect(page.getByLabel('Estado')).toHaveValue('in_progress');
});

test('a bad filter value is a Spanish error, not a crash', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/tareas?priority=altisima');
  await expect(page.getByRole('alert').filter({ hasText: 'Prioridad desconocida' })).toBeVisible();
});
