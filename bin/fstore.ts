#!/usr/bin/env node
import { runCli } from '../lib/cli/program.js';

// Lambda runs Node 22; on the Node 20 this CLI supports, the SDK's upgrade notice is noise in every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
process.exitCode = exitCode;
