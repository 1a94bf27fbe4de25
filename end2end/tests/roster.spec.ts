// Shifts and leave (/turnos) with JavaScript: the week calendar with its gaps, a 12×36 pattern
// planned and a shift removed, leave registered and a request approved; an officer's own view.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { dayIn, mondayOf } from './roster-helpers';

// Refusals answer 400 (a wrong code, an overlapping shift): the browser logs them.
test.use({ allowedConsoleErrors: [/status of 400/] });

test('a supervisor plans a 12×36 pattern, removes a shift and decides leave', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Turnos' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Turnos y licencias' })).toBeVisible();
  // The demo: six officers on a 12-hour day shift; the nights are uncovered.
  const week = page.locator('#roster-week-table');
  // (Other tests add officers meanwhile: the demo's six are there, each on shift.)
  for (const code of ['EF-001', 'EF-002', 'EF-003', 'EF-004', 'EF-005', 'EF-006']) {
    await expect(week.locator('tbody tr', { hasText: code })).toHaveCount(1);
  }
  await expect(week.locator('tr.coverage td.gap').first()).toContainText('–');
  await expect(week.locator('tbody tr', { hasText: 'EF-001' }).locator('th .badge')).toHaveText('De turno');

  // Three weeks on, after the demo's shifts: a 12×36 pattern for EF-003 from Monday 08:00.
  const monday = mondayOf(dayIn(21));
  await page.getByLabel('Semana de').fill(monday);
  await page.getByRole('button', { name: 'Ver semana' }).click();
  await expect(page).toHaveURL(new RegExp(`semana=${monday}`));
  await page.getByLabel('Efectivo', { exact: true }).first().selectOption({ label: 'EF-003 · Diego Ferreyra' });
  await page.getByLabel(/^Inicio/).fill(`${monday}T08:00`);
  await page.getByLabel('Horas de turno').fill('12');
  await page.getByLabel('Esquema').selectOption('12x36');
  const sunday = new Date(new Date(`${monday}T12:00:00Z`).getTime() + 6 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('Repetir hasta (día)').fill(sunday);
  await page.getByRole('button', { name: 'Cargar turnos' }).click();
  await expect(page.getByRole('status')).toHaveText('4 turnos cargados.');
  const ef3 = week.locator('tbody tr', { hasText: 'EF-003' });
  await expect(ef3.locator('.shift')).toHaveText(['08:00–20:00', '08:00–20:00', '08:00–20:00', '08:00–20:00']);
  await expect(ef3.locator('td').nth(1)).toBeEmpty();
  // The same again overlaps: refused with the reason (the page came back with the week).
  await page.getByLabel('Efectivo', { exact: true }).first().selectOption({ label: 'EF-003 · Diego Ferreyra' });
  await page.getByLabel(/^Inicio/).fill(`${monday}T08:00`);
  await page.getByRole('button', { name: 'Cargar turnos' }).click();
  await expect(page.getByRole('alert')).toContainText('Se superpone con un turno ya cargado de EF-003');
  // Remove Monday's.
  await ef3.getByRole('button', { name: 'Quitar el turno 08:00–20:00 de EF-003' }).first().click();
  await expect(page.getByRole('status')).toHaveText('Turnos quitados: 1.');
  await expect(ef3.locator('.shift')).toHaveCount(3);
  // The CSV of the week.
  await expect(page.getByRole('link', { name: 'Descargar CSV' })).toHaveAttribute('href', `/api/v1/roster.csv?week=${monday}`);
  const csv = await page.request.get(`/api/v1/roster.csv?week=${monday}`);
  expect(await csv.text()).toContain(`EF-003,Diego Ferreyra,`);

  // Leave for EF-005 on Tuesday: registered approved, shown in its cell.
  const tuesday = new Date(new Date(`${monday}T12:00:00Z`).getTime() + 86_400_000).toISOString().slice(0, 10);
  // Picked by its code: the security test renames EF-005 for a while, maybe meanwhile.
  const leaveOfficer = page.getByLabel('Efectivo', { exact: true }).nth(1);
  const ef5 = await leaveOfficer.locator('option', { hasText: /^EF-005 · / }).getAttribute('value');
  await leaveOfficer.selectOption(ef5!);
  await page.getByLabel('Tipo').selectOption('day_off');
  await page.getByLabel('Primer día').fill(tuesday);
  await page.getByLabel('Último día').fill(tuesday);
  await page.getByRole('button', { name: 'Registrar licencia' }).click();
  await expect(page.getByRole('status')).toHaveText('Licencia de EF-005 registrada (aprobada).');
  await expect(week.locator('tbody tr', { hasText: 'EF-005' }).locator('td').nth(1)).toContainText('Franco (aprobada)');

  // The demo's pending request (EF-004, training): approved from the list.
  const pending = page.locator('#leave-table tbody tr', { hasText: 'EF-004' });
  await pending.getByRole('button', { name: /^Aprobar la licencia de EF-004/ }).click();
  await expect(page.getByRole('status')).toHaveText('Licencia de EF-004: aprobada.');
  await expect(page.locator('#leave-table tbody tr', { hasText: 'EF-004' })).toHaveCount(0);
});

test('an officer sees their shifts and requests leave', async ({ page }) => {
  await login(page, 'efectivo6@gad.local', DEMO_PASSWORD);
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Turnos' }).click();
  await expect(page.getByRole('heading', { name: /Mis turnos de los próximos 14 días/ })).toBeVisible();
  await expect(page.locator('.my-shifts li')).toHaveCount(14);
  // The demo's approved vacation.
  await expect(page.locator('#leave-table')).toContainText('Vacaciones');
  await page.getByLabel('Tipo').selectOption('training');
  await page.getByLabel('Primer día').fill(dayIn(40));
  await page.getByLabel('Último día').fill(dayIn(41));
  await page.getByLabel('Motivo (opcional)').fill('Curso de primeros auxilios');
  await page.getByRole('button', { name: 'Solicitar licencia' }).click();
  await expect(page.getByRole('status')).toHaveText('Licencia de EF-006 registrada (solicitada).');
  const row = page.locator('#leave-table tbody tr', { hasText: 'Curso de primeros auxilios' });
  await expect(row).toContainText('Solicitada');
  await row.getByRole('button', { name: /^Anular la licencia/ }).click();
  await expect(page.getByRole('status')).toHaveText('Licencia de EF-006: anulada.');
  await expect(page.locator('#leave-table tbody tr', { hasText: 'Curso de primeros auxilios' })).toContainText('Anulada');
});
