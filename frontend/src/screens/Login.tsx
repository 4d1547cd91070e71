import { useState } from "react";
import { post } from "../api/client";
import type { Session } from "../api/types";

export function Login({ onLogin }: { onLogin: (user: NonNullable<Session["user"]>) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <main className="login">
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError("");
          post<Session>("/api/auth/login/", { username, password })
            .then((s) => s.user && onLogin(s.user))
            .catch((err: Error) => setError(err.message))
            .finally(() => setBusy(false));
        }}
      >
        <h1>Studio</h1>
        <p className="muted">Build, run and read machine-learning pipelines.</p>
        <label className="field">
          <span>User name</span>
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label className="field">
          <span>Password</span>
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && <p className="error-text" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{busy ? "Logging in…" : "Log in"}</button>
      </form>
    </main>
  );
}
