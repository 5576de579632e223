// The GraphQL request body cap (GRAPHQL_MAX_BODY_BYTES) as yoga's maxRequestBodySize applies it (a
// Content-Length over it, or a body growing past it, is a 413), for every request but a multipart
// upload: uploads.ts bounds those part by part (operations and map by this cap, the file by the largest
// upload kind), so an upload of a few MB is not refused for its body being over 1 MiB.
import { createGraphQLError, type Plugin } from "graphql-yoga";

export const isMultipart = (request: Request) => /^multipart\/form-data\b/i.test(request.headers.get("content-type") ?? "");

const tooLarge = () => createGraphQLError("Request body too large", { extensions: { code: "REQUEST_ENTITY_TOO_LARGE", http: { status: 413 } } });

type ParsePayload = Parameters<NonNullable<Plugin["onRequestParse"]>>[0];

/**
 * For an onRequestParse hook running after the request parsers are chosen: throws for a declared
 * length over the cap; answers the parser to use (the chosen one, counting the bytes it reads).
 */
export function limitRequestBody({ request, requestParser, fetchAPI }: ParsePayload, maxBytes: number): ParsePayload["requestParser"] {
  if (isMultipart(request)) return requestParser;
  const length = request.headers.get("content-length");
  if (length !== null) {
    if (!/^\d+$/.test(length)) {
      throw createGraphQLError("Content-Length header is invalid.", { extensions: { code: "BAD_REQUEST", http: { status: 400 } } });
    }
    if (Number(length) > maxBytes) throw tooLarge();
  }
  if (!requestParser || !request.body) return requestParser;
  // No length, or one that lies: count the bytes as they come.
  const parse = requestParser;
  return (req) => {
    let read = 0;
    const Transform = req.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
    const body = req.body!.pipeThrough(
      new Transform({
        transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) {
          read += chunk.byteLength;
          if (read > maxBytes) return controller.error(tooLarge());
          controller.enqueue(chunk);
        },
      }),
    );
    return parse(new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, signal: req.signal, body, duplex: "half" } as RequestInit));
  };
}
