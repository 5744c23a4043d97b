// svde tokens — API bearer tokens: add (prints the token once), list, revoke. The file holds scrypt hashes
// only, mode 0600; the running appliance notices changes within a second.
import process from 'node:process';
import { commandArgs } from './args.ts';
import { ROLES, TokenError, TokenStore, isRole } from '../api/tokens.ts';

const HELP = `usage: svde tokens add    --file FILE --role ROLE [--name NAME]
       svde tokens list   --file FILE
       svde tokens revoke --file FILE (--id ID | --name NAME)

Roles: viewer (read), operator (read, acknowledge alarms), engineer (everything), master (the control
centre: status, alarms, estimates, and POST estimates). 'add' prints the new token once; only its hash is
kept. Output is JSON.
`;

export async function tokensCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs(
    'tokens',
    HELP,
    argv,
    {
      file: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      id: { type: 'string' },
    },
    true,
  );
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.values;
  const usage = (msg: string): number => {
    process.stderr.write(`svde tokens: ${msg}\n${HELP}`);
    return 2;
  };
  const [action, ...extra] = parsed.positionals;
  if (action === undefined || !['add', 'list', 'revoke'].includes(action)) return usage('expected add, list or revoke');
  if (extra.length > 0) return usage(`unexpected argument '${extra[0]}'`);
  if (o.file === undefined) return usage('--file FILE is required');
  try {
    const store = new TokenStore(o.file);
    if (action === 'list') {
      process.stdout.write(`${JSON.stringify(store.list(), null, 1)}\n`);
      return 0;
    }
    if (action === 'revoke') {
      const key = o.id ?? o.name;
      if (key === undefined || (o.id !== undefined && o.name !== undefined))
        return usage('revoke needs exactly one of --id ID or --name NAME');
      process.stdout.write(`${JSON.stringify({ revoked: store.revoke(key) }, null, 1)}\n`);
      return 0;
    }
    if (o.role === undefined) return usage(`--role is required (${ROLES.join(', ')})`);
    if (!isRole(o.role)) return usage(`unknown role '${o.role}'; expected one of ${ROLES.join(', ')}`);
    const { token, info } = store.add(o.role, o.name);
    process.stdout.write(`${JSON.stringify({ ...info, token }, null, 1)}\n`);
    process.stderr.write('svde tokens: store the token now; it is not shown again\n');
    return 0;
  } catch (err) {
    if (err instanceof TokenError) {
      process.stderr.write(`svde tokens: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
