// Start the studio the way `make run`'s supervisord.conf does (uvicorn for HTTP + WebSockets, `manage.py run_huey` for the worker,
// `manage.py run_scheduler` for schedules, `python -m studio.serving` for published models), on free ports with its own data dir, and create the demo admin and
// project (`manage.py studio_demo`). The serving process is needed by the Deployments page: its "try it" form goes
// through the studio (POST /api/deployments/{id}/try/) to the serving process at SERVING_URL, and the page shows what
// the serving process reports.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const PYTHON = path.join(REPO, ".venv/bin/python");
const UVICORN = path.join(REPO, ".venv/bin/uvicorn");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url: string, procs: ChildProcess[], logs: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    for (const [i, p] of procs.entries()) {
      if (p.exitCode !== null) throw new Error(`studio process exited early (${p.exitCode}); see ${logs[i]}:\n${readFileSync(logs[i], "utf8").slice(-3000)}`);
    }
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer within 120 s`);
}

export interface Studio {
  url: string;
  servingUrl: string;
  dataDir: string;
  username: string;
  password: string;
  stop: () => Promise<void>;
}

export async function startStudio(): Promise<Studio> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "studio-browser-"));
  const port = await freePort();
  const servingPort = await freePort();
  const servingUrl = `http://127.0.0.1:${servingPort}`;
  const env: NodeJS.ProcessEnv = { ...process.env, STUDIO_DATA_DIR: dataDir, DEBUG: "", DATABASE_URL: "", REDIS_URL: "", SERVING_URL: servingUrl };
  // The serving registry in this data dir, where both the studio and the serving process look by default.
  delete env.SERVING_DIR;
  delete env.SERVING_REGISTRY;
  const opts = { cwd: REPO, env, stdio: "pipe" as const, timeout: 180_000 };
  execFileSync(PYTHON, ["manage.py", "migrate", "--noinput"], opts);
  execFileSync(PYTHON, ["manage.py", "studio_demo"], opts);
  const password = readFileSync(path.join(dataDir, "demo_admin_password"), "utf8").trim();
  const logs = [path.join(dataDir, "web.log"), path.join(dataDir, "worker.log"), path.join(dataDir, "serving.log"),
    path.join(dataDir, "scheduler.log")];
  const procs = [
    spawn(UVICORN, ["studio.asgi:application", "--host", "127.0.0.1", "--port", String(port), "--lifespan", "off", "--ws", "websockets"], { cwd: REPO, env, stdio: ["ignore", openSync(logs[0], "a"), openSync(logs[0], "a")] }),
    spawn(PYTHON, ["manage.py", "run_huey"], { cwd: REPO, env, stdio: ["ignore", openSync(logs[1], "a"), openSync(logs[1], "a")] }),
    spawn(PYTHON, ["-m", "studio.serving", "--host", "127.0.0.1", "--port", String(servingPort)], { cwd: REPO, env, stdio: ["ignore", openSync(logs[2], "a"), openSync(logs[2], "a")] }),
    spawn(PYTHON, ["manage.py", "run_scheduler", "--interval", "1"], { cwd: REPO, env, stdio: ["ignore", openSync(logs[3], "a"), openSync(logs[3], "a")] }),
  ];
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGTERM");
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null) return resolve();
            const timer = setTimeout(() => { p.kill("SIGKILL"); resolve(); }, 10_000);
            p.once("exit", () => { clearTimeout(timer); resolve(); });
          }),
      ),
    );
    // WebSockets open with single-use tickets: after the whole run, no API token (40 hex digits) is in the access log.
    const leaked = existsSync(logs[0]) ? readFileSync(logs[0], "utf8").match(/[?&]token=|\b[0-9a-f]{40}\b/) : null;
    if (!process.env.KEEP_STUDIO_DATA) rmSync(dataDir, { recursive: true, force: true });
    if (leaked) throw new Error(`a credential is in the web process's log: ${leaked[0]}`);
  };
  try {
    await waitForHealth(`${url}/api/health`, procs, logs);
    await waitForHealth(`${servingUrl}/v2/health/live`, procs, logs);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, servingUrl, dataDir, username: "admin", password, stop };
}
