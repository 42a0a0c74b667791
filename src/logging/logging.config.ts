import { registerAs } from '@nestjs/config';
import { ConfigError, env } from '../config/env';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const loggingConfig = registerAs('logging', () => {
  const level = env.string('LOG_LEVEL', 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  return { level };
});
