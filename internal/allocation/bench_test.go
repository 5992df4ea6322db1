package allocation

import (
	"runtime"
	"testing"
)

func benchmarkSolve(b *testing.B, children, prefs, programmes int) {
	inst := Generate(children, prefs, programmes, 2026)
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := Solve(inst)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		// Drop this iteration's result before the next one, outside the timer,
		// so the measured peak memory is that of one solve.
		res = nil
		runtime.GC()
		b.StartTimer()
		_ = res
	}
}

// BenchmarkSolve100k is the target of 100,000 children x 5 preferences x
// 10,000 programmes in under 0.2 s.
func BenchmarkSolve100k(b *testing.B) { benchmarkSolve(b, 100_000, 5, 10_000) }

// BenchmarkSolve1M is the target of 1,000,000 children x 10 preferences x
// 50,000 programmes in under 5 s and 500 MB.
func BenchmarkSolve1M(b *testing.B) { benchmarkSolve(b, 1_000_000, 10, 50_000) }
