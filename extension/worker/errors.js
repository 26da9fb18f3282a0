// The worker's one error type: a code the UI can act on, a message that says how to fix it, the HTTP status.

export const FIX_START = "Start it with: make run   (or: python -m server run)";
export const FIX_PAIR = "Print the token with: python -m server token   then paste it in Reply Desk's options.";

export class Failure extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** The {code, message, status} a port message carries for an error. */
export function errorOf(err) {
  return { code: (err && err.code) || "error", message: (err && err.message) || String(err), status: err && err.status };
}
