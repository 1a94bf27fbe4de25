// The track replay with JavaScript: the track, its stop and the task marks drawn; play at 60×,
// pause, the slider and a mark move the officer through the window.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { uniqueTitle } from './live-helpers';
import { local, reportPath } from './replay-helpers';

// Refusals answer 400 (a wrong code, an overlapping shift): the browser logs them.
test.use({ allowedConsoleErrors: [/status of 400/] });

test('a track plays back with its stop, speed and the task changes on the timeline', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const { id, base } = await reportPath(page, 'EF-005', 3);
  // A task for the officer, assigned and started now: three marks on the timeline.
  const title = uniqueTitle('Recorrido reproducido');
  const created = await page.request.post('/api/v1/tasks', { data: { title, task_type: 'patrol', lat: -34.6012, lon: -58.43 } });
  expect(created.status()).toBe(201);
  const task = await created.json();
  expect((await page.request.post(`/api/v1/tasks/${task.id}/assignments`, { data: { officer_ids: [id], allow_overlap: true } })).status()).toBe(200);
  expect((await page.request.post(`/api/v1/tasks/${task.id}/transitions`, { data: { to: 'in_progress' } })).status()).toBe(200);

  await page.goto('/mapa');
  await page.getByRole('link', { name: /Reproducir un recorrido/ }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Reproducir recorrido' })).toBeVisible();
  await page.getByLabel('Efectivo', { exact: true }).selectOption({ value: String(id) });
  const from = new Date(base.getTime() - 60_000);
  await page.getByLabel(/^Desde/).fill(local(from));
  await page.getByLabel('Hasta').fill(local(new Date(Date.now() + 5 * 60_000)));
  await page.getByRole('button', { name: 'Ver recorrido' }).click();
  await expect(page).toHaveURL(new RegExp(`efectivo=${id}`));

  await expect(page.locator('#replay-map')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('path.replay-line')).toHaveCount(1);
  await expect(page.locator('path.replay-stop')).toHaveCount(1);
  const stops = page.getByRole('table', { name: /Paradas/ }).locator('tbody tr');
  await expect(stops).toHaveCount(1);
  await expect(stops.first()).toContainText('5 min');
  await expect(page.locator('#replay-summary tbody tr')).toContainText(/\d+ km\/h/);

  // The slider: minute 3 of the path is inside the stop.
  const slider = page.getByLabel('Momento del recorrido');
  await slider.fill(String(4 * 60));
  await expect(page.locator('#replay-now li')).toContainText('detenido');
  await expect(page.locator('#replay-player')).toHaveAttribute('data-time', new Date(base.getTime() + 3 * 60_000).toISOString());
  // Half a minute into the first minute: moving at the first leg's speed.
  await slider.fill(String(60 + 30));
  await expect(page.locator('#replay-now li')).toContainText(/\d+ km\/h/);

  // Play at 60×: time runs; pause stops it.
  await page.getByLabel('Velocidad').selectOption('60');
  const before = await page.locator('#replay-player').getAttribute('data-time');
  await page.getByRole('button', { name: 'Reproducir' }).click();
  await expect(page.getByRole('button', { name: 'Pausa' })).toBeVisible();
  await expect.poll(async () => page.locator('#replay-player').getAttribute('data-time')).not.toBe(before);
  await page.getByRole('button', { name: 'Pausa' }).click();
  const paused = await page.locator('#replay-player').getAttribute('data-time');
  await page.waitForTimeout(300);
  expect(await page.locator('#replay-player').getAttribute('data-time')).toBe(paused);

  // The task's start is a mark; a click on it moves the replay there.
  const start = page.getByRole('button', { name: new RegExp(`${task.code}: Programada → En curso`) });
  await expect(start).toHaveCount(1);
  await start.click();
  const at = Date.parse((await page.locator('#replay-player').getAttribute('data-time'))!);
  expect(Math.abs(at - Date.now())).toBeLessThan(5 * 60_000);
  await expect(page.getByRole('table', { name: 'Cambios de estado de las tareas' })).toContainText(task.code);
});

test("a task's officers are replayed from the task's code", async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const tasks = await (await page.request.get('/api/v1/tasks?limit=50')).json();
  const withOfficers = tasks.items.find((t: any) => t.officer_ids.length > 0);
  await page.goto(`/mapa/recorrido?tarea=${encodeURIComponent(withOfficers.code.toLowerCase())}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Reproducir recorrido' })).toBeVisible();
  await expect(page.getByLabel('o los efectivos de la tarea')).toHaveValue(withOfficers.code.toLowerCase());
  await expect(page.getByRole('table', { name: 'Cambios de estado de las tareas' }).or(page.getByTestId('replay-empty'))).toBeVisible();
  await page.goto('/mapa/recorrido?tarea=NO-EXISTE');
  await expect(page.getByRole('alert')).toContainText('No hay ninguna tarea con ese código.');
});
