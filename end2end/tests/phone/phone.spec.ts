// A 390×844 phone: no page scrolls sideways (wide tables scroll in their own box, long text
// wraps), the navigation hides behind "Menú", the home's map starts at the top.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, submitLogin, test } from '../fixtures';

async function noSidewaysScroll(page: import('@playwright/test').Page, path: string) {
  await page.goto(path);
  await page.waitForLoadState('networkidle');
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  expect(scroll, `${path} scrolls sideways`).toBeLessThanOrEqual(client);
}

test('no page scrolls sideways on a phone, even with a 200-character title', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const long = 'Operativo'.padEnd(200, 'X');
  await page.goto('/tareas/nueva', { waitUntil: 'networkidle' });
  await page.locator('#tf-title').fill(long);
  await expect(page.locator('#tf-title-count')).toHaveText('200 de 200 caracteres');
  await page.getByLabel('Tipo').selectOption('patrol');
  await page.getByRole('button', { name: 'Crear tarea' }).click();
  await expect(page).toHaveURL(/\/tareas\/\d+$/);
  const detail = new URL(page.url()).pathname;
  for (const path of ['/', '/tareas', detail, '/efectivos', '/mapa', '/emergencia', '/difusion', '/notas']) {
    await noSidewaysScroll(page, path);
  }
});

test('the navigation opens from the "Menú" button; the map starts at the top of the home', async ({ page }) => {
  await submitLogin(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await expect(page).toHaveURL(/\/$/);
  const nav = page.getByRole('navigation', { name: 'Principal' });
  await expect(nav).toBeHidden();
  // Measured once the dashboard's stylesheet, added by the client-side navigation from the
  // sign-in page, applies (on a loaded machine the first frames show the header unstyled).
  const header = page.locator('header.topbar');
  await expect.poll(async () => (await header.boundingBox())?.height ?? Infinity).toBeLessThan(64);
  const map = page.locator('#gad-map');
  await expect.poll(async () => (await map.boundingBox())?.y ?? Infinity).toBeLessThan(200);
  await page.locator('label.menu-button').click();
  await expect(page.getByRole('checkbox', { name: 'Menú' })).toBeChecked();
  await expect(nav).toBeVisible();
  await nav.getByRole('link', { name: 'Tareas', exact: true }).click();
  await expect(page).toHaveURL(/\/tareas$/);
});

test('the task filters fold behind "Filtros" on a phone', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/tareas');
  const filters = page.getByRole('form', { name: 'Filtros' });
  await expect(filters).toBeHidden();
  await page.locator('label.filters-button').click();
  await expect(filters).toBeVisible();
  await filters.getByLabel('Estado').selectOption('scheduled');
  await filters.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page).toHaveURL(/status=scheduled/);
  // A filter in use keeps them open.
  await expect(page.getByRole('form', { name: 'Filtros' })).toBeVisible();
});
