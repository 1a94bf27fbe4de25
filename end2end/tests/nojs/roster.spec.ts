// Shifts and leave without JavaScript: the plain forms plan a shift and register leave, and
// the server answers on the same week with the outcome.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, test } from '../fixtures';
import { dayIn, mondayOf } from '../roster-helpers';

// Refusals answer 400 (a wrong code, an overlapping shift): the browser logs them.
test.use({ allowedConsoleErrors: [/status of 400/] });

test('the roster forms work as plain HTML', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const monday = mondayOf(dayIn(35));
  await page.goto(`/turnos?semana=${monday}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Turnos y licencias' })).toBeVisible();
  await page.getByLabel('Efectivo', { exact: true }).first().selectOption({ label: 'EF-002 · Carla Benítez' });
  await page.getByLabel(/^Inicio/).fill(`${monday}T20:00`);
  await page.getByLabel('Horas de turno').fill('10');
  await page.getByRole('button', { name: 'Cargar turnos' }).click();
  await expect(page).toHaveURL(new RegExp(`/turnos\\?semana=${monday}`));
  await expect(page.getByRole('status')).toHaveText('Turno cargado.');
  const ef2 = page.locator('#roster-week-table tbody tr', { hasText: 'EF-002' });
  // 20:00 to 06:00: the night crosses into Tuesday.
  await expect(ef2.locator('td').nth(0)).toContainText('20:00–24:00');
  await expect(ef2.locator('td').nth(1)).toContainText('00:00–06:00');
  // A refusal comes back as a message too.
  await page.getByLabel('Efectivo', { exact: true }).first().selectOption({ label: 'EF-002 · Carla Benítez' });
  await page.getByLabel(/^Inicio/).fill(`${monday}T22:00`);
  await page.getByRole('button', { name: 'Cargar turnos' }).click();
  await expect(page.getByRole('alert')).toContainText('Se superpone con un turno ya cargado de EF-002');
  // Leave.
  await page.getByLabel('Efectivo', { exact: true }).nth(1).selectOption({ label: 'EF-002 · Carla Benítez' });
  await page.getByLabel('Tipo').selectOption('sick');
  await page.getByLabel('Primer día').fill(monday);
  await page.getByLabel('Último día').fill(monday);
  await page.getByRole('button', { name: 'Registrar licencia' }).click();
  await expect(page.getByRole('status')).toHaveText('Licencia de EF-002 registrada (aprobada).');
  await expect(ef2.locator('td').nth(0)).toContainText('Enfermedad (aprobada)');
});
