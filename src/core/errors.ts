// The one family of domain errors. Codes and statuses are Dify's (behaviour.md 1.3), so the REST
// layer writes them as they are and the GraphQL layer exposes them as typed errors.

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  /** The offending field, where Dify adds `params` to a 400. */
  readonly params?: string;

  constructor(code: string, status: number, message: string, params?: string) {
    super(message);
    this.name = "AppError";
    this.code = code;
    this.status = status;
    this.params = params;
  }
}

export const unauthorized = (message: string) => new AppError("unauthorized", 401, message);
export const notFound = (message = "The requested URL was not found on the server.") => new AppError("not_found", 404, message);
export const badRequest = (message: string) => new AppError("bad_request", 400, message);
export const forbidden = (message = "You don't have the permission to access the requested resource.") =>
  new AppError("forbidden", 403, message);
export const invalidParam = (message: string, params?: string) => new AppError("invalid_param", 400, message, params);
export const appUnavailable = (message = "App unavailable, please check your app configurations.") =>
  new AppError("app_unavailable", 400, message);
