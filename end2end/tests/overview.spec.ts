// The overview (Resumen): KPI cards show the same figures as the REST API, the charts are
// drawn from the statistics, and the navigation follows the role.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, OFFICER_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { api, kpi, today } from './live-helpers';

test('the KPI cards show the figures the REST API reports', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Resumen' })).toBeVisible();

  // Other tests change tasks meanwhile: compare page and API until they agree (the page
  // follows live, and the assertion reloads nothing).
  await expect(async () => {
    const expected: Record<string, string> = {};
    for (const status of ['scheduled', 'in_progress', 'paused']) {
      expected[status] = String((await api(page, `/tasks?status=${status}&limit=200`)).items.length);
    }
    for (const status of ['available', 'on_task']) {
      expected[`officers_${status}`] = String((await api(page, `/officers?status=${status}&limit=200`)).items.length);
    }
    const stats = await api(page, `/statistics?from=${today()}&to=${today()}`);
    expected.completed_today = String(stats.per_day[0].completed);
    const emergencies = (await api(page, `/tasks?status=scheduled,in_progress,paused&type=emergency&limit=200`)).items.length;
    expected.open_emergencies = String(emergencies);
    const shown: Record<string, string> = {};
    for (const id of Object.keys(expected)) shown[id] = (await kpi(page, id).textContent())?.trim() ?? '';
    expect(shown).toEqual(expected);
  }).toPass({ timeout: 20_000 });

  // The demo has scheduled tasks and officers: real, non-zero figures.
  expect(Number(await kpi(page, 'scheduled').textContent())).toBeGreaterThan(0);
  expect(Number(await kpi(page, 'officers_available').textContent()) + Number(await kpi(page, 'officers_on_task').textContent())).toBeGreaterThan(0);

  // The charts: one per-day figure and one by-type figure, described for screen readers.
  await expect(page.getByRole('img', { name: /Tareas por día: \d+ tareas/ })).toBeVisible();
  await expect(page.getByRole('img', { name: /Tareas por tipo: Patrullaje: \d+/ })).toBeVisible();
  // The feed lists the latest changes, newest first, linking to the tasks.
  await expect(page.locator('.feed-list li').first()).toBeVisible();
  await expect(page.locator('.feed-list li a').first()).toHaveAttribute('href', /^\/tareas\/\d+$/);
});

test('the navigation shows every page to an admin and only their own to an officer', async ({ browser }) => {
  const admin = await browser.newPage();
  await login(admin, ADMIN_EMAIL, ADMIN_PASSWORD);
  const nav = admin.getByRole('navigation', { name: 'Principal' });
  for (const name of ['Resumen', 'Mapa', 'Tareas', 'Nueva tarea', 'Efectivos', 'Emergencia', 'Difusión', 'Usuarios', 'Auditoría', 'Comentarios', 'Notas']) {
    await expect(nav.getByRole('link', { name, exact: true })).toBeVisible();
  }
  await nav.getByRole('link', { name: 'Resumen' }).click();
  await expect(admin).toHaveURL(/\/$/);
  await expect(nav.getByRole('link', { name: 'Resumen' })).toHaveAttribute('aria-current', 'page');
  await admin.close();

  const officer = await browser.newPage();
  await login(officer, OFFICER_EMAIL, DEMO_PASSWORD);
  const officerNav = officer.getByRole('navigation', { name: 'Principal' });
  await expect(officerNav.getByRole('link', { name: 'Tareas', exact: true })).toBeVisible();
  await expect(officerNav.getByRole('link', { name: 'Emergencia' })).toBeVisible();
  for (const name of ['Mapa', 'Usuarios', 'Auditoría', 'Efectivos', 'Nueva tarea']) {
    await expect(officerNav.getByRole('link', { name, exact: true })).toHaveCount(0);
  }
  // An officer's overview counts their own tasks only and shows no officer figures.
  await officer.goto('/');
  await expect(officer.getByRole('heading', { level: 1, name: 'Resumen' })).toBeVisible();
  await expect(kpi(officer, 'officers_available')).toHaveCount(0);
  await officer.close();
});

test('the bell counts unread notifications and marks them read', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/');
  const bell = page.locator('details.bell > summary');
  await expect(bell).toHaveAccessibleName(/Notificaciones: (\d+|ninguna) sin leer/);
  await bell.click();
  await expect(page.getByRole('heading', { name: 'Notificaciones' })).toBeVisible();
  const mark = page.getByRole('button', { name: 'Marcar como leídas' });
  if (await mark.isEnabled()) {
    await mark.click();
  }
  await expect(page.locator('details.bell > summary')).toHaveAccessibleName('Notificaciones: ninguna sin leer');
});
