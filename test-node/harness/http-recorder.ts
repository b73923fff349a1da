/**
 * An HTTP proxy in front of a real server that records each request's method, path and headers
 * before forwarding it unchanged, so a test can see what a client sent (e.g. the relay's
 * `X-Edge-*` headers) while the real server still answers.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface HttpRecorder {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startHttpRecorder(targetUrl: string): Promise<HttpRecorder> {
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers });
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === "string" && name !== "host" && name !== "connection") headers.set(name, value);
      }
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      fetch(`${targetUrl}${request.url ?? "/"}`, { method: request.method, headers, ...(body !== undefined ? { body } : {}) }).then(
        async (upstream) => {
          const out = Buffer.from(await upstream.arrayBuffer());
          const answer: Record<string, string> = {};
          upstream.headers.forEach((value, name) => {
            if (name !== "content-length" && name !== "content-encoding" && name !== "transfer-encoding") answer[name] = value;
          });
          response.writeHead(upstream.status, answer);
          response.end(out);
        },
        () => {
          response.writeHead(502);
          response.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
