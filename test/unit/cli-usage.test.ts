import assert from 'node:assert/strict';
import { COMMANDS, helpFor, usageError } from '../../src/cli-usage.js';
import { isGatewayError } from '../../src/errors.js';

describe('CLI help (gateway --help, gateway <command> --help)', () => {
  it('lists every command of src/cli.ts, and gives each its own forms', () => {
    assert.deepEqual([...COMMANDS].sort(), [
      'as2',
      'audit',
      'creds',
      'docs',
      'keys',
      'mapping',
      'migrate',
      'partners',
      'replay',
      'secrets',
      'sftp',
      'start',
      'targets',
      'users',
    ]);
    for (const command of COMMANDS) {
      const help = helpFor([command, '--help']) ?? '';
      const forms = help.split('\n').filter((l) => /^ {2}\S/.test(l) && !/^ {2}\w+:/.test(l));
      assert.ok(forms.length > 0, `${command}: ${help}`);
      assert.ok(
        forms.every((l) => l.startsWith(`  ${command}`)),
        `${command} --help shows only its own forms:\n${help}`,
      );
    }
  });

  it('answers -h, help and --help before a `--`, and top level with every command', () => {
    assert.equal(helpFor(['creds', 'list']), undefined);
    assert.equal(helpFor(['mapping', 'test', '--', '--help']), undefined);
    assert.equal(helpFor(['help', 'users']), helpFor(['users', '-h']));
    assert.match(helpFor(['creds', 'list', '--help']) ?? '', /kinds: api-key/);
    assert.match(helpFor(['users', '--help']) ?? '', /roles: supplier/);
    assert.match(helpFor(['start', '-h']) ?? '', /SFTP_PORT/);
    const top = helpFor(['--help']) ?? '';
    for (const command of COMMANDS) assert.match(top, new RegExp(`^ {2}${command} `, 'm'));
  });

  it('makes an unknown command or a form that fits nothing a GW_CLI_ARGUMENT naming the help to read', () => {
    assert.throws(
      () => helpFor(['nosuch', '--help']),
      (e: unknown) => isGatewayError(e) && /"nosuch" is not a gateway command/.test(e.message),
    );
    const e = usageError('creds', ['bogus']);
    assert.equal(e.code, 'GW_CLI_ARGUMENT');
    assert.match(e.message, /`gateway creds bogus`.*`gateway creds --help`/);
  });
});
