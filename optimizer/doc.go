// Package optimizer rewrites logical plans with named rules (listed in
// order in rules.go), then decides the physical plan: each operator's
// parallelism and the exchanges (forward, hash, rebalance, broadcast,
// global) between parallel instances. ToJobGraph chains operators connected
// by forward exchanges into vertices and serializes the result as an
// exec.JobGraph, which is all the runtime ever sees of a plan. AdvisePlan
// reads a streaming physical plan for EXPLAIN PLAN_ADVICE as Flink's plan
// analyzers do (plan_advice.go, plan_advice_ndu.go).
package optimizer
