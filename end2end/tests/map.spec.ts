// The map with JavaScript and no tiles (the test server runs with GAD_MAP_TILE_URL=none, as
// offline): markers for every officer and open task, live movement, a clicked point with the
// nearest officers, and an officer's track.
import { DEMO_PASSWORD, SUPERVISOR_EMAIL } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { api, session, uniqueTitle } from './live-helpers';

async function openMap(page: import('@playwright/test').Page) {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  await showMap(page);
}

/** From any page of a signed-in user. */
async function showMap(page: import('@playwright/test').Page) {
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Mapa' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Mapa' })).toBeVisible();
  await expect(page.locator('#gad-map')).toHaveAttribute('data-ready', 'true');
}

test('officers and open tasks are drawn offline, one marker per row of data', async ({ page }) => {
  await login(page, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  // The marker clicked below is this test's own task, at a point no other test uses or clicks
  // (north-east of the centre; the other tests click the map south-east and north-west of it).
  // Markers at one point overlap, the newest on top, and other tests create tasks where the
  // demo tasks are (task-form.spec.ts at the Obelisco, over the oldest one): a click on a
  // marker they cover is taken by theirs, and Playwright waits for it until the timeout.
  const title = uniqueTitle('Marcador del mapa');
  const created = await page.request.post('/api/v1/tasks', {
    data: { title, task_type: 'patrol', lat: -34.596, lon: -58.37 },
  });
  expect(created.status()).toBe(201);
  const task = await created.json();
  await showMap(page);
  await expect(page.getByText('Sin mapa base (modo sin conexión)')).toBeVisible();
  const officerRows = page.locator('#map-officers tbody tr');
  await expect(officerRows).toHaveCount(6);
  await expect(page.locator('path.officer-marker')).toHaveCount(6);
  // One marker per row (other tests add tasks meanwhile: the two are compared until they agree).
  const taskRows = page.locator('#map-tasks tbody tr');
  await expect(taskRows.filter({ hasText: title })).toHaveCount(1);
  await expect.poll(async () => (await page.locator('.task-marker').count()) - (await taskRows.count())).toBe(0);
  // Officers are coloured by status: the classes carry it.
  const available = (await api(page, '/officers?status=available&limit=200')).items.length;
  await expect(page.locator('path.officer-status-available')).toHaveCount(available);
  // A task marker's popup names the task and links to it.
  await page.locator(`.task-marker[title="${task.code} · ${title}"]`).click();
  const popup = page.locator('.leaflet-popup');
  await expect(popup).toContainText(`${task.code} ${title}`);
  await expect(popup.getByRole('link', { name: 'Ver tarea' })).toHaveAttribute('href', `/tareas/${task.id}`);
  // Other tasks come and go live; the popup the supervisor opened stays open.
  const other = uniqueTitle('Otra tarea en vivo');
  const second = await page.request.post('/api/v1/tasks', {
    data: { title: other, task_type: 'patrol', lat: -34.62, lon: -58.41 },
  });
  expect(second.status()).toBe(201);
  await expect(taskRows.filter({ hasText: other })).toHaveCount(1);
  await expect(popup).toContainText(`${task.code} ${title}`);
});

test('a click gives coordinates, the nearest officers and "crear emergencia aquí"', async ({ page }) => {
  await openMap(page);
  const map = page.locator('#gad-map');
  const box = (await map.boundingBox())!;
  // Away from the markers, near the centre (the Obelisco).
  await page.mouse.click(box.x + box.width / 2 + 40, box.y + box.height / 2 + 40);
  await expect(page.getByTestId('map-point')).toContainText(/Coordenadas: -34\.\d+, -58\.\d+/);
  await expect(page.getByLabel('Latitud')).toHaveValue(/^-34\.\d{6}$/);
  await expect(page.getByRole('link', { name: 'Crear emergencia aquí' }).first()).toHaveAttribute('href', /\/emergencia\?lat=-34\.\d+&lon=-58\.\d+/);

  // The Obelisco exactly: Martín Sosa (EF-001) stands there.
  await page.getByLabel('Latitud').fill('-34.6037');
  await page.getByLabel('Longitud').fill('-58.3816');
  await page.getByRole('button', { name: 'Efectivos más cercanos' }).click();
  await expect(page).toHaveURL(/\/mapa\?lat=-34\.6037&lon=-58\.3816/);
  const nearest = page.getByRole('list', { name: 'Efectivos más cercanos' }).getByRole('listitem');
  await expect(nearest.first()).toContainText('EF-001');
  await expect(nearest.first()).toContainText(' m');
  // Every officer the search finds (other tests move officers meanwhile, so not a fixed number).
  const found = await api(page, '/geo/nearest-officers?lat=-34.6037&lon=-58.3816&only_available=false&fresh_minutes=10080&limit=5');
  await expect(nearest).toHaveCount(found.length);
  await expect(page.locator('path.nearest-line')).toHaveCount(await nearest.count());
});

test('an officer moves on the map when a position arrives through the REST API', async ({ page, browser }) => {
  await openMap(page);
  await page.evaluate(() => ((window as any).__gadNoReload = true));
  const officers = (await api(page, '/officers?limit=200')).items;
  const sofia = officers.find((o: any) => o.code === 'EF-006');
  const marker = page.locator(`path.officer-${sofia.id}`);
  const before = await marker.getAttribute('d');
  // She moves to a point in the current view, which a click on the map (south-west of the
  // centre: a spot no other test clicks) gives. A marker outside the view has an empty path
  // ("M0 0"): a fixed point may lie outside it, as her last one may, and both compare equal.
  const box = (await page.locator('#gad-map').boundingBox())!;
  await page.mouse.click(box.x + box.width / 2 - 200, box.y + box.height / 2 + 150);
  await expect(page.getByLabel('Latitud')).toHaveValue(/^-34\.\d{6}$/);
  const lat = Number(await page.getByLabel('Latitud').inputValue());
  const lon = Number(await page.getByLabel('Longitud').inputValue());

  const other = await session(browser, SUPERVISOR_EMAIL, DEMO_PASSWORD);
  const reportedAt = Date.now() - 1000;
  const response = await other.context.request.post(`/api/v1/officers/${sofia.id}/positions`, {
    data: { lat, lon },
  });
  expect(response.status()).toBe(201);
  await other.context.close();

  // The row follows her newest position without a reload: ours, or the demo patrol's (it moves
  // every demo officer each minute, and may do so right after our report).
  const row = page.locator(`#map-officers tr[data-officer="${sofia.id}"]`);
  await expect
    .poll(async () => {
      const newest = (await api(page, `/officers/${sofia.id}`)).last_position;
      const text = (await row.textContent()) ?? '';
      return text.includes(Number(newest.lat).toFixed(5)) && Date.parse(newest.recorded_at) >= reportedAt;
    })
    .toBe(true);
  await expect(marker).not.toHaveAttribute('d', 'M0 0');
  await expect(marker).not.toHaveAttribute('d', before!);
  expect(await page.evaluate(() => (window as any).__gadNoReload)).toBe(true);
});

test("an officer's track is drawn for a time window", async ({ page }) => {
  await openMap(page);
  await page.getByLabel('Efectivo', { exact: true }).selectOption({ label: 'EF-004 · Lucía Romero' });
  await page.getByLabel('Período').selectOption('24');
  await page.getByRole('button', { name: 'Ver recorrido' }).click();
  await expect(page).toHaveURL(/recorrido=\d+&horas=24/);
  await expect(page.locator('.track-summary')).toContainText(/\d+ posiciones/);
  await expect(page.locator('path.track-line')).toHaveCount(1);
});

test('a task event redraws the tasks, not the page: the clicked point and the map stay', async ({ page }) => {
  await openMap(page);
  await page.evaluate(() => {
    const w = window as any;
    w.__gadNoReload = true;
    // Counts every time the page is swapped for its own "Cargando…" fallback.
    w.__pageFallbacks = 0;
    new MutationObserver(() => {
      if ([...document.querySelectorAll('p.loading')].some((p) => p.textContent === 'Cargando…')) w.__pageFallbacks++;
    }).observe(document.body, { childList: true, subtree: true });
  });
  const box = (await page.locator('#gad-map').boundingBox())!;
  await page.mouse.click(box.x + box.width / 2 - 60, box.y + box.height / 2 - 30);
  await expect(page.getByLabel('Latitud')).toHaveValue(/^-34\.\d{6}$/);
  const clicked = await page.getByLabel('Latitud').inputValue();

  // Another door creates a task on the map: the task list refetches when its event arrives.
  const title = uniqueTitle('Control en el mapa');
  const response = await page.request.post('/api/v1/tasks', {
    data: { title, task_type: 'patrol', lat: -34.6050, lon: -58.3800 },
  });
  expect(response.status()).toBe(201);
  await expect(page.locator('#map-tasks tbody tr', { hasText: title })).toHaveCount(1);

  expect(await page.evaluate(() => (window as any).__pageFallbacks)).toBe(0);
  await expect(page.getByLabel('Latitud')).toHaveValue(clicked);
  await expect(page.locator('#gad-map')).toHaveAttribute('data-ready', 'true');
  expect(await page.evaluate(() => (window as any).__gadNoReload)).toBe(true);
});
