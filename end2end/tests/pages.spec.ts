// The main flow of the officers, users, audit, feedback and notes pages with JavaScript, and
// the assignment editor of the task page.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, OFFICER_EMAIL, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';

test('a supervisor assigns the nearest officer from the assignment editor', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByRole('row').filter({ hasText: 'Recorrida Bosques de Palermo' }).getByRole('link').click();
  const editor = page.locator('.assignment-editor');
  await expect(editor.getByRole('columnheader', { name: 'Distancia' })).toBeVisible();
  // Nearest first: the first row's distance is the smallest shown.
  const first = editor.getByRole('row').nth(1);
  await expect(first).toContainText(/\d+(,\d)? k?m/);
  const name = (await first.getByRole('cell').first().innerText()).trim();
  await first.getByRole('button', { name: /^Asignar/ }).click();
  await expect(page.locator('ul.assigned')).toContainText(name.split(' (')[0]);
  await expect(editor).not.toContainText(name);
});

test('a supervisor opens an officer and changes their status', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/efectivos');
  await expect(page.getByRole('heading', { level: 1, name: 'Efectivos' })).toBeVisible();
  await page.getByLabel('Buscar').fill('Medina');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page).toHaveURL(/q=Medina/);
  await expect(page.getByRole('table').getByRole('row')).toHaveCount(2);
  await page.getByRole('table').getByRole('row').nth(1).getByRole('link', { name: /^EF-/ }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Sofía Medina');
  await expect(page.getByRole('heading', { name: 'Tareas actuales' })).toBeVisible();
  await page.getByLabel('Nuevo estado').selectOption('off_duty');
  await page.getByRole('button', { name: 'Guardar estado' }).click();
  await expect(page.locator('.badge').first()).toHaveText('Fuera de servicio');
  await page.getByLabel('Nuevo estado').selectOption('available');
  await page.getByRole('button', { name: 'Guardar estado' }).click();
  await expect(page.locator('.badge').first()).toHaveText('Disponible');
});

test('an admin creates a user, links Telegram and issues an API token, each secret shown once', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/usuarios');
  const form = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Nuevo usuario' }) });
  await form.getByLabel('Nombre', { exact: true }).fill('Marta');
  await form.getByLabel('Apellido').fill('Quiroga');
  await form.getByLabel('DNI').fill('40999888');
  await form.getByLabel('Correo electrónico').fill('marta.quiroga@gad.local');
  await form.getByLabel('Rol').selectOption('supervisor');
  await form.getByRole('button', { name: 'Crear usuario' }).click();
  await expect(form.getByText('Contraseña generada')).toBeVisible();
  await expect(form.locator('code.secret')).toHaveText(/\S{12,}/);

  await page.getByRole('row').filter({ hasText: 'marta.quiroga@gad.local' }).getByRole('link', { name: 'Gestionar' }).click();
  await expect(page.getByRole('heading', { name: /Gestionar: Marta Quiroga/ })).toBeVisible();
  await page.getByRole('button', { name: 'Generar vínculo de Telegram' }).click();
  // The e2e server has no bot username: the page says so and gives the /start command.
  await expect(page.getByText('no está configurado')).toBeVisible();
  await expect(page.locator('code.secret').filter({ hasText: /^\/start \S+/ })).toBeVisible();

  await page.getByLabel('Nombre del token').fill('integración e2e');
  await page.getByRole('button', { name: 'Crear token de API' }).click();
  const token = page.locator('.one-time').filter({ hasText: 'Token de API' }).locator('code');
  await expect(token).toHaveText(/\S{20,}/);
  // The token works against the REST API (read-only by default).
  const me = await page.request.get('/api/v1/tasks?limit=1', {
    headers: { Authorization: `Bearer ${await token.innerText()}` },
  });
  expect(me.status()).toBe(200);

  // Role change and deactivation.
  const manage = page.locator('section').filter({ has: page.getByRole('heading', { name: /Gestionar/ }) });
  await manage.getByLabel('Rol', { exact: true }).selectOption('officer');
  await page.getByRole('button', { name: 'Cambiar rol' }).click();
  await expect(page.getByRole('row').filter({ hasText: 'marta.quiroga@gad.local' })).toContainText('Efectivo');
  await page.getByRole('button', { name: 'Desactivar' }).click();
  await expect(page.getByRole('row').filter({ hasText: 'marta.quiroga@gad.local' })).toContainText('Inactivo');
});

