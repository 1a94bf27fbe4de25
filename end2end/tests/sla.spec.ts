// Deadlines with JavaScript: an overdue critical task in the filtered, sorted list with its
// badge, in the banner and the overview, its deadlines on its page; an officer confirms receipt.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, OFFICER_EMAIL, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { api, uniqueTitle } from './live-helpers';

test('an overdue task is listed, bannered, counted and shows its deadlines', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  // Critical, scheduled two hours ago, never started: its start deadline (15 min) is past.
  const title = uniqueTitle('Vencida');
  const start = new Date(Date.now() - 2 * 3_600_000).toISOString();
  const created = await page.request.post('/api/v1/tasks', {
    data: { title, task_type: 'surveillance', priority: 'critical', scheduled_start: start },
  });
  expect(created.status()).toBe(201);
  const task = await created.json();

  await page.goto('/tareas');
  await page.getByLabel('Plazos').selectOption('overdue');
  await page.getByLabel('Ordenar por').selectOption('due');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page).toHaveURL(/sla=overdue/);
  const row = page.locator('tbody tr', { hasText: title });
  await expect(row.locator('.badge.sla-overdue')).toHaveText('Vencida');
  // Every row listed is overdue.
  const rows = await page.locator('tbody tr').count();
  await expect(page.locator('tbody tr .badge.sla-overdue')).toHaveCount(rows);

  // The banner names it (critical), on every page.
  await expect(page.locator('.sla-banner')).toContainText(task.code);
  // Its page: the start deadline is overdue.
  await page.goto(`/tareas/${task.id}`);
  const deadlines = page.getByRole('table', { name: 'Plazos de la tarea' });
  await expect(deadlines.locator('tr.deadline-start')).toContainText('Vencido');
  // The overview counts it and links to the list.
  await page.goto('/');
  const overdue = Number(await page.locator('[data-kpi="sla_overdue"] .kpi-value').textContent());
  const listed = (await api(page, '/tasks?sla=overdue&limit=200')).items.length;
  expect(overdue).toBe(listed);
  expect(overdue).toBeGreaterThan(0);
});

test('an assigned officer confirms receipt from the task page', async ({ page, browser }) => {
  const supervisor = await browser.newContext();
  const sup = await supervisor.newPage();
  await login(sup, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const me = (await api(sup, '/officers?limit=200')).items.find((o: any) => o.code === 'EF-001');
  const title = uniqueTitle('Para confirmar');
  const created = await sup.request.post('/api/v1/tasks', {
    data: { title, task_type: 'patrol', priority: 'urgent', officer_ids: [me.id], allow_overlap: true },
  });
  expect(created.status()).toBe(201);
  const task = await created.json();
  await supervisor.close();

  await login(page, OFFICER_EMAIL, DEMO_PASSWORD);
  await page.goto(`/tareas/${task.id}`);
  await expect(page.getByRole('table', { name: 'Plazos de la tarea' }).locator('tr.deadline-ack')).toContainText('Pendiente');
  await page.getByRole('button', { name: 'Confirmar recepción' }).click();
  await expect(page.getByRole('button', { name: 'Confirmar recepción' })).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Plazos de la tarea' }).locator('tr.deadline-ack')).toContainText('A tiempo');
});

test('an admin sets a deadline target from the Plazos page, and empties it again', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Plazos' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Plazos de atención' })).toBeVisible();
  const targets = page.getByRole('table', { name: 'Objetivos vigentes, en minutos' });
  // The defaults: an every-type row per priority.
  await expect(targets.getByRole('row', { name: /Todos los tipos Crítica 5 15 240/ })).toBeVisible();
  const own = targets.getByRole('row').filter({ hasText: 'Capacitación' }).filter({ hasText: 'Baja' });
  await expect(own).toHaveCount(0);

  await page.getByLabel('Tipo', { exact: true }).selectOption({ label: 'Capacitación' });
  await page.getByLabel('Prioridad', { exact: true }).selectOption({ label: 'Baja' });
  await page.getByLabel('Confirmar recepción (minutos)').fill('45');
  await page.getByLabel('Finalizar (minutos)').fill('600');
  await page.getByRole('button', { name: 'Guardar objetivos' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Objetivos guardados.' })).toBeVisible();
  await expect(own.locator('td')).toHaveText(['Baja', '45', '—', '600']);

  // A refusal names the field, in Spanish; nothing changes.
  await page.getByLabel('Tipo', { exact: true }).selectOption({ label: 'Capacitación' });
  await page.getByLabel('Prioridad', { exact: true }).selectOption({ label: 'Baja' });
  await page.getByLabel('Iniciar (minutos)').fill('100001');
  // (the browser's own range check would stop the form first: the server's is what is tested)
  await page.locator('#sla-start').evaluate((input: HTMLInputElement) => input.removeAttribute('max'));
  await page.getByRole('button', { name: 'Guardar objetivos' }).click();
  await expect(page.locator('main').getByRole('alert')).toHaveText('Los minutos deben estar entre 1 y 100000.');
  await expect(own.locator('td')).toHaveText(['Baja', '45', '—', '600']);

  // All three empty: the row goes, the every-type row applies again.
  await page.getByLabel('Tipo', { exact: true }).selectOption({ label: 'Capacitación' });
  await page.getByLabel('Prioridad', { exact: true }).selectOption({ label: 'Baja' });
  await page.getByRole('button', { name: 'Guardar objetivos' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'sin plazos propios' })).toBeVisible();
  await expect(own).toHaveCount(0);
});

test('a supervisor reads the deadline targets; only admins get the form', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/plazos');
  await expect(page.getByRole('table', { name: 'Objetivos vigentes, en minutos' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Guardar objetivos' })).toHaveCount(0);
});
