import { config as loadDotenv } from 'dotenv';
import { ConfigError, loadConfig, type Config } from '../core/config.ts';
import { createDatabase, type DatabaseHandle } from '../core/db/database.ts';
import { createLogger, type Logger } from '../core/logging/logger.ts';

/** Config, logger and database for a command-line tool; exits 1 with the reason when config is bad. */
export async function openToolContext(): Promise<{ config: Config; logger: Logger; database: DatabaseHandle }> {
  loadDotenv({ quiet: true });
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ level: 'info', file: config.log.file });
  const database = await createDatabase({ ...config.database, logQueries: false }, logger);
  return { config, logger, database };
}
