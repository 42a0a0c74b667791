import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The REST contract, read from ../shared/API.md beside the repository when it is there
 * (a developer's checkout), else from docs/API.md, the copy committed with the code
 * (a clone on its own). test/openapi.e2e-spec.ts checks that the two are the same.
 */
export const SHARED_CONTRACT_PATH = join(__dirname, '..', '..', '..', 'shared', 'API.md');
export const COMMITTED_CONTRACT_PATH = join(__dirname, '..', '..', 'docs', 'API.md');

export function readContract(): string {
  return readFileSync(existsSync(SHARED_CONTRACT_PATH) ? SHARED_CONTRACT_PATH : COMMITTED_CONTRACT_PATH, 'utf8');
}

export interface ContractRoute {
  method: string;
  /** OpenAPI form: `/users/{id}/roles`, without the query string. */
  path: string;
  query: string[];
  bearer: boolean;
  role: string | null;
  /**
   * Body fields, `null` for "none"; `required` is false for `name?`, fields the cookie may
   * replace, and fields of one alternative only (`{ a, b }` or `{ a, c }`: a required, b and c not).
   */
  body: Array<{ name: string; required: boolean }> | null;
  successStatus: number;
  successCell: string;
  failureStatuses: number[];
  /** The routes of its row ("method path"): a row naming two routes shares one failures cell between them. */
  row: string[];
}

/** The rows of the "## Routes" table; a row naming two routes (`GET /docs`, `GET /docs-json`) gives two. */
export function contractRoutes(contract = readContract()): ContractRoute[] {
  const section = contract.split(/^## Routes$/m)[1].split(/^## /m)[0];
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  return rows.flatMap((row) => {
    const [routes, auth, body, success, failures] = row.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
    const statuses = (cell: string) => [...cell.matchAll(/`(\d{3})\b/g)].map((match) => Number(match[1]));
    const named = [...routes.matchAll(/`([A-Z]+) ([^`]+)`/g)];
    const key = ([, method, target]: RegExpMatchArray) => `${method.toLowerCase()} ${target.split('?')[0].replace(/:(\w+)/g, '{$1}')}`;
    // `200` array of passkeys; `204`: one status per route of the row, in its order.
    const successStatuses = statuses(success);
    const perRoute = named.length > 1 && successStatuses.length === named.length;
    return named.map((match, index) => {
      const [, method, target] = match;
      const [path, queryString] = target.split('?');
      return {
        method: method.toLowerCase(),
        path: path.replace(/:(\w+)/g, '{$1}'),
        query: queryString ? [...new URLSearchParams(queryString).keys()] : [],
        bearer: auth.startsWith('Bearer'),
        role: /role `(\w+)`/.exec(auth)?.[1] ?? null,
        body: body === 'none' ? null : bodyFields(body),
        successStatus: successStatuses[perRoute ? index : 0] ?? 200, // the docs rows name no status
        successCell: success,
        failureStatuses: statuses(failures),
        row: named.map(key),
      };
    });
  });
}

/** A body cell: one shape, or alternatives (`{ a, b }` or `{ a, c }`), optionally "or the cookie". */
function bodyFields(cell: string): Array<{ name: string; required: boolean }> {
  const shapes = cell.split('`').filter((part) => part.startsWith('{')).map((shape) => fieldsOf(shape, cell.includes('or the cookie')));
  const names = [...new Set(shapes.flat().map((field) => field.name))];
  return names.map((name) => ({ name, required: shapes.every((shape) => shape.some((field) => field.name === name && field.required)) }));
}

/** Top-level field names of `{ a, b?, c: [...] }`: `b?` is optional, and all are when `optional`. */
export function fieldsOf(shape: string, optional = false): Array<{ name: string; required: boolean }> {
  let depth = 0;
  let top = '';
  for (const char of shape.trim().slice(1, -1)) {
    if ('[{'.includes(char)) depth += 1;
    if (']}'.includes(char)) depth -= 1;
    else if (depth === 0) top += char;
  }
  return top
    .split(',')
    .map((part) => /^\s*(\w+)(\?)?/.exec(part))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, name, question]) => ({ name, required: !question && !optional }));
}

/** The field names of the contract's user object and token response. */
export function contractShapes(contract = readContract()): { user: string[]; tokenResponse: string[] } {
  const user = /A user object is `(\{[^`]+\})`/.exec(contract)![1];
  const tokenJson = /## Token response[\s\S]*?```json\n([\s\S]*?)```/.exec(contract)![1];
  return {
    user: fieldsOf(user).map((field) => field.name),
    tokenResponse: fieldsOf(tokenJson.replace(/"/g, '').replace(/\s+/g, ' ')).map((field) => field.name),
  };
}