test('the audit page shows an intact chain, filters and a CSV link with the filter', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/auditoria');
  await expect(page.getByRole('status')).toContainText('Cadena íntegra');
  await page.getByLabel('Acción').fill('auth.login');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page).toHaveURL(/action=auth\.login/);
  const rows = page.getByRole('table').getByRole('row');
  await expect(rows.nth(1)).toContainText('auth.login');
  for (const row of (await rows.all()).slice(1)) await expect(row).toContainText('auth.login');
  const href = await page.getByRole('link', { name: 'Exportar CSV' }).getAttribute('href');
  expect(href).toContain('action=auth.login');
  const csv = await page.request.get(href!);
  expect(csv.status()).toBe(200);
  expect(await csv.text()).toContain('auth.login');
});

test('the backups page is in the admin menu and says what is recorded, in Spanish', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto('/');
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Respaldos' }).click();
  await expect(page).toHaveURL(/\/respaldos$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Respaldos' })).toBeVisible();
  // The test server has taken no backup: the page says so and how to start.
  await expect(page.locator('#backups-summary')).toContainText('Todavía no hay copias de seguridad registradas');
  await expect(page.getByText('Sin copias registradas.')).toBeVisible();
  await expect(page.getByText('Sin simulacros registrados.')).toBeVisible();
});

test('a supervisor reviews and resolves feedback', async ({ page }) => {
  await login(page, OFFICER_EMAIL, DEMO_PASSWORD);
  const sent = await page.request.post('/api/v1/feedback', {
    data: { text: 'El mapa del panel es lento al cargar (e2e)' },
  });
  expect(sent.status()).toBe(201);
  // Leave the live page first, so nothing it still loads meets the closed session.
  await page.goto('about:blank');
  await page.context().clearCookies();

  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/comentarios');
  const row = page.getByRole('row').filter({ hasText: 'lento al cargar (e2e)' });
  await expect(row).toContainText('Nueva');
  await expect(row).toContainText('Negativo');
  await row.getByRole('button', { name: 'Revisar' }).click();
  await expect(row).toContainText('En revisión');
  await row.getByRole('button', { name: 'Resolver' }).click();
  await expect(row).toContainText('Resuelta');
  await page.getByRole('link', { name: 'Resuelta' }).click();
  await expect(page).toHaveURL(/status=resolved/);
  await expect(page.getByRole('row').filter({ hasText: 'lento al cargar (e2e)' })).toBeVisible();
});

test('notes are private: a supervisor writes one that an officer never sees', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/notas');
  await page.getByLabel('Nueva nota').fill('Relevo del turno noche sin novedades (e2e)');
  await page.getByRole('button', { name: 'Guardar nota' }).click();
  await expect(page.locator('.note').first()).toContainText('Relevo del turno noche sin novedades (e2e)');
  await expect(page.getByLabel('Nueva nota')).toBeVisible();
  // Leave the live page first, so nothing it still loads meets the closed session.
  await page.goto('about:blank');
  await page.context().clearCookies();

  await login(page, OFFICER_EMAIL, DEMO_PASSWORD);
  await page.goto('/notas');
  await expect(page.getByRole('heading', { level: 1, name: 'Notas' })).toBeVisible();
  await expect(page.getByText('Relevo del turno noche')).toHaveCount(0);
});

test.describe('refused pages', () => {
  // The refused server functions answer 403, which Chromium logs as a failed resource load.
  test.use({ allowedConsoleErrors: [/status of 403/] });

  test('an officer sees no users, audit, backups or feedback pages', async ({ page }) => {
    await login(page, OFFICER_EMAIL, DEMO_PASSWORD);
    for (const path of ['/usuarios', '/auditoria', '/respaldos', '/comentarios', '/efectivos']) {
      await page.goto(path);
      await expect(page.getByRole('alert')).toContainText('No tiene permiso');
      await expect(page.getByRole('table')).toHaveCount(0);
    }
  });
});
