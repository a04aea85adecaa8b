import { spawnSync } from 'node:child_process';
import { ROOT } from './settings.ts';

export interface NodeBinary {
  path: string;
  version: string;
}

/**
 * The node binary a BENCH_NODE-style choice names: `24`, Node 24 LTS from the npm registry
 * (scripts/node24.sh fetches it once into .cache/node24); `machine`, the Node running the
 * bench; anything else, a path to a node binary.
 */
export function nodeBinary(choice: string): NodeBinary {
  let path = choice;
  if (choice === 'machine') path = process.execPath;
  else if (choice === '24') {
    const fetched = spawnSync('bash', [`${ROOT}scripts/node24.sh`], { encoding: 'utf8' });
    if (fetched.status !== 0) throw new Error(`scripts/node24.sh failed:\n${fetched.stderr}`);
    path = `${fetched.stdout.trim()}/node`;
  }
  const answered = spawnSync(path, ['--version'], { encoding: 'utf8' });
  if (answered.status !== 0) throw new Error(`${path} --version failed: ${answered.error?.message ?? answered.stderr}`);
  return { path, version: answered.stdout.trim() };
}
