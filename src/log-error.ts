// What an error log line may say about an error. A query error's message carries its SQL and bound parameters
// (a presented key's hash, a tenant's data), so for database errors only the class, the code and which statement
// failed are kept; the statement is named by its verb and table, never by its text or parameters.

const SQLITE_CODE = /\bSQLITE_[A-Z_]+/;
const D1_CODE = /\bD1_[A-Z_]+/;
// The verb and the first table it names: `select … from t`, `insert into t`, `update t`, `delete from t`. It reads
// our own SQL, never a client's text (its lazy runs could retry at each later "from").
const STATEMENT = /^\s*(?:(select|delete)\b[\s\S]*?\bfrom|(insert)\b[\s\S]*?\binto|(update))\s+["`]?(\w+)/i;
const MESSAGE_MAX = 300;
const STACK_MAX = 2000;

interface QueryError extends Error {
  query: string;
  params: unknown[];
}

function isQueryError(err: unknown): err is QueryError {
  return err instanceof Error && typeof (err as Partial<QueryError>).query === "string" && "params" in err;
}

/** An error of a statement or batch that says which one it was (a D1 batch error names none of its statements). */
class NamedStatementError extends Error {
  readonly statement: string;

  constructor(statement: string, cause: unknown) {
    super(`${statement} failed`, { cause });
    this.statement = statement;
  }
}

/** Runs `work`, naming it in the error log line if it fails. */
export async function naming<T>(statement: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new NamedStatementError(statement, err);
  }
}

export interface LoggedError {
  error_class: string;
  error_code?: string;
  statement?: string;
  error?: string;
  stack?: string;
}

/** `stack` only where an unexpected error needs it to be found (it names source files, nothing of the request). */
export function loggedError(err: unknown, { stack = false } = {}): LoggedError {
  let statement: string | undefined;
  let root = err;
  if (root instanceof NamedStatementError) {
    statement = root.statement;
    root = root.cause;
  }
  // drizzle wraps the driver's error (its `cause`) in one that quotes the query and its parameters.
  for (let depth = 0; depth < 5 && isQueryError(root); depth++) {
    const match = STATEMENT.exec(root.query);
    statement ??= match ? `${(match[1] ?? match[2] ?? match[3])!.toLowerCase()} ${match[4]}` : "query";
    root = root.cause;
  }
  const error_class = root instanceof Error ? root.constructor.name || root.name : typeof root;
  const message = root instanceof Error ? root.message : String(root);
  const code = (SQLITE_CODE.exec(message) ?? D1_CODE.exec(message))?.[0];
  if (statement !== undefined || code !== undefined) {
    return { error_class, ...(code ? { error_code: code } : {}), ...(statement ? { statement } : {}) };
  }
  return {
    error_class,
    error: message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX)}…` : message,
    ...(stack && root instanceof Error && root.stack ? { stack: root.stack.slice(0, STACK_MAX) } : {}),
  };
}
