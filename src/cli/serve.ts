// `lastframe serve <runs or results folders>…`: the live dashboard. A read-only HTTP server on loopback (unless
// --host says otherwise) that serves the dashboard page (report/dashboard.ts), a JSON API over the run folders it
// finds below the given folders, and their files, and nothing else: no path outside the given folders (a `..`
// segment is refused with 403 before any file is looked at, and a symlink out of a folder with 403 after), no
// writes, nothing run. The page polls the API, so curves grow while runs train and new runs appear as they start.
import { closeSync, existsSync, fstatSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { createReadStream } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import { type RunSummary, runMedia, scanResults, summarizeRun } from "../experiments/collect.js";
import { UserError } from "../errors.js";
import { DASHBOARD_CSP, dashboardAssets } from "../report/dashboard.js";
import { type FlagSpecs, parseCommand, UsageError } from "./args.js";

export const serveFlags = {
  port: { type: "int", help: "TCP port (0: any free one)", default: 8765 },
  host: {
    type: "string",
    help: "address to bind; anything but loopback shows your runs to the network",
    default: "127.0.0.1",
  },
  title: { type: "string", help: "page title", default: "lastframe dashboard" },
} satisfies FlagSpecs;

const TYPES: Record<string, string> = {
  ".png": "image/png",
  ".gif": "image/gif",
  ".json": "application/json",
  ".jsonl": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".html": "text/html; charset=utf-8",
};

/** A run's files keep their own CSP (report.html has one): served files may not script this origin. */
const FILE_CSP = "default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'; sandbox";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Path segments of a URL path, decoded; `..`, `.` and segments that decode to a separator are refused. */
function segments(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.map((p) => {
    let s: string;
    try {
      s = decodeURIComponent(p);
    } catch {
      throw new HttpError(400, "bad escape in path");
    }
    if (s === ".." || s === "." || /[/\\\0]/.test(s))
      throw new HttpError(403, "path outside the served folders");
    return s;
  });
}

interface Served {
  /** The folders as given (names of runs below them when there are several), and resolved. */
  given: string[];
  roots: string[];
  /** roots[k] as the real path (symlinks resolved), for the containment check. */
  real: string[];
}

/** `k/a/b` → the file or folder a/b of roots[k], which must lie inside it after symlinks are resolved. */
function locate(served: Served, parts: string[]): string {
  const [k, ...rest] = parts;
  const i = Number(k);
  if (k === undefined || !Number.isInteger(i) || i < 0 || i >= served.roots.length)
    throw new HttpError(404, "no such folder");
  const path = resolve(served.roots[i]!, ...rest);
  if (!existsSync(path)) throw new HttpError(404, "no such file");
  const real = realpathSync(path);
  if (real !== served.real[i] && !real.startsWith(served.real[i]! + sep))
    throw new HttpError(403, "path outside the served folders");
  return path;
}

/** `k/rel`: how the API and /files/ name a run (its folder's index among the given folders, then its path). */
const runId = (k: number, root: string, run: string) =>
  [String(k), ...relative(root, run).split(sep).filter(Boolean)].join("/");
const fileUrl = (k: number, root: string, file: string) =>
  `/files/${[String(k), ...relative(root, file).split(sep)].map(encodeURIComponent).join("/")}`;

function listRuns(served: Served) {
  const runs = served.roots.flatMap((root, k) =>
    scanResults([root]).runs.map((run) => {
      const id = runId(k, root, run);
      const rel = relative(root, run);
      const name = served.roots.length > 1 ? join(served.given[k]!, rel) : rel || basename(root);
      let summary: RunSummary;
      try {
        summary = summarizeRun(run);
      } catch (err) {
        // A run whose config.json or eval.json fails its schema is listed with the reason, not dropped silently;
        // a bug still fails the poll.
        if (!(err instanceof UserError)) throw err;
        return { id, name, summary: {}, problem: err.message, media: [] };
      }
      return {
        id,
        name,
        summary,
        media: runMedia(run, summary).map((m) => ({ url: fileUrl(k, root, m.file), caption: m.caption })),
      };
    }),
  );
  return { roots: served.roots, runs };
}

/** New complete lines of a run's metrics.jsonl from byte `offset` on (a torn last line waits for the next poll). */
function tailMetrics(served: Served, id: string, offset: number) {
  const dir = locate(served, segments(id));
  const file = join(dir, "metrics.jsonl");
  if (!existsSync(file) || !existsSync(join(dir, "config.json"))) throw new HttpError(404, "no such run");
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const reset = offset > size;
    const from = reset ? 0 : offset;
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    const end = buf.lastIndexOf(0x0a) + 1;
    const records = buf
      .subarray(0, end)
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as unknown];
        } catch {
          return [];
        }
      });
    return { offset: from + end, reset, records };
  } finally {
    closeSync(fd);
  }
}

