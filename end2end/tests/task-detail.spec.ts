// The task detail page with JavaScript: the viewer's transitions as buttons, applied in place.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { waitLive } from './live-helpers';

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

test('the task page maps its place and officers, and its history names assignments in words', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByRole('row').filter({ hasText: 'Control de disturbios en Recoleta' }).getByRole('link').click();
  await expect(page.getByRole('heading', { name: 'Historial' })).toBeVisible();
  const map = page.getByRole('region', { name: 'Mapa de la tarea y sus efectivos' });
  await expect(map).toHaveAttribute('data-ready', 'true');
  await expect(map.locator('.task-marker')).toHaveCount(1);

  // From here on the page must never blank to "Cargando…": its refetches (the stream opening,
  // the assignment completing, a change made elsewhere) keep it on screen until new data comes.
  await page.evaluate(() => {
    const w = window as any;
    w.blanked = false;
    new MutationObserver(() => {
      if ([...document.querySelectorAll('p.loading')].some((p) => p.textContent === 'Cargando…')) w.blanked = true;
    }).observe(document.body, { childList: true, subtree: true });
  });
  await waitLive(page);

  const assign = page.getByRole('button', { name: /^Asignar a / }).first();
  const label = (await assign.getAttribute('aria-label'))!;
  const code = label.match(/\((EF-\d{3})\)/)![1];
  await assign.click();
  await expect(page.locator('.timeline li').last()).toContainText(`Asignado: ${code}`);
  await expect(page.locator('.timeline li').last()).not.toContainText('→');
  await expect(page.locator('.assigned')).toContainText(code);
  await expect(page.getByRole('region', { name: 'Mapa de la tarea y sus efectivos' }).locator('path.officer-marker')).not.toHaveCount(0);

  // Started elsewhere (the REST API): the page follows live, without blanking.
  const id = Number(new URL(page.url()).pathname.split('/').pop());
  // A new line among the others, not necessarily the last: an overdue demo task may be
  // escalated by the deadline job at the same moment, and its line can land after this one.
  const started = page.locator('.timeline li').filter({ hasText: 'En curso' });
  const before = await started.count();
  expect((await page.request.post(`/api/v1/tasks/${id}/transitions`, { data: { to: 'in_progress' } })).status()).toBe(200);
  await expect(started).toHaveCount(before + 1);
  expect(await page.evaluate(() => (window as any).blanked)).toBe(false);
});

test('a transition refetches the task once, not once more for its own live echo', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByRole('row').filter({ hasText: 'Seguimiento de denuncia en Constitución' }).getByRole('link').click();
  await expect(page.getByRole('heading', { name: 'Historial' })).toBeVisible();
  await waitLive(page);
  await page.waitForTimeout(500);
  const fetched: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path === '/api/fn/task_detail' || path === '/api/fn/assignment_candidates') fetched.push(path);
  });
  await page.getByRole('button', { name: 'Iniciar' }).click();
  await expect(page.getByRole('button', { name: 'Pausar' })).toBeVisible();
  // The live echo of this change arrives too; give it time to (not) refetch.
  await expect(page.locator('.timeline li').last()).toContainText('En curso');
  await page.waitForTimeout(1500);
  expect(fetched.filter((p) => p.endsWith('task_detail'))).toHaveLength(1);
  expect(fetched.filter((p) => p.endsWith('assignment_candidates'))).toHaveLength(1);
});
