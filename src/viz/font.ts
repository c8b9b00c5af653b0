import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The font every chart is drawn in: DejaVu Sans from the `dejavu-fonts-ttf` dependency, handed to
 * the rasteriser as files, so a PNG has legible text on a machine with no system fonts.
 */
export const CHART_FONT_FAMILY = 'DejaVu Sans';

/** Paths of the regular and bold DejaVu Sans TTFs (titles and axis titles are bold). */
export function chartFontFiles(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return [join(dir, 'DejaVuSans.ttf'), join(dir, 'DejaVuSans-Bold.ttf')];
}
