// The track replay's fixture: an officer's positions two hours ago — a kilometre north in a
// minute, a five-minute stop within 25 m, a dash — reported through the REST API.
import type { Page } from '@playwright/test';
import { expect } from './fixtures';
import { api } from './live-helpers';

export const PATH: [number, number][] = [
  [0, -34.61], [1, -34.601], [2, -34.6012], [4, -34.6013], [6, -34.6011], [7, -34.596], [8, -34.59],
];
const LON = -58.43;

/** `at` as a `datetime-local` value in Buenos Aires (the server's zone). */
export function local(at: Date): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'America/Argentina/Buenos_Aires', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).format(at).replace(' ', 'T');
}

/** Reports the path for officer `code` (start: whole minute, `hoursAgo` back); returns the officer's id and the start. */
export async function reportPath(page: Page, code: string, hoursAgo: number): Promise<{ id: number; base: Date }> {
  const officers = (await api(page, '/officers?limit=200')).items;
  const id = officers.find((o: any) => o.code === code).id;
  const base = new Date(Math.floor(Date.now() / 60_000) * 60_000 - hoursAgo * 3_600_000);
  for (const [minute, lat] of PATH) {
    const recorded_at = new Date(base.getTime() + minute * 60_000).toISOString();
    const response = await page.request.post(`/api/v1/officers/${id}/positions`, { data: { lat, lon: LON, recorded_at } });
    expect(response.status()).toBe(201);
  }
  return { id, base };
}
