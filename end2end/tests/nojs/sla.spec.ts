// Deadlines without JavaScript: the overdue filter is a plain GET form, and confirming receipt
// a plain form post that comes back to the task.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, OFFICER_EMAIL, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, test } from '../fixtures';

test('the overdue filter and the receipt confirmation work as plain HTML', async ({ page, browser }) => {
  const supervisor = await browser.newContext();
  const sup = await supervisor.newPage();
  await login(sup, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const officers = await (await sup.request.get('/api/v1/officers?limit=200')).json();
  const me = officers.items.find((o: any) => o.code === 'EF-001');
  const title = `Sin JS vencida ${Date.now()}`;
  const start = new Date(Date.now() - 3 * 3_600_000).toISOString();
  const created = await sup.request.post('/api/v1/tasks', {
    data: { title, task_type: 'patrol', priority: 'high', scheduled_start: start, officer_ids: [me.id], allow_overlap: true },
  });
  expect(created.status()).toBe(201);
  const task = await created.json();
  await supervisor.close();

  await login(page, OFFICER_EMAIL, DEMO_PASSWORD);
  await page.goto('/tareas');
  await page.getByLabel('Plazos').selectOption('overdue');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page.locator('tbody tr', { hasText: title }).locator('.badge.sla-overdue')).toBeVisible();
  await page.goto(`/tareas/${task.id}`);
  await page.getByRole('button', { name: 'Confirmar recepción' }).click();
  await expect(page).toHaveURL(new RegExp(`/tareas/${task.id}$`));
  await expect(page.getByRole('button', { name: 'Confirmar recepción' })).toHaveCount(0);
});

test('an admin sets and removes a deadline target as plain HTML', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/plazos');
  const own = page.getByRole('table', { name: 'Objetivos vigentes, en minutos' }).getByRole('row')
    .filter({ hasText: 'Administrativa' }).filter({ hasText: 'Baja' });
  await page.getByLabel('Tipo', { exact: true }).selectOption({ label: 'Administrativa' });
  await page.getByLabel('Prioridad', { exact: true }).selectOption({ label: 'Baja' });
  await page.getByLabel('Iniciar (minutos)').fill('120');
  await page.getByRole('button', { name: 'Guardar objetivos' }).click();
  await expect(page).toHaveURL(/\/plazos$/);
  await expect(page.getByRole('status').filter({ hasText: 'Objetivos guardados.' })).toBeVisible();
  await expect(own.locator('td')).toHaveText(['Baja', '—', '120', '—']);
  // Shown once.
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Objetivos guardados' })).toHaveCount(0);

  await page.getByLabel('Tipo', { exact: true }).selectOption({ label: 'Administrativa' });
  await page.getByLabel('Prioridad', { exact: true }).selectOption({ label: 'Baja' });
  await page.getByRole('button', { name: 'Guardar objetivos' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'sin plazos propios' })).toBeVisible();
  await expect(own).toHaveCount(0);
});
