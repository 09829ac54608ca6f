// Reference oracle for the exec-policy differential test.
//
// Reads JSON-lines cases on stdin, writes one JSON-lines result per case on stdout, for the
// whole run (one process). Each case is decided with the OFFICIAL exec-approvals code shipped in
// the npm package `openclaw` (pinned version, see tests/differential/README.md): the public
// entry point `openclaw/plugin-sdk/infra-runtime` for analysis/allowlist evaluation, plus the
// very same internal helpers the official node host imports in its `system.run` handler
// (resolved by name from the package's dist chunks, see `loadInternals`). The decision pipeline
// below mirrors `parseSystemRunPhase` + `evaluateSystemRunPolicyPhase` +
// `resolveSystemRunExecArgv` of `src/node-host/invoke-system-run.ts` up to (not including) the
// spawn; approvals plans, auto-review and the macOS companion are out of scope (never generated).
//
// Usage: node oracle.mjs <path to node_modules/openclaw>
// Case:   {"id":n,"approvalsRaw":string|null,"config":{...}|null,"params":{...}}
// Result: {"id":n,"outcome":"allow"|"miss"|"ask"|"off"|"invalid"|"plan-miss"|"other"|"error",
//          "reason":..., "message":..., "analysisOk":..., "allowlistSatisfied":...,
//          "execArgv":[...]}
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { pathToFileURL } from "node:url";

const pkgDir = process.argv[2];
if (!pkgDir) {
  process.stderr.write("usage: oracle.mjs <node_modules/openclaw dir>\n");
  process.exit(2);
}
const distDir = path.join(pkgDir, "dist");

/** Find `name` among the dist chunks: the chunk that defines it and exports it (alias). */
function loadInternals(names, hints = {}) {
  const files = fs.readdirSync(distDir).filter((f) => f.endsWith(".mjs"));
  const found = {};
  const pending = new Set(names);
  for (const file of files) {
    if (pending.size === 0) break;
    const text = fs.readFileSync(path.join(distDir, file), "utf8");
    const exportMatch = text.match(/export \{([^}]*)\};?\s*$/);
    if (!exportMatch) continue;
    const aliases = new Map();
    for (const part of exportMatch[1].split(",")) {
      const m = part.trim().match(/^([\w$]+)(?: as ([\w$]+))?$/);
      if (m) aliases.set(m[1], m[2] ?? m[1]);
    }
    for (const name of [...pending]) {
      if (!aliases.has(name)) continue;
      if (hints[name] && !file.startsWith(hints[name])) continue;
      const def = new RegExp(`(?:function\\*?|const|let|class) ${name.replace("$", "\\$")}\\b`);
      if (!def.test(text)) continue;
      found[name] = { file, alias: aliases.get(name) };
      pending.delete(name);
    }
  }
  if (pending.size > 0) {
    throw new Error(`official package layout not recognised; missing internals: ${[...pending].join(", ")}`);
  }
  return found;
}

async function importInternals(names, hints) {
  const located = loadInternals(names, hints);
  const out = {};
  const modules = new Map();
  for (const [name, { file, alias }] of Object.entries(located)) {
    if (!modules.has(file)) modules.set(file, await import(pathToFileURL(path.join(distDir, file)).href));
    out[name] = modules.get(file)[alias];
    if (out[name] === undefined) throw new Error(`internal ${name} not exported by ${file}`);
  }
  return out;
}

const sdk = await import(pathToFileURL(path.join(distDir, "plugin-sdk", "infra-runtime.js")).href);
const I = await importInternals(
  [
    "resolveSystemRunCommandRequest",
    "isShellWrapperInvocation",
    "extractEnvAssignmentKeysFromDispatchWrappers",
    "inspectHostExecEnvOverrides",
    "sanitizeSystemRunEnvOverrides",
    "sanitizeHostExecEnv",
    "resolveExecSafeBinRuntimePolicy",
    "detectPolicyInlineEval",
    "prepareSystemRunExecutableIdentityBinding",
    "buildAuthorizedShellCommandFromPlan",
    "resolveShellWrapperTransportArgv",
    "normalizeExecutableToken",
    "resolveInlineCommandMatch",
    "POSIX_INLINE_COMMAND_FLAGS",
    "POSIX_PARSEABLE_SHELL_WRAPPERS",
    "POSIX_SHELL_WRAPPERS",
    "captureApprovedCwdSnapshotSync",
    "evaluateSystemRunPolicy",
    "resolveNodeExecConfigPolicy",
    "parsePersistedExecApprovals",
    "createFailClosedExecApprovalsFallback",
    "DEFAULT_SECURITY",
    "minSecurity",
    "maxAsk",
  ],
  {
    isShellWrapperInvocation: "shell-wrapper-resolution-",
    minSecurity: "exec-approvals-authorization.kernel-",
    maxAsk: "exec-approvals-authorization.kernel-",
  },
);