function handler(served: Served, assets: Map<string, [string, string]>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, type: string, body: string | Buffer, csp = DASHBOARD_CSP) => {
      res.writeHead(status, {
        "content-type": type,
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    try {
      if (req.method !== "GET" && req.method !== "HEAD")
        throw new HttpError(405, "read-only: GET and HEAD only");
      // The raw path, not a URL-normalised one: a request for /files/0/../x must be refused, not rewritten.
      const raw = req.url ?? "/";
      const q = raw.indexOf("?");
      const path = q < 0 ? raw : raw.slice(0, q);
      const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
      const parts = segments(path);
      const asset = assets.get(path);
      if (asset) return send(200, asset[0], asset[1]);
      if (path === "/api/runs") return send(200, "application/json", JSON.stringify(listRuns(served)));
      if (path === "/api/metrics") {
        const offset = Number(query.get("offset") ?? 0);
        if (!Number.isSafeInteger(offset) || offset < 0) throw new HttpError(400, "offset: a byte count");
        const body = tailMetrics(served, query.get("run") ?? "", offset);
        return send(200, "application/json", JSON.stringify(body));
      }
      if (parts[0] === "files") {
        const file = locate(served, parts.slice(1));
        if (!statSync(file).isFile()) throw new HttpError(404, "not a file");
        res.writeHead(200, {
          "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
          "content-security-policy": FILE_CSP,
          "x-content-type-options": "nosniff",
          "cache-control": "no-store",
        });
        if (req.method === "HEAD") return res.end();
        // A file removed mid-read (a checkpoint replaced) ends the response, not the server.
        return void createReadStream(file)
          .on("error", () => res.destroy())
          .pipe(res);
      }
      throw new HttpError(404, "not found");
    } catch (err) {
      if (err instanceof HttpError)
        return send(err.status, "text/plain; charset=utf-8", `${err.status} ${err.message}\n`);
      // A folder caught mid-write (a results.json being replaced) fails one poll; the next one succeeds.
      console.error(`lastframe serve: ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      send(500, "text/plain; charset=utf-8", "500 could not read the folders\n");
    }
  };
}

export interface ServeOptions {
  folders: string[];
  port: number;
  host: string;
  title: string;
}

/** Starts the server; resolves with it and its URL once it listens. */
export async function startServer(o: ServeOptions): Promise<{ server: Server; url: string }> {
  for (const f of o.folders)
    if (!existsSync(f) || !statSync(f).isDirectory())
      throw new UsageError(`${f} is not a folder: give run folders or results folders`);
  const roots = o.folders.map((f) => resolve(f));
  const served = { given: o.folders, roots, real: roots.map((r) => realpathSync(r)) };
  const server = createServer(handler(served, dashboardAssets(o.title)));
  await new Promise<void>((done, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      fail(
        e.code === "EADDRINUSE" || e.code === "EACCES" || e.code === "EADDRNOTAVAIL"
          ? new UsageError(`cannot listen on --host ${o.host} --port ${o.port}: ${e.code}`)
          : e,
      ),
    );
    server.listen(o.port, o.host, done);
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return { server, url: `http://${host}:${port}/` };
}

export async function serveCommand(argv: string[]): Promise<number> {
  const f = parseCommand(argv, {
    name: "serve",
    usage: "<runs or results folder>… [--port 8765] [--host 127.0.0.1]",
    summary:
      "Serve a live dashboard of the runs below the folders: curves, evaluations and samples, read-only.",
    flags: serveFlags,
  });
  if (!f) return 0;
  if (!f._.length) throw new UsageError("Expected at least one runs or results folder for 'lastframe serve'");
  if (f.port < 0 || f.port > 65535)
    throw new UsageError(`Expected a port 0 … 65535 for --port but received ${f.port}`);
  const { server, url } = await startServer({ folders: f._, port: f.port, host: f.host, title: f.title });
  console.log(url);
  console.error(`lastframe serve: ${f._.join(", ")} at ${url} (read-only; Ctrl-C stops)`);
  await new Promise<void>((done) => {
    const stop = () => server.close(() => done());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
