// Helpers of the dashboard's live tests (overview, live, map, emergency): a second signed-in
// browser session, REST calls with a session's cookies, and waiting for the live stream.
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { expect, login } from './fixtures';

/** A new browser context (its own cookies: another session) signed in as `email`. */
export async function session(browser: Browser, email: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await login(page, email, password);
  return { context, page };
}

/** Waits until the page's live stream is connected (the top bar says "En vivo"). */
export async function waitLive(page: Page): Promise<void> {
  await expect(page.locator('.live-dot.live-on')).toBeVisible();
}

/** GET /api/v1… with the page's session; returns the JSON body. */
export async function api(page: Page, path: string): Promise<any> {
  const response = await page.request.get(`/api/v1${path}`);
  expect(response.status(), `GET ${path}`).toBe(200);
  return response.json();
}

/** The id of the (only) task whose code, title or description contains `text`. */
export async function taskId(page: Page, text: string): Promise<number> {
  const body = await api(page, `/tasks?q=${encodeURIComponent(text)}&limit=5`);
  expect(body.items.length, `tasks matching ${text}`).toBeGreaterThan(0);
  return body.items[0].id;
}

/** Today in Buenos Aires, YYYY-MM-DD (the server's configured time zone). */
export function today(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Argentina/Buenos_Aires' }).format(new Date());
}

/** The number shown by a KPI card. */
export function kpi(page: Page, id: string) {
  return page.locator(`[data-kpi="${id}"] .kpi-value`);
}

/** Creates a scheduled patrol task through the REST API with the page's session; its id. */
export async function createTask(page: Page, title: string): Promise<number> {
  const response = await page.request.post('/api/v1/tasks', { data: { title, task_type: 'patrol' } });
  expect(response.status(), `POST /tasks ${title}`).toBe(201);
  return (await response.json()).id;
}

/** A title no other test uses. */
export function uniqueTitle(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}
