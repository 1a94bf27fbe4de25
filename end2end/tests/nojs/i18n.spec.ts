// The language switch with JavaScript off (project `nojs`): a plain link to /idioma/{es|en}
// sets the cookie and the server redirects back; pages render in the chosen language.
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../../e2e-env';
import { expect, test } from '../fixtures';

test('the language switch works without JavaScript', async ({ page }) => {
  await page.goto('/login');
  await page.getByRole('link', { name: 'English', exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await page.getByLabel('Email', { exact: true }).fill(ADMIN_EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // An admin lands on the home (the live map and the overview's figures).
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Overview', exact: true })).toBeVisible();

  // A filtered list: the switch brings the browser back to the same query.
  await page.goto('/tareas?status=scheduled');
  await page.getByRole('link', { name: 'Español', exact: true }).click();
  await expect(page).toHaveURL(/\/tareas\?status=scheduled$/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await expect(page.getByRole('heading', { level: 1, name: 'Tareas', exact: true })).toBeVisible();
});

test('the switch only returns to paths of this site', async ({ request }) => {
  for (const volver of ['https://example.com/', '//example.com/', '/\\example.com']) {
    const res = await request.get(`/idioma/en?volver=${encodeURIComponent(volver)}`, { maxRedirects: 0 });
    expect(res.status()).toBe(303);
    expect(res.headers()['location']).toBe('/');
  }
  const ok = await request.get('/idioma/en?volver=%2Ftareas%3Fq%3Da', { maxRedirects: 0 });
  expect(ok.headers()['location']).toBe('/tareas?q=a');
  expect(ok.headers()['set-cookie']).toMatch(/gad_lang=en; Path=\/; Max-Age=31536000; SameSite=Lax/);
  expect((await request.get('/idioma/fr', { maxRedirects: 0 })).status()).toBe(404);
});
