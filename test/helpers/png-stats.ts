import sharp from 'sharp';

export interface PngStats {
  width: number;
  height: number;
  /** Variance of the grey level (0 for a blank image). */
  variance: number;
  /** Distinct RGB colours among the pixels. */
  distinctColours: number;
  /** Pixels darker than 96/255 on every channel (text and axes; chart colours are lighter). */
  darkPixels: number;
}

/** Decodes a PNG with sharp and summarises what a person would see: size, blankness, colours, ink. */
export async function pngStats(png: Uint8Array, region?: { left: number; top: number; width: number; height: number }): Promise<PngStats> {
  let img = sharp(png).removeAlpha();
  if (region) img = img.extract(region);
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  let sum = 0;
  let sq = 0;
  let dark = 0;
  const colours = new Set<number>();
  for (let i = 0; i < n; i++) {
    const r = data[i * info.channels];
    const g = data[i * info.channels + 1];
    const b = data[i * info.channels + 2];
    const grey = (r + g + b) / 3;
    sum += grey;
    sq += grey * grey;
    if (r < 96 && g < 96 && b < 96) dark++;
    colours.add((r << 16) | (g << 8) | b);
  }
  const mean = sum / n;
  return { width: info.width, height: info.height, variance: sq / n - mean * mean, distinctColours: colours.size, darkPixels: dark };
}
