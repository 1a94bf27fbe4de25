// The operations room's screen at 1366×768: the map-centred home a supervisor lands on, the
// grouped navigation in one header row, the task list's filters, totals and pages, and an
// officer onboarded from the dashboard alone.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, submitLogin, test } from './fixtures';

test.use({ viewport: { width: 1366, height: 768 } });

test('a supervisor lands on the live map, officers drawn above tasks and all in view', async ({ page }) => {
  await submitLogin(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await expect(page).toHaveURL(/\/$/);
  const map = page.locator('#gad-map');
  await expect(map).toHaveAttribute('data-ready', 'true');
  // The map fills the screen beside the figures, the open emergencies and the feed.
  const box = (await map.boundingBox())!;
  expect(box.height).toBeGreaterThan(768 * 0.6);
  expect(box.width).toBeGreaterThan(1366 * 0.45);
  await expect(page.getByRole('heading', { name: 'Emergencias abiertas' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Actividad reciente' })).toBeVisible();
  await expect(page.locator('[data-kpi="in_progress"]')).toBeVisible();

  // Every demo officer is drawn, inside the view (the view fits the data), with their code.
  const officers = page.locator('path.officer-marker');
  await expect(officers).toHaveCount(6);
  await expect(page.locator('.officer-code')).toHaveCount(6);
  await expect(page.locator('.officer-code').filter({ hasText: 'EF-001' })).toBeVisible();
  for (const marker of await officers.all()) {
    const b = (await marker.boundingBox())!;
    expect(b.x).toBeGreaterThanOrEqual(box.x);
    expect(b.y).toBeGreaterThanOrEqual(box.y);
    expect(b.x + b.width).toBeLessThanOrEqual(box.x + box.width);
    expect(b.y + b.height).toBeLessThanOrEqual(box.y + box.height);
  }
  // Tasks sit in a pane under the officers' layer.
  const z = await page.evaluate(() => {
    const pane = (name: string) => Number(getComputedStyle(document.querySelector(`.leaflet-${name}-pane`)!).zIndex);
    return { tasks: pane('gadTasks'), officers: pane('overlay') };
  });
  expect(z.tasks).toBeLessThan(z.officers);
  // The layer control's checkboxes sit beside their labels.
  const label = page.locator('.leaflet-control-layers label').first();
  const check = label.locator('input[type="checkbox"]');
  const lb = (await label.boundingBox())!;
  const cb = (await check.boundingBox())!;
  expect(Math.abs(cb.y + cb.height / 2 - (lb.y + lb.height / 2))).toBeLessThan(6);
});

test('the navigation is grouped and the header is one row', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  const header = (await page.locator('header.topbar').boundingBox())!;
  expect(header.height).toBeLessThan(64);
  const nav = page.getByRole('navigation', { name: 'Principal' });
  for (const group of ['Operación', 'Personal', 'Comunicación', 'Administración']) {
    await expect(nav.getByText(group, { exact: true })).toBeVisible();
  }
  await expect(nav.getByRole('list', { name: 'Administración' }).getByRole('link', { name: 'Auditoría' })).toBeVisible();
  await expect(page.locator('label.menu-button')).toBeHidden();
});

test('"Limpiar" clears the filter form too, and the caption counts every matching task', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.waitForLoadState('networkidle');
  await page.getByLabel('Estado').selectOption('scheduled');
  await page.getByLabel('Prioridad').selectOption('high');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page).toHaveURL(/status=scheduled/);
  await page.getByRole('link', { name: 'Limpiar' }).click();
  await expect(page).not.toHaveURL(/status=/);
  await expect(page.getByLabel('Estado')).toHaveValue('');
  await expect(page.getByLabel('Prioridad')).toHaveValue('');
  const caption = page.locator('.data-table caption');
  await expect(caption).toHaveText(/^Todas las tareas \(\d+\)$|^Mis tareas \(\d+\)$/);
});

test('an officer onboarded from the dashboard is an officer at once', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/usuarios');
  await page.waitForLoadState('networkidle');
  const stamp = Date.now().toString().slice(-6);
  await page.locator('#nu-first').fill('Noelia');
  await page.locator('#nu-last').fill(`Ibarra ${stamp}`);
  await page.locator('#nu-dni').fill(`39${stamp}`);
  await page.locator('#nu-email').fill(`noelia.${stamp}@gad.local`);
  await page.locator('#nu-role').selectOption('officer');
  await page.locator('#nu-orank').fill('Agente');
  await page.locator('#nu-ounit').fill('Comisaría Vecinal 7A');
  await page.getByRole('button', { name: 'Crear usuario' }).click();
  const created = page.getByText(/Efectivo EF-\d{3} creado y vinculado/);
  await expect(created).toBeVisible();
  const code = (await created.textContent())!.match(/EF-\d{3}/)![0];
  await page.goto(`/efectivos?q=${code}`);
  await expect(page.getByRole('row').filter({ hasText: code })).toContainText(`Ibarra ${stamp}`);
});
