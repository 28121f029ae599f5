import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const units = readdirSync('systemd').filter((f) => f.endsWith('.service'));

t.test('every unit passes systemd-analyze security with exposure <= 2.0', async (t) => {
  t.ok(units.length > 0, 'there are units');
  execFileSync('systemd-analyze', ['--version']);
  for (const unit of units) {
    const result = spawnSync('systemd-analyze', ['security', '--offline=yes', '--threshold=20', join('systemd', unit)], { encoding: 'utf8' });
    const exposure = Number(/Overall exposure level for [^:]+: ([0-9.]+)/.exec(result.stdout)?.[1]);
    t.ok(exposure <= 2.0, `${unit}: exposure ${exposure}`);
    t.equal(result.status, 0, `${unit}: systemd-analyze accepts it at threshold 20`);
  }
});

t.test('units keep what Node and brainstack need', async (t) => {
  t.ok(units.includes('brainstack.service') && units.includes('brainstack-guard@.service'), 'the ticket service and guard units exist');
  for (const unit of units) {
    const text = readFileSync(join('systemd', unit), 'utf8');
    t.notMatch(text, /^MemoryDenyWriteExecute=yes/m, `${unit}: Node's JIT needs writable+executable memory`);
    t.match(text, /^UMask=0077$/m, `${unit}: files private by default`);
    if (/ExecStart=.* serve /.test(text)) t.match(text, /^StateDirectory=/m, `${unit}: state under StateDirectory`);
    t.match(text, /^(User=brainstack|DynamicUser=yes)$/m, `${unit}: its own user`);
    t.notMatch(text, /^CapabilityBoundingSet=.*CAP_SYS_ADMIN/m, `${unit}: no CAP_SYS_ADMIN`);
  }
});
