import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger, rankLogName } from '../../src/runner/logging/logger.js';
import { tempDir } from './helpers.js';

describe('Logger per rank', () => {
  test('rank 0 keeps mmcv\'s file name; other ranks add their rank', () => {
    expect(rankLogName('20261128_120000', 0)).toBe('20261128_120000.log');
    expect(rankLogName('20261128_120000', 3)).toBe('20261128_120000.rank3.log');
  });

  test.each([0, 1])('rank %i writes every level to its file; only rank 0 writes INFO and WARNING to the console', (rank) => {
    const file = join(tempDir(), rankLogName('t', rank));
    const console: string[] = [];
    const log = new Logger(file, rank, 'mmselfsup', (l) => console.push(l));
    log.info('hello');
    log.warning('careful');
    log.error('broken');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split(' - ').slice(2).join(' - '))).toEqual(['INFO - hello', 'WARNING - careful', 'ERROR - broken']);
    expect(console.map((l) => l.split(' - ')[2])).toEqual(rank === 0 ? ['INFO', 'WARNING', 'ERROR'] : ['ERROR']);
  });
});
