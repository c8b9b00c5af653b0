/** Python `f'{x:.3e}'`: `3.000e-01` (two-digit exponent with sign). */
export function pyExp(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x).toLowerCase().replace('infinity', 'inf');
  const [mant, exp] = x.toExponential(digits).split('e');
  const e = Number(exp);
  return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** Python `str(datetime.timedelta(seconds=int(s)))`: `1 day, 2:03:04` / `0:05:00`. */
export function pyTimedelta(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  return days > 0 ? `${days} day${days > 1 ? 's' : ''}, ${hms}` : hms;
}

/** mmcv `_round_float`: floats rounded to 5 decimals for the JSON log. */
export function round5(x: number): number {
  return Number.isInteger(x) ? x : Math.round(x * 1e5) / 1e5;
}
