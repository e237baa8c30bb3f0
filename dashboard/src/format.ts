// Private to the dashboard: how numbers and times read on the page.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const shortClock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export const formatInt = (value: number): string => integer.format(value);
export const formatDecimal = (value: number): string => decimal.format(value);
export const formatDateTime = (iso: string): string => dateTime.format(new Date(iso));
export const formatClock = (iso: string | number): string => clock.format(new Date(iso));
export const formatShortClock = (iso: string | number): string => shortClock.format(new Date(iso));

/** "in 3 d 4 h", "in 12 min", "in 40 s", "now"; "5 min ago" for the past. */
export function formatRelative(iso: string | number, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  const abs = Math.abs(ms);
  let text: string;
  if (abs < 1_000) return 'now';
  if (abs < 60_000) text = `${Math.round(abs / 1_000)} s`;
  else if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`;
  else if (abs < 86_400_000) text = `${Math.floor(abs / 3_600_000)} h ${Math.round((abs % 3_600_000) / 60_000)} min`;
  else text = `${Math.floor(abs / 86_400_000)} d ${Math.round((abs % 86_400_000) / 3_600_000)} h`;
  return ms > 0 ? `in ${text}` : `${text} ago`;
}
