// Two-step verification without JavaScript: every step is a plain form post answered with a
// redirect. Enrolment at /cuenta/2fa shows the key under the QR code; the recovery codes come
// back through the session's one-shot flash (never in a URL) and are gone on reload; the
// login's second step (/login/2fa) reports a wrong code in Spanish through `?error=`.
// Each test enrols a user of its own (the e2e server requires two-factor of no role).
import { expect, login, test, ON_HOME } from '../fixtures';
import {
  CODE_REFUSED,
  enrol,
  freshUser,
  nextCode,
  passwordStep,
  sendCode,
  signOut,
  wrongCode,
} from '../two-factor-helpers';

test('a user enrols and signs in with the code of the app without JavaScript', async ({ page, request }) => {
  const user = await freshUser(request, 'sinjs');
  await login(page, user.email, user.password);
  const { secret, step, recovery } = await enrol(page, user);
  expect(page.url()).not.toContain(recovery[0]);

  // Shown once: a reload no longer has them.
  await page.reload();
  await expect(page.getByText(/^Activa desde el /)).toBeVisible();
  await expect(page.getByText('Códigos de recuperación sin usar: 10.')).toBeVisible();
  await expect(page.locator('ol.recovery-codes')).toHaveCount(0);
  expect(await page.content()).not.toContain(recovery[0]);

  await signOut(page);
  await passwordStep(page, user);
  // Not signed in yet: the dashboard sends the visitor back to /login.
  await page.goto('/tareas');
  await expect(page).toHaveURL(/\/login(\?.*)?$/);
  await page.goto('/login/2fa');

  await sendCode(page, wrongCode(secret));
  await expect(page).toHaveURL(/\/login\/2fa\?error=invalid_credentials$/);
  await expect(page.getByRole('alert')).toHaveText(CODE_REFUSED);

  await sendCode(page, nextCode(secret, step).code);
  await expect(page).toHaveURL(ON_HOME);
  await expect(page.getByRole('heading', { level: 1, name: 'Tareas', exact: true })).toBeVisible();
});

test('a recovery code signs in once, and not twice, without JavaScript', async ({ page, request }) => {
  const user = await freshUser(request, 'sinjsrec');
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
  await expect(page).toHaveURL(/\/login\/2fa\?error=invalid_credentials$/);
  await expect(page.getByRole('alert')).toHaveText(CODE_REFUSED);
  // Another, unused, one still works (typed in capitals, as from paper).
  await sendCode(page, recovery[1].toUpperCase());
  await expect(page).toHaveURL(ON_HOME);
});
