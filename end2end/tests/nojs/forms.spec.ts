// The task form, the task filters and the notes without JavaScript: plain HTML forms and
// redirects. A refused task form comes back with what was typed and the field errors.
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../../e2e-env';
import { expect, login, taskRows, test } from '../fixtures';

test('a supervisor creates and edits a task without JavaScript', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/tareas/nueva');
  await page.getByLabel('Título').fill('Operativo sin JS (e2e)');
  await page.getByLabel('Tipo').selectOption('surveillance');
  await page.getByLabel('Latitud').fill('-34.6');
  await page.getByRole('button', { name: 'Crear tarea' }).click();
  // Back on the form: values kept, the error under its field; nothing typed in the URL.
  await expect(page).toHaveURL(/\/tareas\/nueva$/);
  await expect(page.locator('#tf-lon-error')).toContainText('latitud y la longitud');
  await expect(page.getByLabel('Título')).toHaveValue('Operativo sin JS (e2e)');
  await expect(page.getByLabel('Tipo')).toHaveValue('surveillance');
  await expect(page.getByLabel('Latitud')).toHaveValue('-34.6');

  await page.getByLabel('Longitud').fill('-58.38');
  await page.getByLabel('Inicio programado').fill('2030-05-01T08:00');
  await page.getByLabel('Fin programado').fill('2030-05-01T12:00');
  await page.getByRole('button', { name: 'Crear tarea' }).click();
  await expect(page).toHaveURL(/\/tareas\/\d+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Operativo sin JS (e2e)');
  await expect(page.getByText('01/05/2030 08:00')).toBeVisible();

  await page.getByRole('link', { name: 'Editar' }).click();
  await expect(page.getByLabel('Inicio programado')).toHaveValue('2030-05-01T08:00');
  await page.getByLabel('Título').fill('Operativo sin JS editado (e2e)');
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await expect(page).toHaveURL(/\/tareas\/\d+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Operativo sin JS editado (e2e)');
});

test('the task filters work as a plain GET form', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.getByLabel('Estado').selectOption('scheduled');
  await page.getByRole('button', { name: 'Filtrar' }).click();
  await expect(page).toHaveURL(/status=scheduled/);
  await expect(taskRows(page).first()).toBeVisible();
  for (const row of await taskRows(page).all()) await expect(row).toContainText('Programada');
});

test('a note is written without JavaScript', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await page.goto('/notas');
  await page.getByLabel('Nueva nota').fill('Nota sin JavaScript (e2e)');
  await page.getByRole('button', { name: 'Guardar nota' }).click();
  await expect(page).toHaveURL(/\/notas$/);
  await expect(page.locator('.note').first()).toContainText('Nota sin JavaScript (e2e)');
});

test('a broadcast is sent without JavaScript and an empty one is refused in Spanish', async ({ page }) => {
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  const group = `guardia-nojs-${Date.now()}`;
  const res = await page.request.post('/api/fn/create_telegram_group', {
    form: { name: group, chat_id: '-1001987654321' },
    headers: { Accept: 'application/json' },
  });
  expect(res.ok(), await res.text()).toBeTruthy();
  await page.goto('/difusion');
  await page.getByLabel('Grupo', { exact: true }).selectOption({ label: group });
  await page.getByLabel('Mensaje').fill('Prueba de difusión sin JavaScript (e2e)');
  await page.getByRole('button', { name: 'Enviar difusión' }).click();
  await expect(page).toHaveURL(/\/difusion\?enviado=1$/);
  await expect(page.getByRole('row').filter({ hasText: group })).toContainText('Pendiente');

  await page.getByLabel('Grupo', { exact: true }).selectOption({ label: group });
  await page.getByLabel('Mensaje').fill('   ');
  await page.getByRole('button', { name: 'Enviar difusión' }).click();
  await expect(page).toHaveURL(/\/difusion\?error=validation$/);
  await expect(page.getByRole('alert')).toContainText('escriba el mensaje');
});
