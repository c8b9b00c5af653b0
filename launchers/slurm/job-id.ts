/** Slurm job ids: `123`, array task `123_4`, het component `123+1`. */
export function isSlurmJobId(id: string): boolean {
  return /^\d+([_+]\d+)?$/.test(id);
}
