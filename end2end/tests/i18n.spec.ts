// The dashboard's language (JavaScript on): Spanish by default, English through the switch in
// the header; the choice lives in the `gad_lang` cookie, the page hydrates without warnings in
// both languages (the fixture fails on console errors and hydration warnings), and client-side
// navigation keeps the language.
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../e2e-env';
import { expect, login, test } from './fixtures';

test('an admin switches the dashboard to English and back to Spanish', async ({ page, context }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.waitForLoadState('networkidle');
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');

  // Spanish → English: the link carries the current page, the server sets the cookie.
  await page.getByRole('link', { name: 'English', exact: true }).click();
  await expect(page).toHaveURL(/\/tareas(\?.*)?$/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('heading', { level: 1, name: 'Tasks', exact: true })).toBeVisible();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Overview', exact: true })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Officers', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByRole('columnheader', { name: 'Status' })).toBeVisible();
  // Enum labels (status, priority, type) are translated too.
  await expect(page.locator('.data-table .badge[class*="status-"]').first()).toHaveText(
    /^(Scheduled|In progress|Paused|Completed|Cancelled)$/,
  );
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === 'gad_lang')?.value).toBe('en');
  await page.waitForLoadState('networkidle');

  // A task's detail, opened by client-side navigation (rendered in the browser, in English).
  await page.locator('.data-table tbody a').first().click();
  await expect(page).toHaveURL(/\/tareas\/\d+$/);
  await expect(page.getByRole('heading', { level: 2, name: 'History', exact: true })).toBeVisible();
  await expect(page.getByRole('heading', { level: 2, name: 'Assigned officers', exact: true })).toBeVisible();

  // The overview, by the navigation.
  await nav.getByRole('link', { name: 'Overview', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible();
  await expect(page.getByRole('heading', { level: 2, name: 'Tasks now', exact: true })).toBeVisible();
  await expect(page.getByRole('img', { name: /Tasks per day: \d+ tasks/ })).toBeVisible();

  // A fresh load of another page keeps the language (the cookie), and hydrates cleanly.
  await page.goto('/tareas/nueva', { waitUntil: 'networkidle' });
  await expect(page.getByRole('heading', { level: 1, name: 'New task', exact: true })).toBeVisible();
  await expect(page.getByLabel('Title', { exact: true })).toBeVisible();

  // The administration pages.
  await page.goto('/usuarios', { waitUntil: 'networkidle' });
  await expect(page.getByRole('heading', { level: 1, name: 'Users', exact: true })).toBeVisible();
  await expect(page.getByRole('columnheader', { name: 'Role' })).toBeVisible();
  await page.goto('/efectivos', { waitUntil: 'networkidle' });
  await expect(page.getByRole('heading', { level: 1, name: 'Officers', exact: true })).toBeVisible();
  await page.goto('/tareas/nueva', { waitUntil: 'networkidle' });

  // English → Spanish, back on the same page.
  await page.getByRole('link', { name: 'Español', exact: true }).click();
  await expect(page).toHaveURL(/\/tareas\/nueva$/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await expect(page.getByRole('heading', { level: 1, name: 'Nueva tarea', exact: true })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Resumen' })).toBeVisible();
  await page.waitForLoadState('networkidle');
});

test.describe('the login page', () => {
  // The refused login answers 401, which the browser logs.
  test.use({ allowedConsoleErrors: [/status of 401/] });

  test('offers the switch and signs in in English', async ({ page }) => {
    await page.goto('/login', { waitUntil: 'networkidle' });
    await page.getByRole('link', { name: 'English', exact: true }).click();
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    await page.waitForLoadState('networkidle');
    // An unknown account: the server's Spanish message is shown through the table.
    await page.getByLabel('Email', { exact: true }).fill('nadie@example.invalid');
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Invalid credentials.');
    await page.getByLabel('Email', { exact: true }).fill(ADMIN_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole('heading', { level: 1, name: 'Overview', exact: true })).toBeVisible();
    await page.waitForLoadState('networkidle');
  });
});
