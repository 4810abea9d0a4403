#!/usr/bin/env bash
# Second CI pass: the Node-RED node tests on Node 22 with Node-RED 5 (Node-RED 5 needs Node >= 22.9).
# The npm package `node` ships the Node 22 binary; both go into .tmp/nr5 (git-ignored), not into the project.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.tmp/nr5
if [ ! -x "$dir/node_modules/.bin/node" ] || [ ! -d "$dir/node_modules/node-red" ]; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name":"nr5-runtime","private":true}' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --no-save node@22 node-red@5 >/dev/null
fi
node22="$PWD/$dir/node_modules/.bin/node"
echo "node-red-5: $("$node22" -v), node-red $(node -p "require('./$dir/node_modules/node-red/package.json').version")"
# The node tests take the runtime from SIP_LOCATE_NODE_RED (helper) and SIP_LOCATE_NODE_RED_DIR (the node-red command).
export SIP_LOCATE_NODE_RED="$PWD/$dir/node_modules/node-red" SIP_LOCATE_NODE_RED_DIR="$PWD/$dir/node_modules/node-red"
# test/run.mjs runs the tests with the same node binary that runs it, so Node-RED 5 gets Node 22.
if [ $# -eq 0 ]; then set -- test/nodes test/examples test/e2e test/package; fi
"$node22" test/run.mjs "$@"
