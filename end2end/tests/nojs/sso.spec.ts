// Single sign-on without JavaScript: it is all links and redirects.
import { expect, test } from '../fixtures';

test('the institutional account signs in without JavaScript', async ({ page }) => {
  await page.goto('/login');
  await page.getByRole('link', { name: 'Ingresar con la cuenta institucional' }).click();
  await expect(page.locator('.user-name')).toHaveText('Usuaria Institucional');
});
