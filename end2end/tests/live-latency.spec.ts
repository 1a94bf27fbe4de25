// Benchmark, not a test: time from a REST status change to the change visible on an open
// overview. Skipped unless GAD_BENCH=1 (scripts/bench.sh --dashboard runs it); the figures go
// to docs/PERFORMANCE.md, never into an assertion.
//
// The page itself calls POST /api/v1/tasks/{id}/transitions (its session is a REST caller)
// and a MutationObserver notes when the newest entry of the activity feed changes, both on
// the page's performance.now() clock: REST call start → SSE event → refetch → DOM.
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../e2e-env';
import { expect, login, test } from './fixtures';
import { createTask, uniqueTitle, waitLive } from './live-helpers';

const CHANGES = Number(process.env.GAD_BENCH_CHANGES ?? 50);

test('bench: REST status change → visible on the overview', async ({ page }, testInfo) => {
  test.skip(!process.env.GAD_BENCH, 'benchmark: run with GAD_BENCH=1');
  test.setTimeout(180_000);
  await login(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  const id = await createTask(page, uniqueTitle('Medición'));
  expect((await page.request.post(`/api/v1/tasks/${id}/transitions`, { data: { to: 'in_progress' } })).status()).toBe(200);
  await page.goto('/');
  await waitLive(page);
  const samples: number[] = await page.evaluate(
    async ({ id, n }) => {
      const newest = () => document.querySelector('.feed-list li')?.getAttribute('data-activity');
      const out: number[] = [];
      const status = (await (await fetch(`/api/v1/tasks/${id}`)).json()).status;
      let to = status === 'paused' ? 'in_progress' : 'paused';
      for (let i = 0; i < n; i++) {
        const before = newest();
        const seen = new Promise<number>((resolve) => {
          const observer = new MutationObserver(() => {
            const now = newest();
            if (now && now !== before) {
              observer.disconnect();
              resolve(performance.now());
            }
          });
          observer.observe(document.body, { subtree: true, childList: true, attributes: true });
        });
        const start = performance.now();
        const response = await fetch(`/api/v1/tasks/${id}/transitions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ to }),
        });
        if (!response.ok) throw new Error(`transition answered ${response.status}`);
        out.push((await seen) - start);
        to = to === 'paused' ? 'in_progress' : 'paused';
        await new Promise((r) => setTimeout(r, 100));
      }
      return out;
    },
    { id, n: CHANGES },
  );
  const sorted = [...samples].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const line = `REST change → visible: n=${sorted.length} p50=${pct(50).toFixed(1)} ms p90=${pct(90).toFixed(1)} ms p99=${pct(99).toFixed(1)} ms max=${sorted[sorted.length - 1].toFixed(1)} ms`;
  console.log(line);
  await testInfo.attach('latency', { body: JSON.stringify({ samples }), contentType: 'application/json' });
});