// `resolveExecSecurity` / `resolveExecAsk` of src/node-host/invoke.ts with no argument.
const NODE_DEFAULT_SECURITY = I.DEFAULT_SECURITY;
const NODE_DEFAULT_ASK = "off";

function approvalsFileFromRaw(raw) {
  if (raw === null || raw === undefined) return { version: 1, agents: {} };
  const parsed = I.parsePersistedExecApprovals(raw);
  return parsed.ok ? parsed.value : I.createFailClosedExecApprovalsFallback();
}

/** Mirrors evaluateSystemRunAllowlist (src/node-host/invoke-system-run-allowlist.ts). */
async function evaluateSystemRunAllowlist(p) {
  if (p.shellCommand) {
    const ev = await sdk.evaluateShellAllowlistWithAuthorization({
      command: p.shellCommand,
      allowlist: p.approvals.allowlist,
      safeBins: p.safeBins,
      safeBinProfiles: p.safeBinProfiles,
      cwd: p.cwd,
      env: p.env,
      trustedSafeBinDirs: p.trustedSafeBinDirs,
      skillBins: [],
      autoAllowSkills: p.autoAllowSkills,
      platform: process.platform,
    });
    return {
      analysisOk: ev.analysisOk,
      allowlistMatches: ev.allowlistMatches,
      allowlistSatisfied: p.security === "allowlist" && ev.analysisOk ? ev.allowlistSatisfied : false,
      segments: ev.segments,
      segmentAllowlistEntries: ev.segmentAllowlistEntries,
      segmentSatisfiedBy: ev.segmentSatisfiedBy,
      authorizationPlan: ev.authorizationPlan,
    };
  }
  const analysis = sdk.analyzeArgvCommand({ argv: p.argv, cwd: p.cwd, env: p.env });
  const ev = sdk.evaluateExecAllowlist({
    analysis,
    allowlist: p.approvals.allowlist,
    safeBins: p.safeBins,
    safeBinProfiles: p.safeBinProfiles,
    cwd: p.cwd,
    trustedSafeBinDirs: p.trustedSafeBinDirs,
    skillBins: [],
    autoAllowSkills: p.autoAllowSkills,
  });
  return {
    analysisOk: analysis.ok,
    allowlistMatches: ev.allowlistMatches,
    allowlistSatisfied: p.security === "allowlist" && analysis.ok ? ev.allowlistSatisfied : false,
    segments: analysis.segments,
    segmentAllowlistEntries: ev.segmentAllowlistEntries,
    segmentSatisfiedBy: ev.segmentSatisfiedBy,
  };
}

function findSubsequence(haystack, needle) {
  if (needle.length === 0 || needle.length > haystack.length) return -1;
  for (let s = 0; s <= haystack.length - needle.length; s += 1) {
    if (needle.every((v, i) => haystack[s + i] === v)) return s;
  }
  return -1;
}

function transportKind(argv) {
  const t = I.resolveShellWrapperTransportArgv(argv);
  if (!t) return "none";
  const exe = I.normalizeExecutableToken(t[0] ?? "");
  if (!I.POSIX_SHELL_WRAPPERS.has(exe)) return "none";
  return I.POSIX_PARSEABLE_SHELL_WRAPPERS.has(exe) ? "parseable" : "opaque";
}

function replaceInlineCommand(argv, oldCommand, nextCommand) {
  const t = I.resolveShellWrapperTransportArgv(argv);
  if (!t || !I.POSIX_PARSEABLE_SHELL_WRAPPERS.has(I.normalizeExecutableToken(t[0] ?? ""))) return null;
  const start = findSubsequence(argv, t);
  if (start < 0) return null;
  const match = I.resolveInlineCommandMatch(t, I.POSIX_INLINE_COMMAND_FLAGS, { allowCombinedC: true });
  if (match.valueTokenIndex === null) return null;
  const idx = start + match.valueTokenIndex;
  const token = argv[idx];
  if (token === undefined) return null;
  const out = [...argv];
  if (token === oldCommand) {
    out[idx] = nextCommand;
    return out;
  }
  if (token.endsWith(oldCommand)) {
    out[idx] = token.slice(0, token.length - oldCommand.length) + nextCommand;
    return out;
  }
  return null;
}

