import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from '../helpers/run-cli.js';
import { writeTree } from '../helpers/tmp-files.js';

describe('ssl train: errors name the config file the user wrote, not the resolved JSON copy', () => {
  it('an unknown neck argument set in a child config names the child YAML', () => {
    const base = join(REPO_ROOT, 'configs/selfsup/simclr/simclr_resnet18-cifar_1xb8-2it_synthetic.yaml');
    const dir = writeTree({ 'my_simclr.yaml': `_base_: ${base}\nmodel:\n  neck:\n    hid_chanels: 64\n` });
    const r = runCli(['train', join(dir, 'my_simclr.yaml'), '--work-dir', join(dir, 'wd')]);
    expect(r.status).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/NonLinearNeck does not accept the argument "hid_chanels"; did you mean hid_channels.*my_simclr\.yaml/);
    // the worker named the YAML from the resolved copy's recorded filename; a run that fails on its
    // inputs then takes that copy back, leaving the work dir as it found it (issue 23)
    expect(existsSync(join(dir, 'wd'))).toBe(false);
  });
});
