// Is the server there, and are we paired? /healthz, then /api/packs (which needs the token); opens /ws when ok.
import { Failure } from "./errors.js";
import { api } from "./api.js";
import { settings } from "./settings.js";
import { ensureWs } from "./socket.js";
import { currentStatus, setStatus } from "./status.js";

export async function checkStatus() {
  const cfg = await settings();
  try {
    const health = await api("/healthz", { auth: false });
    if (!cfg.token) {
      setStatus({ state: "not_paired", version: health.version });
      return currentStatus();
    }
    const packs = await api("/api/packs");
    setStatus({ state: "ok", version: health.version, packs: packs.packs, defaultPack: packs.default, pack: cfg.pack || packs.default });
    ensureWs().catch(() => {});
  } catch (err) {
    if (!(err instanceof Failure)) setStatus({ state: "server_down" });
  }
  return currentStatus();
}
