// Days of the roster tests, in Buenos Aires (the server's zone).

/** `yyyy-mm-dd` of today + `days` in Buenos Aires (the server's zone). */
export function dayIn(days: number): string {
  const at = new Date(Date.now() + days * 86_400_000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Argentina/Buenos_Aires' }).format(at);
}

/** The Monday of the week of `day` (`yyyy-mm-dd`). */
export function mondayOf(day: string): string {
  const d = new Date(`${day}T12:00:00Z`);
  const back = (d.getUTCDay() + 6) % 7;
  return new Date(d.getTime() - back * 86_400_000).toISOString().slice(0, 10);
}
