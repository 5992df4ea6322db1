// Package allocation shares scarce childcare places among requests in
// "central" mode: child-proposing deferred acceptance with configurable
// priority tiers, one published lottery, reserved seats for vulnerable
// children and sibling handling. It is pure and deterministic: no database,
// no HTTP, no global state. Audit checks a result independently and Explain
// turns it into plain Dutch and English for parents.
//
// Formats and mechanism are documented in docs/allocation-format.md.
package allocation
