// Single sign-on through the local OpenID Connect provider (tools/oidc-provider.mjs, started
// with the test server): the login page's button, the round trip, a supervisor signed in.
import { expect, test } from './fixtures';

// Signing out closes the live stream (401 once the session is gone).
test.use({ allowedConsoleErrors: [/status of 401/] });

test('the institutional account signs a supervisor in', async ({ page }) => {
  await page.goto('/login');
  await page.getByRole('link', { name: 'Ingresar con la cuenta institucional' }).click();
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/$/);
  await expect(page.locator('.user-name')).toHaveText('Usuaria Institucional');
  await expect(page.locator('.role-badge')).toHaveText('Supervisor');
  // The password form is still there for local accounts.
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await expect(page.getByLabel('Contraseña')).toBeVisible();
});

test('a forged callback goes back to the login page with the reason', async ({ page }) => {
  await page.goto('/auth/oidc/callback?code=x&state=forjado');
  await expect(page).toHaveURL(/\/login\?sso=expired/);
  await expect(page.getByRole('alert')).toContainText('El ingreso con la cuenta institucional expiró');
});
