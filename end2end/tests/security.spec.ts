// Stored XSS through the map (issue 13, item 1). A supervisor names an officer with HTML whose
// error handler would act as whoever views it (here: mark a global and call the server
// function that changes roles); an admin hovers and opens that officer on /mapa. The name must
// show as text, nothing may run, and the Content-Security-Policy must not break the page (the
// map is drawn, the page hydrates; the fixture fails the test on any console error, which is
// where the browser reports CSP violations).
import type { Page } from '@playwright/test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { api, session } from './live-helpers';

const PAYLOAD = `<img src=x onerror="window.__gadXss=1;fetch('/api/fn/set_user_role',{method:'POST'})">`;

/** Records what must never happen: the payload's requests and CSP violations. */
async function watch(page: Page) {
  const forbidden: string[] = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/api/fn/set_user_role') || url.pathname.endsWith('/x')) forbidden.push(req.url());
  });
  // Injected by the browser itself, so the page's CSP does not apply to this script.
  await page.addInitScript(() => {
    (window as any).__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as any).__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  return forbidden;
}

async function openMapAsAdmin(page: Page) {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Mapa' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Mapa' })).toBeVisible();
  // Set by public/js/map.js once the WASM (hydrated page) loaded Leaflet and drew the map.
  await expect(page.locator('#gad-map')).toHaveAttribute('data-ready', 'true');
}

test('an officer named with HTML shows as text on the map, and nothing runs', async ({ page, browser }) => {
  // EF-005: no other test looks at this officer's name (the roster test picks it by its code).
  const supervisor = await session(browser, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const officer = (await api(supervisor.page, '/officers?limit=200')).items.find((o: any) => o.code === 'EF-005');
  const input = (first_name: string) => ({
    code: officer.code,
    first_name,
    last_name: officer.last_name,
    rank: officer.rank,
    unit: officer.unit,
    specialty: officer.specialty,
    user_id: officer.user_id,
  });
  const renamed = await supervisor.context.request.put(`/api/v1/officers/${officer.id}`, { data: input(PAYLOAD) });
  expect(renamed.status(), await renamed.text()).toBe(200);
  try {
    const forbidden = await watch(page);
    await openMapAsAdmin(page);
    const label = `${officer.code} · ${PAYLOAD} ${officer.last_name}`;

    // The tooltip, on hover.
    const marker = page.locator(`path.officer-${officer.id}`);
    await marker.dispatchEvent('mouseover');
    const tooltip = page.locator('.leaflet-tooltip');
    await expect(tooltip).toHaveText(label);
    await expect(tooltip.locator('img')).toHaveCount(0);

    // The popup, on click.
    await marker.dispatchEvent('click');
    const popup = page.locator('.leaflet-popup-content');
    await expect(popup.locator('strong')).toHaveText(label);
    await expect(popup.locator('img')).toHaveCount(0);
    await expect(popup.getByRole('link', { name: 'Ver recorrido (4 h)' })).toHaveAttribute(
      'href',
      `/mapa?recorrido=${officer.id}&horas=4`,
    );

    // The page's own table (Leptos) shows it as text too.
    await expect(page.locator(`#map-officers tr[data-officer="${officer.id}"]`)).toContainText(PAYLOAD);
    await expect(page.locator('#map-officers img')).toHaveCount(0);

    // Nothing ran, nothing was asked for, nothing was blocked (no CSP violation at all: the
    // page, its scripts and the map live within the policy).
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => (window as any).__gadXss)).toBeUndefined();
    expect(forbidden).toEqual([]);
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
  } finally {
    const restored = await supervisor.context.request.put(`/api/v1/officers/${officer.id}`, {
      data: input(officer.first_name),
    });
    expect(restored.status()).toBe(200);
    await supervisor.context.close();
  }
});

test.describe('the policy as a second line', () => {
  // The violation below is the point of the test: the browser reports it as a console error
  // (and the missing image as another).
  test.use({ allowedConsoleErrors: [/Content Security Policy|Failed to load resource.*404/] });

  test('HTML injected into the page still cannot run a handler', async ({ page }) => {
    const forbidden = await watch(page);
    await openMapAsAdmin(page);
    // As if some sink had parsed user text as HTML.
    await page.evaluate(() => {
      const div = document.createElement('div');
      div.innerHTML = `<img src="/no-such-image.png" onerror="window.__gadXss=2">`;
      document.body.append(div);
    });
    await expect
      .poll(() => page.evaluate(() => (window as any).__cspViolations as string[]))
      .toContainEqual(expect.stringMatching(/^script-src-attr/));
    expect(await page.evaluate(() => (window as any).__gadXss)).toBeUndefined();
    expect(forbidden).toEqual([]);
    // The page still works: the map is there and the navigation hydrated.
    await expect(page.locator('#gad-map')).toHaveAttribute('data-ready', 'true');
  });
});
