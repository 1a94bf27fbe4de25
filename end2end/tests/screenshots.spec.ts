// Screenshots of every main page at 1366×768 for docs/screenshots/ (referenced from the
// README). Run on demand: GAD_SCREENSHOTS=1 npx playwright test screenshots --project js
import path from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { MAIN_PAGES } from './routes';

const OUT = path.resolve(__dirname, '../../docs/screenshots');

test.describe('screenshots', () => {
  test.skip(!process.env.GAD_SCREENSHOTS, 'set GAD_SCREENSHOTS=1 to write docs/screenshots/');
  test.use({ viewport: { width: 1366, height: 768 } });

  for (const target of MAIN_PAGES) {
    test(`screenshot of ${target.path}`, async ({ page }) => {
      if (target.path !== '/login') await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
      const probe = await page.request.get(target.path, { maxRedirects: 0 });
      test.skip(probe.status() === 404, `${target.path} does not exist yet`);
      await page.goto(target.path, { waitUntil: 'networkidle' });
      if (target.heading) await expect(page.getByRole('heading', { level: 1, name: target.heading })).toBeVisible();
      await page.screenshot({ path: path.join(OUT, `${target.name}.png`) });
    });
  }
});
