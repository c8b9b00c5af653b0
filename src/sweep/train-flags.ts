/** `ssl train`'s flag names: a sweep's launcher_options are these flags (one list, read from the command itself). */
export async function trainFlagNames(): Promise<string[]> {
  const { default: Train } = await import('../commands/train.js');
  return Object.keys(Train.flags);
}
