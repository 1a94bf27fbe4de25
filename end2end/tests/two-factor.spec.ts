// Two-step verification with JavaScript: a user enrols at /cuenta/2fa (key under the QR code,
// confirmed with a code and the password, ten recovery codes shown once), and from then on the
// password alone does not sign in: /login/2fa asks for the code, refuses a wrong one in
// Spanish, and takes a recovery code once. The same without JavaScript: nojs/two-factor.spec.ts.
// Each test enrols a user of its own (the e2e server requires two-factor of no role).
import { expect, login, test, ON_HOME } from './fixtures';
import {
  CODE_REFUSED,
  enrol,
  freshUser,
  nextCode,
  passwordStep,
  sendCode,
  signOut,
  wrongCode,
} from './two-factor-helpers';

// A refused code is a 401 answer of the server function, which Chromium logs.
test.use({ allowedConsoleErrors: [/status of 401/] });

test('a user enrols, and signs in with the code of the app after the password', async ({ page, request }) => {
  const user = await freshUser(request, 'js');
  await login(page, user.email, user.password);
  const { secret, step, recovery } = await enrol(page, user);

  // The recovery codes are shown once: not after a reload.
  await page.reload();
  await expect(page.getByText(/^Activa desde el /)).toBeVisible();
  await expect(page.getByText('Códigos de recuperación sin usar: 10.')).toBeVisible();
  await expect(page.locator('ol.recovery-codes')).toHaveCount(0);
  expect(await page.content()).not.toContain(recovery[0]);

  await signOut(page);
  await passwordStep(page, user);
  // Not signed in yet: the dashboard still sends the visitor to /login.
  const probe = await page.request.get('/api/v1/tasks?limit=1');
  expect(probe.status()).toBe(401);

  await sendCode(page, wrongCode(secret));
  await expect(page.getByRole('alert')).toHaveText(CODE_REFUSED);
  await expect(page).toHaveURL(/\/login\/2fa(\?.*)?$/);

  await sendCode(page, nextCode(secret, step).code);
  await expect(page).toHaveURL(ON_HOME);
  await expect(page.getByRole('heading', { level: 1, name: 'Tareas', exact: true })).toBeVisible();
});

test('a recovery code signs in once, and not twice', async ({ page, request }) => {
  const user = await freshUser(request, 'jsrec');
  await login(page, user.email, user.password);
  const { recovery } = await enrol(page, user);
  await signOut(page);

  await passwordStep(page, user);
  await sendCode(page, recovery[0]);
  await expect(page).toHaveURL(ON_HOME);
  await page.goto('/cuenta/2fa');
  await expect(page.getByText('Códigos de recuperación sin usar: 9.')).toBeVisible();
  await signOut(page);

  await passwordStep(page, user);
  await sendCode(page, recovery[0]);
  await expect(page.getByRole('alert')).toHaveText(CODE_REFUSED);
  await expect(page).toHaveURL(/\/login\/2fa(\?.*)?$/);
  // Another, unused, one still works (typed in capitals, as from paper).
  await sendCode(page, recovery[1].toUpperCase());
  await expect(page).toHaveURL(ON_HOME);
});
