/**
 * rules/: YAML rule packs — load, validate, compile, evaluate, hot reload, rule tests.
 * The contract with the policy is types.ts; docs/rules.md documents the format.
 */
export type * from './types.js';
export { RuleSet, RuleCounts, Facts, initialState, recordHits, describeAction, type CompiledRule } from './engine.js';
export { loadRules, compileSources, ruleFiles, RuleLoader, RulesError, type LoadResult, type LoadOptions, type RuleSource, type RuleLoaderOptions, type RuleLog } from './loader.js';
export { QUEUE_REFUSED, DEFAULT_OPT_OUT_HINTS, resolveStatus } from './compile.js';
export {
  decideWithRules,
  decideWithRulesAsync,
  decisionSteps,
  type PipelineInput,
  type PipelineOutcome,
  type StoreRequest,
  type StoreReply,
  type SyncDecisionStore,
  type AsyncDecisionStore,
} from './pipeline.js';
export { runRuleTests, runCaseFile, formatReport, MemoryFacts, type TestReport, type CaseResult } from './test-runner.js';
export { normaliseText, lightNormalise, foldChars, type NormalText } from './normalise.js';
