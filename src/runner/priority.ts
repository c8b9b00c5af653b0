/** Hook priorities, names and values as mmcv's `Priority` enum (lower runs first). */
export const PRIORITIES = {
  HIGHEST: 0,
  VERY_HIGH: 10,
  HIGH: 30,
  ABOVE_NORMAL: 40,
  NORMAL: 50,
  BELOW_NORMAL: 60,
  LOW: 70,
  VERY_LOW: 90,
  LOWEST: 100,
} as const;

export type PriorityName = keyof typeof PRIORITIES;

/** Accepts a name (`'HIGH'`, case-insensitive) or a number in [0, 100], as mmcv's `get_priority`. */
export function getPriority(priority: number | string): number {
  if (typeof priority === 'number') {
    if (!Number.isInteger(priority) || priority < 0 || priority > 100) {
      throw new RangeError(`priority must be an integer between 0 (highest) and 100 (lowest), got ${priority}`);
    }
    return priority;
  }
  const value = (PRIORITIES as Record<string, number>)[priority.toUpperCase()];
  if (value === undefined) {
    throw new RangeError(`unknown priority "${priority}"; use one of ${Object.keys(PRIORITIES).join(', ')} or 0..100`);
  }
  return value;
}

/** The enum name of a value, or the number itself (for printing hook order). */
export function priorityName(value: number): string {
  const entry = Object.entries(PRIORITIES).find(([, v]) => v === value);
  return entry ? entry[0] : String(value);
}
