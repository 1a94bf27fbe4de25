// An axe check (WCAG 2.1 A and AA rules) on every main page, signed in as the admin (who
// sees every page). Pages listed in routes.ts that answer 404 are skipped.
import AxeBuilder from '@axe-core/playwright';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { MAIN_PAGES } from './routes';

for (const target of MAIN_PAGES) {
  test(`axe finds no violations on ${target.path}`, async ({ page }) => {
    if (target.path !== '/login') await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    const probe = await page.request.get(target.path, { maxRedirects: 0 });
    test.skip(probe.status() === 404, `${target.path} does not exist yet`);
    await page.goto(target.path, { waitUntil: 'networkidle' });
    if (target.heading) await expect(page.getByRole('heading', { level: 1, name: target.heading })).toBeVisible();
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    const summary = results.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(summary, `axe violations on ${target.path}`).toEqual([]);
  });
}
