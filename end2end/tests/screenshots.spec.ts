// Screenshots of every main page at 1366×768 and on a 390×844 phone for docs/screenshots/
// (referenced from the README). Run on demand: GAD_SCREENSHOTS=1 npx playwright test screenshots --project js
import path from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { MAIN_PAGES } from './routes';

const OUT = path.resolve(__dirname, '../../docs/screenshots');

const SIZES = [
  { suffix: '', viewport: { width: 1366, height: 768 } },
  { suffix: '-telefono', viewport: { width: 390, height: 844 } },
];

for (const size of SIZES) {
  test.describe(`screenshots${size.suffix}`, () => {
    test.skip(!process.env.GAD_SCREENSHOTS, 'set GAD_SCREENSHOTS=1 to write docs/screenshots/');
    test.use({ viewport: size.viewport });

    for (const target of MAIN_PAGES) {
      test(`screenshot of ${target.path}${size.suffix}`, async ({ page }) => {
        if (target.path !== '/login') await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
        const probe = await page.request.get(target.path, { maxRedirects: 0 });
        test.skip(probe.status() === 404, `${target.path} does not exist yet`);
        await page.goto(target.path, { waitUntil: 'networkidle' });
        if (target.heading) await expect(page.getByRole('heading', { level: 1, name: target.heading })).toBeVisible();
        if (await page.locator('#gad-map').count()) {
          await expect(page.locator('#gad-map')).toHaveAttribute('data-ready', 'true');
        }
        await page.screenshot({ path: path.join(OUT, `${target.name}${size.suffix}.png`) });
      });
    }
  });
}
