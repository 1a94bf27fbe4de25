// The interactive API documentation works offline: Swagger UI is served by GAD itself and
// renders the OpenAPI document generated from the code.
import { expect, test } from './fixtures';

test('the API docs page renders the generated OpenAPI document', async ({ page }) => {
  const external: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith('http://127.0.0.1')) external.push(req.url());
  });
  await page.goto('/api/docs');
  await expect(page.getByRole('heading', { name: /GAD API/ })).toBeVisible();
  await expect(page.getByText('/users/{id}/tokens').first()).toBeVisible();
  expect(external, 'no request leaves the machine').toEqual([]);
});