const denied = (reason, message, extra = {}) => {
  const outcome =
    reason === "security=deny"
      ? "off"
      : reason === "approval-required"
        ? "ask"
        : reason === "allowlist-miss"
          ? "miss"
          : reason === "execution-plan-miss"
            ? "plan-miss"
            : "other";
  return { outcome, reason, message, ...extra };
};

async function decide(c) {
  const params = c.params ?? {};
  // ---- parseSystemRunPhase
  const command = I.resolveSystemRunCommandRequest({ command: params.command, rawCommand: params.rawCommand });
  if (!command.ok) return { outcome: "invalid", message: command.message };
  if (command.argv.length === 0) return { outcome: "invalid", message: "command required" };
  const shellPayload = command.shellPayload;
  const shellWrapperInvocation = I.isShellWrapperInvocation(command.argv);
  const norm = (v) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
  const agentId = norm(params.agentId);
  const cwd = norm(params.cwd);
  const envKeys = I.extractEnvAssignmentKeysFromDispatchWrappers(command.argv);
  const envAssignmentDiag = I.inspectHostExecEnvOverrides({
    overrides: envKeys.length > 0 ? Object.fromEntries(envKeys.map((k) => [k, "1"])) : undefined,
    blockPathOverrides: true,
  });
  if (envAssignmentDiag.rejectedOverrideBlockedKeys.length > 0) {
    return {
      outcome: "invalid",
      message: `SYSTEM_RUN_DENIED: command env assignment rejected (blocked env assignment keys: ${envAssignmentDiag.rejectedOverrideBlockedKeys.join(", ")})`,
    };
  }
  const envDiag = I.inspectHostExecEnvOverrides({ overrides: params.env ?? undefined, blockPathOverrides: true });
  if (envDiag.rejectedOverrideBlockedKeys.length > 0 || envDiag.rejectedOverrideInvalidKeys.length > 0) {
    const d = [];
    if (envDiag.rejectedOverrideBlockedKeys.length > 0) d.push(`blocked override keys: ${envDiag.rejectedOverrideBlockedKeys.join(", ")}`);
    if (envDiag.rejectedOverrideInvalidKeys.length > 0) d.push(`invalid non-portable override keys: ${envDiag.rejectedOverrideInvalidKeys.join(", ")}`);
    return { outcome: "invalid", message: `SYSTEM_RUN_DENIED: environment override rejected (${d.join("; ")})` };
  }
  const envOverrides = I.sanitizeSystemRunEnvOverrides({ overrides: params.env ?? undefined, shellWrapper: shellWrapperInvocation });
  const env = I.sanitizeHostExecEnv({ overrides: envOverrides, blockPathOverrides: true });

  // ---- evaluateSystemRunPolicyPhase
  const cfg = c.config ?? {};
  const modePolicy = I.resolveNodeExecConfigPolicy({
    cfg,
    agentId,
    defaultSecurity: NODE_DEFAULT_SECURITY,
    defaultAsk: NODE_DEFAULT_ASK,
  });
  const approvals = sdk.resolveExecApprovalsFromFile({
    file: approvalsFileFromRaw(c.approvalsRaw),
    agentId,
    overrides: { security: modePolicy.security, ask: modePolicy.ask },
  });
  const security = I.minSecurity(modePolicy.security, approvals.agent.security);
  const ask = I.maxAsk(modePolicy.ask, approvals.agent.ask);
  const autoAllowSkills = approvals.agent.autoAllowSkills;
  const { safeBins, safeBinProfiles, trustedSafeBinDirs } = I.resolveExecSafeBinRuntimePolicy({
    global: cfg.tools?.exec,
    local: modePolicy.agentExec,
    onWarning: () => {},
  });
  const ev = await evaluateSystemRunAllowlist({
    shellCommand: shellPayload,
    argv: command.argv,
    approvals,
    security,
    safeBins,
    safeBinProfiles,
    trustedSafeBinDirs,
    cwd,
    env,
    autoAllowSkills,
  });
  const { segments, segmentAllowlistEntries, segmentSatisfiedBy } = ev;
  const strictInlineEval = modePolicy.agentExec?.strictInlineEval === true || cfg.tools?.exec?.strictInlineEval === true;
  const inlineEvalHit = strictInlineEval ? I.detectPolicyInlineEval(segments) : null;
  const durableApprovalSatisfied = sdk.hasDurableExecApproval({
    analysisOk: ev.analysisOk,
    segmentAllowlistEntries,
    allowlist: approvals.allowlist,
    commandText: command.commandText,
  });
  const inlineEvalExecutableTrusted = inlineEvalHit !== null && segmentAllowlistEntries.some((e) => e?.source === "allow-always");
  let policy = I.evaluateSystemRunPolicy({
    security,
    ask,
    analysisOk: ev.analysisOk,
    allowlistSatisfied: ev.allowlistSatisfied,
    durableApprovalSatisfied: durableApprovalSatisfied || inlineEvalExecutableTrusted,
    approvalDecision: null,
    approved: false,
    isWindows: false,
    cmdInvocation: false,
    shellWrapperInvocation: shellPayload !== null,
  });
  const info = { analysisOk: ev.analysisOk, allowlistSatisfied: ev.allowlistSatisfied, security, ask, satisfiedBy: segmentSatisfiedBy };
  const auditSuppression =
    sdk.commandRequiresSecurityAuditSuppressionApproval({ command: command.commandText, cwd, env, segments }) &&
    !(security === "full" && ask === "off");
  if (auditSuppression && !policy.approvedByAsk) {
    policy = { ...policy, allowed: false, eventReason: "approval-required", errorMessage: "SYSTEM_RUN_DENIED: approval required" };
  }
  if (inlineEvalHit !== null && (policy.allowed ? true : policy.eventReason !== "security=deny")) {
    return denied("approval-required", "SYSTEM_RUN_DENIED: approval required (strictInlineEval)", info);
  }
  if (security !== "deny" && security === "allowlist") {
    const prepared = I.prepareSystemRunExecutableIdentityBinding({ segments, cwd, env, shellCommand: shellPayload !== null });
    if (!prepared.ok) return denied("approval-required", prepared.message, info);
  }
  if (!policy.allowed) return denied(policy.eventReason, policy.errorMessage, info);
  if (security === "allowlist") {
    const captured = I.captureApprovedCwdSnapshotSync(cwd ?? process.cwd());
    if (!captured.ok) return denied("approval-required", captured.message, info);
  }
  // resolvePlannedAllowlistArgv
  let planned;
  if (security === "allowlist" && !shellPayload && policy.analysisOk && policy.allowlistSatisfied && segments.length === 1) {
    const p = sdk.resolvePlannedSegmentArgv(segments[0]);
    planned = p && p.length > 0 ? p : null;
  }
  if (planned === null) return denied("execution-plan-miss", "SYSTEM_RUN_DENIED: execution plan mismatch", info);
  // resolveSystemRunExecArgv (non-Windows)
  let execArgv = planned ?? command.argv;
  const kind = shellPayload ? transportKind(command.argv) : "none";
  const rewriteApplies = security === "allowlist" && shellPayload && policy.analysisOk && policy.allowlistSatisfied;
  if (rewriteApplies && kind === "opaque") return denied("execution-plan-miss", "SYSTEM_RUN_DENIED: execution plan mismatch", info);
  if (rewriteApplies && kind === "parseable" && segmentSatisfiedBy.some((e) => e === "safeBins" || e === "inlineChain")) {
    if (!ev.authorizationPlan) return denied("execution-plan-miss", "no authorization plan", info);
    const rebuilt = I.buildAuthorizedShellCommandFromPlan({ plan: ev.authorizationPlan, mode: "safeBins", segmentSatisfiedBy });
    if (!rebuilt.ok || !rebuilt.command) return denied("execution-plan-miss", "rebuild failed", info);
    const rewritten = replaceInlineCommand(command.argv, shellPayload, rebuilt.command);
    if (!rewritten) return denied("execution-plan-miss", "rewrite failed", info);
    execArgv = rewritten;
  }
  return { outcome: "allow", execArgv, ...info };
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
let flushScheduled = false;
function emit(obj) {
  out.push(JSON.stringify(obj));
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      process.stdout.write(out.join("\n") + "\n");
      out.length = 0;
    });
  }
}
process.stdout.write(JSON.stringify({ ready: true, version: JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version }) + "\n");
// Cases are processed strictly in order (the analysis functions are async).
let chain = Promise.resolve();
rl.on("line", (line) => {
  if (!line.trim()) return;
  chain = chain.then(async () => {
    let c;
    try {
      c = JSON.parse(line);
    } catch (e) {
      emit({ id: null, outcome: "error", message: `bad case json: ${e}` });
      return;
    }
    try {
      emit({ id: c.id, ...(await decide(c)) });
    } catch (e) {
      emit({ id: c.id, outcome: "error", message: String(e?.stack ?? e) });
    }
  });
});
rl.on("close", () => {
  chain.then(() => setImmediate(() => {}));
});
