package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/loket-kinderopvang/loket/internal/allocation"
)

func main() {
	f, _ := os.Create(os.Args[2])
	pprof.StartCPUProfile(f)
	in, _ := os.Open(os.Args[1])
	t := time.Now()
	inst, err := allocation.DecodeInstance(in)
	fmt.Println("decode", time.Since(in2(t)), err)
	t = time.Now()
	res, _ := allocation.Solve(inst)
	fmt.Println("solve", time.Since(t))
	t = time.Now()
	rep := allocation.Audit(inst, res)
	fmt.Println("audit", time.Since(t), rep.OK)
	in.Seek(0, 0)
	t = time.Now()
	allocation.SolveJSON(in, io.Discard, allocation.SolveOptions{})
	fmt.Println("all", time.Since(t))
	pprof.StopCPUProfile()
}
func in2(t time.Time) time.Time { return t }
