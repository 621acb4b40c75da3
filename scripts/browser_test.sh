#!/usr/bin/env bash
# Browser test of the dashboard: headless Chromium (Debian's `chromium`, installed when missing)
# driven by playwright-core from npm (installed into target/browser-node), against `pulse serve`
# on 127.0.0.1 with a throwaway store and config directory. Screenshots: target/browser-artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
    echo "== installing chromium (apt)"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
command -v node >/dev/null || { echo "error: node not found (install Node.js with npm)" >&2; exit 1; }
node_dir="$PWD/target/browser-node"
if [ ! -d "$node_dir/node_modules/playwright-core" ]; then
    echo "== installing playwright-core (npm)"
    mkdir -p "$node_dir"
    npm install --silent --prefix "$node_dir" playwright-core@1.64.1 >/dev/null
fi

cargo build --locked -q -p pulse
pulse="${CARGO_TARGET_DIR:-$PWD/target}/debug/pulse"
home="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    if [ -n "${llm_pid:-}" ]; then kill "$llm_pid" 2>/dev/null || true; fi
    rm -rf "$home"
}
trap cleanup EXIT
export XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data"
db="$home/pulse.db"
"$pulse" -q --db "$db" data seed

# A loopback fake of an OpenAI-compatible chat endpoint for the macro-prompt editor: it answers
# every chat completion with one MP/Sub-MP view.
node -e '
const http = require("http");
const answer = "My view for today:\n```json\n{\"mp\": {\"stocks\": 0.3, \"bonds\": 0.7}, \"sub_mp\": {\"stocks\": [\"SPY\"], \"bonds\": [\"TLT\"]}}\n```";
http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => { body += c; });
  req.on("end", () => {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: answer } }] }));
  });
}).listen(0, "127.0.0.1", function () { console.log("http://127.0.0.1:" + this.address().port + "/v1"); });
' >"$home/llm.log" 2>&1 &
llm_pid=$!
for _ in $(seq 1 100); do
    grep -q '^http' "$home/llm.log" && break
    sleep 0.1
done
llm_base="$(head -1 "$home/llm.log")"

PULSE_LLM_BASE_URL="$llm_base" PULSE_LLM_MODEL=fake-1 PULSE_LLM_API_KEY=sk-browser-test \
    "$pulse" --db "$db" serve --bind 127.0.0.1:0 >"$home/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    grep -q '^Serving' "$home/serve.log" && break
    sleep 0.1
done
base="$(sed -n 's/^Serving the dashboard on \(http:[^ ]*\).*/\1/p' "$home/serve.log")"
[ -n "$base" ] || { echo "error: pulse serve did not start:" >&2; cat "$home/serve.log" >&2; exit 1; }
echo "== browser test against $base"
shared="${PULSE_SHARED_DATA:-$PWD/../shared/data}"
UPLOAD_CSV="$shared/daily-adjclose/TLT.csv" NODE_PATH="$node_dir/node_modules" node tests/browser/dashboard.js "$base" \
    "$XDG_CONFIG_HOME/pulse/server-token" "$PWD/target/browser-artifacts"
