// The `test` every spec imports. It adds one automatic fixture: a test fails when the page
// logs a console error, a hydration warning, or throws an uncaught exception (a hydration
// panic, a failed fetch of the WASM bundle, a 500 from a server function…), even if its own
// assertions passed.
import { test as base, expect, type Page } from '@playwright/test';
import { TASK_CODE } from '../e2e-env';

type Fixtures = {
  /** Console errors a test expects; each pattern excuses the messages it matches. */
  allowedConsoleErrors: RegExp[];
  failOnBrowserErrors: void;
};

export const test = base.extend<Fixtures>({
  allowedConsoleErrors: [[], { option: true }],
  failOnBrowserErrors: [
    async ({ page, allowedConsoleErrors }, use) => {
      const problems: string[] = [];
      // Whole stacks in panic reports: a Rust panic's trace is deeper than V8's default 10.
      await page.addInitScript(() => {
        Error.stackTraceLimit = 200;
      });
      page.on('console', (msg) => {
        const text = msg.text();
        // Leptos reports hydration mismatches as warnings; they are failures here.
        const hydration = msg.type() === 'warning' && /hydrat/i.test(text);
        if (msg.type() !== 'error' && !hydration) return;
        if (allowedConsoleErrors.some((re) => re.test(text))) return;
        const where = msg.location().url ? ` (${msg.location().url})` : '';
        problems.push(`console.${msg.type()}: ${text}${where}`);
      });
      page.on('pageerror', (err) => {
        problems.push(`uncaught exception: ${err.stack ?? err.message}`);
      });
      await use();
      expect(problems, 'the browser reported errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Opens /login and waits for the page to settle (hydration included, with JavaScript on). */
export async function openLogin(page: Page): Promise<void> {
  await page.goto('/login', { waitUntil: 'networkidle' });
  await expect(page.getByRole('button', { name: 'Ingresar' })).toBeVisible();
}

/** Fills and submits the login form; does not assert where it lands. */
export async function submitLogin(page: Page, email: string, password: string): Promise<void> {
  await openLogin(page);
  await page.getByLabel('Correo electrónico', { exact: true }).fill(email);
  await page.getByLabel('Contraseña', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Ingresar' }).click();
}

/** Where a sign-in lands: the home with the live map (supervisors, admins) or the tasks (officers). */
export const ON_HOME = /\/(tareas(\?.*)?)?$/;

/** Logs in, waits for the role's home, and opens the task list. */
export async function login(page: Page, email: string, password: string): Promise<void> {
  await submitLogin(page, email, password);
  await expect(page).toHaveURL(ON_HOME);
  if (!/\/tareas(\?.*)?$/.test(page.url())) {
    await page.goto('/tareas');
  }
}

/** Rows of the task table that show a task code (the header row has none). */
export function taskRows(page: Page) {
  return page.getByRole('table').getByRole('row').filter({ hasText: TASK_CODE });
}

export const ON_LOGIN = /\/login(\?.*)?$/;
